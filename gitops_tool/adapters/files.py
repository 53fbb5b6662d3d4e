"""File reads and atomic writes."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from gitops_tool.errors import UserError


def ensure_parent_exists(path: Path) -> None:
    """Fail before any work when ``path`` could not be written because its folder is missing."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: folder {folder} does not exist")


def atomic_write(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and a rename.

    Readers see the old file or the new one, never a part; a failure leaves the old file as it was.
    """
    ensure_parent_exists(path)
    folder = path.parent if str(path.parent) else Path()
    import tempfile  # only writers pay for it

    payload = data.encode() if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(tmp_name).unlink()
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp_name).unlink()
        raise


def read_text(path: str | Path, what: str = "file") -> str:
    """The text of ``path``, or of standard input for ``-``; one-line errors for the usual failures."""
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path} is a folder, not a file") from None
    except PermissionError:
        raise UserError(f"{what} {path} is not readable (permission denied)") from None
    except UnicodeDecodeError:
        raise UserError(f"{what} {path} is not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None


def enclosing_work_tree(path: Path) -> Path | None:
    """The Git work tree holding ``path`` (a ``.git`` folder or file above it), or None."""
    here = path.expanduser().resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None
