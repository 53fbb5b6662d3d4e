"""`gitops-tool validate` runs the policies with the schemas, through the real CLI and kustomize."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from gitops_tool.core.conventions import POLICY_EXCEPTION_PREFIX
from tests.conftest import RunCli

HA = "overlays/three-node-ha"


def _add_scheduler_folder(project: Path, n: int) -> None:
    """Scaffold scheduler-N the way add-scheduler does: scheduler-2's folder with its N, listed, mapped."""
    overlay = project / HA
    source = (overlay / "schedulers" / "scheduler-2" / "kustomization.yaml").read_text()
    assert source.count("scheduler-2") == 1 and source.count('"-2"') == 1
    target = overlay / "schedulers" / f"scheduler-{n}"
    target.mkdir()
    (target / "kustomization.yaml").write_text(
        source.replace("scheduler-2", f"scheduler-{n}").replace('"-2"', f'"-{n}"')
    )
    kustomization = overlay / "kustomization.yaml"
    text = kustomization.read_text()
    kustomization.write_text(
        text.replace(
            "  - schedulers/scheduler-2\n", f"  - schedulers/scheduler-2\n  - schedulers/scheduler-{n}\n"
        )
    )
    roles = overlay / "node-roles.yaml"
    roles.write_text(roles.read_text() + f"  scheduler-{n}: node-{n + 1}\n")


NODE_ROLE_VALUES = (
    "/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution"
    "/nodeSelectorTerms/0/matchExpressions/0/values"
)


def _pin_scheduler_2_to_scheduler_1(project: Path) -> None:
    kustomization = project / HA / "kustomization.yaml"
    text = kustomization.read_text()
    assert "\npatches:\n" in text  # the overlay's own patches (lb-source-ranges.yaml) stay
    kustomization.write_text(
        text.replace(
            "\npatches:\n",
            f"""\npatches:
  - target:
      kind: Deployment
      name: airflow-scheduler-2
    patch: |-
      - op: replace
        path: {NODE_ROLE_VALUES}
        value: [scheduler-1]
""",
            1,
        )
    )


def _report(out: str) -> dict[str, dict[str, object]]:
    return {o["overlay"]: o for o in json.loads(out)["overlays"]}


def test_shipped_overlays_pass_policies_and_list_their_exceptions(run_cli: RunCli, repo_root: Path) -> None:
    result = run_cli("validate", "--output", "json", cwd=repo_root)
    assert result.code == 0, result.out + result.err
    reports = _report(result.out)
    ha, legacy = reports[HA], reports["overlays/single-node-legacy"]
    assert str(ha["layout"]).startswith("ha (")
    assert str(legacy["layout"]).startswith("legacy (")
    exceptions = ha["exceptions"]
    assert isinstance(exceptions, list)
    assert any(e.startswith("Deployment/airflow-infra/nfs-server allows privileged: ") for e in exceptions)
    assert any(
        e.startswith("DaemonSet/airflow-infra/node-exporter allows host-network: ") for e in exceptions
    )


def test_policies_hold_after_a_third_scheduler(run_cli: RunCli, project_copy: Path) -> None:
    _add_scheduler_folder(project_copy, 3)
    rendered = run_cli("render", HA, cwd=project_copy)
    assert rendered.code == 0, rendered.err
    assert "name: airflow-scheduler-3" in rendered.out
    result = run_cli("validate", HA, cwd=project_copy)
    assert result.code == 0, result.out + result.err
    assert "scheduler-1, scheduler-2, scheduler-3" in result.out  # the layout line saw the new role


def test_a_scheduler_pinned_to_another_schedulers_role_fails(run_cli: RunCli, project_copy: Path) -> None:
    _pin_scheduler_2_to_scheduler_1(project_copy)
    result = run_cli("validate", HA, "--output", "json", cwd=project_copy)
    assert result.code == 1, result.out + result.err
    violations = _report(result.out)[HA]["violations"]
    assert isinstance(violations, list)
    found = {(v["rule"], v["object"]) for v in violations}
    assert found == {
        ("scheduler-node-role", "Deployment/airflow/airflow-scheduler-2"),
        ("scheduler-distinct-roles", "Deployment/airflow/airflow-scheduler-1"),
        ("scheduler-distinct-roles", "Deployment/airflow/airflow-scheduler-2"),
    }
    assert all(v["source"] == "policy:gitops.scheduling" for v in violations)
    text = run_cli("validate", HA, cwd=project_copy)
    assert text.code == 1
    assert (
        "policy:gitops.scheduling [scheduler-node-role]: Deployment/airflow/airflow-scheduler-2 at "
        "spec.template.spec.affinity.nodeAffinity: is scheduler-2 (label airflow.apache.org/scheduler) but "
        "is required onto node role scheduler-1; require node role scheduler-2"
    ) in text.out


def test_no_policies_checks_the_schemas_only(run_cli: RunCli, project_copy: Path) -> None:
    _pin_scheduler_2_to_scheduler_1(project_copy)
    result = run_cli("validate", HA, "--no-policies", "--output", "json", cwd=project_copy)
    assert result.code == 0, result.out + result.err
    report = _report(result.out)[HA]
    assert report["layout"] == ""
    assert report["exceptions"] == []


def test_an_exception_without_reason_fails_and_grants_nothing(run_cli: RunCli, project_copy: Path) -> None:
    deployment = project_copy / "base" / "nfs" / "server-deployment.yaml"
    text = deployment.read_text()
    key = f"{POLICY_EXCEPTION_PREFIX}privileged:"
    start = text.index(key)
    end = text.index("\n", start)
    deployment.write_text(text[:start] + f'{key} ""' + text[end:])
    result = run_cli("validate", HA, "--output", "json", cwd=project_copy)
    assert result.code == 1
    violations = _report(result.out)[HA]["violations"]
    assert isinstance(violations, list)
    assert sorted(v["rule"] for v in violations) == ["exception-reason", "privileged"]
    assert all(v["object"] == "Deployment/airflow-infra/nfs-server" for v in violations)


def test_a_repository_without_policies_says_so(run_cli: RunCli, project_copy: Path) -> None:
    shutil.rmtree(project_copy / "policies")
    result = run_cli("validate", HA, cwd=project_copy)
    assert result.code == 0, result.out + result.err
    assert "skipped: policies: the repository has no policies/ folder; none was checked" in result.out
