"""No cluster command leaks a credential: canary values planted in the Secret and the kubeconfig
must never appear in stdout or stderr, on happy paths and on every kind of failure. Failures are
one line on stderr, exit 2."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster_support import CANARY_TOKEN, CANARY_VALUE, node, secret_object
from tests.conftest import REPO_ROOT, RunCli
from tests.kubeapi import KubeApiServer, ResourceType

APPLICATION = ResourceType("argoproj.io", "v1alpha1", "Application", "applications", True)
CANARIES = (CANARY_TOKEN, CANARY_VALUE, base64.b64encode(CANARY_VALUE.encode()).decode()[:16])

# Each command, and the exit code it has on the seeded cluster (a labelled-wrong, half-ready one).
EXPECTED: dict[tuple[str, ...], int] = {
    ("secrets", "init"): 2,  # refuses: the Secret exists
    ("secrets", "init", "--force"): 0,
    ("secrets", "rotate"): 0,
    ("secrets", "rotate", "--database-password"): 0,
    ("secrets", "rotate", "--admin-passwords", "--poll-interval", "0.01"): 0,
    ("secrets", "rotate", "--admin-passwords", "--database-password", "--poll-interval", "0.01"): 0,
    ("nodes", "check"): 1,
    ("nodes", "apply"): 0,
    ("nodes", "apply", "--yes"): 0,
    ("backup", "now", "--poll-interval", "0.01"): 0,
    ("backup", "list", "--poll-interval", "0.01"): 0,
    ("backup", "restore", "airflow-20261127T020000Z.dump", "--yes", "--poll-interval", "0.01"): 0,
    ("doctor",): 1,
    ("migrate", "plan"): 0,
    ("migrate", "check"): 1,
}
COMMANDS = [list(c) for c in EXPECTED]


def _objects() -> list[dict[str, Any]]:
    cronjob: dict[str, Any] = yaml.safe_load((REPO_ROOT / "components/backup/cronjob.yaml").read_text())
    cronjob["metadata"]["namespace"] = "airflow"
    webserver = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "airflow-webserver", "namespace": "airflow"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "airflow-webserver",
                            "image": "apache/airflow:2.11.0-python3.9",
                            "env": [
                                {
                                    "name": "CONN",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": "airflow-secrets", "key": "sql-alchemy-conn"}
                                    },
                                }
                            ],
                        }
                    ]
                }
            }
        },
    }
    grafana = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "grafana", "namespace": "airflow"},
        "spec": {
            "replicas": 1,
            "template": {"spec": {"containers": [{"name": "grafana", "image": "grafana/grafana:12.0.2"}]}},
        },
    }
    postgres = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "postgres", "namespace": "airflow"},
        "spec": {"template": {"spec": {"containers": [{"name": "postgres", "image": "postgres:16.9"}]}}},
    }
    return [
        postgres,
        grafana,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "airflow"}},
        secret_object(),
        cronjob,
        webserver,
        node("node-1", "management"),
        node("node-2"),
        node("node-3", "scheduler-1"),
    ]


def _complete_jobs(api: KubeApiServer, job: dict[str, Any]) -> None:
    name = job["metadata"]["name"]
    api.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"{name}-p", "namespace": "airflow", "labels": {"job-name": name}},
            "status": {"phase": "Succeeded"},
        }
    )
    api.set_log("airflow", f"{name}-p", "backup written: airflow-20261127T050000Z.dump 10 bytes\n")
    job["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    api.add(job)


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer(token=CANARY_TOKEN) as server:
        server.add_resource_type(APPLICATION)
        server.add_all(_objects())
        server.on_create("Job", _complete_jobs)
        yield server


def _assert_clean(result_out: str, result_err: str) -> None:
    for canary in CANARIES:
        assert canary not in result_out + result_err


def _kubeconfig(api: KubeApiServer, folder: Path, token: str = CANARY_TOKEN) -> str:
    return str(api.kubeconfig(folder, token=token))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_happy_paths_print_no_credential(
    api: KubeApiServer, tmp_path: Path, project_copy: Path, run_cli: RunCli, command: list[str]
) -> None:
    result = run_cli(*command, "--kubeconfig", _kubeconfig(api, tmp_path), cwd=project_copy)
    assert result.code == EXPECTED[tuple(command)], result.out + result.err
    _assert_clean(result.out, result.err)
    if result.code == 2:  # e.g. `secrets init` refusing the existing Secret: one line
        assert len(result.err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_rejected_credentials_are_one_line_without_the_token(
    api: KubeApiServer, tmp_path: Path, project_copy: Path, run_cli: RunCli, command: list[str]
) -> None:
    wrong = "canary-wrong-token-0b9e"
    result = run_cli(*command, "--kubeconfig", _kubeconfig(api, tmp_path, wrong), cwd=project_copy)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "401 Unauthorized" in result.err
    _assert_clean(result.out, result.err)
    assert wrong not in result.out + result.err
    assert {r.method for r in api.requests} <= {"GET"}  # nothing was written with bad credentials


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_forbidden_and_server_errors_are_one_line(
    api: KubeApiServer, tmp_path: Path, project_copy: Path, run_cli: RunCli, command: list[str]
) -> None:
    for plural, group in (
        ("secrets", ""),
        ("nodes", ""),
        ("cronjobs", "batch"),
        ("pods", ""),
        ("jobs", "batch"),
    ):
        api.forbid(plural, group=group)
    api.fail(500, method=None, path="/apis/apps", times=100)
    result = run_cli(
        *command, "--kubeconfig", _kubeconfig(api, tmp_path), "--request-timeout", "5", cwd=project_copy
    )
    assert result.code == 2, result.out
    assert result.err.count("\n") == 1 and result.err.startswith(
        "gitops-tool: error: cluster http://127.0.0.1:"
    )
    _assert_clean(result.out, result.err)


def test_unknown_context_and_missing_kubeconfig(
    tmp_path: Path, project_copy: Path, run_cli: RunCli, api: KubeApiServer
) -> None:
    config = _kubeconfig(api, tmp_path)
    result = run_cli("nodes", "check", "--kubeconfig", config, "--context", "nope", cwd=project_copy)
    assert result.code == 2 and "has no context 'nope'" in result.err
    missing = run_cli("doctor", "--kubeconfig", str(tmp_path / "none"), cwd=project_copy)
    assert missing.code == 2 and "does not exist" in missing.err
    _assert_clean(result.out + missing.out, result.err + missing.err)


def test_a_silent_server_times_out_with_one_line(tmp_path: Path, project_copy: Path, run_cli: RunCli) -> None:
    with KubeApiServer(token=CANARY_TOKEN) as api:
        api.silence()
        result = run_cli(
            "secrets",
            "init",
            "--kubeconfig",
            _kubeconfig(api, tmp_path),
            "--request-timeout",
            "0.3",
            cwd=project_copy,
        )
        assert result.code == 2
        assert "no answer within 0.3s (--request-timeout)" in result.err and result.err.count("\n") == 1
        assert [r.method for r in api.requests] == ["GET"] * len(api.requests)


def test_the_secret_written_to_a_file_is_not_printed(tmp_path: Path, run_cli: RunCli) -> None:
    target = tmp_path / "s.yaml"
    result = run_cli("secrets", "init", "--output-file", str(target), cwd=tmp_path)
    assert result.code == 0
    values = [base64.b64decode(v).decode() for v in yaml.safe_load(target.read_text())["data"].values()]
    assert all(v not in result.out + result.err for v in values)
