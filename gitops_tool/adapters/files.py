"""File reads and atomic writes."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import BinaryIO

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


MAX_INPUT_BYTES = 256 * 1024 * 1024  # the same bound as core.documents.LoadLimits.max_bytes
_CHUNK = 1024 * 1024


def read_text(path: str | Path, what: str = "file", max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of ``path``, or of standard input for ``-``; one-line errors for the usual
    failures. The size is checked before reading (a regular file's size) and while reading (a
    device, a pipe, standard input), so ``/dev/zero`` or an endless stream is refused, not read."""
    if str(path) == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text stream without bytes underneath (embedding, tests)
            text = sys.stdin.read(max_bytes + 1)
            if len(text) > max_bytes:
                raise UserError(f"{what} on standard input is larger than {max_bytes} bytes; refusing it")
            return text
        return _decoded(_bounded(stream, max_bytes, f"{what} on standard input"), f"{what} on standard input")
    try:
        size = Path(path).stat().st_size
        if size > max_bytes:
            raise UserError(f"{what} {path} is larger than {max_bytes} bytes ({size}); refusing to read it")
        with Path(path).open("rb") as handle:
            data = _bounded(handle, max_bytes, f"{what} {path}")
        return _decoded(data, f"{what} {path}")
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


def _bounded(stream: BinaryIO, max_bytes: int, shown: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise UserError(f"{shown} is larger than {max_bytes} bytes; refusing to read it")
        chunks.append(chunk)


def _decoded(data: bytes, shown: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{shown} is not UTF-8 text (byte {exc.start})") from None


def enclosing_work_tree(path: Path) -> Path | None:
    """The Git work tree holding ``path`` (a ``.git`` folder or file above it), or None."""
    here = path.expanduser().resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None
