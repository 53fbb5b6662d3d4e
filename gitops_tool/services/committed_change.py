"""The one "validated committed change" every committing command runs (add/remove-scheduler,
components and backup enable/disable, dags source set, upgrade-airflow, migrate switch).

1. ``locked_repository``: open the gitops repository and its Git work tree, take the repository
   lock (a stale one, whose owner is gone, is taken over), settle the journal a killed command left
   (rolled back or completed, explained in one line on stderr), then check the repository can take
   a commit (a branch, no merge or rebase in progress).
2. The command plans, reading only; ``refuse_dirty`` refuses uncommitted changes in what it writes.
3. ``commit_change``: snapshot HEAD's branch and the index, write the journal, then inside one file
   transaction write, validate (the ``apply`` callback does both), commit exactly those paths, and
   finish; any failure or interruption puts files, index and branch back as they were. Once the
   commit is made, Ctrl-C and SIGTERM are ignored until the command has reported it (cli/entry.py
   restores them): a kept commit is never reported as "interrupted".

Test hook: ``GITOPS_TOOL_TEST_PAUSE_AT=STEP`` with ``GITOPS_TOOL_TEST_PAUSE_WRITING=FILE`` pauses
at STEP (``locked``, ``journaled``, ``writing``, ``applied``, ``committed``), so a test can kill the
real command there (adapters/transaction.py ``pause_for_tests``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from gitops_tool.adapters.change_journal import Journal, recover
from gitops_tool.adapters.git_repo import GitRepo, open_project_repo
from gitops_tool.adapters.repo_lock import repository_lock
from gitops_tool.adapters.transaction import (
    FileTransaction,
    ignore_interrupts,
    pause_for_tests,
    sigterm_as_interrupt,
)
from gitops_tool.errors import RepositoryError

Apply = Callable[[FileTransaction], list[str]]


@contextlib.contextmanager
def locked_repository(start: Path, verb: str) -> Iterator[tuple[Path, GitRepo]]:
    """The project root and its Git work tree, locked for ``verb``, an interrupted change settled."""
    root, git = open_project_repo(start)
    with repository_lock(git.git_dir, verb) as lock:
        explanation = recover(git)
        if explanation is None and lock.taken_over is not None:
            explanation = (
                f"took over the lock of an interrupted command ({lock.taken_over}; gone), "
                "which had not changed anything"
            )
        if explanation is not None:
            print(f"gitops-tool: note: {explanation}", file=sys.stderr)
        git.check_ready()
        pause_for_tests("locked")
        yield root, git


def settle_interrupted(start: Path, verb: str) -> None:
    """For a command that reads the repository before its change takes the lock: settle what an
    interrupted command left first, so the reading sees the repository as it was."""
    with locked_repository(start, verb):
        pass


def refuse_dirty(git: GitRepo, root: Path, paths: list[str], what: str = "files this command writes") -> None:
    """Refuse uncommitted (staged, unstaged or untracked) changes in ``paths`` (repository-relative)."""
    dirty = git.dirty([git.relative(root / p) for p in paths])
    if dirty:
        raise RepositoryError(f"uncommitted changes in {what}: {_listed(dirty)}; commit or stash them first")


def refuse_dirty_tree(git: GitRepo, advice: str) -> None:
    """Refuse any uncommitted change in the whole work tree; ``advice`` ends the message."""
    dirty = git.dirty(["."])
    if dirty:
        raise RepositoryError(f"the work tree has uncommitted changes ({_listed(dirty)}); {advice}")


def _listed(paths: list[str]) -> str:
    """The first five paths, and how many more."""
    return ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def commit_change(
    root: Path,
    git: GitRepo,
    *,
    verb: str,
    message: str,
    paths: list[str],
    apply: Apply,
    commit: bool = True,
) -> str | None:
    """Write and validate through ``apply`` (which returns the paths it wrote), then commit them with
    ``message``; all of it or nothing. ``paths``: every path it may write, checked clean before (the
    journal rolls them back after a SIGKILL). Paths are relative to the Git work tree, as
    ``git.relative`` gives them; ``apply`` writes relative to ``root``. Returns the commit id."""
    if commit:
        git.identity()
    snapshot = git.snapshot()
    journal = Journal.begin(git, verb, snapshot, message, paths)
    made: str | None = None
    try:
        pause_for_tests("journaled")
        with sigterm_as_interrupt(), FileTransaction(root) as files:
            written = apply(files)
            pause_for_tests("applied")
            if commit:
                made = git.commit_paths(written, message)
                ignore_interrupts()
            files.finish()
            pause_for_tests("committed")
    except BaseException:
        if made is None:
            git.restore(snapshot)
        journal.close()
        raise
    journal.close()
    return made
