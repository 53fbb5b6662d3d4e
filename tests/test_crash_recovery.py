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
    "init": [
        "init",
        "--repo-url",
        "https://git.example.com/team/airflow-gitops.git",
        "--service-cidr",
        "10.43.0.0/16",
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


def _paused(
    repo: Path, argv: list[str], env: dict[str, str], step: str, marker: Path
) -> subprocess.Popen[str]:
    """The real console script running ``argv``, paused at ``step`` (the marker file appears)."""
    paused_env = {**env, "GITOPS_TOOL_TEST_PAUSE_WRITING": str(marker), "GITOPS_TOOL_TEST_PAUSE_AT": step}
    process = subprocess.Popen(
        [GITOPS_TOOL, *argv],
        cwd=repo,
        env=paused_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), process.communicate()
    return process


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_interruption_once_the_commit_is_made_reports_the_commit(
    command: str, signum: int, project_repo: Path, tmp_path: Path
) -> None:
    """Ctrl-C or SIGTERM landing after the commit (while the command cleans up and prints its
    success lines) is ignored: the command reports what it committed and exits 0, never "interrupted"
    over a kept commit."""
    repo = project_repo
    start = git(repo, "rev-parse", "HEAD").strip()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    marker = tmp_path / "paused"
    process = _paused(repo, COMMANDS[command], env, "committed", marker)
    try:
        process.send_signal(signum)
        time.sleep(0.5)  # the signal is handled (here: ignored) while the command is paused
        marker.unlink()  # resumes the command
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "interrupted" not in err and "Traceback" not in err
    head = git(repo, "rev-parse", "--short=12", "HEAD").strip()
    assert head[:7] in out + err, out + err  # the success lines name the commit
    assert git(repo, "rev-list", "--count", f"{start}..HEAD").strip() == "1"
    assert git(repo, "status", "--porcelain") == ""
    assert not (repo / ".git" / "gitops-tool.lock").exists()
    assert not (repo / ".git" / "gitops-tool.journal").exists()


def _duration(repo: Path, argv: list[str], env: dict[str, str]) -> float:
    """How long ``argv`` takes from start to exit, measured on a throw-away clone of ``repo``."""
    clone = repo.parent / "timing-clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, capture_output=True)
    git(clone, "config", "user.name", "Test")
    git(clone, "config", "user.email", "test@example.com")
    began = time.monotonic()
    result = _run(clone, argv, env)
    assert result.returncode == 0, result.stderr
    return time.monotonic() - began


@pytest.mark.slow
@pytest.mark.parametrize("command", list(COMMANDS))
def test_sigkill_at_any_moment_leaves_the_start_or_the_one_commit(
    command: str, project_repo: Path, tmp_path: Path
) -> None:
    """SIGKILL at moments spread over the whole run (not only the named steps): right after the kill
    the repository is the start or holds the one commit (files possibly rolled back by the next run);
    the next run recovers, explaining any lock or journal it finds, and the change is made once."""
    repo = project_repo
    start = git(repo, "rev-parse", "HEAD").strip()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    total = _duration(repo, COMMANDS[command], env)
    recovered: list[list[str]] = []
    for fraction in (0.15, 0.35, 0.55, 0.7, 0.85, 0.95):
        git(repo, "reset", "-q", "--hard", start)
        git(repo, "clean", "-qfdx")
        process = subprocess.Popen(
            [GITOPS_TOOL, *COMMANDS[command]],
            cwd=repo,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(total * fraction)
        process.kill()
        process.wait(timeout=60)
        commits = int(git(repo, "rev-list", "--count", f"{start}..HEAD").strip())
        assert commits in (0, 1), (fraction, commits)
        leftovers = [
            name for name in ("gitops-tool.lock", "gitops-tool.journal") if (repo / ".git" / name).exists()
        ]
        recovered.append(leftovers)
        again = _run(repo, COMMANDS[command], env)
        notes = [line for line in again.stderr.splitlines() if line.startswith(NOTE)]
        if leftovers:
            assert len(notes) == 1, (fraction, leftovers, again.stderr)
        if commits == 0:
            assert again.returncode == 0, (fraction, again.stderr)
        else:  # the change was made already: the run says so (exit 2) and changes nothing
            assert again.returncode in (0, 2), (fraction, again.stderr)
        assert git(repo, "rev-list", "--count", f"{start}..HEAD").strip() == "1", (fraction, again.stderr)
        assert git(repo, "status", "--porcelain", "--untracked-files=all") == "", fraction
        assert not (repo / ".git" / "gitops-tool.lock").exists(), fraction
        assert not (repo / ".git" / "gitops-tool.journal").exists(), fraction
    # The sweep reached the middle of the change: some kill left a lock (and journal) to recover.
    assert any(recovered), recovered
