"""Running the DAG agent pod through the API (create, wait, read its log, clean up).

Only plain REST calls of the official client (see docs/tasks/deliver-dags.md for why not exec): the
bundle ConfigMap and the pod are created, the pod is polled until it ends, its log is read, and
both objects are deleted last, after the log showed what happened on the volume.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from gitops_tool.adapters.kube.client import KubeClient, api_path
from gitops_tool.core import conventions
from gitops_tool.errors import ApiConflict, ApiNotFound, ClusterError, UserError

Clock = Callable[[], float]
POLL_INTERVAL_S = 1.0


class DagsAgentRunner:
    """The agent's lifecycle in one namespace."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        clock: Clock = time.monotonic,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.clock = clock
        self.poll_interval_s = poll_interval_s

    def git_sync_replicas(self) -> int:
        """Replicas of the git-sync Deployment (0 when there is none): it owns the volume then."""
        path = api_path("apps", "v1", "deployments", self.namespace, conventions.GIT_SYNC_DEPLOYMENT)
        deployment = self.client.get_or_none(path)
        if deployment is None:
            return 0
        replicas = (deployment.get("spec") or {}).get("replicas", 1)
        return int(replicas) if replicas is not None else 1

    def require_dags_volume(self) -> None:
        """``UserError`` unless the PVC the agent mounts exists (a pod would wait for it forever)."""
        path = api_path("", "v1", "persistentvolumeclaims", self.namespace, conventions.DAGS_PVC)
        if self.client.get_or_none(path) is None:
            raise UserError(
                f"PersistentVolumeClaim {self.namespace}/{conventions.DAGS_PVC} does not exist: "
                "sync the overlay first (Argo CD), or pass the right --namespace/--context"
            )

    def scheduler_pods(self) -> list[dict[str, Any]]:
        """Running scheduler pods (those with a node), to look at the volume from their nodes."""
        selector = f"{conventions.COMPONENT_LABEL}={conventions.SCHEDULER_COMPONENT}"
        pods = self.client.list(api_path("", "v1", "pods", self.namespace), label_selector=selector)
        running = [p for p in pods if (p.get("spec") or {}).get("nodeName")]
        return sorted(running, key=lambda p: str(p["metadata"]["name"]))

    def dry_run(self, objects: list[dict[str, Any]]) -> None:
        """Let the server validate and admit each object (``dryRun=All``) without storing any."""
        for obj in objects:
            self.client.create(self._collection(obj), obj, dry_run=True)

    def run(self, pod: dict[str, Any], timeout_s: float, bundle: dict[str, Any] | None = None) -> str:
        """Create ``bundle`` (if any) and ``pod``, wait for the pod to end, return its log.

        Both objects are deleted afterwards, whatever happened; nothing is deleted before the log
        (and so the switch on the volume) has been read.
        """
        created: list[dict[str, Any]] = []
        try:
            for obj in (bundle, pod):
                if obj is None:
                    continue
                self._create(obj)
                created.append(obj)
            phase = self._wait(pod, timeout_s)
            log = self.client.get_text(self._object_path(pod) + "/log")
            if phase not in ("Succeeded", "Failed"):
                raise ClusterError(
                    f"pod {pod['metadata']['name']} did not finish within {timeout_s:g}s (phase {phase}); "
                    "is the image pullable and the PVC airflow-dags bound? (--timeout)"
                )
            return log
        finally:
            for obj in reversed(created):
                self._delete_quietly(obj)

    def _create(self, obj: dict[str, Any]) -> None:
        try:
            self.client.create(self._collection(obj), obj)
        except ApiConflict:
            kind, name = obj["kind"], obj["metadata"]["name"]
            raise UserError(
                f"{kind} {self.namespace}/{name} already exists: another `gitops-tool dags` command is "
                f"running, or one was interrupted (then delete it: kubectl -n {self.namespace} delete "
                f"{kind.lower()} {name})"
            ) from None

    def _wait(self, pod: dict[str, Any], timeout_s: float) -> str:
        deadline = self.clock() + timeout_s
        while True:
            live = self.client.get(self._object_path(pod))
            phase = str((live.get("status") or {}).get("phase") or "Pending")
            if phase in ("Succeeded", "Failed") or self.clock() >= deadline:
                return phase
            self.client.settings.sleep(self.poll_interval_s)

    def _delete_quietly(self, obj: dict[str, Any]) -> None:
        with contextlib.suppress(ApiNotFound):
            self.client.delete(self._object_path(obj))

    def _collection(self, obj: dict[str, Any]) -> str:
        return api_path("", "v1", _plural(obj), self.namespace)

    def _object_path(self, obj: dict[str, Any]) -> str:
        return api_path("", "v1", _plural(obj), self.namespace, str(obj["metadata"]["name"]))


def _plural(obj: dict[str, Any]) -> str:
    return {"Pod": "pods", "ConfigMap": "configmaps"}[str(obj["kind"])]
