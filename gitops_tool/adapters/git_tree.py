"""Files of the repository as they are in a commit, without touching the work tree.

``tree_at(start, rev)`` exports the commit with ``git archive`` (through GitPython, opened by
git_repo.open_repository like every Git access) into a
temporary folder and removes it afterwards: the work tree, index and HEAD stay as they were, even
when the work tree is dirty or another branch is checked out.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gitops_tool.adapters.git_repo import open_repository
from gitops_tool.errors import RepositoryError, UserError


@dataclass(frozen=True)
class CommitTree:
    root: Path  # the exported tree (the repository's top folder at that commit)
    commit: str  # full SHA
    rev: str  # as the user gave it


def repository_root(start: Path) -> Path:
    """The top folder of the Git work tree holding ``start``."""
    repo = open_repository(start, "use --worktree or --desired-file")
    return Path(repo.working_tree_dir).resolve()


def in_git_work_tree(start: Path) -> bool:
    try:
        open_repository(start)
    except RepositoryError:
        return False
    return True


@contextmanager
def tree_at(start: Path, rev: str) -> Iterator[CommitTree]:
    """The repository holding ``start`` as it is at ``rev``, exported to a temporary folder."""
    import git

    repo = open_repository(start, "use --worktree or --desired-file")
    root = Path(repo.working_tree_dir).resolve()
    if rev.startswith("-"):
        raise UserError(f"unknown ref {rev!r}")
    try:
        commit = repo.commit(rev)
    except (git.BadName, git.BadObject, ValueError):
        raise UserError(f"unknown ref {rev!r}: no such commit, branch or tag in {root}") from None
    buffer = io.BytesIO()
    try:
        if len(commit.tree) > 0:  # tarfile cannot read the archive of an empty tree
            repo.archive(buffer, treeish=commit.hexsha, format="tar")
    except git.GitCommandError as exc:
        raise RepositoryError(f"git archive {rev} failed: {str(exc.stderr).strip() or exc}") from None
    buffer.seek(0)
    with tempfile.TemporaryDirectory(prefix="gitops-tool-rev-") as folder:
        if buffer.getbuffer().nbytes:  # an empty tree archives to nothing at all
            with tarfile.open(fileobj=buffer, mode="r:") as archive:
                archive.extractall(folder, filter="data")
        yield CommitTree(Path(folder), commit.hexsha, rev)
