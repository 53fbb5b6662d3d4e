"""The journal of a committing command's change, kept beside the repository lock in the .git folder.

A command that is killed outright (SIGKILL, the machine loses power) cannot roll back: its edited
files, a staging folder, the index it touched and its lock stay behind. Before its first write a
committing command therefore records, atomically, in ``.git/gitops-tool.journal``: who it is, the
branch and commit it started from, the commit message it will use and every path it may write (all
of them checked clean against that commit before), plus a copy of the index. The journal is removed
once the change is committed (or rolled back).

The next committing command finds the journal (its owner's pid gone) and recovers before doing
anything else:

- the branch still points at the starting commit: the change was not committed, so every journaled
  path is put back as it is in that commit (files the change created are removed), staging and
  trash folders are removed and the index is restored: the repository is as it was;
- the branch points at one new commit on top of the starting one, with the journaled message: the
  change was committed and only its clean-up was lost, so the clean-up is finished;
- anything else (the user moved the branch since): the journal is dropped and the files left alone.

Each case is explained in one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from gitops_tool.adapters.files import atomic_write
from gitops_tool.adapters.git_repo import GitRepo, Snapshot

JOURNAL_NAME = "gitops-tool.journal"
_INDEX_SUFFIX = ".index"
# Hidden siblings FileTransaction leaves while it works: ".NAME.<random>.tmp" / ".NAME.<random>.removed".
_LEFTOVER_SUFFIXES = (".tmp", ".removed")


@dataclass(frozen=True)
class JournalEntry:
    verb: str
    pid: int
    host: str
    branch_ref: str
    head: str
    message: str
    paths: list[str]  # repository-relative, as git names them
    has_index: bool


class Journal:
    """The journal of the change in progress; ``close`` removes it once the change is settled."""

    def __init__(self, git_dir: Path) -> None:
        self.path = git_dir / JOURNAL_NAME
        self.index_copy = git_dir / (JOURNAL_NAME + _INDEX_SUFFIX)

    @classmethod
    def begin(cls, git: GitRepo, verb: str, snapshot: Snapshot, message: str, paths: list[str]) -> Journal:
        journal = cls(git.git_dir)
        if snapshot.index is not None:
            atomic_write(journal.index_copy, snapshot.index)
        entry = JournalEntry(
            verb,
            os.getpid(),
            socket.gethostname(),
            snapshot.branch_ref,
            snapshot.head,
            message,
            sorted(set(paths)),
            snapshot.index is not None,
        )
        atomic_write(journal.path, json.dumps(asdict(entry), indent=1) + "\n")
        return journal

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.index_copy.unlink()


def recover(git: GitRepo) -> str | None:
    """Settle a journal left by a killed command; returns the one-line explanation, or None."""
    journal = Journal(git.git_dir)
    try:
        data = json.loads(journal.path.read_text(encoding="utf-8"))
        entry = JournalEntry(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, UnicodeDecodeError):
        journal.close()
        return f"removed an unreadable change journal ({journal.path}); check `git status` in {git.root}"
    who = f"`{entry.verb}` (pid {entry.pid}, gone)"
    current = git.commit_of(entry.branch_ref)
    if current == entry.head:
        _roll_back(git, entry, journal)
        journal.close()
        more = f" and {len(entry.paths) - 3} more" if len(entry.paths) > 3 else ""
        shown = ", ".join(entry.paths[:3]) + more
        return (
            f"an interrupted {who} had not committed: its changes to {shown} were rolled back; "
            "the repository is as it was before it"
        )
    if current is not None and git.is_commit_on(current, entry.head, entry.message):
        _remove_leftovers(git.root, entry.paths)
        journal.close()
        return f"an interrupted {who} had made its commit {current[:12]}; its clean-up is now finished"
    _remove_leftovers(git.root, entry.paths)
    journal.close()
    return (
        f"an interrupted {who} left a change journal, but {entry.branch_ref} has moved since; "
        f"nothing was rolled back: check `git status` in {git.root}"
    )


def _roll_back(git: GitRepo, entry: JournalEntry, journal: Journal) -> None:
    for relative in entry.paths:
        target = git.root / relative
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
    _remove_leftovers(git.root, entry.paths)
    git.checkout_paths(entry.head, entry.paths)
    for relative in entry.paths:  # folders the change created and that are now empty
        folder = (git.root / relative).parent
        while folder != git.root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    index = git.git_dir / "index"
    if entry.has_index and journal.index_copy.is_file():
        atomic_write(index, journal.index_copy.read_bytes())
    elif not entry.has_index:
        with contextlib.suppress(FileNotFoundError):
            index.unlink()


def _remove_leftovers(root: Path, paths: list[str]) -> None:
    """Staging and trash folders of FileTransaction beside the journaled paths."""
    for relative in paths:
        target = root / relative
        folder = target.parent
        if not folder.is_dir():
            continue
        for sibling in folder.iterdir():
            if sibling.name.startswith(f".{target.name}.") and sibling.name.endswith(_LEFTOVER_SUFFIXES):
                if sibling.is_dir() and not sibling.is_symlink():
                    shutil.rmtree(sibling, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        sibling.unlink()
