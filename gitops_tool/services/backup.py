"""``gitops-tool backup now|list`` and ``restore``: Jobs from the backup CronJob, through the API.

No ``kubectl exec``: every action is a Job built from the CronJob that Git declares, followed by
polling its status and reading its pod's log.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_tool.adapters.kube.client import KubeClient, api_path
from gitops_tool.adapters.transaction import sigint_blocked
from gitops_tool.core import backup_jobs as bj
from gitops_tool.core.conventions import NAMESPACE
from gitops_tool.errors import ApiNotFound, ClusterApiError, ClusterError, UserError

Report = Callable[[str], None]
Clock = Callable[[], float]
JOBS = api_path("batch", "v1", "jobs", NAMESPACE)
PODS = api_path("", "v1", "pods", NAMESPACE)
DEPLOYMENTS = api_path("apps", "v1", "deployments", NAMESPACE)
ARGOCD_NAMESPACE = "argocd"
APPLICATIONS = api_path("argoproj.io", "v1alpha1", "applications", ARGOCD_NAMESPACE)


@dataclass
class Waiting:
    """How long to wait for a Job and how often to look (``sleep`` injectable for tests)."""

    timeout: float = 1800.0
    poll: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    clock: Clock = time.monotonic


@dataclass(frozen=True)
class JobOutcome:
    name: str
    state: bj.JobState
    pod: str | None
    log: str


def backup_cronjob(client: KubeClient) -> dict[str, Any]:
    found = client.get_or_none(api_path("batch", "v1", "cronjobs", NAMESPACE, bj.BACKUP_CRONJOB))
    if found is None:
        raise UserError(
            f"no CronJob {NAMESPACE}/{bj.BACKUP_CRONJOB}: backups are not enabled; enable them in Git "
            "with `gitops-tool backup enable OVERLAY` (the overlay Argo CD syncs) and let Argo CD sync"
        )
    return found


def run_job(
    client: KubeClient, job: dict[str, Any], waiting: Waiting, report: Report, *, left_running: bool = True
) -> JobOutcome:
    """Create ``job`` and follow it until it succeeds, fails or ``waiting.timeout`` passes
    (``left_running``: whether the caller leaves a Job it gave up on running, as the message says)."""
    name = str(job["metadata"]["name"])
    client.create(JOBS, job)
    report(f"created Job {NAMESPACE}/{name}")
    started = waiting.clock()
    last_seen = ""
    pod_name: str | None = None
    while True:
        live = client.get(api_path("batch", "v1", "jobs", NAMESPACE, name))
        state = bj.job_state(live)
        pods = list(client.list(PODS, label_selector=f"job-name={name}"))
        if pods:
            newest = max(pods, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp", "")))
            pod_name = str(newest["metadata"]["name"])
            seen = f"pod {pod_name}: {bj.pod_phase(newest)}"
        else:
            seen = f"Job {state.phase}"
        elapsed = waiting.clock() - started
        if seen != last_seen:
            report(f"[{int(elapsed):>4}s] {seen}")
            last_seen = seen
        if state.phase in ("succeeded", "failed"):
            log = (
                client.get_text(api_path("", "v1", "pods", NAMESPACE, pod_name) + "/log") if pod_name else ""
            )
            return JobOutcome(name, state, pod_name, log)
        if elapsed >= waiting.timeout:
            follow = (
                f"; it keeps running: follow it with `kubectl -n {NAMESPACE} get job {name}`"
                if left_running
                else "; it was stopped and deleted"
            )
            raise ClusterError(
                f"Job {NAMESPACE}/{name} did not finish within {waiting.timeout:g}s (--timeout){follow}"
            )
        waiting.sleep(waiting.poll)


def _failure(outcome: JobOutcome, what: str) -> ClusterError:
    tail = next((line for line in reversed(outcome.log.splitlines()) if line.strip()), "")
    detail = f"; last log line: {tail[:200]}" if tail else ""
    reason = f": {outcome.state.detail}" if outcome.state.detail else ""
    return ClusterError(f"{what} Job {NAMESPACE}/{outcome.name} failed{reason}{detail}")


def backup_now(client: KubeClient, waiting: Waiting, report: Report, now: datetime | None = None) -> str:
    cronjob = backup_cronjob(client)
    outcome = run_job(client, bj.backup_job(cronjob, now or datetime.now(UTC)), waiting, report)
    if outcome.state.phase != "succeeded":
        raise _failure(outcome, "backup")
    return bj.backup_result(outcome.log) or f"Job {outcome.name} succeeded"


def list_backups(
    client: KubeClient, waiting: Waiting, report: Report, now: datetime | None = None
) -> list[bj.BackupFile]:
    cronjob = backup_cronjob(client)
    outcome = run_job(client, bj.list_job(cronjob, now or datetime.now(UTC)), waiting, report)
    with contextlib.suppress(ClusterApiError):  # ttlSecondsAfterFinished removes it anyway
        client.request(
            "DELETE",
            api_path("batch", "v1", "jobs", NAMESPACE, outcome.name),
            {"propagationPolicy": "Background"},
        )
    if outcome.state.phase != "succeeded":
        raise _failure(outcome, "backup list")
    return bj.parse_listing(outcome.log)


@dataclass
class RestoreReport:
    file: str
    paused_apps: list[str] = field(default_factory=list)
    scaled: dict[str, int] = field(default_factory=dict)
    workers_deleted: list[str] = field(default_factory=list)
    safety_dump: str | None = None


def _automated_apps(client: KubeClient) -> list[dict[str, Any]]:
    """Argo CD Applications whose self-heal would undo the scale-down: the Airflow app and its root."""
    try:
        apps = list(client.list(APPLICATIONS))
    except ApiNotFound:  # no Argo CD in this cluster
        return []
    chosen = []
    for app in apps:
        spec = app.get("spec") or {}
        source = spec.get("source") or {}
        targets_airflow = (spec.get("destination") or {}).get("namespace") == NAMESPACE
        is_root = str(source.get("path", "")).strip("/") == "argocd"
        if (spec.get("syncPolicy") or {}).get("automated") is not None and (targets_airflow or is_root):
            chosen.append(app)
    # Roots first: a root's self-heal would re-enable the child's automated sync.
    return sorted(
        chosen,
        key=lambda a: (
            str((a.get("spec") or {}).get("source", {}).get("path", "")) != "argocd",
            a["metadata"]["name"],
        ),
    )


@contextmanager
def _paused_sync(client: KubeClient, report: Report, result: RestoreReport) -> Iterator[None]:
    paused: list[tuple[str, Any]] = []
    try:
        for app in _automated_apps(client):
            name = str(app["metadata"]["name"])
            client.patch(
                api_path("argoproj.io", "v1alpha1", "applications", ARGOCD_NAMESPACE, name),
                {"spec": {"syncPolicy": {"automated": None}}},
            )
            paused.append((name, app["spec"]["syncPolicy"]["automated"]))
            result.paused_apps.append(name)
            report(f"paused Argo CD auto-sync of Application {ARGOCD_NAMESPACE}/{name}")
        yield
    finally:
        with sigint_blocked():
            for name, automated in reversed(paused):
                client.patch(
                    api_path("argoproj.io", "v1alpha1", "applications", ARGOCD_NAMESPACE, name),
                    {"spec": {"syncPolicy": {"automated": automated}}},
                )
                report(f"resumed Argo CD auto-sync of Application {ARGOCD_NAMESPACE}/{name}")


def _wait_gone(client: KubeClient, selector: str, what: str, waiting: Waiting) -> None:
    started = waiting.clock()
    while list(client.list(PODS, label_selector=selector)):
        if waiting.clock() - started >= waiting.timeout:
            raise ClusterError(f"{what} still running after {waiting.timeout:g}s; nothing was restored")
        waiting.sleep(waiting.poll)


@contextmanager
def _stopped_clients(
    client: KubeClient, waiting: Waiting, report: Report, result: RestoreReport
) -> Iterator[None]:
    """Scale every Deployment that uses the metadata DB to 0 and delete the executor's task pods;
    scale them back to their replicas however the block ends."""
    replicas: dict[str, int] = {}
    try:
        clients = [d for d in client.list(DEPLOYMENTS) if bj.is_database_client(d)]
        for deployment in sorted(clients, key=lambda d: str(d["metadata"]["name"])):
            name = str(deployment["metadata"]["name"])
            count = (deployment.get("spec") or {}).get("replicas")
            replicas[name] = 1 if count is None else int(count)
            client.patch(api_path("apps", "v1", "deployments", NAMESPACE, name), {"spec": {"replicas": 0}})
            result.scaled[name] = replicas[name]
            report(f"scaled Deployment/{name} from {replicas[name]} to 0")
        for deployment in clients:
            name = str(deployment["metadata"]["name"])
            _wait_gone(client, bj.pod_selector(deployment), f"pods of Deployment/{name}", waiting)
        # The schedulers (the KubernetesExecutor) are stopped: no new task pods; end the running ones.
        for pod in client.list(PODS, label_selector=bj.WORKER_SELECTOR):
            name = str(pod["metadata"]["name"])
            with contextlib.suppress(ClusterApiError):  # gone meanwhile
                client.delete(api_path("", "v1", "pods", NAMESPACE, name))
                result.workers_deleted.append(name)
                report(f"deleted task pod {name}")
        _wait_gone(client, bj.WORKER_SELECTOR, "task pods", waiting)
        report(f"database clients stopped: {', '.join(sorted(replicas)) or 'none found'}")
        yield
    finally:
        with sigint_blocked():
            for name, count in replicas.items():
                client.patch(
                    api_path("apps", "v1", "deployments", NAMESPACE, name), {"spec": {"replicas": count}}
                )
                report(f"scaled Deployment/{name} back to {count}")


def _stop_job(client: KubeClient, name: str) -> None:
    """Delete a restore Job and kill its pod at once: pg_restore dies, its transaction rolls back."""
    with contextlib.suppress(ClusterApiError, ClusterError):
        client.request("DELETE", f"{JOBS}/{name}", {"propagationPolicy": "Background"})
    with contextlib.suppress(ClusterApiError, ClusterError):
        for pod in client.list(PODS, label_selector=f"job-name={name}"):
            client.request(
                "DELETE",
                api_path("", "v1", "pods", NAMESPACE, str(pod["metadata"]["name"])),
                {"gracePeriodSeconds": "0"},
            )


def _job_log(client: KubeClient, name: str) -> str:
    with contextlib.suppress(ClusterApiError, ClusterError):
        pods = list(client.list(PODS, label_selector=f"job-name={name}"))
        if pods:
            return client.get_text(
                api_path("", "v1", "pods", NAMESPACE, str(pods[0]["metadata"]["name"])) + "/log"
            )
    return ""


def _report_safety_dump(report: Report, dump: str | None) -> None:
    if dump:
        report(
            f"safety dump of the database before the restore: {dump} "
            f"(to go back: gitops-tool backup restore {dump} --yes)"
        )


def restore(
    client: KubeClient,
    file_name: str,
    waiting: Waiting,
    report: Report,
    *,
    now: datetime | None = None,
    lock_timeout_s: int = bj.DEFAULT_LOCK_TIMEOUT_S,
) -> RestoreReport:
    """Pause Argo CD's self-heal, stop every database client, run restore.sh (which ends the other
    sessions, writes a safety dump and runs pg_restore in one transaction), and start the clients
    again however it ends; a Job that did not finish is deleted first."""
    bj.check_backup_file(file_name)
    cronjob = backup_cronjob(client)
    result = RestoreReport(file_name)
    job = bj.restore_job(cronjob, file_name, now or datetime.now(UTC), lock_timeout_s)
    name = str(job["metadata"]["name"])
    with _paused_sync(client, report, result), _stopped_clients(client, waiting, report, result):
        try:
            outcome = run_job(client, job, waiting, report, left_running=False)
        except BaseException:  # timeout, Ctrl-C, lost API: never restart clients beside a live restore
            with sigint_blocked():
                result.safety_dump = bj.safety_dump(_job_log(client, name))
                _stop_job(client, name)
                report(f"stopped and deleted Job {NAMESPACE}/{name}")
                _report_safety_dump(report, result.safety_dump)
            raise
        result.safety_dump = bj.safety_dump(outcome.log)
        _report_safety_dump(report, result.safety_dump)
        if outcome.state.phase != "succeeded":
            raise _failure(outcome, "restore")
    return result
