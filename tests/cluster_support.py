"""Shared pieces for tests of cluster-touching commands: canary credentials and seeded objects."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT, CliResult, RunCli
from tests.kubeapi import KubeApiServer, Recorded

# Planted in the kubeconfig and the Secret; no command may ever print them.
CANARY_TOKEN = "canary-token-7f3a9c"
CANARY_VALUE = "canary-secret-5e1d2b"


def canary_secret_values() -> dict[str, str]:
    from gitops_tool.core.conventions import SECRET_KEY_FERNET, SECRET_KEYS

    fernet = base64.urlsafe_b64encode(b"c" * 32).decode()
    return {key: (fernet if key == SECRET_KEY_FERNET else f"{CANARY_VALUE}-{key}") for key in SECRET_KEYS}


def secret_object(values: dict[str, str] | None = None) -> dict[str, Any]:
    data = {k: base64.b64encode(v.encode()).decode() for k, v in (values or canary_secret_values()).items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "airflow-secrets", "namespace": "airflow", "labels": {"x": "y"}},
        "type": "Opaque",
        "data": data,
    }


def node(name: str, role: str | None = None) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name}
    if role:
        labels["node-role.kubernetes.io/airflow"] = role
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def namespace(name: str = "airflow") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


Prepare = Callable[[KubeApiServer], None]
# drift(objects, *args, prepare=None): the CLI's result, its JSON report ({} when none) and the server.
Drift = Callable[..., tuple[CliResult, dict[str, Any], KubeApiServer]]


def drift_json(
    run_cli: RunCli,
    folder: Path,
    source: tuple[str, ...],
    objects: list[dict[str, Any]],
    *args: str,
    prepare: Prepare | None = None,
) -> tuple[CliResult, dict[str, Any], KubeApiServer]:
    """``gitops-tool drift SOURCE... --output json ARGS`` (from the repository root) against an emulated
    API server holding ``objects``; ``prepare`` sets its faults first. The kubeconfig goes in ``folder``."""
    with KubeApiServer(objects, token=CANARY_TOKEN) as api:
        if prepare is not None:
            prepare(api)
        config = api.kubeconfig(folder)
        result = run_cli(
            "drift", *source, "--kubeconfig", str(config), "--output", "json", *args, cwd=REPO_ROOT
        )
    report = json.loads(result.out) if result.out.strip().startswith("{") else {}
    return result, report, api


def service(ns: str, name: str, ip: str) -> dict[str, Any]:
    """A ClusterIP Service holding ``ip``."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"type": "ClusterIP", "clusterIP": ip, "ports": [{"port": 443}]},
    }


def kube_args(api: KubeApiServer, folder: Path) -> list[str]:
    return ["--kubeconfig", str(api.kubeconfig(folder)), "--request-timeout", "5"]


def calls(api: KubeApiServer) -> list[tuple[str, str]]:
    """(method, path) of every request, discovery excluded."""
    return [(r.method, r.path) for r in api.requests]


def writes(api: KubeApiServer) -> list[Recorded]:
    return [r for r in api.requests if r.method != "GET"]
