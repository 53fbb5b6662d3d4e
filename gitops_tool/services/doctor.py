"""``gitops-tool doctor``: read what the seed's troubleshooting commands showed, then judge it.

GET/LIST only, plus SubjectAccessReviews (the API's ``kubectl auth can-i --as=...``) and one
dry-run create of a Service (``dryRun=All``: the API server checks the NFS ClusterIP against its
Service range and stores nothing), which create nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gitops_tool.adapters.kube.client import KubeClient, api_path
from gitops_tool.core.backup_jobs import BACKUP_CRONJOB
from gitops_tool.core.conventions import INFRA_NAMESPACE, NAMESPACE, NAMESPACES
from gitops_tool.core.doctor import (
    EXECUTOR_PERMISSIONS,
    SERVICE_ACCOUNT_USER,
    AccessAnswer,
    CheckResult,
    ClusterSnapshot,
    run_checks,
)
from gitops_tool.core.service_range import Probe, ServiceRangeFacts, probe_from_refusal
from gitops_tool.errors import (
    ApiForbidden,
    ApiNotFound,
    ApiUnauthorized,
    ApiUnprocessable,
    ClusterApiError,
    GitopsError,
)
from gitops_tool.services import nodes

SUBJECT_ACCESS_REVIEWS = api_path("authorization.k8s.io", "v1", "subjectaccessreviews")


def executor_access(client: KubeClient) -> list[AccessAnswer]:
    """Ask the API server, for each permission the KubernetesExecutor uses, whether the airflow
    service account has it."""
    answers = []
    for verb, resource, subresource in EXECUTOR_PERMISSIONS:
        attributes: dict[str, Any] = {"namespace": NAMESPACE, "verb": verb, "resource": resource}
        if subresource:
            attributes["subresource"] = subresource
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": SERVICE_ACCOUNT_USER,
                "groups": [
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{NAMESPACE}",
                    "system:authenticated",
                ],
                "resourceAttributes": attributes,
            },
        }
        try:
            answer = client.create(SUBJECT_ACCESS_REVIEWS, review)
        except (ApiUnauthorized, ApiForbidden, ApiNotFound) as exc:
            return [AccessAnswer(verb, resource, subresource, None, f"HTTP {exc.status}")]
        allowed = bool((answer.get("status") or {}).get("allowed"))
        answers.append(AccessAnswer(verb, resource, subresource, allowed))
    return answers


def _items(client: KubeClient, path: str) -> list[dict[str, Any]]:
    return list(client.list(path))


def snapshot(client: KubeClient, overlay: str, now: datetime | None = None) -> ClusterSnapshot:
    loaded = nodes.load_mapping(overlay, required=False)
    node_list = _items(client, nodes.NODES_PATH)
    label_plan = None
    if loaded is not None:
        from gitops_tool.core.node_roles import plan_labels

        labels = {str(n["metadata"]["name"]): dict(n["metadata"].get("labels") or {}) for n in node_list}
        label_plan = plan_labels(loaded.mapping, labels)
    cronjob, jobs, readable = backups(client)

    # Airflow's namespace and the infrastructure's (NFS server and provisioner, node-exporter).
    def in_both(group: str, plural: str) -> list[Any]:
        return [o for ns in NAMESPACES for o in _items(client, api_path(group, "v1", plural, ns))]

    return ClusterSnapshot(
        now=now or datetime.now(UTC),
        pods=in_both("", "pods"),
        nodes=node_list,
        pvcs=_items(client, api_path("", "v1", "persistentvolumeclaims", NAMESPACE)),
        workloads=in_both("apps", "deployments") + in_both("apps", "statefulsets"),
        events=in_both("", "events"),
        access=executor_access(client),
        label_plan=label_plan,
        overlay=loaded.overlay if loaded is not None else overlay,
        backup_cronjob=cronjob,
        jobs=jobs,
        backups_readable=readable,
        service_range=service_range(client, overlay),
    )


def backups(client: KubeClient) -> tuple[dict[str, Any] | None, list[dict[str, Any]], bool]:
    """The backup CronJob (None: backups not enabled) and the namespace's Jobs."""
    try:
        cronjob = client.get_or_none(api_path("batch", "v1", "cronjobs", NAMESPACE, BACKUP_CRONJOB))
        jobs = _items(client, api_path("batch", "v1", "jobs", NAMESPACE)) if cronjob is not None else []
    except (ApiUnauthorized, ApiForbidden):
        return None, [], False
    return cronjob, jobs, True


NFS_SERVICE = "nfs-server"
# A name no object has; the dry-run create never stores it.
PROBE_SERVICE = "gitops-tool-service-range-probe"


def _cluster_ip(service: dict[str, Any] | None) -> str | None:
    ip = ((service or {}).get("spec") or {}).get("clusterIP")
    return str(ip) if isinstance(ip, str) and ip and ip != "None" else None


def _wanted_nfs_ip(overlay: str) -> str | None:
    """The nfs-server Service's clusterIP as the overlay renders it; None outside a repository."""
    from gitops_tool.services.rendering import render_overlay

    try:
        objects = render_overlay(overlay).objects()
    except GitopsError:
        return None
    for obj in objects:
        if obj.get("kind") == "Service" and (obj.get("metadata") or {}).get("name") == NFS_SERVICE:
            return _cluster_ip(obj)
    return None


def _get(client: KubeClient, path: str) -> dict[str, Any] | None:
    try:
        return client.get_or_none(path)
    except (ApiUnauthorized, ApiForbidden):
        return None


def service_range(client: KubeClient, overlay: str) -> ServiceRangeFacts:
    """Whether the NFS Service's address lies in the Service range, as far as the API server says."""
    wanted = _wanted_nfs_ip(overlay)
    live = _cluster_ip(_get(client, api_path("", "v1", "services", INFRA_NAMESPACE, NFS_SERVICE)))
    kubernetes = _cluster_ip(_get(client, api_path("", "v1", "services", "default", "kubernetes")))
    if wanted is None:
        return ServiceRangeFacts(None, live, kubernetes, Probe.UNKNOWN)
    probe = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": PROBE_SERVICE, "namespace": "default"},
        "spec": {"type": "ClusterIP", "clusterIP": wanted, "ports": [{"name": "nfs", "port": 2049}]},
    }
    try:
        client.create(api_path("", "v1", "services", "default"), probe, dry_run=True)
    except ApiUnprocessable as exc:
        verdict, detail = probe_from_refusal(str(exc))
        return ServiceRangeFacts(wanted, live, kubernetes, verdict, detail)
    except ClusterApiError as exc:
        return ServiceRangeFacts(
            wanted, live, kubernetes, Probe.UNKNOWN, f"dry-run create: HTTP {exc.status}"
        )
    return ServiceRangeFacts(wanted, live, kubernetes, Probe.FREE)


def diagnose(client: KubeClient, overlay: str) -> list[CheckResult]:
    return run_checks(snapshot(client, overlay))
