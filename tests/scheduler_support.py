"""Helpers for the scheduler scaffolding tests: a committed copy of the project in a real git repo."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import git

HA = "overlays/three-node-ha"


@dataclass(frozen=True)
class RepoState:
    """Everything a refused or rolled-back command must leave untouched."""

    head: str
    status: str
    files: dict[str, str]
    index: str


def repo_state(repo: Path) -> RepoState:
    files = {
        p.relative_to(repo).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }
    index = repo / ".git" / "index"
    head = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=repo, capture_output=True, text=True, check=False
    ).stdout.strip()  # empty on a branch without commits
    return RepoState(
        head,
        git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"),
        files,
        hashlib.sha256(index.read_bytes()).hexdigest() if index.is_file() else "",
    )


def committed_paths(repo: Path, rev: str = "HEAD") -> list[str]:
    return sorted(p for p in git(repo, "show", "--name-only", "--format=", rev).splitlines() if p)


def commit_subject(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", "--format=%s", rev).strip()
