"""SIGKILL at named moments of each committing command (the real console script in a subprocess,
paused there by the GITOPS_TOOL_TEST_PAUSE_AT hook of services/committed_change.py), then the next
run: it explains in one line what it found, recovers, and the repository ends with exactly the one
commit of the change and nothing else changed, no lock, no journal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git

GITOPS_TOOL = str(Path(sys.executable).with_name("gitops-tool"))

COMMANDS: dict[str, list[str]] = {
    "add-scheduler": ["add-scheduler", "3", "--node", "node-4"],
    "components enable": ["components", "enable", "drift-cronjob", "three-node-ha"],
    "upgrade-airflow": ["upgrade-airflow", "2.11.1"],
    "dags source set": [
        "dags",
        "source",
        "set",
        "three-node-ha",
        "--url",
        "https://git.example.com/team/dags.git",
        "--ref",
        "prod",
    ],
}
# Where each can be killed: before anything is written (lock only), journal written, mid-write
# (add-scheduler's new folder half staged), written and validated, committed but not cleaned up.
STEPS = ["locked", "journaled", "writing", "applied", "committed"]
NOTE = "gitops-tool: note: "


def _cases() -> list[tuple[str, str]]:
    return [(c, s) for c in COMMANDS for s in STEPS if s != "writing" or c == "add-scheduler"]


def _run(repo: Path, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GITOPS_TOOL, *argv], cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
@pytest.mark.parametrize(("command", "step"), _cases())
def test_sigkill_then_the_next_run_explains_and_recovers(
    command: str, step: str, project_repo: Path, tmp_path: Path
) -> None:
    repo = project_repo
    start = git(repo, "rev-parse", "HEAD").strip()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    marker = tmp_path / "paused"
    paused_env = {**env, "GITOPS_TOOL_TEST_PAUSE_WRITING": str(marker), "GITOPS_TOOL_TEST_PAUSE_AT": step}
    process = subprocess.Popen(
        [GITOPS_TOOL, *COMMANDS[command]],
        cwd=repo,
        env=paused_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), process.communicate()
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert (repo / ".git" / "gitops-tool.lock").exists()  # left behind, as after any SIGKILL
    if step in ("journaled", "writing", "applied", "committed"):
        assert (repo / ".git" / "gitops-tool.journal").exists()

    again = _run(repo, COMMANDS[command], env)
    notes = [line for line in again.stderr.splitlines() if line.startswith(NOTE)]
    assert len(notes) == 1, again.stderr
    if step == "committed":
        assert "had made its commit" in notes[0]
        assert again.returncode == 2, again.stderr  # the change is there already: nothing to do
    else:
        assert again.returncode == 0, again.stderr
        if step == "locked":
            assert "took over the lock of an interrupted command" in notes[0]
        else:
            assert "had not committed: its changes to" in notes[0]
            assert "were rolled back" in notes[0]
    assert git(repo, "rev-list", "--count", f"{start}..HEAD").strip() == "1"
    assert git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored") == ""
    assert not (repo / ".git" / "gitops-tool.lock").exists()
    assert not (repo / ".git" / "gitops-tool.journal").exists()


def test_a_kill_before_the_commit_with_no_commit_left_rolls_back_to_the_start(
    project_repo: Path, tmp_path: Path
) -> None:
    """--no-commit killed after writing: the next run (a dry run does not recover; a real one does)
    puts the files back, so the user never finds a half-validated change in the work tree."""
    repo = project_repo
    marker = tmp_path / "paused"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    paused = {**env, "GITOPS_TOOL_TEST_PAUSE_WRITING": str(marker), "GITOPS_TOOL_TEST_PAUSE_AT": "applied"}
    process = subprocess.Popen(
        [GITOPS_TOOL, "upgrade-airflow", "2.11.1", "--no-commit"],
        cwd=repo,
        env=paused,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists()
        process.kill()
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert git(repo, "status", "--porcelain") != ""  # the killed command's edits are in the work tree
    again = _run(repo, ["components", "enable", "drift-cronjob", "three-node-ha", "--no-commit"], env)
    assert again.returncode == 0, again.stderr
    assert "upgrade-airflow" in again.stderr and "were rolled back" in again.stderr
    changed = git(repo, "status", "--porcelain").splitlines()
    assert changed and all("three-node-ha" in line or "argocd" in line for line in changed), changed
