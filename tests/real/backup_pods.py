"""The backup CronJob's container and the restore Job's container, as the tool renders and builds
them, run on this machine against the real PostgreSQL of the `real` tier.

Nothing of the scripts is copied here: the command, the environment and the script files come from
the rendered objects (the CronJob and its generated ConfigMap ``airflow-db-backup-scripts``; the
restore Job from ``restore_job`` of that CronJob). What a kubelet would do is done here, and only
that: each mounted path becomes a folder of the test (the ConfigMap's files are written into the
folder of its mount, the mount paths in the command and scripts point there), PGHOST and PGPORT
name the test's server, and a Secret reference takes the test's password.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_tool.core.backup_jobs import BACKUP_CONTAINER, BACKUP_CRONJOB, restore_job
from gitops_tool.core.objects import Manifest
from tests.manifests_support import rendered_with_backup
from tests.real.servers import Postgres

OVERLAY = "overlays/three-node-ha"
PASSWORD = "airflow-db-pw"
# The Secret keys the pod's environment refers to, with the values this test's server expects.
SECRETS = {("airflow-secrets", "postgres-password"): PASSWORD}


def rendered(retention: int | None = None) -> tuple[Manifest, ...]:
    """The overlay rendered by the tool after `gitops-tool backup enable` (with ``--retention``)."""
    return rendered_with_backup(OVERLAY, retention)


def backup_cronjob(retention: int | None = None) -> Manifest:
    (found,) = [
        o for o in rendered(retention) if o["kind"] == "CronJob" and o["metadata"]["name"] == BACKUP_CRONJOB
    ]
    return found


def _pod_spec(workload: Manifest) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


@dataclass(frozen=True)
class PodRun:
    returncode: int
    log: str  # stdout and stderr together, as `kubectl logs` shows them


class BackupPods:
    """Runs the backup and restore containers of one render against ``server``, with the volume
    ``airflow-backups`` as ``backups`` (a folder of the test)."""

    def __init__(self, server: Postgres, work: Path, retention: int | None = None) -> None:
        self.server, self.work, self.retention = server, work, retention
        self.backups = work / "backups"
        self.backups.mkdir(parents=True, exist_ok=True)

    def backup(self, timeout: float = 120) -> PodRun:
        """The CronJob's container, as a scheduled run starts it."""
        return self._run(backup_cronjob(self.retention), "backup", timeout)

    def restore(self, file_name: str, timeout: float = 120, lock_timeout_s: int | None = None) -> PodRun:
        """The container of the Job `gitops-tool backup restore FILE --yes` creates."""
        extra = {} if lock_timeout_s is None else {"lock_timeout_s": lock_timeout_s}
        job = restore_job(backup_cronjob(self.retention), file_name, datetime.now(UTC), **extra)
        return self._run(job, "restore", timeout)

    def _run(self, workload: Manifest, name: str, timeout: float) -> PodRun:
        pod = _pod_spec(workload)
        (container,) = [c for c in pod["containers"] if c["name"] == BACKUP_CONTAINER]
        mounts = self._mount(pod, container, self.work / name)
        args = [*container.get("command", []), *container.get("args", [])]
        result = subprocess.run(
            [_substitute(arg, mounts) for arg in args],
            env=self._environment(container),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        return PodRun(result.returncode, result.stdout)

    def _mount(self, pod: dict[str, Any], container: dict[str, Any], root: Path) -> dict[str, str]:
        """Each volumeMount's path -> a folder; ConfigMap files written with paths substituted."""
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        mounts: dict[str, str] = {}
        config_maps: list[tuple[Path, str]] = []
        for mount in container.get("volumeMounts") or []:
            volume = volumes[mount["name"]]
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] == "airflow-backups"
                mounts[mount["mountPath"]] = str(self.backups)
                continue
            folder = root / mount["name"]
            folder.mkdir(parents=True, exist_ok=True)
            mounts[mount["mountPath"]] = str(folder)
            if "configMap" in volume:
                config_maps.append((folder, volume["configMap"]["name"]))
        for folder, config_name in config_maps:
            (config,) = [
                o
                for o in rendered(self.retention)
                if o["kind"] == "ConfigMap" and o["metadata"]["name"] == config_name
            ]
            for key, text in config["data"].items():
                (folder / key).write_text(_substitute(text, mounts), encoding="utf-8")
        return mounts

    def _environment(self, container: dict[str, Any]) -> dict[str, str]:
        # The image's PATH: PostgreSQL's client programs (of the server's version) first.
        env = {
            "PATH": f"{self.server.bin_dir}:/usr/bin:/bin",
            "HOME": str(self.work),
            "LANG": "C.UTF-8",
        }
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = str(item["value"])
            else:
                ref = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = SECRETS[(ref["name"], ref["key"])]
        assert {"PGHOST", "PGPORT"} <= env.keys(), "the container no longer names its server"
        env["PGHOST"], env["PGPORT"] = self.server.host, str(self.server.port)
        return env


def _substitute(text: str, mounts: dict[str, str]) -> str:
    """Each mount path (a whole path or the start of one) -> its folder, in one pass."""
    if not mounts:
        return text
    paths = "|".join(re.escape(p) for p in sorted(mounts, key=len, reverse=True))
    return re.sub(rf"(?<![\w./-])({paths})(?![\w.-])", lambda m: mounts[m.group(1)], text)


def run_psql_as(server: Postgres, sql: str, database: str = "airflow") -> str:
    """SQL as the database's owner `airflow`, as Airflow itself connects (password login)."""
    result = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", server.dsn(database, "airflow", PASSWORD), "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": f"{server.bin_dir}:{os.environ.get('PATH', '')}"},
    )
    if result.returncode != 0:
        raise AssertionError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()
