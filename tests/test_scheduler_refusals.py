"""Every refusal of add-scheduler / remove-scheduler: one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunCli, git, init_repo
from tests.scheduler_support import HA, repo_state


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def _refused(run_cli: RunCli, repo: Path, *args: str, cwd: Path | None = None) -> str:
    """Run a command that must be refused; returns its one-line message after checking nothing changed."""
    before = repo_state(repo) if (repo / ".git").is_dir() else None
    result = run_cli(*args, cwd=cwd or repo)
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("gitops-tool: error: ")
    assert result.out == ""
    if before is not None:
        assert repo_state(repo) == before
        assert not (repo / ".git" / "gitops-tool.lock").exists()
    return lines[0].removeprefix("gitops-tool: error: ")


@pytest.mark.parametrize("number", ["abc", "0", "3.0", "03", "1e3", " "])
def test_not_a_positive_integer(run_cli: RunCli, repo: Path, number: str) -> None:
    message = _refused(run_cli, repo, "add-scheduler", number)
    assert "must be a positive integer (1-64)" in message


def test_negative_number_is_refused(run_cli: RunCli, repo: Path) -> None:
    _refused(run_cli, repo, "add-scheduler", "--", "-3")


def test_above_the_bound(run_cli: RunCli, repo: Path) -> None:
    assert "above the limit of 64" in _refused(run_cli, repo, "add-scheduler", "65")
    assert "above the limit of 64" in _refused(run_cli, repo, "remove-scheduler", "100000")


def test_the_bound_itself_is_accepted(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("add-scheduler", "64", "--dry-run", cwd=repo)
    assert result.code == 0, result.err
    assert "schedulers/scheduler-64" in result.out


def test_scheduler_already_present(run_cli: RunCli, repo: Path) -> None:
    assert _refused(run_cli, repo, "add-scheduler", "2") == f"scheduler-2 already exists in {HA}"


def test_scheduler_listed_but_folder_missing_counts_as_present(run_cli: RunCli, repo: Path) -> None:
    kustomization = repo / HA / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "  - schedulers/scheduler-5\n")
    git(repo, "commit", "-q", "-am", "dangling entry")
    assert _refused(run_cli, repo, "add-scheduler", "5") == f"scheduler-5 already exists in {HA}"


def test_unknown_overlay(run_cli: RunCli, repo: Path) -> None:
    message = _refused(run_cli, repo, "add-scheduler", "3", "overlays/five-node")
    assert message.startswith("unknown overlay overlays/five-node")


def test_legacy_overlay_is_single_scheduler_by_design(run_cli: RunCli, repo: Path) -> None:
    for command in ("add-scheduler", "remove-scheduler"):
        message = _refused(run_cli, repo, command, "2", "overlays/single-node-legacy")
        assert "single-scheduler by design" in message
        assert "overlays/single-node-legacy" in message


@pytest.mark.parametrize("path", [f"{HA}/kustomization.yaml", f"{HA}/node-roles.yaml"])
def test_uncommitted_change_in_a_file_it_would_touch(run_cli: RunCli, repo: Path, path: str) -> None:
    target = repo / path
    target.write_text(target.read_text() + "# local edit\n")
    message = _refused(run_cli, repo, "add-scheduler", "3", "--node", "node-4")
    assert message.startswith(f"uncommitted changes in files this command writes: {path}")


def test_staged_change_in_a_file_it_would_touch(run_cli: RunCli, repo: Path) -> None:
    target = repo / HA / "schedulers" / "scheduler-2" / "kustomization.yaml"
    target.write_text(target.read_text() + "# staged edit\n")
    git(repo, "add", str(target))
    message = _refused(run_cli, repo, "remove-scheduler", "2")
    assert f"{HA}/schedulers/scheduler-2/kustomization.yaml" in message


def test_not_a_git_repository(run_cli: RunCli, project_copy: Path) -> None:
    message = _refused(run_cli, project_copy, "add-scheduler", "3")
    assert message.startswith("not a git repository")
    assert not (project_copy / HA / "schedulers" / "scheduler-3").exists()


def test_detached_head(run_cli: RunCli, repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach", "HEAD")
    assert "HEAD is detached" in _refused(run_cli, repo, "add-scheduler", "3")


def test_branch_without_a_commit(run_cli: RunCli, project_copy: Path) -> None:
    git(project_copy, "init", "-q", "-b", "main")
    message = _refused(run_cli, project_copy, "add-scheduler", "3")
    assert message.startswith("branch main has no commit yet")


def _conflict(repo: Path) -> str:
    """Two branches editing the same line of a file the command does not touch; returns the branch."""
    target = repo / "base" / "kustomization.yaml"
    git(repo, "checkout", "-q", "-b", "other")
    target.write_text(target.read_text() + "# other\n")
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "main")
    target.write_text(target.read_text() + "# main\n")
    git(repo, "commit", "-q", "-am", "main")
    return "other"


def _run_git_expecting_conflict(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_EDITOR": "true"}
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode != 0, proc.stdout


def test_merge_in_progress(run_cli: RunCli, repo: Path) -> None:
    _run_git_expecting_conflict(repo, "merge", _conflict(repo))
    assert (repo / ".git" / "MERGE_HEAD").exists()
    assert _refused(run_cli, repo, "add-scheduler", "3").startswith("a merge is in progress")


def test_rebase_in_progress(run_cli: RunCli, repo: Path) -> None:
    _run_git_expecting_conflict(repo, "rebase", _conflict(repo))
    assert "a rebase" in _refused(run_cli, repo, "add-scheduler", "3")


def test_cherry_pick_in_progress(run_cli: RunCli, repo: Path) -> None:
    _run_git_expecting_conflict(repo, "cherry-pick", _conflict(repo))
    assert _refused(run_cli, repo, "add-scheduler", "3").startswith("a cherry-pick is in progress")


@pytest.mark.parametrize("node", ["Node-4", "node_4", "-node", "node-", "a..b", "x" * 254])
def test_invalid_node_name(run_cli: RunCli, repo: Path, node: str) -> None:
    message = _refused(run_cli, repo, "add-scheduler", "3", "--node", node)
    assert message.startswith("invalid node name")
    assert "DNS-1123 subdomain" in message


def test_node_already_mapped_to_another_role(run_cli: RunCli, repo: Path) -> None:
    message = _refused(run_cli, repo, "add-scheduler", "3", "--node", "node-3")
    assert message.startswith("node node-3 is already mapped to role scheduler-2")


def test_lock_held_by_a_running_command(run_cli: RunCli, repo: Path) -> None:
    lock = repo / ".git" / "gitops-tool.lock"
    with subprocess.Popen(["sleep", "60"]) as holder:
        try:
            lock.write_text(f"{holder.pid} {os.uname().nodename} add-scheduler\n")
            before = repo_state(repo)
            result = run_cli("add-scheduler", "3", cwd=repo)
            assert result.code == 2
            lines = result.err.strip().splitlines()
            assert len(lines) == 1
            assert "another gitops-tool add/remove is running on this repository" in lines[0]
            assert f"pid {holder.pid}" in lines[0]
            assert repo_state(repo) == before
            assert lock.read_text().startswith(f"{holder.pid} ")
        finally:
            holder.kill()


def test_stale_lock_of_a_dead_process_is_taken_over(run_cli: RunCli, repo: Path) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    lock = repo / ".git" / "gitops-tool.lock"
    lock.write_text(f"{finished.pid} {os.uname().nodename} add-scheduler\n")
    result = run_cli("add-scheduler", "3", cwd=repo)
    assert result.code == 0, result.err
    assert not lock.exists()


def test_no_git_identity(
    run_cli: RunCli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(repo, "config", "--unset", "user.name")
    git(repo, "config", "--unset", "user.email")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    message = _refused(run_cli, repo, "add-scheduler", "3")
    assert message.startswith("no Git identity configured")
    assert "git config user.name" in message
    # --no-commit needs no identity.
    result = run_cli("add-scheduler", "3", "--no-commit", cwd=repo)
    assert result.code == 0, result.err


def test_remove_the_last_scheduler(run_cli: RunCli, repo: Path) -> None:
    assert run_cli("remove-scheduler", "2", cwd=repo).code == 0
    message = _refused(run_cli, repo, "remove-scheduler", "1")
    assert message == f"scheduler-1 is the last scheduler of {HA}; an overlay needs at least one"


def test_remove_a_scheduler_that_is_not_there(run_cli: RunCli, repo: Path) -> None:
    message = _refused(run_cli, repo, "remove-scheduler", "7")
    assert message == f"scheduler-7 is not in {HA} (schedulers: scheduler-1, scheduler-2)"


def test_empty_message(run_cli: RunCli, repo: Path) -> None:
    assert _refused(run_cli, repo, "add-scheduler", "3", "--message", " ") == "--message must not be empty"
