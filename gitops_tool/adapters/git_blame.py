"""The commit that last changed a line of a file at a revision (``git blame`` through GitPython).

Each file is blamed once, at the audited commit, and its lines kept in memory for the lookups that
follow. A file that is not in that commit (or cannot be blamed) gives no answer rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LineOrigin:
    commit: str  # full SHA
    author: str
    date: str  # ISO 8601, the author's date


class Blamer:
    def __init__(self, root: Path, commit: str) -> None:
        from gitops_tool.adapters.git_repo import open_repository

        self._repo: Any = open_repository(root)
        self._commit = commit
        self._files: dict[str, list[LineOrigin] | None] = {}

    def origin(self, file: str, lines: range) -> LineOrigin | None:
        """The newest commit among ``lines`` (1-based) of ``file``: the last change of that value."""
        if file not in self._files:
            self._files[file] = self._blame(file)
        blamed = self._files[file]
        if blamed is None:
            return None
        found = {blamed[n - 1].commit: blamed[n - 1] for n in lines if 1 <= n <= len(blamed)}
        newest: LineOrigin | None = None
        for origin in found.values():  # by ancestry: commits of the same second are still ordered
            if newest is None or self._repo.is_ancestor(newest.commit, origin.commit):
                newest = origin
        return newest

    def _blame(self, file: str) -> list[LineOrigin] | None:
        import git

        try:
            entries = self._repo.blame(self._commit, file)
        except (git.GitCommandError, ValueError):
            return None
        lines: list[LineOrigin] = []
        for commit, text in entries or []:
            origin = LineOrigin(
                str(commit.hexsha), str(commit.author.name), commit.authored_datetime.isoformat()
            )
            lines.extend(origin for _ in text)
        return lines
