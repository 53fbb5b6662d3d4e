"""Opening the cluster for a command: one place turning the shared options into a client."""

from __future__ import annotations

from gitops_tool.adapters.kube.client import KubeClient, KubeSettings, connect


def open_cluster(kubeconfig: str | None, context: str | None, request_timeout: float) -> KubeClient:
    return connect(KubeSettings(kubeconfig=kubeconfig, context=context, request_timeout=request_timeout))
