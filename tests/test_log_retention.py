"""Log retention for the airflow-logs volume: the CronJob's own script run by bash against a real
folder, the CronJob's placement and security, and `gitops-tool logs retention show|set` through the
real CLI on a real Git repository."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from gitops_tool.core.images import pod_spec
from gitops_tool.core.log_retention import CONFIGMAP, DEFAULT_DAYS, KEY, check_days
from gitops_tool.errors import UserError
from tests.conftest import RunCli, init_repo
from tests.manifests_support import HA, LEGACY, find, rendered
from tests.scheduler_support import commit_subject, repo_state

DAY = 24 * 3600
SCRIPT_CONFIGMAP = "airflow-log-retention-scripts"


def _cronjob(overlay: str) -> dict[str, Any]:
    return find(rendered(overlay), "CronJob", "airflow-log-retention")


def _script(overlay: str) -> str:
    """prune-logs.sh exactly as the overlay renders it (the ConfigMap the CronJob mounts)."""
    scripts = find(rendered(overlay), "ConfigMap", SCRIPT_CONFIGMAP)
    text: str = scripts["data"]["prune-logs.sh"]
    return text


def _run_script(script: str, logs: Path, days: str) -> subprocess.CompletedProcess[str]:
    path = logs.parent / "prune-logs.sh"
    path.write_text(script)
    env = {"PATH": os.environ["PATH"], "LOGS_DIR": str(logs), "LOG_RETENTION_DAYS": days}
    return subprocess.run(
        ["bash", str(path)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _age(path: Path, days: float) -> None:
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp), follow_symlinks=False)


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_the_cronjob_runs_the_rendered_script_with_the_setting(overlay: str) -> None:
    spec = pod_spec(_cronjob(overlay)) or {}
    (container,) = spec["containers"]
    assert container["command"] == ["bash", "/scripts/prune-logs.sh"]
    env = {e["name"]: e for e in container["env"]}
    assert env["LOGS_DIR"]["value"] == "/opt/airflow/logs"
    ref = env["LOG_RETENTION_DAYS"]["valueFrom"]["configMapKeyRef"]
    assert ref == {"name": CONFIGMAP, "key": KEY}
    assert find(rendered(overlay), "ConfigMap", CONFIGMAP)["data"][KEY] == str(DEFAULT_DAYS)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert mounts == {"logs": "/opt/airflow/logs", "scripts": "/scripts"}
    assert volumes["logs"]["persistentVolumeClaim"]["claimName"] == "airflow-logs"
    assert volumes["scripts"]["configMap"]["name"].startswith(SCRIPT_CONFIGMAP + "-")


@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_the_cronjob_is_restricted_and_on_the_volume_s_node(overlay: str) -> None:
    cronjob = _cronjob(overlay)
    spec = pod_spec(cronjob) or {}
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 50000  # Airflow's uid: the log files are its own
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # The management node holds the NFS server's disk, the volume's home.
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["management"]


def test_the_script_removes_old_files_and_empty_folders_only(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    old_run = logs / "dag_id=etl" / "run_id=manual__1" / "task_id=grp.inner"
    new_run = logs / "dag_id=etl" / "run_id=manual__2" / "task_id=load"
    mixed = logs / "scheduler" / "2026-11-01"
    for folder in (old_run, new_run, mixed, logs / "lost+found", logs / "empty-new"):
        folder.mkdir(parents=True)
    (old_run / "attempt=1.log").write_text("old")
    _age(old_run / "attempt=1.log", 16)
    (new_run / "attempt=1.log").write_text("new")
    _age(new_run / "attempt=1.log", 0.5)
    (mixed / "old.log").write_text("old")
    _age(mixed / "old.log", 40)
    (mixed / "edge.log").write_text("just inside the retention")
    _age(mixed / "edge.log", 14.9)
    (logs / "lost+found" / "old-inode").write_text("fsck's")
    _age(logs / "lost+found" / "old-inode", 100)
    # A symbolic link to an old file outside the volume: neither followed nor its target removed.
    outside = tmp_path / "outside.log"
    outside.write_text("not ours")
    _age(outside, 100)
    (logs / "link.log").symlink_to(outside)
    _age(logs / "link.log", 100)

    result = _run_script(_script(HA), logs, "15")

    assert result.returncode == 0, result.stderr
    assert _tree(logs) == {
        "dag_id=etl",
        "dag_id=etl/run_id=manual__2",
        "dag_id=etl/run_id=manual__2/task_id=load",
        "dag_id=etl/run_id=manual__2/task_id=load/attempt=1.log",
        "scheduler",
        "scheduler/2026-11-01",
        "scheduler/2026-11-01/edge.log",
        "lost+found",
        "lost+found/old-inode",
        "link.log",
    }
    assert outside.exists() and logs.is_dir()
    assert "removed 2 file(s) older than 15 day(s) and 3 empty folder(s)" in result.stdout
    # A shorter setting reaches the files the longer one kept.
    again = _run_script(_script(HA), logs, "1")
    assert again.returncode == 0, again.stderr
    assert not (mixed / "edge.log").exists() and (new_run / "attempt=1.log").exists()


@pytest.mark.parametrize(
    ("days", "reason"), [("abc", "whole number"), ("", "whole number"), ("0", "at least 1")]
)
def test_the_script_refuses_a_bad_setting_and_removes_nothing(tmp_path: Path, days: str, reason: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "old.log").write_text("old")
    _age(logs / "old.log", 100)
    result = _run_script(_script(LEGACY), logs, days)
    assert result.returncode == 2 and reason in result.stderr
    assert (logs / "old.log").exists()


def test_the_script_fails_on_a_missing_folder(tmp_path: Path) -> None:
    result = _run_script(_script(HA), tmp_path / "nowhere", "15")
    assert result.returncode == 1 and "no logs folder" in result.stderr


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "fifteen", "3651", "١٥"])
def test_check_days_refuses(text: str) -> None:
    with pytest.raises(UserError):
        check_days(text)


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def _days(run_cli: RunCli, repo: Path, overlay: str) -> int:
    result = run_cli("logs", "retention", "show", overlay, "--output", "json", cwd=repo)
    assert result.code == 0, result.err
    days: int = json.loads(result.out)["days"]
    return days


@pytest.mark.slow
def test_set_commits_a_validated_patch_and_the_default_removes_it(run_cli: RunCli, repo: Path) -> None:
    kfile = repo / HA / "kustomization.yaml"
    original = kfile.read_bytes()
    result = run_cli("logs", "retention", "set", "30", "three-node-ha", cwd=repo)
    assert result.code == 0, result.err
    assert "overlays/three-node-ha: 15 -> 30 day(s)" in result.out
    assert commit_subject(repo) == "overlays/three-node-ha: keep Airflow logs 30 day(s)"
    assert _days(run_cli, repo, "three-node-ha") == 30
    assert _days(run_cli, repo, "single-node-legacy") == DEFAULT_DAYS
    again = run_cli("logs", "retention", "set", "30", "three-node-ha", cwd=repo)
    assert again.code == 2 and "already keeps logs for 30 day(s)" in again.err
    back = run_cli("logs", "retention", "set", "15", "three-node-ha", cwd=repo)
    assert back.code == 0, back.err
    assert kfile.read_bytes() == original
    assert repo_state(repo).status == ""


@pytest.mark.slow
def test_set_all_and_refusals_leave_the_repository_unchanged(run_cli: RunCli, repo: Path) -> None:
    before = repo_state(repo)
    for args, message in [
        (("0", "three-node-ha"), "between 1 and 3650"),
        (("7",), "give the OVERLAY"),
        (("7", "three-node-ha", "--all"), "not both"),
        (("7", "no-such-overlay"), "no-such-overlay"),
    ]:
        result = run_cli("logs", "retention", "set", *args, cwd=repo)
        assert result.code == 2, (args, result.out)
        assert message in result.err and "Traceback" not in result.err
    assert repo_state(repo) == before
    result = run_cli("logs", "retention", "set", "7", "--all", cwd=repo)
    assert result.code == 0, result.err
    assert _days(run_cli, repo, "three-node-ha") == 7 and _days(run_cli, repo, "single-node-legacy") == 7
