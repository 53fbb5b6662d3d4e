"""The seed's troubleshooting section as checks: pure functions over live objects.

Each check turns what `kubectl get events`, `describe pod`, `get nodes --show-labels`,
`get pvc`, `logs -l app=nfs-...` and `auth can-i` showed an operator into one pass/fail line
and a hint saying what to do next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from gitops_tool.core import backup_jobs as bj
from gitops_tool.core.conventions import (
    COMPONENT_LABEL,
    INFRA_NAMESPACE,
    NAMESPACE,
    SCHEDULER_COMPONENT,
    TRIGGERER_COMPONENT,
)
from gitops_tool.core.node_roles import LabelPlan
from gitops_tool.core.objects import Manifest
from gitops_tool.core.service_range import NAME as SERVICE_RANGE_CHECK
from gitops_tool.core.service_range import ServiceRangeFacts, judge

SERVICE_ACCOUNT_USER = f"system:serviceaccount:{NAMESPACE}:airflow"
# What the KubernetesExecutor does with worker pods (Airflow Helm chart's pod-launcher role).
EXECUTOR_PERMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("create", "pods", ""),
    ("get", "pods", ""),
    ("list", "pods", ""),
    ("watch", "pods", ""),
    ("patch", "pods", ""),
    ("delete", "pods", ""),
    ("get", "pods", "log"),
)
_SHOWN = 5
_MESSAGE_CHARS = 160


class Status(Enum):
    PASS = "PASS"  # noqa: S105 - a check outcome, not a password
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"  # could not be determined (no permission, nothing to look at)


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    hint: str = ""
    items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AccessAnswer:
    """One (Self)SubjectAccessReview answer; ``allowed`` None when the review could not be made."""

    verb: str
    resource: str
    subresource: str
    allowed: bool | None
    reason: str = ""


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything doctor reads, as the API server returned it (plain dicts)."""

    now: datetime
    pods: list[Manifest]
    nodes: list[Manifest]
    pvcs: list[Manifest]
    workloads: list[Manifest]  # Deployments and StatefulSets of both namespaces
    events: list[Manifest]
    access: list[AccessAnswer]
    label_plan: LabelPlan | None  # None: no mapping for the overlay
    overlay: str = ""
    backup_cronjob: Manifest | None = None  # components/backup's CronJob; None: not in the cluster
    jobs: list[Manifest] = field(default_factory=list)  # Jobs of the namespace
    backups_readable: bool = True  # False: the API server refused to show CronJobs or Jobs
    service_range: ServiceRangeFacts | None = None  # None: not looked at


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _name(obj: Mapping[str, Any]) -> str:
    return str(_meta(obj).get("name", ""))


def _short(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= _MESSAGE_CHARS else one_line[: _MESSAGE_CHARS - 1] + "…"


def _more(items: Sequence[str]) -> list[str]:
    return [*items[:_SHOWN], f"... and {len(items) - _SHOWN} more"] if len(items) > _SHOWN else list(items)


def check_pending_pods(snapshot: ClusterSnapshot) -> CheckResult:
    pending = [p for p in snapshot.pods if (p.get("status") or {}).get("phase") == "Pending"]
    if not pending:
        return CheckResult("pending pods", Status.PASS, f"no pending pod among {len(snapshot.pods)}")
    items = []
    for pod in sorted(pending, key=_name):
        reason = "not scheduled yet"
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                reason = _short(f"{cond.get('reason', 'Unschedulable')}: {cond.get('message', '')}")
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                reason = f"container {status.get('name')}: {waiting['reason']}"
        items.append(f"{_name(pod)}: {reason}")
    return CheckResult(
        "pending pods",
        Status.FAIL,
        f"{len(pending)} pod(s) pending",
        "Unschedulable usually means a missing node label (gitops-tool nodes check) or too few "
        "resources on the role's node; an unbound PVC points at NFS",
        _more(items),
    )


def check_node_labels(snapshot: ClusterSnapshot) -> CheckResult:
    plan = snapshot.label_plan
    if plan is None:
        return CheckResult(
            "node labels", Status.UNKNOWN, f"no node-roles.yaml in {snapshot.overlay or 'the overlay'}"
        )
    if plan.in_sync:
        return CheckResult("node labels", Status.PASS, "every mapped node carries its role label")
    return CheckResult(
        "node labels",
        Status.FAIL,
        f"{len(plan.problems())} node label problem(s)",
        f"gitops-tool nodes apply {snapshot.overlay} --yes",
        _more(plan.problems()),
    )


def _ready(workload: Mapping[str, Any]) -> tuple[int, int]:
    spec, status = workload.get("spec") or {}, workload.get("status") or {}
    wanted = spec.get("replicas", 1)
    return int(status.get("readyReplicas") or 0), int(1 if wanted is None else wanted)


def check_nfs(snapshot: ClusterSnapshot) -> CheckResult:
    nfs = [w for w in snapshot.workloads if "nfs" in _name(w)]
    if not nfs:
        return CheckResult(
            "NFS server and provisioner",
            Status.FAIL,
            f"no NFS workload in namespace {INFRA_NAMESPACE}",
            "the overlay's nfs components are not synced: check the Argo CD Application",
        )
    not_ready = []
    for workload in sorted(nfs, key=_name):
        ready, wanted = _ready(workload)
        if ready < wanted or wanted == 0:
            not_ready.append(f"{workload.get('kind')}/{_name(workload)}: {ready}/{wanted} ready")
    names = ", ".join(sorted(_name(w) for w in nfs))
    if not not_ready:
        return CheckResult("NFS server and provisioner", Status.PASS, f"running: {names}")
    return CheckResult(
        "NFS server and provisioner",
        Status.FAIL,
        f"{len(not_ready)} NFS workload(s) not ready",
        "the NFS server must run on the management node; read its pod's events (gitops-tool doctor "
        f"lists them below) and the provisioner's log (kubectl -n {INFRA_NAMESPACE} logs "
        "-l app=nfs-client-provisioner)",
        not_ready,
    )


NFS_TEST_POD = "test-nfs-pod"


def check_nfs_round_trip(snapshot: ClusterSnapshot) -> CheckResult:
    """The seed's `kubectl logs test-nfs-pod`: the pod writes a file to the share and reads it back."""
    name = "NFS write/read test"
    pod = next((p for p in snapshot.pods if _name(p) == NFS_TEST_POD), None)
    if pod is None:
        return CheckResult(name, Status.UNKNOWN, f"no pod {NFS_TEST_POD} (Argo CD re-creates it on a sync)")
    phase = str((pod.get("status") or {}).get("phase") or "Pending")
    if phase == "Succeeded":
        return CheckResult(name, Status.PASS, f"{NFS_TEST_POD} wrote and read back a file on the share")
    detail = phase
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        done = (status.get("state") or {}).get("terminated") or {}
        if done:
            detail = f"{phase}: exit code {done.get('exitCode')} ({done.get('reason', '')})"
    return CheckResult(
        name,
        Status.FAIL,
        f"{NFS_TEST_POD} {detail}",
        f"the share must be mounted and writable by uid 50000 / gid 0; read the pod's log "
        f"(kubectl -n {NAMESPACE} logs {NFS_TEST_POD})",
    )


def check_pvcs(snapshot: ClusterSnapshot) -> CheckResult:
    if not snapshot.pvcs:
        return CheckResult(
            "PVCs bound",
            Status.FAIL,
            "no PersistentVolumeClaim in the namespace",
            "airflow-dags and airflow-logs are missing: check the sync of the storage component",
        )
    unbound = [
        f"{_name(p)}: {(p.get('status') or {}).get('phase', 'unknown')}"
        for p in sorted(snapshot.pvcs, key=_name)
        if (p.get("status") or {}).get("phase") != "Bound"
    ]
    if not unbound:
        return CheckResult("PVCs bound", Status.PASS, f"{len(snapshot.pvcs)} PVC(s) bound")
    return CheckResult(
        "PVCs bound",
        Status.FAIL,
        f"{len(unbound)} PVC(s) not bound",
        "a Pending nfs-client claim means the NFS client provisioner is not running or cannot mount "
        "nfs-server:2049",
        unbound,
    )


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    return any(
        cond.get("type") == "Ready" and cond.get("status") == "True"
        for cond in (pod.get("status") or {}).get("conditions") or []
    )


@dataclass(frozen=True)
class _Spread:
    """A component that runs one pod per scheduler node: what to call it and what to advise."""

    check: str
    component: str
    missing_hint: str
    unready_hint: str


_SCHEDULERS = _Spread(
    "schedulers",
    SCHEDULER_COMPONENT,
    "the schedulers are not synced: check the Argo CD Application",
    "an unready scheduler usually cannot reach the DB (Secret airflow-secrets, Service postgres); "
    "two on one node mean the anti-affinity or node labels are wrong",
)
_TRIGGERERS = _Spread(
    "triggerers",
    TRIGGERER_COMPONENT,
    "without a triggerer every deferred task stays deferred: sync the Application "
    "(base/triggerer, one per scheduler node)",
    f"kubectl -n {NAMESPACE} logs deploy/airflow-triggerer-1; two on one node mean the anti-affinity or "
    "node labels are wrong",
)


def _check_spread(snapshot: ClusterSnapshot, spread: _Spread) -> CheckResult:
    """Each of the component's pods ready, no two on one node, as many ready as the Deployments want."""

    def belongs(obj: Mapping[str, Any]) -> bool:
        return (_meta(obj).get("labels") or {}).get(COMPONENT_LABEL) == spread.component

    noun = spread.component
    deployments = [w for w in snapshot.workloads if belongs(w)]
    pods = [p for p in snapshot.pods if belongs(p) and (p.get("status") or {}).get("phase") != "Succeeded"]
    if not deployments:
        return CheckResult(
            spread.check, Status.FAIL, f"no {noun} Deployment in the namespace", spread.missing_hint
        )
    problems = [f"{_name(pod)}: not ready" for pod in sorted(pods, key=_name) if not _pod_ready(pod)]
    ready = [p for p in pods if _pod_ready(p)]
    by_node: dict[str, list[str]] = {}
    for pod in ready:
        by_node.setdefault(str((pod.get("spec") or {}).get("nodeName", "")), []).append(_name(pod))
    for node, names in sorted(by_node.items()):
        if len(names) > 1:
            problems.append(f"{node}: {len(names)} {spread.check} on one node ({', '.join(sorted(names))})")
    wanted = sum(_ready(d)[1] for d in deployments)
    if len(ready) < wanted:
        problems.append(f"{len(ready)} of {wanted} {noun} pod(s) ready")
    if not problems:
        nodes = ", ".join(sorted(by_node))
        return CheckResult(spread.check, Status.PASS, f"{len(ready)} ready on distinct nodes ({nodes})")
    return CheckResult(
        spread.check,
        Status.FAIL,
        f"{spread.check} not ready on distinct nodes",
        spread.unready_hint,
        problems,
    )


def check_schedulers(snapshot: ClusterSnapshot) -> CheckResult:
    return _check_spread(snapshot, _SCHEDULERS)


def check_triggerers(snapshot: ClusterSnapshot) -> CheckResult:
    return _check_spread(snapshot, _TRIGGERERS)


def check_executor_rbac(snapshot: ClusterSnapshot) -> CheckResult:
    name = "executor RBAC"
    if not snapshot.access:
        return CheckResult(name, Status.UNKNOWN, "not checked")
    unknown = [a for a in snapshot.access if a.allowed is None]
    denied = [a for a in snapshot.access if a.allowed is False]

    def label(a: AccessAnswer) -> str:
        return f"{a.verb} {a.resource}{'/' + a.subresource if a.subresource else ''}"

    if denied:
        return CheckResult(
            name,
            Status.FAIL,
            f"{SERVICE_ACCOUNT_USER} may not: {', '.join(label(a) for a in denied)}",
            "the executor's Role or RoleBinding is missing or changed: run gitops-tool drift",
        )
    if unknown:
        return CheckResult(
            name,
            Status.UNKNOWN,
            f"could not ask the API server: {unknown[0].reason}",
            "impersonating the service account needs the `impersonate` verb (cluster admins have it)",
        )
    return CheckResult(
        name, Status.PASS, f"{SERVICE_ACCOUNT_USER} may {', '.join(label(a) for a in snapshot.access)}"
    )


def _event_time(event: Mapping[str, Any]) -> datetime | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        value = event.get(key) or (_meta(event).get("creationTimestamp") if key == "firstTimestamp" else None)
        if isinstance(value, str) and value:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
    return None


def check_warning_events(snapshot: ClusterSnapshot, window: timedelta = timedelta(hours=1)) -> CheckResult:
    recent = []
    for event in snapshot.events:
        when = _event_time(event)
        if event.get("type") == "Warning" and when is not None and snapshot.now - when <= window:
            recent.append((when, event))
    if not recent:
        return CheckResult("warning events", Status.PASS, f"no warning event in the last {_hours(window)}")
    recent.sort(key=lambda pair: pair[0], reverse=True)
    items = []
    for _, event in recent:
        involved = event.get("involvedObject") or event.get("regarding") or {}
        what = f"{involved.get('kind', '?')}/{involved.get('name', '?')}"
        message = event.get("message") or event.get("note") or ""
        items.append(f"{what}: {event.get('reason', '')}: {_short(str(message))}")
    return CheckResult(
        "warning events",
        Status.FAIL,
        f"{len(recent)} warning event(s) in the last {_hours(window)}",
        "newest first; FailedScheduling, FailedMount and BackOff name the failing part",
        _more(items),
    )


def _hours(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g}h"


def _backup_jobs(snapshot: ClusterSnapshot) -> list[Manifest]:
    """Finished scheduled or `backup now` Jobs of the backup CronJob (not list or restore Jobs)."""
    found = []
    for job in snapshot.jobs:
        meta = _meta(job)
        if (meta.get("labels") or {}).get(bj.PURPOSE_LABEL) in ("list", "restore"):
            continue
        owners = meta.get("ownerReferences") or []
        if any(o.get("kind") == "CronJob" and o.get("name") == bj.BACKUP_CRONJOB for o in owners):
            found.append(job)
    return found


def check_backups(snapshot: ClusterSnapshot) -> CheckResult:
    name = "backups"
    cronjob = snapshot.backup_cronjob
    if not snapshot.backups_readable:
        return CheckResult(name, Status.UNKNOWN, "could not read CronJobs or Jobs (HTTP 403)")
    if cronjob is None:
        return CheckResult(
            name,
            Status.UNKNOWN,
            f"backups are not enabled: no CronJob {NAMESPACE}/{bj.BACKUP_CRONJOB}",
            "gitops-tool backup enable OVERLAY (the overlay Argo CD syncs), let Argo CD sync, "
            "then gitops-tool backup now",
        )
    schedule = str((cronjob.get("spec") or {}).get("schedule", ""))
    if (cronjob.get("spec") or {}).get("suspend"):
        return CheckResult(
            name,
            Status.FAIL,
            f"CronJob {bj.BACKUP_CRONJOB} is suspended: no scheduled backup runs",
            "remove spec.suspend from the live CronJob (Argo CD self-heal does it on sync)",
        )
    jobs = _backup_jobs(snapshot)
    last = bj.latest_success(jobs, cronjob)
    failed = [
        j
        for j in jobs
        if bj.job_state(j).phase == "failed"
        and (last is None or str(_meta(j).get("creationTimestamp", "")) > last.strftime("%Y-%m-%dT%H:%M:%SZ"))
    ]
    if failed:
        newest = max(failed, key=lambda j: str(_meta(j).get("creationTimestamp", "")))
        reason = bj.job_state(newest).detail
        return CheckResult(
            name,
            Status.FAIL,
            f"the latest backup Job {_name(newest)} failed" + (f": {_short(reason)}" if reason else ""),
            f"kubectl -n {NAMESPACE} logs job/{_name(newest)}, fix the cause, then gitops-tool backup now",
        )
    if last is None:
        return CheckResult(
            name,
            Status.UNKNOWN,
            f"no backup has completed yet (schedule {schedule} UTC)",
            "gitops-tool backup now",
        )
    return CheckResult(
        name, Status.PASS, f"last successful backup {last:%Y-%m-%d %H:%M}Z (schedule {schedule})"
    )


WEBSERVER_DEPLOYMENT = "airflow-webserver"
DAG_PROCESSOR_DEPLOYMENT = "airflow-dag-processor"


def _container_args(workload: Mapping[str, Any]) -> list[str]:
    spec = ((workload.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or [{}]
    first = containers[0] if isinstance(containers[0], Mapping) else {}
    return [str(a) for a in (first.get("command") or []) + (first.get("args") or [])]


def check_airflow_layout(snapshot: ClusterSnapshot) -> CheckResult:
    """Airflow 2 (webserver) or Airflow 3 (api-server with a DAG processor, components/airflow-3),
    and whether the live workloads are one or the other whole."""
    name = "Airflow layout"
    workloads = {_name(w): w for w in snapshot.workloads}
    web = workloads.get(WEBSERVER_DEPLOYMENT)
    processor = workloads.get(DAG_PROCESSOR_DEPLOYMENT)
    if web is None:
        return CheckResult(
            name,
            Status.UNKNOWN,
            f"no Deployment {WEBSERVER_DEPLOYMENT}: cannot tell which Airflow layout runs",
            "check the Argo CD Application's sync status",
        )
    if "api-server" not in _container_args(web):
        if processor is not None:
            return CheckResult(
                name,
                Status.FAIL,
                f"{WEBSERVER_DEPLOYMENT} runs the Airflow 2 webserver but {DAG_PROCESSOR_DEPLOYMENT} exists",
                "a half-synced major upgrade: sync the whole Application (docs/airflow-3.md)",
            )
        return CheckResult(name, Status.PASS, "Airflow 2 layout (webserver)")
    if processor is None:
        return CheckResult(
            name,
            Status.FAIL,
            f"{WEBSERVER_DEPLOYMENT} runs the Airflow 3 api-server but there is no "
            f"{DAG_PROCESSOR_DEPLOYMENT}: no DAG file is parsed",
            "sync the whole Application: components/airflow-3 brings the DAG processor (docs/airflow-3.md)",
        )
    ready, wanted = _ready(processor)
    if ready < wanted:
        return CheckResult(
            name,
            Status.FAIL,
            f"Airflow 3 layout: {DAG_PROCESSOR_DEPLOYMENT} {ready} of {wanted} ready",
            f"kubectl -n {NAMESPACE} logs deploy/{DAG_PROCESSOR_DEPLOYMENT}; a missing key jwt-secret of "
            "Secret airflow-secrets stops every Airflow 3 server: gitops-tool secrets rotate adds it",
        )
    return CheckResult(name, Status.PASS, f"Airflow 3 layout (api-server, {DAG_PROCESSOR_DEPLOYMENT} ready)")


def check_nfs_service_range(snapshot: ClusterSnapshot) -> CheckResult:
    """The NFS Service's fixed ClusterIP must lie in the cluster's Service CIDR, or its first sync
    fails with "provided IP is not in the valid range"."""
    if snapshot.service_range is None:
        return CheckResult(SERVICE_RANGE_CHECK, Status.UNKNOWN, "not looked at")
    status, detail, hint = judge(snapshot.service_range)
    return CheckResult(SERVICE_RANGE_CHECK, Status(status), detail, hint)


CHECKS = (
    check_pending_pods,
    check_node_labels,
    check_nfs_service_range,
    check_nfs,
    check_nfs_round_trip,
    check_pvcs,
    check_schedulers,
    check_triggerers,
    check_executor_rbac,
    check_warning_events,
    check_backups,
    check_airflow_layout,
)


def run_checks(snapshot: ClusterSnapshot) -> list[CheckResult]:
    return [check(snapshot) for check in CHECKS]


def report_text(results: Iterable[CheckResult]) -> str:
    lines = []
    for result in results:
        lines.append(f"{result.status.value:<7} {result.name}: {result.detail}")
        lines.extend(f"        - {item}" for item in result.items)
        if result.status is not Status.PASS and result.hint:
            lines.append(f"        hint: {result.hint}")
    return "\n".join(lines)


def report_json(results: Iterable[CheckResult]) -> list[dict[str, Any]]:
    return [
        {
            "check": r.name,
            "status": r.status.value.lower(),
            "detail": r.detail,
            "hint": r.hint,
            "items": r.items,
        }
        for r in results
    ]
