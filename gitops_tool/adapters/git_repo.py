"""The Git repository a scaffold command changes and commits to (GitPython over the git binary).

Before writing anything a command checks that the repository is in a state where a commit is
clean: a branch checked out (not a detached HEAD), no merge, rebase, cherry-pick, revert or bisect
in progress, no uncommitted change in the paths it will write, and an identity configured. It then
commits only its own paths, leaving whatever else the user has staged or changed alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_tool.errors import ExternalToolError, RepositoryError

# Files git keeps in its folder while an operation waits for the user to finish it.
_IN_PROGRESS = (
    ("MERGE_HEAD", "a merge"),
    ("rebase-merge", "a rebase"),
    ("rebase-apply", "a rebase or `git am`"),
    ("CHERRY_PICK_HEAD", "a cherry-pick"),
    ("REVERT_HEAD", "a revert"),
    ("BISECT_LOG", "a bisect"),
)


def open_repository(start: Path, hint: str = "") -> Any:
    """The one way gitops-tool opens a Git repository (GitPython's ``Repo``): the work tree holding
    ``start`` at any depth, with one error text for every command (``hint`` says what to do)."""
    import git

    try:
        repo = git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        advice = f"; {hint}" if hint else ""
        raise RepositoryError(f"not a git repository: {start} (nor any parent folder){advice}") from None
    if repo.bare or repo.working_tree_dir is None:
        raise RepositoryError(f"{start} is a bare git repository: it has no work tree")
    return repo


@dataclass(frozen=True)
class Snapshot:
    """What a failed command must put back: the commit HEAD's branch points at, and the index."""

    branch_ref: str
    head: str
    index: bytes | None


class GitRepo:
    """One work tree of a Git repository."""

    def __init__(self, repo: Any) -> None:
        self._repo = repo
        self.root = Path(repo.working_tree_dir).resolve()
        self.git_dir = Path(repo.git_dir).resolve()
        # A tool's git must never wait on a terminal: no editor, no pager, no credential prompt.
        repo.git.update_environment(GIT_EDITOR="true", GIT_PAGER="cat", GIT_TERMINAL_PROMPT="0")

    @classmethod
    def open(cls, start: Path) -> GitRepo:
        """The repository holding ``start`` (a folder at any depth inside its work tree)."""
        return cls(open_repository(start, "run inside the gitops repository or pass --repo"))

    def relative(self, path: Path) -> str:
        """``path`` as git names it: relative to the work tree, with forward slashes."""
        return path.resolve().relative_to(self.root).as_posix()

    def check_ready(self) -> None:
        """Refuse a repository where a commit would land somewhere unexpected or mix with other work."""
        for name, operation in _IN_PROGRESS:
            if (self.git_dir / name).exists():
                raise RepositoryError(f"{operation} is in progress in {self.root}; finish or abort it first")
        head = self._repo.head
        if head.is_detached:
            raise RepositoryError(
                f"HEAD is detached in {self.root}; check out a branch first (the commit needs a branch)"
            )
        if not head.is_valid():
            raise RepositoryError(
                f"branch {head.ref.name} has no commit yet in {self.root}; commit something first"
            )

    def dirty(self, paths: Iterable[str]) -> list[str]:
        """Paths among ``paths`` (or under them) with staged, unstaged or untracked changes."""
        listed = list(paths)
        if not listed:
            return []
        # --no-optional-locks: status must not refresh (rewrite) the index of a repository it only reads.
        out = self._git(
            "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *listed
        )
        found: list[str] = []
        entries = iter(out.split("\0"))
        for entry in entries:
            if not entry:
                continue
            found.append(entry[3:])
            if entry[0] in "RC":  # a rename or copy carries its source path as the next entry
                next(entries, None)
        return sorted(found)

    def identity(self) -> tuple[str, str]:
        """The configured author (git config or GIT_AUTHOR_* variables); never a guessed one."""
        try:
            ident = self._git("-c", "user.useConfigOnly=true", "var", "GIT_AUTHOR_IDENT")
            self._git("-c", "user.useConfigOnly=true", "var", "GIT_COMMITTER_IDENT")
        except ExternalToolError:
            raise RepositoryError(
                f"no Git identity configured for {self.root}: set it with "
                "`git config user.name 'Your Name'` and `git config user.email you@example.com` "
                "(or use --no-commit)"
            ) from None
        name, _, rest = str(ident).partition(" <")
        return name, rest.split(">", 1)[0]

    def head_commit(self) -> str:
        return str(self._repo.head.commit.hexsha)

    def snapshot(self) -> Snapshot:
        index_file = self.git_dir / "index"
        index = index_file.read_bytes() if index_file.is_file() else None
        return Snapshot(self._repo.head.ref.path, self.head_commit(), index)

    def restore(self, snapshot: Snapshot) -> None:
        """Put HEAD's branch and the index back as they were in ``snapshot``."""
        from gitops_tool.adapters.files import atomic_write

        if self._current_commit(snapshot.branch_ref) != snapshot.head:
            self._git("update-ref", "-m", "gitops-tool: roll back", snapshot.branch_ref, snapshot.head)
        index_file = self.git_dir / "index"
        if snapshot.index is None:
            with contextlib.suppress(FileNotFoundError):
                index_file.unlink()
        elif not index_file.is_file() or index_file.read_bytes() != snapshot.index:
            atomic_write(index_file, snapshot.index)

    def commit_paths(self, paths: Sequence[str], message: str) -> str:
        """Commit exactly ``paths`` (additions, changes, deletions) with ``message``; returns the id.

        ``--only`` commits these paths as they are in the work tree and leaves every other staged
        change staged and uncommitted.
        """
        self._git("add", "--all", "--", *paths)
        self._git("commit", "--quiet", "--only", "-m", message, "--", *paths)
        return self.head_commit()

    def commit_of(self, ref: str) -> str | None:
        """The commit ``ref`` points at, or None."""
        return self._current_commit(ref)

    def is_commit_on(self, commit: str, parent: str, message: str) -> bool:
        """Whether ``commit`` has ``parent`` as its only parent and ``message`` as its message."""
        out = self._git("log", "-1", "--format=%P%x00%B", commit)
        parents, _, body = out.partition("\0")
        return parents.split() == [parent] and body.strip() == message.strip()

    def checkout_paths(self, commit: str, paths: Sequence[str]) -> None:
        """Put ``paths`` back in the work tree as they are in ``commit`` (those it has)."""
        if not paths:
            return
        listed = self._git("ls-tree", "-r", "-z", "--name-only", commit, "--", *paths)
        files = [name for name in listed.split("\0") if name]
        if files:
            self._git("checkout", commit, "--", *files)

    def changed_in_head(self) -> list[str]:
        return sorted(p for p in self._git("show", "--name-only", "--format=", "HEAD").splitlines() if p)

    def _current_commit(self, ref: str) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", ref).strip() or None
        except ExternalToolError:
            return None

    def _git(self, *args: str) -> str:
        import git

        try:
            return str(self._repo.git.execute(["git", *args], strip_newline_in_stdout=False))
        except git.GitCommandError as exc:
            stderr = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
            raise ExternalToolError(
                "git failed",
                ["git", *args],
                exc.status if isinstance(exc.status, int) else None,
                stderr.strip().removeprefix("stderr: ").strip("'"),
            ) from None


def open_project_repo(start: Path) -> tuple[Path, GitRepo]:
    """The gitops project holding ``start`` and the Git work tree it must lie in to be committed to.

    The project's markers may be found above a nested repository's work tree; a commit there would
    miss the files the command writes, so that case is refused.
    """
    from gitops_tool.adapters.project import find_project_root

    git = GitRepo.open(start)
    root = find_project_root(start)
    if not root.resolve().is_relative_to(git.root):
        raise RepositoryError(f"the gitops repository {root} is not inside the git work tree {git.root}")
    return root, git
