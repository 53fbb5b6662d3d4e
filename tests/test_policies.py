"""The Rego policies: every test case under policies/tests, the engine's edges, exceptions, layouts.

Inputs are fed from Python through the real regopy adapter (never `with input as` in Rego: regopy
1.5.2 segfaults on it when the rule calls sprintf or a helper).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.adapters.policy import PolicyEngine
from gitops_tool.core import conventions
from gitops_tool.core.policy import (
    OverlayLayout,
    PolicyCase,
    check_case,
    decide_layout,
    exceptions_in,
    parse_case,
    policy_input,
    unknown_exception_rules,
)
from gitops_tool.errors import PolicyError, UserError
from gitops_tool.services.policy import load_cases, run_policy_tests
from tests.conftest import REPO_ROOT, RunCli

POLICIES = REPO_ROOT / "policies"


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine(POLICIES)


def _case_ids() -> list[PolicyCase]:
    return load_cases(POLICIES, REPO_ROOT)


def _messages(engine: PolicyEngine, document: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for findings in engine.evaluate(document).findings.values():
        for finding in findings:
            found.setdefault(finding["rule"], []).append(finding["msg"])
    return found


@pytest.mark.parametrize("case", _case_ids(), ids=lambda c: c.name.removeprefix("policies/tests/"))
def test_policy_case(engine: PolicyEngine, case: PolicyCase) -> None:
    result = check_case(case, _messages(engine, case.input()))
    assert result.problems == []


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    report = run_policy_tests(REPO_ROOT)
    assert report.gaps == []
    assert report.ok
    rules = {r for ids in report.rules.values() for r in ids}
    issue_rules = {
        "scheduler-anti-affinity", "scheduler-node-role", "scheduler-distinct-roles", "management-placement",
        "legacy-colocation", "shared-volumes", "service-exposure", "container-resources", "image-pinned",
        "container-probes", "no-secret-data", "privileged", "host-path", "host-network", "host-pid",
        "host-ipc", "rbac-wildcard", "airflow-rbac", "ownership-labels", "service-account",
        "exception-reason",
    }  # fmt: skip
    assert issue_rules <= rules


def test_a_fail_case_sees_its_rule_message(engine: PolicyEngine) -> None:
    """The case runner is not vacuous: a wrong expectation and a silent rule are both reported."""
    case = next(
        c
        for c in _case_ids()
        if c.name.endswith("scheduler-node-role/fail/scheduler-2-pinned-to-scheduler-1.yaml")
    )
    assert any("airflow-scheduler-2" in m for m in case.expect)
    wrong = PolicyCase(
        case.rule, "fail", case.name, case.layout, case.objects, case.node_roles, ("something else",)
    )
    result = check_case(wrong, _messages(engine, wrong.input()))
    assert result.problems[0] == "missing: something else"
    assert any(p.startswith("unexpected: Deployment/airflow/airflow-scheduler-2") for p in result.problems)
    # Give scheduler-2 its own role: the rule falls silent and the case reports its missing message.
    fixed = copy.deepcopy(case.objects)
    affinity = fixed[1]["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    term = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"][0]["values"] == ["scheduler-1"]
    term["matchExpressions"][0]["values"] = ["scheduler-2"]
    silent = PolicyCase(case.rule, "fail", case.name, case.layout, fixed, {}, case.expect)
    assert check_case(silent, _messages(engine, silent.input())).problems == [f"missing: {case.expect[0]}"]


def test_policy_test_command_passes_on_the_repository(run_cli: RunCli) -> None:
    result = run_cli("policy", "test", cwd=REPO_ROOT)
    assert result.code == 0, result.out + result.err
    assert "0 failed, 0 gap(s)" in result.out.splitlines()[-1]


def test_policy_test_command_fails_on_a_broken_case_and_a_gap(run_cli: RunCli, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    case = policies / "tests" / "service-exposure" / "fail" / "prometheus-and-postgres-exposed.yaml"
    doc = yaml.safe_load(case.read_text())
    doc["objects"] = [o for o in doc["objects"] if o["metadata"]["name"] != "postgres"]
    case.write_text(yaml.safe_dump(doc))
    shutil.rmtree(policies / "tests" / "host-path" / "pass")
    result = run_cli("policy", "test", "--policies", str(policies), "--output", "json")
    assert result.code == 1
    import json

    report = json.loads(result.out)
    failed = [c for c in report["cases"] if not c["ok"]]
    assert [c["rule"] for c in failed] == ["service-exposure"]
    assert failed[0]["problems"] == [
        "missing: Service/airflow/postgres: is type NodePort but only airflow-webserver and grafana are "
        "exposed outside the cluster; use type ClusterIP (kubectl port-forward for ad-hoc access)"
    ]
    assert report["gaps"] == [
        "rule host-path has no pass case (add policies/tests/host-path/pass/<name>.yaml)"
    ]


def test_lib_constants_match_the_conventions() -> None:
    lib = (POLICIES / "lib.rego").read_text()
    assert f'exception_prefix := "{conventions.POLICY_EXCEPTION_PREFIX}"' in lib
    assert f'node_role_label := "{conventions.NODE_ROLE_LABEL}"' in lib
    assert f'component_label := "{conventions.COMPONENT_LABEL}"' in lib
    assert f'scheduler_component := "{conventions.SCHEDULER_COMPONENT}"' in lib
    assert f'management_role := "{conventions.MANAGEMENT_ROLE}"' in lib
    for key, value in conventions.OWNERSHIP_LABELS.items():
        assert f'"{key}": "{value}",' in lib


# --- engine edges -------------------------------------------------------------------------------


def _copy_policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    for rego in POLICIES.glob("*.rego"):
        shutil.copy(rego, folder)
    return folder


def test_a_broken_policy_is_a_one_line_error_naming_the_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = _copy_policies(tmp_path)
    (folder / "broken.rego").write_text(
        'package gitops.broken\n\nrules := {"x"}\n\ndeny contains f if {\n  f := \n}\n'
    )
    with pytest.raises(PolicyError) as err:
        PolicyEngine(folder)
    message = str(err.value)
    assert "\n" not in message
    assert "broken.rego:6" in message
    assert capfd.readouterr().out == ""  # rego-cpp's own report went into the message, not stdout


def test_a_package_must_list_its_rule_ids(tmp_path: Path) -> None:
    folder = _copy_policies(tmp_path)
    (folder / "norules.rego").write_text('package gitops.norules\n\ndeny contains "x" if { false }\n')
    with pytest.raises(PolicyError, match=r"gitops\.norules"):
        PolicyEngine(folder)


def test_quotes_and_backslashes_in_the_input_do_not_break_evaluation(engine: PolicyEngine) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "airflow-secrets",
            "namespace": "airflow",
            "annotations": {"note": 'say "hi" \\ there\n\x01'},
        },
        "stringData": {"password": 'p"w\\d'},
    }
    layout = OverlayLayout("ha", "test")
    found = _messages(engine, policy_input("o", layout, [secret], {}))
    assert found["no-secret-data"] == [
        "Secret/airflow/airflow-secrets: carries stringData in the rendered manifests, so its values are in "
        "Git; remove it and create the Secret out of band (gitops-tool secrets init) or through Sealed "
        "Secrets / External Secrets"
    ]


def test_embedded_pod_templates_read_the_same_without_the_tool(engine: PolicyEngine) -> None:
    """Fed without input.embedded_pods (another engine, the bare render), the policies parse the YAML."""
    case = next(
        c for c in _case_ids() if c.name.endswith("container-resources/fail/missing-limits-and-requests.yaml")
    )
    with_tool = case.input()
    assert with_tool["embedded_pods"]
    without = dict(with_tool)
    del without["embedded_pods"]
    assert (
        _messages(engine, without)["container-resources"]
        == _messages(engine, with_tool)["container-resources"]
    )
    assert any(m.startswith("ConfigMap/airflow/worker-pod-template:") for m in case.expect)


# --- exceptions ---------------------------------------------------------------------------------


def _daemonset(annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "node-exporter", "namespace": "airflow", "annotations": annotations},
        "spec": {"template": {"metadata": {}, "spec": {"hostNetwork": True, "containers": []}}},
    }


def test_exceptions_are_listed_and_an_unknown_rule_is_a_violation(engine: PolicyEngine) -> None:
    prefix = conventions.POLICY_EXCEPTION_PREFIX
    obj = _daemonset({f"{prefix}host-network": "reads node metrics", f"{prefix}host-networking": "typo"})
    exceptions = exceptions_in([obj])
    assert [str(e) for e in exceptions] == [
        "DaemonSet/airflow/node-exporter allows host-network: reads node metrics",
        "DaemonSet/airflow/node-exporter allows host-networking: typo",
    ]
    unknown = unknown_exception_rules("o", exceptions, engine.rule_ids)
    assert [(v.rule, v.object) for v in unknown] == [
        ("exception-unknown-rule", "DaemonSet/airflow/node-exporter")
    ]
    assert f"{prefix}host-networking names no policy rule" in unknown[0].message
    found = _messages(engine, policy_input("o", OverlayLayout("ha", "test"), [obj], {}))
    assert "host-network" not in found  # the exception with a reason holds


def test_an_exception_without_reason_grants_nothing(engine: PolicyEngine) -> None:
    obj = _daemonset({f"{conventions.POLICY_EXCEPTION_PREFIX}host-network": ""})
    found = _messages(engine, policy_input("o", OverlayLayout("ha", "test"), [obj], {}))
    assert len(found["host-network"]) == 1
    assert len(found["exception-reason"]) == 1
    assert str(exceptions_in([obj])[0]).endswith("(no reason given: grants nothing)")


# --- layout and case parsing ----------------------------------------------------------------------


def test_layout_comes_from_the_node_roles_data() -> None:
    ha = decide_layout(
        {"roles": {"management": "n1", "scheduler-1": "n2", "scheduler-3": "n4"}}, [], "x.yaml"
    )
    assert ha.kind == "ha"
    assert "scheduler-1, scheduler-3" in ha.reason
    assert decide_layout({"roles": {"management": "n1"}}, [], "x.yaml").kind == "legacy"
    assert decide_layout(
        {"layout": "legacy", "roles": {"management": "n1", "scheduler-1": "n2"}}, [], "x"
    ).kind == ("legacy")
    with pytest.raises(UserError, match="layout must be one of ha, legacy"):
        decide_layout({"layout": "three", "roles": {"management": "n1"}}, [], "x.yaml")


def test_without_node_roles_the_layout_comes_from_the_render() -> None:
    pinned = {
        "kind": "Deployment",
        "spec": {
            "template": {
                "spec": {"nodeSelector": {conventions.NODE_ROLE_LABEL: "scheduler-2"}},
            }
        },
    }
    assert decide_layout(None, [pinned], "x").kind == "ha"
    assert decide_layout(None, [], "x").kind == "legacy"


@pytest.mark.parametrize(
    ("doc", "outcome", "message"),
    [
        ({"objects": [], "expect": []}, "fail", "must list the messages"),
        ({"objects": [], "expect": ["m"]}, "pass", "expects no message"),
        ({"objects": [], "bogus": 1}, "pass", r"unknown key\(s\) bogus"),
        ({"objects": [], "layout": "x"}, "pass", "layout must be one of"),
        ({"objects": {"a": 1}}, "pass", "objects must be a list"),
        ({"objects": []}, "maybe", "under pass/ or fail/"),
    ],
)
def test_malformed_cases_are_user_errors(doc: dict[str, Any], outcome: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_case(doc, "rule", outcome, "policies/tests/rule/x.yaml")


def test_yaml_scalars_beyond_json_are_read_as_text(engine: PolicyEngine) -> None:
    """An unquoted date in a manifest loads as a date; the engine sees its text, not a crash."""
    import datetime

    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "airflow",
            "labels": {1: "x"},
            "annotations": {"since": datetime.date(2024, 1, 2)},
        },
    }
    found = _messages(engine, policy_input("o", OverlayLayout("ha", "test"), [namespace], {}))
    assert found["ownership-labels"][0].startswith("Namespace/airflow: lacks label app.kubernetes.io/")
