"""`gitops-tool secrets init|rotate` against the emulated API server (real client, real HTTP)."""

from __future__ import annotations

import base64
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core import conventions as c
from gitops_tool.core.secret_values import is_fernet_key
from tests.cluster_support import (
    CANARY_TOKEN,
    CANARY_VALUE,
    calls,
    kube_args,
    namespace,
    secret_object,
    writes,
)
from tests.conftest import RunCli, git
from tests.kubeapi import KubeApiServer

SECRETS = "/api/v1/namespaces/airflow/secrets"
SECRET = f"{SECRETS}/airflow-secrets"


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer([namespace()], token=CANARY_TOKEN) as server:
        yield server


def _decoded(data: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def test_init_creates_the_secret_with_every_key_and_prints_no_value(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    result = run_cli("secrets", "init", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert calls(api) == [("GET", SECRET), ("GET", "/api/v1/namespaces/airflow"), ("POST", SECRETS)]
    body = writes(api)[0].body
    assert writes(api)[0].query == {"fieldManager": "gitops-tool"}
    assert body["metadata"]["labels"] == {"app.kubernetes.io/created-by": "gitops-tool-secrets-init"}
    assert c.MANAGED_BY_LABEL not in body["metadata"]["labels"]
    values = _decoded(body["data"])
    assert sorted(values) == sorted(c.SECRET_KEYS)
    assert is_fernet_key(values[c.SECRET_KEY_FERNET])
    assert values[c.SECRET_KEY_POSTGRES_PASSWORD] in values[c.SECRET_KEY_SQL_ALCHEMY_CONN]
    for value in values.values():
        assert value not in result.out + result.err
    assert "created Secret airflow/airflow-secrets with keys: fernet-key" in result.out
    assert api.get_object("Secret", "airflow", "airflow-secrets") is not None


def test_init_creates_the_namespace_when_argo_cd_has_not_yet(tmp_path: Path, run_cli: RunCli) -> None:
    with KubeApiServer(token=CANARY_TOKEN) as api:
        result = run_cli("secrets", "init", *kube_args(api, tmp_path))
        assert result.code == 0, result.err
        assert [(r.method, r.path) for r in writes(api)] == [
            ("POST", "/api/v1/namespaces"),
            ("POST", SECRETS),
        ]
        assert writes(api)[0].body == {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "airflow"},
        }
        assert "created namespace airflow" in result.out


def test_init_refuses_an_existing_secret_and_sends_no_write(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    api.add(secret_object())
    result = run_cli("secrets", "init", *kube_args(api, tmp_path))
    assert result.code == 2
    assert "already exists; refusing to overwrite it (--force" in result.err
    assert calls(api) == [("GET", SECRET)]
    assert CANARY_VALUE not in result.out + result.err


def test_init_force_replaces_with_optimistic_concurrency(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    stored = api.add(secret_object())
    result = run_cli("secrets", "init", "--force", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert calls(api) == [("GET", SECRET), ("PUT", SECRET)]
    body = writes(api)[0].body
    assert body["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert CANARY_VALUE not in str(_decoded(body["data"]))
    assert CANARY_VALUE not in result.out + result.err


def test_init_to_a_file_outside_the_work_tree(tmp_path: Path, run_cli: RunCli) -> None:
    target = tmp_path / "out" / "airflow-secrets.yaml"
    target.parent.mkdir()
    result = run_cli("secrets", "init", "--output-file", str(target), cwd=tmp_path)
    assert result.code == 0, result.err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    manifest = yaml.safe_load(target.read_text())
    values = _decoded(manifest["data"])
    assert is_fernet_key(values[c.SECRET_KEY_FERNET])
    assert all(v not in result.out for v in values.values())
    again = run_cli("secrets", "init", "--output-file", str(target), cwd=tmp_path)
    assert again.code == 2 and "exists; refusing to overwrite it without --force" in again.err
    assert yaml.safe_load(target.read_text()) == manifest
    forced = run_cli("secrets", "init", "--output-file", str(target), "--force", cwd=tmp_path)
    assert forced.code == 0 and yaml.safe_load(target.read_text()) != manifest
    assert [p.name for p in target.parent.iterdir()] == ["airflow-secrets.yaml"]  # no temp file left


def test_init_refuses_a_file_inside_a_git_work_tree(tmp_path: Path, run_cli: RunCli) -> None:
    repo = tmp_path / "repo"
    (repo / "overlays").mkdir(parents=True)
    git(repo, "init", "-q")
    for target in (repo / "secrets.yaml", repo / "overlays" / "s.yaml"):
        result = run_cli("secrets", "init", "--output-file", str(target), cwd=tmp_path)
        assert result.code == 2
        assert "inside the work tree" in result.err
        assert not target.exists()


def deployment(name: str, reads_secret: bool) -> dict[str, object]:
    env = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "airflow-secrets", "key": "fernet-key"}}}]
    container = {"name": "c", "image": "i:1", **({"env": env} if reads_secret else {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "airflow"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def test_rotate_prepends_a_fernet_key_and_restarts_only_readers(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    old = api.add(secret_object())
    api.add_all([deployment("airflow-webserver", True), deployment("statsd", False)])
    result = run_cli("secrets", "rotate", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert [(m, p) for m, p in calls(api) if m != "GET" or "secrets" in p] == [
        ("GET", SECRET),
        ("PUT", SECRET),
        ("PATCH", "/apis/apps/v1/namespaces/airflow/deployments/airflow-webserver"),
    ]
    put = writes(api)[0].body
    old_values, new_values = _decoded(old["data"]), _decoded(put["data"])
    keys = new_values[c.SECRET_KEY_FERNET].split(",")
    assert keys[1] == old_values[c.SECRET_KEY_FERNET] and is_fernet_key(keys[0])
    assert new_values[c.SECRET_KEY_POSTGRES_PASSWORD] == old_values[c.SECRET_KEY_POSTGRES_PASSWORD]
    assert put["metadata"]["labels"]["x"] == "y"
    patch = writes(api)[1].body
    assert list(patch["spec"]["template"]["metadata"]["annotations"]) == ["kubectl.kubernetes.io/restartedAt"]
    assert "restarted Deployment/airflow-webserver" in result.out
    for value in (*new_values.values(), *old_values.values(), CANARY_VALUE):
        assert value not in result.out + result.err


def test_rotate_without_a_secret_says_run_init(api: KubeApiServer, tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("secrets", "rotate", *kube_args(api, tmp_path))
    assert result.code == 2 and "run `gitops-tool secrets init` first" in result.err
    assert writes(api) == []


def _postgres() -> dict[str, object]:
    env = [
        {
            "name": "POSTGRES_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "airflow-secrets", "key": "postgres-password"}},
        }
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "postgres", "namespace": "airflow"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "postgres", "image": "postgres:16.9", "env": env}]}}
        },
    }


def _finish_jobs(outcome: str) -> Callable[[KubeApiServer, dict[str, Any]], None]:
    def hook(api: KubeApiServer, job: dict[str, Any]) -> None:
        name = job["metadata"]["name"]
        api.add(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{name}-p", "namespace": "airflow", "labels": {"job-name": name}},
                "status": {"phase": "Succeeded" if outcome == "Complete" else "Failed"},
            }
        )
        api.set_log("airflow", f"{name}-p", "ALTER ROLE\n" if outcome == "Complete" else "psql: error\n")
        job["status"] = {"conditions": [{"type": outcome, "status": "True"}]}
        api.add(job)

    return hook


@pytest.mark.parametrize("outcome", ["Complete", "Failed"])
def test_rotate_database_password_alters_the_database_before_the_secret(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli, outcome: str
) -> None:
    old = api.add(secret_object())
    api.add_all([_postgres(), deployment("airflow-webserver", True)])
    api.on_create("Job", _finish_jobs(outcome))
    result = run_cli("secrets", "rotate", "--database-password", *kube_args(api, tmp_path))
    jobs = "/apis/batch/v1/namespaces/airflow/jobs"
    rotation = f"{SECRETS}/airflow-secrets-rotation"
    steps = [
        (w.method, w.path.rsplit("/", 1)[0] if w.path.startswith(jobs + "/") else w.path) for w in writes(api)
    ]
    expected = [("POST", SECRETS), ("POST", jobs), ("DELETE", jobs), ("DELETE", rotation)]
    if outcome == "Complete":
        assert result.code == 0, result.err
        expected += [
            ("PUT", SECRET),
            ("PATCH", "/apis/apps/v1/namespaces/airflow/deployments/airflow-webserver"),
        ]
    else:
        assert result.code == 2 and "changing the PostgreSQL password failed" in result.err
        assert "the Secret was not changed" in result.err
    assert steps == expected
    new_password = _decoded(writes(api)[0].body["data"])["new-postgres-password"]
    container = writes(api)[1].body["spec"]["template"]["spec"]["containers"][0]
    assert new_password not in str(container)  # the password reaches the Job through its environment only
    assert {e["name"]: e.get("valueFrom") for e in container["env"]}["NEW_PASSWORD"] == {
        "secretKeyRef": {"name": "airflow-secrets-rotation", "key": "new-postgres-password"}
    }
    assert container["image"] == "postgres:16.9"
    stored = _decoded(api.get_object("Secret", "airflow", "airflow-secrets")["data"])  # type: ignore[index]
    if outcome == "Complete":
        assert stored[c.SECRET_KEY_POSTGRES_PASSWORD] == new_password
        assert new_password in stored[c.SECRET_KEY_SQL_ALCHEMY_CONN]
    else:
        assert stored == _decoded(old["data"])
    assert api.get_object("Secret", "airflow", "airflow-secrets-rotation") is None
    for value in (new_password, *_decoded(old["data"]).values()):
        assert value not in result.out + result.err
