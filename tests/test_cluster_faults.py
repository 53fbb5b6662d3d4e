"""The cluster readers under faults, through the CLI and the real kubernetes client.

The emulated API server (tests/kubeapi.py) answers badly in the ways seen in the field: HTTP errors
(401, 403 per kind, 404 per group, 410 on a ``continue`` token, 429, 500, 503), a reset or a silent
connection, and 200 answers that are not what was asked (an auth proxy's HTML page, a truncated or
cut-off document, JSON of the wrong shape, a body trickled byte by byte). An auditor never turns
"could not read" into "missing" or "in sync": the scope becomes ``unknown`` with the reason and the
run exits 2, or reports partially with ``--allow-partial``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.adapters.kustomize import KustomizeRenderer, resolve_kustomize
from gitops_tool.core import conventions as c
from gitops_tool.core.documents import parse_manifests
from tests import livestate as ls
from tests.cluster_support import CANARY_TOKEN, Drift, Prepare, drift_json, kube_args, namespace, node
from tests.conftest import REPO_ROOT, CliResult, RunCli
from tests.kubeapi import KubeApiServer

OVERLAY = "overlays/three-node-ha"
ROLES = yaml.safe_load((REPO_ROOT / OVERLAY / c.NODE_ROLES_FILE).read_text())["roles"]
DEPLOYMENTS = "/apis/apps/v1/namespaces/airflow/deployments"
CONFIGMAPS = "/api/v1/namespaces/airflow/configmaps"
SECRETS = "/api/v1/namespaces/airflow/secrets"
SERVICES = "/api/v1/namespaces/airflow/services"
BODY_FAULTS = ("html", "html-as-json", "truncated", "wrong-shape", "not-a-list")
# Every bad body for the lists; the slow tier runs the rarer ones for each reader too.
BODY_PARAMS = [
    pytest.param(mode, marks=() if mode in ("html", "truncated") else pytest.mark.slow)
    for mode in BODY_FAULTS
]


@pytest.fixture(scope="module")
def desired_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = KustomizeRenderer(resolve_kustomize()).build(REPO_ROOT / OVERLAY)
    path = tmp_path_factory.mktemp("desired") / "desired.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def cluster(desired_file: Path) -> list[dict[str, Any]]:
    desired = parse_manifests(desired_file.read_text(), "render")
    return ls.cluster_state(desired, workers=3, roles=ROLES)


@pytest.fixture
def drift(run_cli: RunCli, tmp_path: Path, desired_file: Path) -> Drift:
    return functools.partial(drift_json, run_cli, tmp_path, (OVERLAY, "--desired-file", str(desired_file)))


def _statuses(report: dict[str, Any], kind: str) -> set[str]:
    return {r["status"] for r in report["resources"] if r["kind"] == kind}


def _scopes(report: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(s["kind"], s["namespace"]) for s in report["unknown_scopes"]}


def _assert_incomplete(result: CliResult, report: dict[str, Any]) -> None:
    assert result.code == 2, result.err
    assert result.err.count("\n") == 1 and "--allow-partial" in result.err
    assert report["summary"]["unknown_scopes"] >= 1
    assert CANARY_TOKEN not in result.out + result.err


def test_the_seeded_cluster_is_in_sync(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    result, report, api = drift(cluster)
    assert result.code == 0, result.err
    assert report["unknown_scopes"] == [] and report["summary"]["unknown"] == 0
    assert api.methods() == {"GET"}


# --- bodies that are not what was asked --------------------------------------------------------


@pytest.mark.parametrize("mode", BODY_FAULTS)
def test_a_bad_list_body_makes_its_kind_unknown_never_missing(
    drift: Drift, cluster: list[dict[str, Any]], mode: str
) -> None:
    result, report, _ = drift(cluster, prepare=lambda api: api.corrupt(mode, path=DEPLOYMENTS))
    _assert_incomplete(result, report)
    assert _statuses(report, "Deployment") == {"unknown"}
    assert ("Deployment", "airflow") in _scopes(report)
    assert report["summary"]["missing"] == 0
    reason = next(s["reason"] for s in report["unknown_scopes"] if s["kind"] == "Deployment")
    assert reason.startswith("unreadable answer for Deployment in airflow")


@pytest.mark.parametrize("mode", BODY_PARAMS)
def test_a_bad_discovery_document_makes_the_groups_kinds_unknown(
    drift: Drift, cluster: list[dict[str, Any]], mode: str
) -> None:
    result, report, _ = drift(cluster, prepare=lambda api: api.corrupt(mode, path="/apis/apps/v1"))
    _assert_incomplete(result, report)
    assert {"Deployment", "StatefulSet"} <= {kind for kind, _ in _scopes(report)}
    assert _statuses(report, "Deployment") == {"unknown"} and report["summary"]["missing"] == 0


def test_a_truncated_secret_list_does_not_hide_a_hand_made_secret(
    drift: Drift, cluster: list[dict[str, Any]]
) -> None:
    hand_made = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hand-made", "namespace": "airflow", "labels": dict(c.OWNERSHIP_LABELS)},
        "data": {"k": "dmFsdWU="},
    }
    result, report, _ = drift([*cluster, hand_made])
    assert result.code == 1 and {r["name"] for r in report["resources"] if r["status"] == "extra"} == {
        "hand-made"
    }
    result, report, _ = drift([*cluster, hand_made], prepare=lambda api: api.corrupt("truncated", SECRETS))
    _assert_incomplete(result, report)
    assert ("Secret", "airflow") in _scopes(report)
    assert "no drift" not in result.out + result.err


def test_with_allow_partial_a_bad_body_gives_a_partial_report(
    drift: Drift, cluster: list[dict[str, Any]]
) -> None:
    result, report, _ = drift(
        cluster, "--allow-partial", prepare=lambda api: api.corrupt("html", DEPLOYMENTS)
    )
    assert result.code == 0, result.err
    assert _statuses(report, "Deployment") == {"unknown"}
    assert report["summary"]["in_sync"] > 0 and report["summary"]["missing"] == 0


def test_text_and_markdown_name_the_unreadable_scope(
    run_cli: RunCli, tmp_path: Path, desired_file: Path, cluster: list[dict[str, Any]]
) -> None:
    with KubeApiServer(cluster, token=CANARY_TOKEN) as api:
        api.forbid("secrets")
        config = str(api.kubeconfig(tmp_path))
        outputs = [
            run_cli(
                "drift",
                OVERLAY,
                "--desired-file",
                str(desired_file),
                "--kubeconfig",
                config,
                "-o",
                fmt,
                cwd=REPO_ROOT,
            )
            for fmt in ("text", "markdown")
        ]
    for result in outputs:
        assert result.code == 2
        assert "Secret in airflow: forbidden: the auditor may not read Secret in airflow" in result.out
        assert "no drift" not in result.out and "incomplete" in result.out


# --- HTTP errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plural", "group", "kind"),
    [
        ("secrets", "", "Secret"),
        ("configmaps", "", "ConfigMap"),
        ("deployments", "apps", "Deployment"),
        ("clusterroles", "rbac.authorization.k8s.io", "ClusterRole"),
    ],
)
def test_a_403_on_any_kind_is_unknown_and_exit_2_unless_partial(
    drift: Drift, cluster: list[dict[str, Any]], plural: str, group: str, kind: str
) -> None:
    def deny(api: KubeApiServer) -> None:
        api.forbid(plural, group)

    result, report, _ = drift(cluster, prepare=deny)
    _assert_incomplete(result, report)
    assert kind in {k for k, _ in _scopes(report)}
    assert report["summary"]["missing"] == 0 and _statuses(report, kind) <= {"unknown"}
    result, report, _ = drift(cluster, "--allow-partial", prepare=deny)
    assert result.code == 0, result.err
    assert kind in {k for k, _ in _scopes(report)}


@pytest.mark.slow
@pytest.mark.parametrize(("status", "path"), [(500, SERVICES), (429, DEPLOYMENTS), (503, CONFIGMAPS)])
def test_an_http_error_that_outlasts_the_retries_makes_the_scope_unknown(
    drift: Drift, cluster: list[dict[str, Any]], status: int, path: str
) -> None:
    def failing(api: KubeApiServer) -> None:
        api.fail(status, path=path, times=100, retry_after=0 if status == 429 else None)

    result, report, api = drift(cluster, prepare=failing)
    _assert_incomplete(result, report)
    assert len([r for r in api.requests if r.path == path]) == 5  # the first try and 4 retries
    assert report["summary"]["missing"] == 0


def test_a_404_status_on_a_group_means_the_api_is_not_served(
    drift: Drift, cluster: list[dict[str, Any]]
) -> None:
    # A Kubernetes Status 404 for the group-version: the server does not serve it, so its objects
    # are really absent. An HTML 404 (a proxy's page) is no such statement: unknown.
    result, report, _ = drift(cluster, prepare=lambda api: api.fail(404, path="/apis/policy/v1", times=5))
    assert result.code == 1, result.err
    assert _statuses(report, "PodDisruptionBudget") == {"missing"}


def test_a_410_on_a_continue_token_restarts_the_list_once(
    drift: Drift, cluster: list[dict[str, Any]]
) -> None:
    many = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"team-{i:03}", "namespace": "airflow"},
        }
        for i in range(510)
    ]
    result, _, api = drift(
        [*cluster, *many], prepare=lambda api: api.fail(410, path=CONFIGMAPS, on_continue=True)
    )
    assert result.code == 0, result.err
    pages = [r for r in api.requests if r.path == CONFIGMAPS]
    assert ["continue" in p.query for p in pages] == [False, True, False, True]

    result, report, _ = drift(
        [*cluster, *many], prepare=lambda api: api.fail(410, path=CONFIGMAPS, on_continue=True, times=2)
    )
    _assert_incomplete(result, report)
    assert ("ConfigMap", "airflow") in _scopes(report)


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        (lambda api: api.fail(401, path="/", times=100), "401 Unauthorized"),
        (lambda api: api.silence(), "no answer within 0.3s"),
    ],
    ids=["unauthorized", "silent"],
)
def test_connection_failures_end_the_audit_in_one_line(
    drift: Drift, cluster: list[dict[str, Any]], prepare: Prepare, expected: str
) -> None:
    result, _, api = drift(cluster, "--request-timeout", "0.3", "--allow-partial", prepare=prepare)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and expected in result.err and api.url in result.err


@pytest.mark.slow
def test_a_body_cut_off_is_retried_then_unknown(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    result, report, api = drift(cluster, prepare=lambda api: api.corrupt("cut", path=DEPLOYMENTS))
    _assert_incomplete(result, report)
    assert _statuses(report, "Deployment") == {"unknown"}
    assert len([r for r in api.requests if r.path == DEPLOYMENTS]) == 5  # the first try and 4 retries

    # Once only: the retry reads the whole answer.
    result, report, _ = drift(cluster, prepare=lambda api: api.corrupt("cut", path=DEPLOYMENTS, times=1))
    assert result.code == 0, result.err


@pytest.mark.slow
def test_a_connection_reset_is_retried_then_ends_the_audit(
    drift: Drift, cluster: list[dict[str, Any]]
) -> None:
    result, _, api = drift(cluster, "--allow-partial", prepare=lambda api: api.corrupt("reset", DEPLOYMENTS))
    assert result.code == 2 and result.out == ""
    assert result.err.count("\n") == 1 and "connection failed" in result.err
    assert len([r for r in api.requests if r.path == DEPLOYMENTS]) == 5
    result, _, _ = drift(cluster, prepare=lambda api: api.corrupt("reset", path=DEPLOYMENTS, times=1))
    assert result.code == 0, result.err


@pytest.mark.slow
def test_request_timeout_bounds_a_trickled_body(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    # The Deployments list is several kilobytes; at one byte every 50 ms it would take minutes.
    result, _, _ = drift(
        cluster, "--request-timeout", "0.5", prepare=lambda api: api.corrupt("trickle", path=DEPLOYMENTS)
    )
    assert result.code == 2
    assert result.err.count("\n") == 1 and "no answer within 0.5s" in result.err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "-inf"])
def test_request_timeout_must_be_a_positive_finite_number(run_cli: RunCli, value: str) -> None:
    result = run_cli("drift", OVERLAY, "--live-file", "-", "--request-timeout", value, cwd=REPO_ROOT)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "--request-timeout" in result.err
    assert "Traceback" not in result.err


# --- nodes check, doctor, dags status ------------------------------------------------------


def _roles_overlay(tmp_path: Path) -> str:
    overlay = tmp_path / "repo" / "overlays" / "ha"
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    (overlay / "node-roles.yaml").write_text("roles: {management: node-1, scheduler-1: node-2}\n")
    return str(overlay)


NODES = [namespace(), node("node-1", "management"), node("node-2", "scheduler-1")]


def _corrupt_nodes(mode: str) -> Prepare:
    return lambda api: api.corrupt(mode, path="/api/v1/nodes")


NODE_FAULTS = [
    *(pytest.param(_corrupt_nodes(mode), id=mode) for mode in BODY_FAULTS),
    pytest.param(lambda api: api.forbid("nodes"), id="403"),
    pytest.param(
        lambda api: api.fail(500, path="/api/v1/nodes", times=100), id="500", marks=pytest.mark.slow
    ),
]


@pytest.mark.parametrize("fault", NODE_FAULTS)
def test_nodes_check_never_reports_nodes_missing_from_an_unreadable_answer(
    tmp_path: Path, run_cli: RunCli, fault: Prepare
) -> None:
    with KubeApiServer(NODES, token=CANARY_TOKEN) as api:
        fault(api)
        result = run_cli("nodes", "check", _roles_overlay(tmp_path), *kube_args(api, tmp_path))
    assert result.code == 2, result.out
    assert result.out == "" and result.err.count("\n") == 1
    assert "not found" not in result.err and "missing" not in result.err
    assert api.methods() == {"GET"}


@pytest.mark.parametrize("fault", NODE_FAULTS)
def test_doctor_never_judges_an_unreadable_answer(tmp_path: Path, run_cli: RunCli, fault: Prepare) -> None:
    with KubeApiServer(NODES, token=CANARY_TOKEN) as api:
        fault(api)
        result = run_cli("doctor", _roles_overlay(tmp_path), *kube_args(api, tmp_path))
    assert result.code == 2
    assert result.err.count("\n") == 1 and "/api/v1/nodes" in result.err
    assert "not found" not in result.out + result.err


DAGS_PVC_PATH = "/api/v1/namespaces/airflow/persistentvolumeclaims/airflow-dags"
DAGS_FAULTS: list[tuple[str, Prepare]] = [
    ("pvc-html", lambda api: api.corrupt("html", path=DAGS_PVC_PATH)),
    ("pvc-truncated", lambda api: api.corrupt("truncated", path=DAGS_PVC_PATH)),
    ("pods-not-a-list", lambda api: api.corrupt("not-a-list", path="/api/v1/namespaces/airflow/pods")),
    ("pods-403", lambda api: api.forbid("pods")),
]


@pytest.mark.parametrize("fault", [f for _, f in DAGS_FAULTS], ids=[n for n, _ in DAGS_FAULTS])
def test_dags_status_never_says_not_found_from_an_unreadable_answer(
    tmp_path: Path, run_cli: RunCli, fault: Prepare
) -> None:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "airflow-dags", "namespace": "airflow"},
        "spec": {"accessModes": ["ReadWriteMany"]},
        "status": {"phase": "Bound"},
    }
    with KubeApiServer([pvc], token=CANARY_TOKEN) as api:
        fault(api)
        result = run_cli("dags", "status", *kube_args(api, tmp_path))
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.out == ""
    assert "does not exist" not in result.err
    assert not [r for r in api.requests if r.method == "POST"]  # no agent pod on a misread cluster


# --- credentials that cannot be resolved -------------------------------------------------


def _kubeconfig(api: KubeApiServer, folder: Path, user: dict[str, Any] | None, user_name: str) -> Path:
    config = yaml.safe_load(api.kubeconfig(folder).read_text())
    config["users"] = [{"name": "auditor", "user": user}] if user is not None else []
    config["contexts"][0]["context"]["user"] = user_name
    path = folder / "broken-kubeconfig.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _exec_user(command: str, *args: str) -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": list(args),
            "interactiveMode": "Never",
        }
    }


BROKEN_CREDENTIALS: list[tuple[str, dict[str, Any] | None, str, str]] = [
    ("missing-user", None, "ghost", "names user 'ghost', which it does not define"),
    ("missing-plugin", _exec_user("/nonexistent/kube-login"), "auditor", "exec credential plugin"),
    ("failing-plugin", _exec_user("/bin/sh", "-c", "echo denied >&2; exit 3"), "auditor", "exec credential"),
    ("plugin-without-token", _exec_user("/bin/sh", "-c", "echo '{}'"), "auditor", "exec credential plugin"),
]
COMMANDS: list[list[str]] = [
    ["drift", OVERLAY, "--desired-file", str(REPO_ROOT / "examples" / "live" / "three-node-ha.yaml")],
    ["nodes", "check", OVERLAY],
    ["doctor", OVERLAY],
    ["dags", "status"],
    ["secrets", "init"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
@pytest.mark.parametrize(
    ("user", "user_name", "expected"),
    [b[1:] for b in BROKEN_CREDENTIALS],
    ids=[b[0] for b in BROKEN_CREDENTIALS],
)
def test_broken_credentials_fail_before_any_request(  # noqa: PLR0917 - parametrised
    tmp_path: Path,
    project_copy: Path,
    run_cli: RunCli,
    command: list[str],
    user: dict[str, Any] | None,
    user_name: str,
    expected: str,
) -> None:
    with KubeApiServer(NODES, token=None) as api:  # a server that would answer anonymous requests
        config = _kubeconfig(api, tmp_path, user, user_name)
        result = run_cli(*command, "--kubeconfig", str(config), cwd=project_copy)
    assert result.code == 2, result.out
    assert result.err.count("\n") == 1 and expected in result.err
    assert "ERROR:root" not in result.err
    assert api.requests == []
