"""`gitops-tool backup enable|disable`: the real CLI, real git repositories, real kustomize; then the
enabled render against the Argo CD project, Pod Security `restricted` and the emulated API server."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core import argocd
from gitops_tool.core.backup_component import check_schedule
from gitops_tool.errors import UserError
from tests.cluster_support import CANARY_TOKEN, kube_args, namespace, writes
from tests.conftest import RunCli, git, init_repo
from tests.kubeapi import KubeApiServer
from tests.manifests_support import backup_enabled_repo, find, rendered_with_backup
from tests.scheduler_support import commit_subject, committed_paths, repo_state
from tests.test_backup_cmd import JOBS, JobController

HA = "overlays/three-node-ha"
LEGACY = "overlays/single-node-legacy"
PROJECT = "argocd/projects/airflow.yaml"
CRONJOB = "airflow-db-backup"


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def _render(run_cli: RunCli, repo: Path, overlay: str) -> list[dict[str, Any]]:
    result = run_cli("render", overlay, cwd=repo)
    assert result.code == 0, result.err
    return [d for d in yaml.safe_load_all(result.out) if d]


def _schedule_and_retention(objects: list[dict[str, Any]]) -> tuple[str, str]:
    cronjob = find(objects, "CronJob", CRONJOB)
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    keep = next(e["value"] for e in container["env"] if e["name"] == "BACKUP_KEEP")
    return cronjob["spec"]["schedule"], keep


def test_enable_then_disable_gives_back_the_same_bytes(run_cli: RunCli, repo: Path) -> None:
    start = repo_state(repo)
    enabled = run_cli("backup", "enable", "--all", "--schedule", "30 1 * * *", "--retention", "30", cwd=repo)
    assert enabled.code == 0, enabled.err
    assert repo_state(repo).files != start.files
    disabled = run_cli("backup", "disable", "--all", cwd=repo)
    assert disabled.code == 0, disabled.err
    end = repo_state(repo)
    assert end.files == start.files
    assert end.status == ""
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "3"
    assert git(repo, "diff", "HEAD~2", "HEAD") == ""


def test_each_commit_holds_exactly_the_files_it_must(run_cli: RunCli, repo: Path) -> None:
    start = repo_state(repo)
    # The Argo CD project already admits every kind the component renders (base/log-retention
    # renders a CronJob in every overlay): only the overlay's kustomization changes.
    first = run_cli("backup", "enable", "three-node-ha", cwd=repo)
    assert first.code == 0, first.err
    assert committed_paths(repo) == [f"{HA}/kustomization.yaml"]
    assert commit_subject(repo) == f"{HA}: enable backups (components/backup)"
    assert first.out.splitlines()[1:2] == [f"  {HA}/kustomization.yaml"]
    diff = git(repo, "show", "--format=", "HEAD", "--", f"{HA}/kustomization.yaml")
    assert [line for line in diff.splitlines() if line.startswith(("+ ", "- "))] == [
        "+  - ../../components/backup"
    ]
    second = run_cli("backup", "enable", "single-node-legacy", "--retention", "7", cwd=repo)
    assert second.code == 0, second.err
    assert committed_paths(repo) == [f"{LEGACY}/kustomization.yaml"]
    assert commit_subject(repo) == f"{LEGACY}: enable backups (components/backup; keep 7)"
    # The project keeps the CronJob kind: the overlays still render the log-retention CronJob.
    assert run_cli("backup", "disable", "three-node-ha", cwd=repo).code == 0
    assert committed_paths(repo) == [f"{HA}/kustomization.yaml"]
    assert run_cli("backup", "disable", "single-node-legacy", cwd=repo).code == 0
    assert committed_paths(repo) == [f"{LEGACY}/kustomization.yaml"]
    assert {"group": "batch", "kind": "CronJob"} in yaml.safe_load((repo / PROJECT).read_text())["spec"][
        "namespaceResourceWhitelist"
    ]
    assert git(repo, "status", "--porcelain") == ""
    assert repo_state(repo).files == start.files  # the retention-only patch went too


def test_schedule_and_retention_reach_the_rendered_cronjob(run_cli: RunCli, repo: Path) -> None:
    assert run_cli("backup", "enable", "three-node-ha", cwd=repo).code == 0
    assert _schedule_and_retention(_render(run_cli, repo, HA)) == ("0 2 * * *", "14")  # the defaults
    result = run_cli(
        "backup", "enable", "single-node-legacy", "--schedule", "15 3 * * sun", "--retention", "30", cwd=repo
    )
    assert result.code == 0, result.err
    assert f"  {LEGACY}: schedule 15 3 * * sun (UTC), keeps 30 dumps" in result.out.splitlines()
    assert _schedule_and_retention(_render(run_cli, repo, LEGACY)) == ("15 3 * * sun", "30")
    # The component's own file is untouched: the setting is the overlay's patch.
    assert committed_paths(repo) == [f"{LEGACY}/kustomization.yaml"]


def test_comments_of_the_kustomization_survive(run_cli: RunCli, repo: Path) -> None:
    before = (repo / LEGACY / "kustomization.yaml").read_text()
    assert run_cli("backup", "enable", "single-node-legacy", "--schedule", "@daily", cwd=repo).code == 0
    after = (repo / LEGACY / "kustomization.yaml").read_text()
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments == [line for line in after.splitlines() if line.lstrip().startswith("#")]
    assert "components:\n  - ../../components/backup\nresources:\n" in after


@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_validate_passes_on_the_enabled_render(run_cli: RunCli, repo: Path, overlay: str) -> None:
    assert run_cli("backup", "enable", overlay, cwd=repo).code == 0
    result = run_cli("validate", overlay, cwd=repo)
    assert result.code == 0, result.out
    assert "CronJob/airflow/airflow-db-backup" not in result.out  # no violation, no exception needed


def _restricted_violations(run_cli: RunCli, repo: Path, overlay: str) -> list[str]:
    report = json.loads(run_cli("validate", overlay, "--output", "json", cwd=repo).out)
    return [
        v["object"]
        for o in report["overlays"]
        for v in o["violations"]
        if v["rule"] == "pod-security-restricted"
    ]


def test_the_enabled_render_passes_the_restricted_pod_security_profile(run_cli: RunCli, repo: Path) -> None:
    assert run_cli("backup", "enable", "--all", cwd=repo).code == 0
    namespace_file = repo / "base/namespace/namespace.yaml"
    namespace_file.write_text(
        re.sub(
            r"pod-security.kubernetes.io/enforce: \w+",
            "pod-security.kubernetes.io/enforce: restricted",
            namespace_file.read_text(),
        )
    )
    for overlay in (HA, LEGACY):
        assert f"CronJob/airflow/{CRONJOB}" not in _restricted_violations(run_cli, repo, overlay)
    # The profile does look at the backup pods: one running as root would be rejected.
    cronjob = repo / "components/backup/cronjob.yaml"
    cronjob.write_text(cronjob.read_text().replace("runAsNonRoot: true", "runAsNonRoot: false"))
    assert f"CronJob/airflow/{CRONJOB}" in _restricted_violations(run_cli, repo, HA)


def _refusals() -> list[tuple[list[str], str]]:
    return [
        (["backup", "enable", "nope"], "unknown overlay nope"),
        (["backup", "enable", "three-node-ha", "--schedule", "61 * * * *"], "minute '61': expected 0-59"),
        (["backup", "enable", "three-node-ha", "--schedule", "0 2 * *"], "4 field(s)"),
        (["backup", "enable", "three-node-ha", "--schedule", "@every 1h"], "bad --schedule"),
        (["backup", "enable", "three-node-ha", "--retention", "0"], "--retention must be at least 1"),
        (["backup", "enable", "three-node-ha", "--retention", "-3"], "--retention must be at least 1"),
        (["backup", "enable"], "give the OVERLAY Argo CD syncs"),
        (["backup", "enable", "three-node-ha", "--all"], "not both"),
        (["backup", "disable", "three-node-ha"], "backups are not enabled in overlays/three-node-ha"),
        (["backup", "disable", "--all"], "backups are not enabled in every overlay"),
    ]


@pytest.mark.parametrize(
    ("args", "message"), _refusals(), ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_refusals_are_one_line_and_change_nothing(
    run_cli: RunCli, repo: Path, args: list[str], message: str
) -> None:
    before = repo_state(repo)
    result = run_cli(*args, cwd=repo)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert message in result.err
    assert result.err.startswith("gitops-tool: error: ")
    assert repo_state(repo) == before


def test_enabling_twice_is_refused_and_changes_nothing(run_cli: RunCli, repo: Path) -> None:
    assert run_cli("backup", "enable", "three-node-ha", cwd=repo).code == 0
    before = repo_state(repo)
    for args in (["three-node-ha"], ["three-node-ha", "--retention", "5"]):
        result = run_cli("backup", "enable", *args, cwd=repo)
        assert result.code == 2
        assert result.err.strip() == (
            "gitops-tool: error: backups are already enabled in overlays/three-node-ha "
            "(its components: list components/backup)"
        )
    assert repo_state(repo) == before
    # --all acts on the overlays still without it, and says which it left alone.
    result = run_cli("backup", "enable", "--all", cwd=repo)
    assert result.code == 0, result.err
    assert committed_paths(repo) == [f"{LEGACY}/kustomization.yaml"]
    assert f"note: {HA} left as it was (already in that state)" in result.err


def test_uncommitted_changes_in_the_files_it_writes_are_refused(run_cli: RunCli, repo: Path) -> None:
    for path in (f"{HA}/kustomization.yaml", PROJECT):
        target = repo / path
        original = target.read_text()
        target.write_text(original + "# local edit\n")
        before = repo_state(repo)
        result = run_cli("backup", "enable", "three-node-ha", cwd=repo)
        assert result.code == 2
        assert result.err.strip() == (
            f"gitops-tool: error: uncommitted changes in files this command writes: {path}; "
            "commit or stash them first"
        )
        assert repo_state(repo) == before
        target.write_text(original)
    # Uncommitted work elsewhere is left alone, and out of the commit.
    (repo / "notes.txt").write_text("mine\n")
    assert run_cli("backup", "enable", "three-node-ha", cwd=repo).code == 0
    assert "notes.txt" not in committed_paths(repo)
    assert git(repo, "status", "--porcelain") == "?? notes.txt\n"


def test_a_render_that_would_not_validate_rolls_everything_back(run_cli: RunCli, repo: Path) -> None:
    cronjob = repo / "components/backup/cronjob.yaml"
    text = cronjob.read_text()
    assert "allowPrivilegeEscalation: false" in text
    cronjob.write_text(text.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"))
    git(repo, "commit", "-q", "-am", "a component that breaks a policy")
    before = repo_state(repo)
    result = run_cli("backup", "enable", "--all", "--retention", "3", cwd=repo)
    assert result.code == 1, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert "would not validate, nothing was changed: policy:" in lines[0]
    assert "CronJob/airflow/airflow-db-backup" in lines[0]
    assert repo_state(repo) == before
    assert not (repo / ".git" / "gitops-tool.lock").exists()


def test_no_commit_writes_and_validates_but_leaves_the_change_uncommitted(
    run_cli: RunCli, repo: Path
) -> None:
    head = git(repo, "rev-parse", "HEAD")
    result = run_cli("backup", "enable", "three-node-ha", "--no-commit", cwd=repo)
    assert result.code == 0, result.err
    assert result.out.startswith("not committed (--no-commit)")
    assert git(repo, "rev-parse", "HEAD") == head
    assert sorted(git(repo, "status", "--porcelain").splitlines()) == [f" M {HA}/kustomization.yaml"]


# --- the enabled render ------------------------------------------------------------------------------


def test_the_project_whitelists_exactly_what_the_enabled_overlays_render() -> None:
    repo = backup_enabled_repo()
    project = yaml.safe_load((repo / PROJECT).read_text())["spec"]
    objects = [o for overlay in (HA, LEGACY) for o in rendered_with_backup(overlay)]
    key = lambda item: tuple(sorted(item.items()))  # noqa: E731
    assert sorted(project["namespaceResourceWhitelist"], key=key) == argocd.namespaced_whitelist(objects)
    assert sorted(project["clusterResourceWhitelist"], key=key) == argocd.cluster_whitelist(objects)
    assert {"group": "batch", "kind": "CronJob"} in project["namespaceResourceWhitelist"]


@pytest.mark.parametrize("overlay", [HA, LEGACY])
def test_the_backup_pod_is_restricted_and_has_a_writable_tmp(overlay: str) -> None:
    cronjob = find(rendered_with_backup(overlay), "CronJob", CRONJOB)
    assert cronjob["metadata"]["namespace"] == "airflow"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 999,  # the postgres image's own user
        "runAsGroup": 999,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {m["mountPath"]: m["name"] for m in container["volumeMounts"]} == {
        "/backups": "backups",
        "/tmp": "tmp",
        "/scripts": "scripts",
    }
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    # The scripts volume names the generated ConfigMap as rendered (its content hash included).
    (scripts,) = [v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "scripts"]
    (config,) = [o for o in rendered_with_backup(overlay) if o["metadata"]["name"] == scripts]
    assert config["kind"] == "ConfigMap" and sorted(config["data"]) == ["backup.sh", "restore.sh"]


def test_backup_now_runs_the_cronjob_of_the_enabled_render(tmp_path: Path, run_cli: RunCli) -> None:
    cronjob = find(rendered_with_backup(HA), "CronJob", CRONJOB)
    with KubeApiServer([namespace(), cronjob], token=CANARY_TOKEN) as api:
        JobController(api, {"backup": "backup written: airflow-20261127T050000Z.dump 4096 bytes\n"})
        result = run_cli("backup", "now", *kube_args(api, tmp_path), "--poll-interval", "0.01")
        assert result.code == 0, result.err
        assert result.out == "backup written: airflow-20261127T050000Z.dump 4096 bytes\n"
        [post] = writes(api)
        assert (post.method, post.path) == ("POST", JOBS)
        # Exactly the pod Git declares: placement, security context, volumes, the retention setting.
        assert post.body["spec"] == cronjob["spec"]["jobTemplate"]["spec"]
        assert post.body["spec"]["template"]["metadata"]["labels"] == {
            "app.kubernetes.io/name": "airflow-db-backup",
            "app.kubernetes.io/component": "backup",
        }


def test_without_the_cronjob_backup_commands_point_to_backup_enable(tmp_path: Path, run_cli: RunCli) -> None:
    with KubeApiServer([namespace()], token=CANARY_TOKEN) as api:
        result = run_cli("backup", "now", *kube_args(api, tmp_path))
        assert result.code == 2
        assert "gitops-tool backup enable OVERLAY" in result.err
        assert writes(api) == []


# --- the schedule check ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    ["0 2 * * *", "*/15 * * * *", "0 0-23/2 * * mon-fri", "5 4 1,15 jan,jul ?", "0 3 * * SUN", "@weekly"],
)
def test_schedules_the_api_server_accepts(schedule: str) -> None:
    assert check_schedule(f"  {schedule} ") == schedule


@pytest.mark.parametrize(
    "schedule",
    [
        "",
        "* * * *",
        "* * * * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 7x",
        "5-1 * * * *",
        "*/0 * * * *",
        "? * * * *",
        "TZ=UTC 0 2 * * *",
        "@every 5m",
        "0 2 * * funday",
    ],
)
def test_schedules_refused_before_anything_is_written(schedule: str) -> None:
    with pytest.raises(UserError, match="schedule"):
        check_schedule(schedule)


def test_from_a_subfolder_with_any_spelling_of_the_overlay(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("backup", "enable", "overlays/three-node-ha", cwd=repo / "base" / "postgres")
    assert result.code == 0, result.err
    assert committed_paths(repo) == [f"{HA}/kustomization.yaml"]
    assert run_cli("backup", "disable", str(repo / HA), cwd=repo / "overlays").code == 0
    assert git(repo, "diff", "HEAD~2", "HEAD") == ""


def test_a_repository_without_argo_cd_objects_changes_only_the_kustomization(
    run_cli: RunCli, project_copy: Path
) -> None:
    shutil.rmtree(project_copy / "argocd")
    repo = init_repo(project_copy)
    result = run_cli("backup", "enable", "--all", cwd=repo)
    assert result.code == 0, result.err
    assert committed_paths(repo) == [f"{LEGACY}/kustomization.yaml", f"{HA}/kustomization.yaml"]


def test_disable_leaves_a_hand_written_patch_of_the_cronjob_alone(run_cli: RunCli, repo: Path) -> None:
    assert run_cli("backup", "enable", "three-node-ha", "--schedule", "0 4 * * *", cwd=repo).code == 0
    kustomization = repo / HA / "kustomization.yaml"
    mine = (
        "  - target:\n      kind: CronJob\n      name: airflow-db-backup\n    patch: |-\n"
        "      - op: replace\n        path: /spec/successfulJobsHistoryLimit\n        value: 5\n"
    )
    text = kustomization.read_text()
    assert text.count("\npatches:\n") == 1
    kustomization.write_text(text.replace("\npatches:\n", "\npatches:\n" + mine))
    git(repo, "commit", "-q", "-am", "keep five successful Jobs")
    assert find(_render(run_cli, repo, HA), "CronJob", CRONJOB)["spec"]["successfulJobsHistoryLimit"] == 5
    result = run_cli("backup", "disable", "three-node-ha", cwd=repo)
    assert result.code == 0, result.err
    text = kustomization.read_text()
    assert "\npatches:\n" + mine in text
    assert "schedule: " not in text and "../../components/backup" not in text
