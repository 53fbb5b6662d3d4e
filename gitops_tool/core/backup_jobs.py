"""Jobs built from the backup CronJob (components/backup): backup now, list, restore.

Every Job reuses the CronJob's pod template (image, NFS volume, Secret references, security
context), as `kubectl create job --from=cronjob/...` does, so the cluster runs exactly what Git
declares. Restore and list only swap the command.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gitops_tool.core.conventions import COMPONENT_LABEL, NAMESPACE
from gitops_tool.core.objects import Manifest
from gitops_tool.errors import UserError

BACKUP_CRONJOB = "airflow-db-backup"
BACKUP_CONTAINER = "pg-dump"
BACKUP_MOUNT = "/backups"
BACKUP_PVC = "airflow-backups"
# components/backup/scripts, mounted from ConfigMap airflow-db-backup-scripts.
SCRIPTS_MOUNT = "/scripts"
RESTORE_SCRIPT = f"{SCRIPTS_MOUNT}/restore.sh"
RESTORE_LOCK_TIMEOUT_ENV = "RESTORE_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 30
# Written by restore.sh once the safety dump of the current database is complete.
SAFETY_DUMP_MARKER = "safety dump written:"
# Written by the CronJob's script on success; `backup now` reads it back from the pod log.
BACKUP_DONE_MARKER = "backup written:"
INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"
PURPOSE_LABEL = "gitops-tool.io/backup-job"
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.dump$")
# Lists backups without a shell quoting problem: one "name size mtime" line per file.
_LIST_SCRIPT = (
    "for f in " + BACKUP_MOUNT + '/*.dump; do [ -e "$f" ] || continue; '
    'echo "$(basename "$f") $(stat -c "%s %Y" "$f")"; done'
)


def job_name(prefix: str, now: datetime) -> str:
    return f"{prefix}-{now.strftime('%Y%m%d-%H%M%S')}"


def _container(pod_spec: dict[str, Any]) -> dict[str, Any]:
    for container in pod_spec.get("containers") or []:
        if container.get("name") == BACKUP_CONTAINER:
            return dict(container)
    raise UserError(f"CronJob {NAMESPACE}/{BACKUP_CRONJOB} has no container {BACKUP_CONTAINER}")


def _job(cronjob: Manifest, name: str, purpose: str, controller: bool) -> Manifest:
    template = copy.deepcopy(((cronjob.get("spec") or {}).get("jobTemplate")) or {})
    if not isinstance(template.get("spec"), dict):
        raise UserError(f"CronJob {NAMESPACE}/{BACKUP_CRONJOB} has no jobTemplate.spec")
    meta = cronjob.get("metadata") or {}
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels[PURPOSE_LABEL] = purpose
    annotations = dict((template.get("metadata") or {}).get("annotations") or {})
    annotations[INSTANTIATE_ANNOTATION] = "manual"
    owner: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": str(meta.get("name", BACKUP_CRONJOB)),
        "uid": str(meta.get("uid", "")),
    }
    if controller:
        owner["controller"] = True
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": labels,
            "annotations": annotations,
            # Owned by the CronJob, so drift never reports the Job as an extra object.
            "ownerReferences": [owner],
        },
        "spec": template["spec"],
    }


def backup_job(cronjob: Manifest, now: datetime) -> Manifest:
    """``kubectl create job --from=cronjob/airflow-db-backup``: the scheduled backup, run now."""
    return _job(cronjob, job_name(f"{BACKUP_CRONJOB}-manual", now), "backup", controller=True)


def _with_command(cronjob: Manifest, name: str, purpose: str, command: list[str], keep_env: bool) -> Manifest:
    job = _job(cronjob, name, purpose, controller=False)
    spec = job["spec"]
    pod_spec = spec["template"]["spec"]
    container = _container(pod_spec)
    container["command"] = command
    container.pop("args", None)
    if not keep_env:
        container.pop("env", None)
        container.pop("envFrom", None)
    pod_spec["containers"] = [container]
    spec["backoffLimit"] = 0
    spec["ttlSecondsAfterFinished"] = 3600
    return job


def list_job(cronjob: Manifest, now: datetime) -> Manifest:
    """A Job that prints the backup files on the NFS volume (no credentials in its environment)."""
    return _with_command(
        cronjob, job_name("airflow-backup-list", now), "list", ["sh", "-c", _LIST_SCRIPT], False
    )


def check_backup_file(name: str) -> str:
    """A backup file name as the CronJob writes them; paths are refused (they would escape the volume)."""
    if not _FILE.match(name):
        raise UserError(
            f"not a backup file name: {name!r} (give a name from `gitops-tool backup list`, such as "
            "airflow-20260101T000000Z.dump)"
        )
    return name


def _mounts_scripts(cronjob: Manifest) -> bool:
    template = ((cronjob.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}
    pod_spec = (template.get("template") or {}).get("spec") or {}
    container = _container(pod_spec)
    return any(m.get("mountPath") == SCRIPTS_MOUNT for m in container.get("volumeMounts") or [])


def restore_job(
    cronjob: Manifest, file_name: str, now: datetime, lock_timeout_s: int = DEFAULT_LOCK_TIMEOUT_S
) -> Manifest:
    """A Job running restore.sh (components/backup/scripts) on one backup file: it ends the other
    database sessions, writes a safety dump, then pg_restore in one transaction with bounded lock
    waits."""
    path = f"{BACKUP_MOUNT}/{check_backup_file(file_name)}"
    if not _mounts_scripts(cronjob):
        raise UserError(
            f"CronJob {NAMESPACE}/{BACKUP_CRONJOB} in the cluster does not mount the backup scripts at "
            f"{SCRIPTS_MOUNT} (an older version of components/backup): let Argo CD sync the overlay first"
        )
    job = _with_command(
        cronjob, job_name("airflow-db-restore", now), "restore", ["sh", RESTORE_SCRIPT, path], True
    )
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = [e for e in container.get("env") or [] if e.get("name") != RESTORE_LOCK_TIMEOUT_ENV]
    env.append({"name": RESTORE_LOCK_TIMEOUT_ENV, "value": f"{lock_timeout_s}s"})
    container["env"] = env
    return job


def safety_dump(log: str) -> str | None:
    """The safety dump's file name from a restore pod's log (None when it was not written)."""
    for line in log.splitlines():
        if line.startswith(SAFETY_DUMP_MARKER):
            rest = line[len(SAFETY_DUMP_MARKER) :].split()
            if rest and _FILE.match(rest[0]):
                return rest[0]
    return None


@dataclass(frozen=True, order=True)
class BackupFile:
    modified: datetime
    name: str
    size: int


def parse_listing(text: str) -> list[BackupFile]:
    """The list Job's log, newest first; lines that are not "name size mtime" are ignored."""
    files = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or not _FILE.match(parts[0]) or not parts[1].isdigit() or not parts[2].isdigit():
            continue
        files.append(BackupFile(datetime.fromtimestamp(int(parts[2]), UTC), parts[0], int(parts[1])))
    return sorted(files, reverse=True)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns


def listing_text(files: list[BackupFile]) -> str:
    if not files:
        return "no backups on the volume"
    rows = [f"{f.name}  {human_size(f.size):>10}  {f.modified.strftime('%Y-%m-%d %H:%M:%S')}Z" for f in files]
    return "\n".join(rows)


@dataclass(frozen=True)
class JobState:
    """What a Job's status says: still running, succeeded or failed (with the reason)."""

    phase: str  # "pending", "running", "succeeded", "failed"
    detail: str = ""


def job_state(job: Manifest) -> JobState:
    status = job.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") in ("Complete", "SuccessCriteriaMet"):
            return JobState("succeeded")
        if cond.get("type") in ("Failed", "FailureTarget"):
            return JobState(
                "failed",
                str(cond.get("reason") or "") + (": " + cond["message"] if cond.get("message") else ""),
            )
    if status.get("succeeded"):
        return JobState("succeeded")
    if status.get("active"):
        return JobState("running")
    return JobState("pending")


def pod_phase(pod: Manifest) -> str:
    """A pod's phase, or its first waiting container's reason (ImagePullBackOff, ContainerCreating)."""
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        reason = ((container.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return str(status.get("phase") or "Pending")


def backup_result(log: str) -> str | None:
    """The "backup written: NAME SIZE" line of a backup pod's log."""
    for line in reversed(log.splitlines()):
        if line.startswith(BACKUP_DONE_MARKER):
            return line[len(BACKUP_DONE_MARKER) :].strip()
    return None


def latest_success(jobs: list[Manifest], cronjob: Manifest | None) -> datetime | None:
    """When the last backup succeeded: the CronJob's lastSuccessfulTime or a finished backup Job."""
    times: list[datetime] = []
    last = ((cronjob or {}).get("status") or {}).get("lastSuccessfulTime")
    if isinstance(last, str):
        times.append(_parse_time(last))
    for job in jobs:
        labels = (job.get("metadata") or {}).get("labels") or {}
        if labels.get(PURPOSE_LABEL) in ("list", "restore"):
            continue
        owners = (job.get("metadata") or {}).get("ownerReferences") or []
        if not any(o.get("kind") == "CronJob" and o.get("name") == BACKUP_CRONJOB for o in owners):
            continue
        done = (job.get("status") or {}).get("completionTime")
        if job_state(job).phase == "succeeded" and isinstance(done, str):
            times.append(_parse_time(done))
    return max(times) if times else None


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# Airflow's own components (every one talks to the metadata DB), and the environment variables that
# give any other workload the database connection: either makes a Deployment a database client that
# a restore stops. A new component (a triggerer, a DAG processor) is covered by both.
AIRFLOW_DB_COMPONENTS = frozenset(
    {"scheduler", "webserver", "triggerer", "dag-processor", "api-server", "worker"}
)
_DB_ENV_PREFIXES = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN")
# The KubernetesExecutor's task pods (base/scheduler/worker-pod-template.yaml): no Deployment owns
# them, so a restore deletes them once the schedulers (their executor) are stopped.
WORKER_SELECTOR = f"{COMPONENT_LABEL}=worker"


def is_database_client(workload: Manifest) -> bool:
    """Whether a Deployment connects to the Airflow metadata DB: by its component label or by the
    connection settings in its pod template."""
    labels = (workload.get("metadata") or {}).get("labels") or {}
    template = (workload.get("spec") or {}).get("template") or {}
    pod_labels = (template.get("metadata") or {}).get("labels") or {}
    if {labels.get(COMPONENT_LABEL), pod_labels.get(COMPONENT_LABEL)} & AIRFLOW_DB_COMPONENTS:
        return True
    spec = template.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for env in container.get("env") or []:
            if str(env.get("name", "")).startswith(_DB_ENV_PREFIXES):
                return True
    return False


def pod_selector(workload: Manifest) -> str:
    """A label selector for a Deployment's pods: its spec.selector.matchLabels, else its pod
    template's labels."""
    spec = workload.get("spec") or {}
    match = (spec.get("selector") or {}).get("matchLabels") or (
        (spec.get("template") or {}).get("metadata") or {}
    ).get("labels")
    if not match:
        name = (workload.get("metadata") or {}).get("name")
        raise UserError(f"Deployment {NAMESPACE}/{name} has neither selector labels nor pod labels")
    return ",".join(f"{key}={value}" for key, value in sorted(match.items()))
