"""add-scheduler / remove-scheduler end to end: the real CLI, real git repositories, real kustomize."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunCli, git, init_repo
from tests.scheduler_support import HA, commit_subject, committed_paths, repo_state

SCHEDULER_PATHS = [
    f"{HA}/kustomization.yaml",
    f"{HA}/node-roles.yaml",
]


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def _rendered(run_cli: RunCli, repo: Path) -> list[dict[str, Any]]:
    result = run_cli("render", str(repo / HA))
    assert result.code == 0, result.err
    return [d for d in yaml.safe_load_all(result.out) if d]


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
        if expr["operator"] != "In":
            raise AssertionError(f"unexpected operator {expr['operator']}")
    return True


def test_add_3_then_4_commits_each_with_exactly_its_paths(run_cli: RunCli, repo: Path) -> None:
    first = run_cli("add-scheduler", "3", "--node", "node-4", "--repo", str(repo))
    assert first.code == 0, first.err
    assert commit_subject(repo) == f"{HA}: add scheduler-3"
    assert committed_paths(repo) == sorted(
        [*SCHEDULER_PATHS, f"{HA}/schedulers/scheduler-3/kustomization.yaml"]
    )

    second = run_cli("add-scheduler", "4", "--node", "node-5", "--repo", str(repo))
    assert second.code == 0, second.err
    assert commit_subject(repo) == f"{HA}: add scheduler-4"
    assert committed_paths(repo) == sorted(
        [*SCHEDULER_PATHS, f"{HA}/schedulers/scheduler-4/kustomization.yaml"]
    )
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "3"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""

    kustomization = yaml.safe_load((repo / HA / "kustomization.yaml").read_text())
    listed = [r for r in kustomization["resources"] if r.startswith("schedulers/")]
    assert listed == [f"schedulers/scheduler-{n}" for n in (1, 2, 3, 4)]
    roles = yaml.safe_load((repo / HA / "node-roles.yaml").read_text())["roles"]
    assert roles == {
        "management": "node-1",
        "scheduler-1": "node-2",
        "scheduler-2": "node-3",
        "scheduler-3": "node-4",
        "scheduler-4": "node-5",
    }


def test_rendered_scheduler_3_is_pinned_to_its_role_and_avoids_every_scheduler(
    run_cli: RunCli, repo: Path
) -> None:
    assert run_cli("add-scheduler", "3", "--node", "node-4", "--repo", str(repo)).code == 0
    objects = _rendered(run_cli, repo)
    schedulers = [
        o
        for o in objects
        if o["kind"] == "Deployment"
        and o["metadata"]["labels"].get("app.kubernetes.io/component") == "scheduler"
    ]
    assert sorted(o["metadata"]["name"] for o in schedulers) == [f"airflow-scheduler-{n}" for n in (1, 2, 3)]

    third = _find(objects, "Deployment", "airflow-scheduler-3")
    affinity = third["spec"]["template"]["spec"]["affinity"]
    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [
        {
            "matchExpressions": [
                {"key": "node-role.kubernetes.io/airflow", "operator": "In", "values": ["scheduler-3"]}
            ]
        }
    ]
    anti = affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert [t["topologyKey"] for t in anti] == ["kubernetes.io/hostname"]
    # The anti-affinity term selects the pods of every scheduler, the new one's included.
    for scheduler in schedulers:
        assert _matches(anti[0]["labelSelector"], scheduler["spec"]["template"]["metadata"]["labels"])
    # And every other scheduler avoids the new one.
    new_labels = third["spec"]["template"]["metadata"]["labels"]
    for scheduler in schedulers:
        terms = scheduler["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]
        assert any(_matches(t["labelSelector"], new_labels) for t in terms)

    template = _find(objects, "ConfigMap", "worker-pod-template-3")
    pod = yaml.safe_load(template["data"]["pod_template_file.yaml"])
    preferred = pod["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred[0]["preference"]["matchExpressions"][0]["values"] == ["scheduler-3"]
    volumes = {v["name"]: v for v in third["spec"]["template"]["spec"]["volumes"]}
    assert volumes["worker-pod-template"]["configMap"]["name"] == "worker-pod-template-3"

    pdb = _find(objects, "PodDisruptionBudget", "airflow-scheduler")
    assert all(
        _matches(pdb["spec"]["selector"], s["spec"]["template"]["metadata"]["labels"]) for s in schedulers
    )


def test_a_second_add_of_the_same_number_fails_and_changes_nothing(run_cli: RunCli, repo: Path) -> None:
    assert run_cli("add-scheduler", "3", "--repo", str(repo)).code == 0
    before = repo_state(repo)
    result = run_cli("add-scheduler", "3", "--repo", str(repo))
    assert result.code == 2
    assert result.err.strip().splitlines() == [f"gitops-tool: error: scheduler-3 already exists in {HA}"]
    assert repo_state(repo) == before


def test_schema_violation_in_the_base_rolls_everything_back(run_cli: RunCli, repo: Path) -> None:
    deployment = repo / "base" / "scheduler" / "deployment.yaml"
    deployment.write_text(
        deployment.read_text().replace("  replicas: 1\n", "  replicas: 1\n  replicaz: 1\n", 1)
    )
    git(repo, "commit", "-q", "-am", "break the scheduler template")
    before = repo_state(repo)
    result = run_cli("add-scheduler", "3", "--node", "node-4", "--repo", str(repo))
    assert result.code == 1, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert "would not validate, nothing was changed" in lines[0]
    assert "replicaz" in lines[0]
    assert repo_state(repo) == before
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / HA / "schedulers" / "scheduler-3").exists()
    assert not (repo / ".git" / "gitops-tool.lock").exists()


def test_policy_violation_in_the_base_rolls_everything_back(run_cli: RunCli, repo: Path) -> None:
    if not (repo / "policies").is_dir():
        pytest.fail("the project has no policies/ folder to check")
    deployment = repo / "base" / "scheduler" / "deployment.yaml"
    text = deployment.read_text()
    assert "- topologyKey: kubernetes.io/hostname\n" in text
    # Schema-valid, but schedulers could now share a node: the anti-affinity policy must refuse it.
    deployment.write_text(
        text.replace(
            "- topologyKey: kubernetes.io/hostname\n", "- topologyKey: topology.kubernetes.io/zone\n"
        )
    )
    git(repo, "commit", "-q", "-am", "schedulers may share a node")
    before = repo_state(repo)
    result = run_cli("add-scheduler", "3", "--node", "node-4", "--repo", str(repo))
    assert result.code == 1, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert "would not validate, nothing was changed: policy:" in lines[0]
    assert repo_state(repo) == before


def test_a_base_kustomize_cannot_render_rolls_everything_back(run_cli: RunCli, repo: Path) -> None:
    base = repo / "base" / "scheduler" / "kustomization.yaml"
    base.write_text(
        base.read_text().replace("  - deployment.yaml\n", "  - deployment.yaml\n  - missing.yaml\n")
    )
    git(repo, "commit", "-q", "-am", "break the scheduler template")
    before = repo_state(repo)
    result = run_cli("add-scheduler", "3", "--repo", str(repo))
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "kustomize could not render" in result.err
    assert repo_state(repo) == before


def test_comments_and_style_of_edited_files_survive(run_cli: RunCli, repo: Path) -> None:
    kustomization = repo / HA / "kustomization.yaml"
    text = kustomization.read_text().replace(
        "  - schedulers/scheduler-1\n", "  - schedulers/scheduler-1  # the first one\n  # the second one:\n"
    )
    text += "# a closing remark\n"
    kustomization.write_text(text)
    roles = repo / HA / "node-roles.yaml"
    roles.write_text(roles.read_text().replace("scheduler-2: node-3", "scheduler-2: 'node-3'  # quoted"))
    git(repo, "commit", "-q", "-am", "comments")

    assert run_cli("add-scheduler", "3", "--node", "node-4", "--repo", str(repo)).code == 0
    diff = git(repo, "diff", "HEAD~1", "HEAD", "--", f"{HA}/kustomization.yaml", f"{HA}/node-roles.yaml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["+  - schedulers/scheduler-3", "+  scheduler-3: node-4"]
    after = kustomization.read_text()
    assert "# the first one" in after and "# the second one:" in after
    assert after.endswith("  - schedulers/scheduler-3\n# a closing remark\n")
    assert "scheduler-2: 'node-3'  # quoted\n" in roles.read_text()


def test_remove_then_add_round_trips_to_identical_files(run_cli: RunCli, repo: Path) -> None:
    shipped = git(repo, "rev-parse", "HEAD^{tree}").strip()
    removed = run_cli("remove-scheduler", "2", "--repo", str(repo))
    assert removed.code == 0, removed.err
    assert commit_subject(repo) == f"{HA}: remove scheduler-2"
    assert committed_paths(repo) == sorted(
        [*SCHEDULER_PATHS, f"{HA}/schedulers/scheduler-2/kustomization.yaml"]
    )
    assert not (repo / HA / "schedulers" / "scheduler-2").exists()

    added = run_cli("add-scheduler", "2", "--node", "node-3", "--repo", str(repo))
    assert added.code == 0, added.err
    # Byte for byte: the regenerated scheduler-2 and both edited files are the shipped ones.
    assert git(repo, "rev-parse", "HEAD^{tree}").strip() == shipped


def test_add_then_remove_round_trips_to_identical_files(run_cli: RunCli, repo: Path) -> None:
    shipped = git(repo, "rev-parse", "HEAD^{tree}").strip()
    assert run_cli("add-scheduler", "3", "--node", "node-4", "--repo", str(repo)).code == 0
    assert run_cli("remove-scheduler", "3", "--repo", str(repo)).code == 0
    assert git(repo, "rev-parse", "HEAD^{tree}").strip() == shipped


def test_works_from_a_subfolder_without_repo(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("add-scheduler", "3", cwd=repo / HA / "schedulers" / "scheduler-1")
    assert result.code == 0, result.err
    assert commit_subject(repo) == f"{HA}: add scheduler-3"
    assert (repo / HA / "schedulers" / "scheduler-3" / "kustomization.yaml").is_file()


def test_repo_option_from_another_folder(run_cli: RunCli, repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("add-scheduler", "3", "--repo", str(repo / "base"), cwd=elsewhere)
    assert result.code == 0, result.err
    assert commit_subject(repo) == f"{HA}: add scheduler-3"


def test_overlay_argument_accepts_the_short_name(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("add-scheduler", "3", "three-node-ha", "--repo", str(repo))
    assert result.code == 0, result.err
    assert commit_subject(repo) == f"{HA}: add scheduler-3"


def test_no_commit_leaves_the_change_in_the_work_tree(run_cli: RunCli, repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    result = run_cli("add-scheduler", "3", "--node", "node-4", "--no-commit", "--repo", str(repo))
    assert result.code == 0, result.err
    assert "not committed" in result.out
    assert git(repo, "rev-parse", "HEAD") == head
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(status) == sorted(
        [f" M {p}" for p in SCHEDULER_PATHS] + [f"?? {HA}/schedulers/scheduler-3/kustomization.yaml"]
    )


def test_message_option_sets_the_commit_message(run_cli: RunCli, repo: Path) -> None:
    result = run_cli(
        "add-scheduler", "3", "--message", "Scale out: scheduler 3 on node-4", "--repo", str(repo)
    )
    assert result.code == 0, result.err
    assert commit_subject(repo) == "Scale out: scheduler 3 on node-4"


def test_dry_run_prints_a_unified_diff_and_writes_nothing(run_cli: RunCli, repo: Path) -> None:
    before = repo_state(repo)
    result = run_cli("add-scheduler", "3", "--node", "node-4", "--dry-run", "--repo", str(repo))
    assert result.code == 0, result.err
    assert repo_state(repo) == before
    assert f"--- /dev/null\n+++ b/{HA}/schedulers/scheduler-3/kustomization.yaml\n" in result.out
    assert f"--- a/{HA}/kustomization.yaml\n+++ b/{HA}/kustomization.yaml\n" in result.out
    assert "+  - schedulers/scheduler-3\n" in result.out
    assert "+  scheduler-3: node-4\n" in result.out
    assert '+nameSuffix: "-3"\n' in result.out
    # The diff applies cleanly with git and yields what the real command writes.
    subprocess.run(["git", "apply", "-"], input=result.out, text=True, cwd=repo, check=True)
    applied = {
        p: (repo / p).read_text()
        for p in [*SCHEDULER_PATHS, f"{HA}/schedulers/scheduler-3/kustomization.yaml"]
    }
    git(repo, "stash", "-u", "-q")
    assert run_cli("add-scheduler", "3", "--node", "node-4", "--repo", str(repo)).code == 0
    assert applied == {p: (repo / p).read_text() for p in applied}


def test_remove_dry_run_shows_the_deleted_folder(run_cli: RunCli, repo: Path) -> None:
    before = repo_state(repo)
    result = run_cli("remove-scheduler", "2", "--dry-run", "--repo", str(repo))
    assert result.code == 0, result.err
    assert f"--- a/{HA}/schedulers/scheduler-2/kustomization.yaml\n+++ /dev/null\n" in result.out
    assert "-  - schedulers/scheduler-2\n" in result.out
    assert repo_state(repo) == before


def test_other_uncommitted_work_is_left_alone(run_cli: RunCli, repo: Path) -> None:
    (repo / "base" / "notes.txt").write_text("scratch\n")
    readme = repo / HA / "scheduler-pdb.yaml"
    readme.write_text(readme.read_text() + "# edited, staged\n")
    git(repo, "add", str(readme))
    result = run_cli("add-scheduler", "3", "--repo", str(repo))
    assert result.code == 0, result.err
    assert f"{HA}/scheduler-pdb.yaml" not in committed_paths(repo)
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(status) == sorted([f"M  {HA}/scheduler-pdb.yaml", "?? base/notes.txt"])


def test_schedulers_lists_role_and_node(run_cli: RunCli, repo: Path) -> None:
    assert run_cli("add-scheduler", "3", "--repo", str(repo)).code == 0
    text = run_cli("schedulers", "list", "--repo", str(repo))
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[1].split() == [
        "airflow-scheduler-1",
        "scheduler-1",
        "node-2",
        f"{HA}/schedulers/scheduler-1",
    ]
    assert lines[3].split() == [
        "airflow-scheduler-3",
        "scheduler-3",
        "(unmapped)",
        f"{HA}/schedulers/scheduler-3",
    ]
    data = json.loads(run_cli("schedulers", "list", "--output", "json", "--repo", str(repo)).out)
    assert data["overlay"] == HA
    assert [(s["role"], s["node"]) for s in data["schedulers"]] == [
        ("scheduler-1", "node-2"),
        ("scheduler-2", "node-3"),
        ("scheduler-3", None),
    ]


def test_schedulers_of_the_legacy_overlay(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("schedulers", "list", "single-node-legacy", "--output", "json", "--repo", str(repo))
    assert result.code == 0, result.err
    (only,) = json.loads(result.out)["schedulers"]
    assert (only["name"], only["node"]) == ("airflow-scheduler-1", None)
    assert "legacy layout" in only["notes"][0]


def test_add_without_node_says_the_role_is_unmapped(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("add-scheduler", "3", "--repo", str(repo))
    assert result.code == 0
    assert "role scheduler-3 is not mapped to a node" in result.err
    assert committed_paths(repo) == sorted(
        [f"{HA}/kustomization.yaml", f"{HA}/schedulers/scheduler-3/kustomization.yaml"]
    )


def _cli_binary() -> str:
    return str(Path(sys.executable).parent / "gitops-tool")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_writing_leaves_no_partial_folder(repo: Path, tmp_path: Path, signum: int) -> None:
    before = repo_state(repo)
    marker = tmp_path / "paused"
    env = {**os.environ, "GITOPS_TOOL_TEST_PAUSE_WRITING": str(marker)}
    proc = subprocess.Popen(
        [_cli_binary(), "add-scheduler", "3", "--node", "node-4", "--repo", str(repo)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), proc.communicate()
        # Paused mid-write: the new folder exists only as a hidden staging folder.
        schedulers = repo / HA / "schedulers"
        staging = [p.name for p in schedulers.iterdir() if p.name.startswith(".scheduler-3.")]
        assert len(staging) == 1
        assert not (schedulers / "scheduler-3").exists()
        assert (repo / ".git" / "gitops-tool.lock").exists()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["gitops-tool: error: interrupted"]
    assert sorted(p.name for p in (repo / HA / "schedulers").iterdir()) == ["scheduler-1", "scheduler-2"]
    assert repo_state(repo) == before
    assert not (repo / ".git" / "gitops-tool.lock").exists()


def test_fresh_clone_add_scheduler_makes_one_commit_and_validates(
    run_cli: RunCli, repo: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "config", "user.name", "Operator")
    git(clone, "config", "user.email", "operator@example.com")
    start = git(clone, "rev-parse", "HEAD").strip()

    result = run_cli("add-scheduler", "3", "--node", "node-4", cwd=clone)
    assert result.code == 0, result.err

    assert git(clone, "rev-list", "--count", f"{start}..HEAD").strip() == "1"
    stat = git(clone, "show", "--stat", "--format=%s", "HEAD")
    assert stat.splitlines()[0] == f"{HA}: add scheduler-3"
    assert committed_paths(clone) == sorted(
        [*SCHEDULER_PATHS, f"{HA}/schedulers/scheduler-3/kustomization.yaml"]
    )
    assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""

    validated = run_cli("validate", cwd=clone)
    assert validated.code == 0, validated.out + validated.err
