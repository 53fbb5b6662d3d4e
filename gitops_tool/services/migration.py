"""``gitops-tool migrate plan|check``: gather the facts the migration core judges. Reads only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gitops_tool.adapters.kube.client import ClusterApiError, KubeClient, api_path
from gitops_tool.core import backup_jobs as bj
from gitops_tool.core.conventions import COMPONENT_LABEL, NAMESPACE, SCHEDULER_COMPONENT
from gitops_tool.core.migration import MigrationFacts, application_states
from gitops_tool.core.node_roles import plan_labels
from gitops_tool.services import nodes
from gitops_tool.services.backup import APPLICATIONS


def _applications(client: KubeClient) -> list[dict[str, Any]]:
    try:
        return list(client.list(APPLICATIONS))
    except ClusterApiError as exc:
        if exc.status == 404:  # Argo CD is not installed: the check says so
            return []
        raise


def _ready_schedulers(client: KubeClient) -> dict[str, str]:
    ready = {}
    selector = f"{COMPONENT_LABEL}={SCHEDULER_COMPONENT}"
    for pod in client.list(api_path("", "v1", "pods", NAMESPACE), label_selector=selector):
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            ready[str(pod["metadata"]["name"])] = str((pod.get("spec") or {}).get("nodeName", ""))
    return ready


def gather(
    client: KubeClient, target: str, legacy: str, max_backup_age: timedelta, now: datetime | None = None
) -> MigrationFacts:
    loaded = nodes.load_mapping(target)
    assert loaded is not None  # noqa: S101 - required=True raises instead
    legacy_label = nodes.load_mapping(legacy, required=False)
    labels = nodes.live_node_labels(client)
    cronjob = client.get_or_none(api_path("batch", "v1", "cronjobs", NAMESPACE, bj.BACKUP_CRONJOB))
    jobs = list(client.list(api_path("batch", "v1", "jobs", NAMESPACE))) if cronjob is not None else []
    return MigrationFacts(
        now=now or datetime.now(UTC),
        mapping=loaded.mapping,
        label_plan=plan_labels(loaded.mapping, labels),
        node_names=sorted(labels),
        applications=application_states(_applications(client)),
        last_backup=bj.latest_success(jobs, cronjob),
        backup_component=cronjob is not None,
        scheduler_nodes=_ready_schedulers(client),
        max_backup_age=max_backup_age,
        target=loaded.overlay,
        legacy=legacy_label.overlay if legacy_label is not None else legacy,
    )
