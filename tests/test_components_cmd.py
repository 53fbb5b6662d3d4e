"""`gitops-tool components list|enable|disable`: the real CLI, real git repositories, real kustomize."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core import argocd
from gitops_tool.core.components import REGISTRY
from tests.conftest import RunCli, git, init_repo
from tests.scheduler_support import commit_subject, committed_paths, repo_state

HA = "overlays/three-node-ha"
LEGACY = "overlays/single-node-legacy"
PROJECT = "argocd/projects/airflow.yaml"
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def _components(repo: Path, overlay: str) -> list[str]:
    data = yaml.safe_load((repo / overlay / "kustomization.yaml").read_text())
    return list(data.get("components") or [])


def _project_entries(repo: Path, key: str) -> list[tuple[str, str, str]]:
    spec = yaml.safe_load((repo / PROJECT).read_text())["spec"]
    return [(e["group"], e["kind"], e.get("name", "")) for e in spec[key]]


def _list_json(run_cli: RunCli, repo: Path, *args: str) -> dict[str, Any]:
    result = run_cli("components", "list", *args, "--output", "json", cwd=repo)
    assert result.code == 0, result.err
    return {c["name"]: c for c in json.loads(result.out)["components"]}


def test_enable_drift_cronjob_adds_its_requirement_first_in_one_validated_commit(
    run_cli: RunCli, repo: Path
) -> None:
    # base/log-retention renders a CronJob in every overlay: the kind stays whitelisted throughout.
    assert ("batch", "CronJob", "") in _project_entries(repo, "namespaceResourceWhitelist")
    result = run_cli("components", "enable", "drift-cronjob", "three-node-ha", cwd=repo)
    assert result.code == 0, result.err
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    assert committed_paths(repo) == [PROJECT, f"{HA}/kustomization.yaml"]
    assert commit_subject(repo) == (
        f"{HA}: enable drift-cronjob (components/drift-cronjob with drift-auditor it requires)"
    )
    listed = _components(repo, HA)
    assert listed.index("../../components/drift-auditor") < listed.index("../../components/drift-cronjob")
    cluster = _project_entries(repo, "clusterResourceWhitelist")
    assert (RBAC, "ClusterRole", "gitops-drift-auditor") in cluster
    assert (RBAC, "ClusterRoleBinding", "gitops-drift-auditor-cronjob") in cluster
    assert ("batch", "CronJob", "") in _project_entries(repo, "namespaceResourceWhitelist")
    assert git(repo, "status", "--porcelain") == ""
    validated = run_cli("validate", HA, cwd=repo)
    assert validated.code == 0, validated.out + validated.err
    # Argo CD admits every kind the overlay now renders (the project's own computation of them).
    rendered = run_cli("render", HA, cwd=repo)
    assert rendered.code == 0, rendered.err
    objects = [d for d in yaml.safe_load_all(rendered.out) if d]
    assert ("CronJob", "gitops-drift-audit") in {(o["kind"], o["metadata"]["name"]) for o in objects}
    for entry in argocd.cluster_whitelist(objects):
        assert (entry["group"], entry["kind"], entry.get("name", "")) in cluster
    namespaced = _project_entries(repo, "namespaceResourceWhitelist")
    for entry in argocd.namespaced_whitelist(objects):
        assert (entry["group"], entry["kind"], "") in namespaced


@pytest.mark.parametrize(
    ("enable", "disable", "overlay"),
    [
        ("drift-cronjob", ["drift-cronjob", "drift-auditor"], "three-node-ha"),
        ("git-sync-ssh", ["git-sync-ssh"], "three-node-ha"),
        ("git-sync-ssh", ["git-sync-ssh", "git-sync"], "single-node-legacy"),
        ("drift-auditor", ["drift-auditor"], "single-node-legacy"),
    ],
)
def test_enable_then_disable_gives_back_the_same_bytes(
    run_cli: RunCli, repo: Path, enable: str, disable: list[str], overlay: str
) -> None:
    start = repo_state(repo)
    result = run_cli("components", "enable", enable, overlay, cwd=repo)
    assert result.code == 0, result.err
    assert repo_state(repo).files != start.files
    for name in disable:
        result = run_cli("components", "disable", name, overlay, cwd=repo)
        assert result.code == 0, result.err
        assert commit_subject(repo) == f"overlays/{overlay}: disable {name} (components/{name})"
    end = repo_state(repo)
    assert end.files == start.files
    assert end.status == ""
    assert git(repo, "diff", "HEAD~" + str(1 + len(disable)), "HEAD") == ""


def test_git_sync_ssh_comes_after_git_sync(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("components", "enable", "git-sync-ssh", "single-node-legacy", cwd=repo)
    assert result.code == 0, result.err
    assert _components(repo, LEGACY) == ["../../components/git-sync", "../../components/git-sync-ssh"]
    # three-node-ha already lists git-sync: only git-sync-ssh is added, after it.
    result = run_cli("components", "enable", "git-sync-ssh", "three-node-ha", cwd=repo)
    assert result.code == 0, result.err
    assert commit_subject(repo) == f"{HA}: enable git-sync-ssh (components/git-sync-ssh)"
    assert _components(repo, HA) == ["../../components/git-sync", "../../components/git-sync-ssh"]


def test_disabling_keeps_what_another_overlay_still_renders(run_cli: RunCli, repo: Path) -> None:
    assert run_cli("components", "enable", "drift-cronjob", "--all", cwd=repo).code == 0
    assert committed_paths(repo) == [PROJECT, f"{LEGACY}/kustomization.yaml", f"{HA}/kustomization.yaml"]
    before = (repo / PROJECT).read_text()
    result = run_cli("components", "disable", "drift-cronjob", "three-node-ha", cwd=repo)
    assert result.code == 0, result.err
    assert committed_paths(repo) == [f"{HA}/kustomization.yaml"]
    assert (repo / PROJECT).read_text() == before
    # The last overlay rendering the CronJob and its binding lets the project drop them; the
    # ClusterRole stays (drift-auditor is still on in both).
    result = run_cli("components", "disable", "drift-cronjob", "--all", cwd=repo)
    assert result.code == 0, result.err
    assert f"note: {HA} left as it was (already in that state)" in result.err
    assert committed_paths(repo) == [PROJECT, f"{LEGACY}/kustomization.yaml"]
    cluster = _project_entries(repo, "clusterResourceWhitelist")
    assert (RBAC, "ClusterRoleBinding", "gitops-drift-auditor-cronjob") not in cluster
    assert (RBAC, "ClusterRole", "gitops-drift-auditor") in cluster
    assert ("batch", "CronJob", "") in _project_entries(repo, "namespaceResourceWhitelist")  # log-retention


def _refusals() -> list[tuple[list[str], list[str], str]]:
    known = ", ".join(c.name for c in REGISTRY)
    return [
        ([], ["enable", "nope", "three-node-ha"], f"unknown component 'nope'; known components: {known}"),
        ([], ["disable", "nope", "--all"], f"unknown component 'nope'; known components: {known}"),
        (
            [],
            ["enable", "git-sync", "three-node-ha"],
            f"git-sync is already enabled in {HA} (its components: list components/git-sync)",
        ),
        ([], ["enable", "git-sync", "--all", "three-node-ha"], "give an OVERLAY or --all, not both"),
        ([], ["enable", "git-sync"], "give the OVERLAY Argo CD syncs"),
        ([], ["enable", "git-sync", "nowhere"], "unknown overlay nowhere"),
        (
            [],
            ["disable", "drift-cronjob", "three-node-ha"],
            f"drift-cronjob is not enabled in {HA} (its components: does not list components/drift-cronjob)",
        ),
        (
            [],
            ["disable", "backup", "--all"],
            f"backups are not enabled in every overlay ({LEGACY}, {HA}); nothing to do",
        ),
        (
            ["drift-cronjob", "three-node-ha"],
            ["disable", "drift-auditor", "three-node-ha"],
            f"drift-auditor stays enabled in {HA}: drift-cronjob requires it (disable drift-cronjob first)",
        ),
        (
            ["git-sync-ssh", "three-node-ha"],
            ["disable", "git-sync", "--all"],
            f"git-sync stays enabled in {HA}: git-sync-ssh requires it (disable git-sync-ssh first)",
        ),
    ]


@pytest.mark.parametrize(
    ("setup", "args", "message"), _refusals(), ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_refusals_are_one_line_and_change_nothing(
    run_cli: RunCli, repo: Path, setup: list[str], args: list[str], message: str
) -> None:
    if setup:
        assert run_cli("components", "enable", *setup, cwd=repo).code == 0
    before = repo_state(repo)
    result = run_cli("components", *args, cwd=repo)
    assert result.code == 2, result.out + result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert result.err.startswith("gitops-tool: error: ")
    assert message in result.err
    assert repo_state(repo) == before
    assert not (repo / ".git" / "gitops-tool.lock").exists()


def test_list_shows_each_overlay_state(run_cli: RunCli, repo: Path) -> None:
    states = _list_json(run_cli, repo)
    assert list(states) == [c.name for c in REGISTRY]
    assert states["git-sync"]["enabled"] == {LEGACY: False, HA: True}
    assert all(not any(s["enabled"].values()) for n, s in states.items() if n != "git-sync")
    assert states["drift-cronjob"]["requires"] == ["drift-auditor"]
    assert states["backup"]["summary"]
    assert run_cli("components", "enable", "drift-cronjob", "three-node-ha", cwd=repo).code == 0
    assert run_cli("backup", "enable", "single-node-legacy", cwd=repo).code == 0
    states = _list_json(run_cli, repo, "three-node-ha")
    assert {n: s["enabled"] for n, s in states.items()} == {
        "airflow-3": {HA: False},
        "backup": {HA: False},
        "drift-auditor": {HA: True},
        "drift-cronjob": {HA: True},
        "git-sync": {HA: True},
        "git-sync-ssh": {HA: False},
    }
    text = run_cli("components", "list", cwd=repo)
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[0].split()[:3] == ["COMPONENT", "SINGLE-NODE-LEGACY", "THREE-NODE-HA"]
    cells = {line.split()[0]: line.split()[1:3] for line in lines[1:]}
    assert cells == {
        "airflow-3": ["off", "off"],
        "backup": ["on", "off"],
        "drift-auditor": ["off", "on"],
        "drift-cronjob": ["off", "on"],
        "git-sync": ["off", "on"],
        "git-sync-ssh": ["off", "off"],
    }
    assert "(requires git-sync)" in next(line for line in lines if line.startswith("git-sync-ssh"))


def test_list_refuses_an_unknown_output(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("components", "list", "--output", "yaml", cwd=repo)
    assert result.code == 2
    assert result.err.strip() == (
        "gitops-tool: error: Invalid value for '--output' / '-o': 'yaml' is not one of 'text', 'json'. "
        "(see 'gitops-tool components list --help')"
    )


def test_the_registry_knows_every_shipped_component(project_copy: Path) -> None:
    shipped = sorted(p.name for p in (project_copy / "components").iterdir() if p.is_dir())
    assert sorted(c.name for c in REGISTRY) == shipped


def test_disable_backup_also_removes_the_settings_patch_backup_enable_wrote(
    run_cli: RunCli, repo: Path
) -> None:
    start = repo_state(repo)
    result = run_cli("backup", "enable", "three-node-ha", "--retention", "5", cwd=repo)
    assert result.code == 0, result.err
    assert _list_json(run_cli, repo)["backup"]["enabled"] == {LEGACY: False, HA: True}
    refused = run_cli("components", "enable", "backup", "three-node-ha", cwd=repo)
    assert refused.code == 2
    assert "backups are already enabled in overlays/three-node-ha" in refused.err
    result = run_cli("components", "disable", "backup", "three-node-ha", cwd=repo)
    assert result.code == 0, result.err
    assert commit_subject(repo) == f"{HA}: disable backups (components/backup)"
    assert repo_state(repo).files == start.files


def test_no_commit_writes_and_validates_but_commits_nothing(run_cli: RunCli, repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    result = run_cli("components", "enable", "drift-auditor", "single-node-legacy", "--no-commit", cwd=repo)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "not committed (--no-commit)",
        f"  {PROJECT}",
        f"  {LEGACY}/kustomization.yaml",
    ]
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == f" M {PROJECT}\n M {LEGACY}/kustomization.yaml\n"
    assert _components(repo, LEGACY) == ["../../components/drift-auditor"]
