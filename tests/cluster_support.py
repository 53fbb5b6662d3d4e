"""Shared pieces for tests of cluster-touching commands: canary credentials and seeded objects."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

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


def kube_args(api: KubeApiServer, folder: Path) -> list[str]:
    return ["--kubeconfig", str(api.kubeconfig(folder)), "--request-timeout", "5"]


def calls(api: KubeApiServer) -> list[tuple[str, str]]:
    """(method, path) of every request, discovery excluded."""
    return [(r.method, r.path) for r in api.requests]


def writes(api: KubeApiServer) -> list[Recorded]:
    return [r for r in api.requests if r.method != "GET"]
