"""A DAG folder as data, the rules it must meet, and its deterministic ``tar.gz``.

The same tree always packs to the same bytes: entries sorted by path, owner 0/0, mode 0644 or
0755, modification time 0 and an empty gzip header name. The pod unpacks with ``tar -m`` so files
on the volume still get the push time, which Airflow uses to notice changed files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import posixpath
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from gitops_tool.errors import UserError

EntryKind = Literal["file", "symlink"]

# Never published: VCS metadata, byte-code caches and editor droppings are not DAGs.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".venv"})
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
SKIPPED_NAMES = frozenset({".DS_Store"})

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class PackLimits:
    """Bounds a push must stay within.

    The archive travels inside one ConfigMap, whose data the API server caps at 1 MiB; the
    archive bound leaves room for the manifest stored next to it.
    """

    max_file_bytes: int = 1 * MIB
    max_files: int = 2000
    max_total_bytes: int = 32 * MIB
    max_archive_bytes: int = 900 * KIB


DEFAULT_LIMITS = PackLimits()


@dataclass(frozen=True)
class SourceEntry:
    """One file or in-tree symlink of the DAG folder; ``path`` is relative and POSIX-style."""

    path: str
    kind: EntryKind
    size: int = 0
    executable: bool = False
    target: str = ""  # symlinks only: the link text, relative, already checked to stay in the tree
    data: bytes = b""  # files only; empty until loaded


def is_skipped(relative: str, is_dir: bool) -> bool:
    """Whether a path of the source folder is left out of the bundle (caches, VCS metadata)."""
    name = posixpath.basename(relative)
    if is_dir:
        return name in SKIPPED_DIRS
    return name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES)


def check_entries(entries: Sequence[SourceEntry], source: str, limits: PackLimits = DEFAULT_LIMITS) -> None:
    """Refuse trees that must not be published, before any file is read.

    ``UserError`` names the first problem: no Python file, too many files, a file or the whole tree
    over its size bound, a path that cannot travel safely, or a symlink leaving the tree.
    """
    if not any(e.path.endswith(".py") for e in entries):
        raise UserError(f"{source} holds no Python files (*.py); nothing to publish")
    if len(entries) > limits.max_files:
        raise UserError(
            f"{source} holds {len(entries)} files, more than the bound of {limits.max_files}; "
            "publish a smaller folder or use the git-sync component"
        )
    total = 0
    for entry in entries:
        _check_path(entry.path, source)
        if entry.kind == "symlink":
            check_link_target(entry.path, entry.target, source)
            continue
        if entry.size > limits.max_file_bytes:
            raise UserError(
                f"{source}/{entry.path} is {human_size(entry.size)}, over the bound of "
                f"{human_size(limits.max_file_bytes)} per file; DAG folders hold code, not data"
            )
        total += entry.size
    if total > limits.max_total_bytes:
        raise UserError(
            f"{source} holds {human_size(total)}, over the bound of {human_size(limits.max_total_bytes)}; "
            "use the git-sync component for large DAG repositories"
        )


def check_link_target(path: str, target: str, source: str) -> None:
    """A symlink's text must be relative and, read lexically, stay inside the tree."""
    if not target or posixpath.isabs(target):
        raise UserError(f"{source}/{path} is a symlink to {target or 'nothing'}, which leaves the folder")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UserError(f"{source}/{path} is a symlink to {target}, which leaves the folder")


def _check_path(path: str, source: str) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UserError(f"{source}: refusing the path {path!r}: not a plain relative path")
    if any(ch in path for ch in "\n\r\t\\") or any(ord(ch) < 32 for ch in path):
        raise UserError(f"{source}: refusing the path {path!r}: control characters or backslashes")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"{source}: refusing a path that is not valid UTF-8: {path!r}") from None


def pack(entries: Iterable[SourceEntry], limits: PackLimits = DEFAULT_LIMITS) -> bytes:
    """The deterministic ``tar.gz`` of ``entries`` (files must be loaded); bounded by ``limits``."""
    raw = io.BytesIO()
    with tarfile.TarFile(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(entries, key=lambda e: e.path):
            info = tarfile.TarInfo(entry.path)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = entry.target
                info.mode = 0o777
                tar.addfile(info)
            else:
                info.size = len(entry.data)
                info.mode = 0o755 if entry.executable else 0o644
                tar.addfile(info, io.BytesIO(entry.data))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    archive = compressed.getvalue()
    if len(archive) > limits.max_archive_bytes:
        raise UserError(
            f"the packed DAG folder is {human_size(len(archive))}, over the bound of "
            f"{human_size(limits.max_archive_bytes)} one push can carry; use the git-sync component"
        )
    return archive


def file_digests(entries: Iterable[SourceEntry]) -> dict[str, str]:
    """``path -> sha256:<hex>`` for files and ``path -> symlink:<target>`` for links, sorted."""
    digests: dict[str, str] = {}
    for entry in sorted(entries, key=lambda e: e.path):
        if entry.kind == "symlink":
            digests[entry.path] = f"symlink:{entry.target}"
        else:
            digests[entry.path] = "sha256:" + hashlib.sha256(entry.data).hexdigest()
    return digests


def human_size(count: int) -> str:
    if count >= MIB:
        return f"{count / MIB:.1f} MiB"
    if count >= KIB:
        return f"{count / KIB:.1f} KiB"
    return f"{count} bytes"
