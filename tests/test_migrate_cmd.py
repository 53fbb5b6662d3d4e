"""`gitops-tool migrate plan|check` against the emulated API server: reads only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.cluster_support import CANARY_TOKEN, kube_args, namespace, node
from tests.conftest import REPO_ROOT, RunCli, init_repo
from tests.kubeapi import KubeApiServer, ResourceType

APPLICATION = ResourceType("argoproj.io", "v1alpha1", "Application", "applications", True)


def _app(path: str, sync: str = "Synced", health: str = "Healthy") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "airflow", "namespace": "argocd"},
        "spec": {"source": {"path": path}, "destination": {"namespace": "airflow"}},
        "status": {"sync": {"status": sync}, "health": {"status": health}},
    }


def _cronjob() -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((REPO_ROOT / "components/backup/cronjob.yaml").read_text())
    obj["metadata"]["namespace"] = "airflow"
    return obj


def _backup_job(finished: datetime, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "airflow-db-backup-manual-1",
            "namespace": "airflow",
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "CronJob", "name": "airflow-db-backup", "uid": uid}
            ],
        },
        "spec": {},
        "status": {
            "succeeded": 1,
            "completionTime": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conditions": [{"type": "Complete", "status": "True"}],
        },
    }


def _scheduler_pod(name: str, node_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "airflow",
            "labels": {"app.kubernetes.io/component": "scheduler"},
        },
        "spec": {"nodeName": node_name},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def test_legacy_cluster_plan_and_check_list_what_is_missing(tmp_path: Path, run_cli: RunCli) -> None:
    objects = [
        namespace(),
        node("node-1", "management"),
        node("node-2"),
        _app("overlays/single-node-legacy"),
        _scheduler_pod("airflow-scheduler-1-a", "node-1"),
    ]
    with KubeApiServer(token=CANARY_TOKEN) as api:
        api.add_resource_type(APPLICATION)
        api.add_all(objects)
        plan = run_cli("migrate", "plan", *kube_args(api, tmp_path), cwd=REPO_ROOT)
        assert plan.code == 0, plan.err
        lines = plan.out.splitlines()
        assert lines[0] == "[ ] 1. Back up the metadata DB"
        assert "gitops-tool backup enable --all (one commit; both layouts keep the backup CronJob" in lines[1]
        assert lines[2] == "[ ] 2. Label the nodes with their HA roles"
        assert lines[4].startswith("[ ] 3. Switch the Argo CD Application path")
        assert "applications/three-node-ha.yaml" in lines[5]
        assert lines[-2] == "[?] 6. Restore the metadata DB, only if PostgreSQL came up empty"
        check = run_cli("migrate", "check", *kube_args(api, tmp_path), cwd=REPO_ROOT)
        assert check.code == 1
        assert "FAIL    nodes: 1 mapped node(s) not in the cluster: node-3" in check.out
        assert (
            "FAIL    recent backup: no backup in the last 24h (none found); backups are not enabled "
            "(no backup CronJob)" in check.out
        )
        assert "hint: gitops-tool backup enable --all, let Argo CD sync" in check.out
        # The shipped HA overlay does not enable backups: after the switch restore could not run.
        assert (
            "FAIL    backups after the switch: overlays/three-node-ha does not enable components/backup"
            in check.out
        )
        assert "hint: gitops-tool backup enable overlays/three-node-ha" in check.out
        assert (
            "PASS    Argo CD Application: Synced/Healthy: airflow (overlays/single-node-legacy)" in check.out
        )
        assert api.methods() == {"GET"}


def test_ready_cluster_passes_the_check(tmp_path: Path, run_cli: RunCli, project_copy: Path) -> None:
    repo = init_repo(project_copy)
    assert run_cli("backup", "enable", "--all", cwd=repo).code == 0  # both layouts back up
    with KubeApiServer(token=CANARY_TOKEN) as api:
        api.add_resource_type(APPLICATION)
        cron = api.add(_cronjob())
        api.add_all(
            [
                namespace(),
                node("node-1", "management"),
                node("node-2", "scheduler-1"),
                node("node-3", "scheduler-2"),
                _app("overlays/single-node-legacy"),
                _backup_job(datetime.now(UTC) - timedelta(hours=2), cron["metadata"]["uid"]),
            ]
        )
        check = run_cli("migrate", "check", *kube_args(api, tmp_path), cwd=repo)
        assert check.code == 0, check.out + check.err
        assert (
            "PASS    backups after the switch: overlays/three-node-ha enables components/backup" in check.out
        )
        plan = run_cli("migrate", "plan", *kube_args(api, tmp_path), cwd=repo)
        assert [line[:3] for line in plan.out.splitlines()[::2]] == ["[x]", "[x]", "[ ]", "[ ]", "[ ]", "[?]"]
        too_old = run_cli("migrate", "check", "--max-backup-age", "1", *kube_args(api, tmp_path), cwd=repo)
        assert too_old.code == 1 and "FAIL    recent backup: no backup in the last 1h" in too_old.out
        assert api.methods() == {"GET"}


def test_without_argo_cd_the_check_says_so(tmp_path: Path, run_cli: RunCli) -> None:
    with KubeApiServer([namespace(), node("node-1")], token=CANARY_TOKEN) as api:
        check = run_cli("migrate", "check", *kube_args(api, tmp_path), cwd=REPO_ROOT)
        assert check.code == 1
        assert "FAIL    Argo CD Application: no Application deploys into namespace airflow" in check.out


def test_switch_commits_the_one_line_root_change(project_copy: Path, run_cli: RunCli) -> None:
    from tests.conftest import git

    repo = project_copy
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    already = run_cli("migrate", "switch", "--to", "overlays/three-node-ha", cwd=repo)
    assert already.code == 2 and "already selects applications/three-node-ha.yaml" in already.err
    back = run_cli("migrate", "switch", "--to", "overlays/single-node-legacy", cwd=repo)
    assert back.code == 0, back.err
    forward = run_cli("migrate", "switch", cwd=repo)
    assert forward.code == 0, forward.err
    assert git(repo, "log", "-1", "--format=%s").strip() == (
        "argocd: switch the Airflow layout from single-node-legacy to three-node-ha"
    )
    diff = git(repo, "show", "--format=", "HEAD", "--", "argocd/root.yaml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 2 and "applications/single-node-legacy.yaml" in changed[0]
    assert "applications/three-node-ha.yaml" in changed[1]
    assert git(repo, "status", "--porcelain") == ""
    assert (repo / "argocd" / "root.yaml").read_text() == (REPO_ROOT / "argocd" / "root.yaml").read_text()
    (repo / "argocd" / "root.yaml").write_text((repo / "argocd" / "root.yaml").read_text() + "# local\n")
    dirty = run_cli("migrate", "switch", "--to", "overlays/single-node-legacy", cwd=repo)
    assert dirty.code == 2
    assert "uncommitted changes in files this command writes: argocd/root.yaml" in dirty.err
