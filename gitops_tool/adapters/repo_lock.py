"""One scaffold command at a time per repository: a lock file inside the repository's .git folder.

The file is created with O_CREAT|O_EXCL (atomic on local file systems) and holds the owner's pid and
host. A lock whose process is gone on this host is stale (the command was killed with SIGKILL or the
machine lost power): it is taken over. A lock held by a live process, or by another host (a
repository on a shared file system), is refused.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gitops_tool.errors import RepositoryError

LOCK_NAME = "gitops-tool.lock"


@dataclass(frozen=True)
class Lock:
    path: Path
    taken_over: str | None  # the stale lock's owner ("pid 12 on host: add-scheduler"), if there was one


@contextlib.contextmanager
def repository_lock(git_dir: Path, what: str) -> Iterator[Lock]:
    """Hold the repository's lock for the duration of the ``with`` block."""
    path = git_dir / LOCK_NAME
    stale = _acquire(path, what)
    try:
        yield Lock(path, stale)
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _acquire(path: Path, what: str) -> str | None:
    stale: str | None = None
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _is_stale(path):
                stale = _owner(path, with_command=True)
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            raise RepositoryError(
                f"another gitops-tool add/remove is running on this repository ({_owner(path)}); "
                f"wait for it, or delete {path} if it is gone"
            ) from None
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()} {socket.gethostname()} {what}\n")
        return stale
    raise RepositoryError(f"cannot take the repository lock {path}: it keeps reappearing")


def _read(path: Path) -> tuple[int | None, str]:
    try:
        fields = path.read_text(encoding="utf-8").split()
    except (FileNotFoundError, UnicodeDecodeError):
        return None, ""
    pid = int(fields[0]) if fields and fields[0].isdigit() else None
    return pid, fields[1] if len(fields) > 1 else ""


def _owner(path: Path, with_command: bool = False) -> str:
    pid, host = _read(path)
    if not pid:
        return "owner unknown"
    command = ""
    if with_command:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            command = " ".join(path.read_text(encoding="utf-8").split()[2:])
    return f"pid {pid} on {host}" + (f": {command}" if command else "")


def _is_stale(path: Path) -> bool:
    pid, host = _read(path)
    if pid is None:
        # Empty or garbled: a writer died between creating and filling it, or it is being filled now.
        # Only an old one is stale.
        import time

        try:
            return time.time() - path.stat().st_mtime > 60
        except FileNotFoundError:
            return True
    if host and host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False
