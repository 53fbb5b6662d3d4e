"""Shared fixtures: the repository root, and running the real CLI entry point in-process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitops_tool.cli.entry import main

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    code: int
    out: str
    err: str


RunCli = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def _signals_left_as_found() -> Iterator[None]:
    """Every test leaves SIGINT/SIGTERM handlers and the signal mask as it found them.

    A command run in-process that ignored or blocked Ctrl-C and did not restore it would make every
    later subprocess inherit that (an ignored or blocked signal survives exec) and fail far away.
    """
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    yield
    after = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert after == before, f"signal handlers changed: {before} -> {after}"
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == mask, "signal mask changed"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``gitops-tool ARGS`` through its real entry point; returns exit code, stdout and stderr.

    ``cwd=`` runs it from that folder; ``stdin=`` feeds standard input.
    """

    def run(*args: str, cwd: Path | None = None) -> CliResult:
        old = Path.cwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            capsys.readouterr()
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            captured = capsys.readouterr()
            return CliResult(code, captured.out, captured.err)
        finally:
            os.chdir(old)

    return run


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the repository's manifests (base, overlays, policies, argocd, components, schemas)."""
    dest = tmp_path / "project"
    dest.mkdir()
    for name in ("base", "overlays", "policies", "argocd", "components", "schemas"):
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, dest / name)
    return dest


@pytest.fixture
def project_repo(project_copy: Path) -> Path:
    """``project_copy`` as a Git repository with one commit and a local identity."""
    return init_repo(project_copy)


def init_repo(project: Path) -> Path:
    """Turn a copy of the project into a Git repository with one commit and a local identity."""
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.name", "Test")
    git(project, "config", "user.email", "test@example.com")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "initial")
    return project


def git(cwd: Path, *args: str) -> str:
    """Run real git in ``cwd`` with a fixed identity; returns stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout
