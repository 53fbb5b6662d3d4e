"""Reading a local DAG folder into ``SourceEntry`` items (the only file I/O of ``dags push``).

Symlinks are resolved on disk (``realpath``), not by their text, so a chain of in-tree links that
ends outside the folder is refused too. Links that stay inside are kept as links (relative), so
the published tree matches the local one.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

from gitops_tool.core.dags.bundle import DEFAULT_LIMITS, PackLimits, SourceEntry, check_entries, is_skipped
from gitops_tool.errors import UserError


def scan_folder(folder: Path, limits: PackLimits = DEFAULT_LIMITS) -> list[SourceEntry]:
    """Every publishable entry under ``folder``, checked against ``limits``, with file data loaded."""
    if not folder.exists():
        raise UserError(f"DAG folder {folder} does not exist")
    if not folder.is_dir():
        raise UserError(f"{folder} is a file; give the folder holding your DAGs")
    root = Path(os.path.realpath(folder))
    entries: list[SourceEntry] = []
    for current, dirs, files in os.walk(root, followlinks=False):
        here = Path(current)
        relative_dir = here.relative_to(root).as_posix()
        kept_dirs = []
        for name in sorted(dirs):
            rel = _join(relative_dir, name)
            if is_skipped(rel, is_dir=True):
                continue
            if (here / name).is_symlink():
                entries.append(_link_entry(root, here / name, rel, folder))
            else:
                kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            rel = _join(relative_dir, name)
            if is_skipped(rel, is_dir=False):
                continue
            entries.append(_file_entry(root, here / name, rel, folder))
        if len(entries) > limits.max_files:
            break  # check_entries names the bound; no need to walk a huge tree to the end
    check_entries(entries, str(folder), limits)
    return [_load(root, entry, folder) for entry in entries]


def _join(folder: str, name: str) -> str:
    return name if folder in ("", ".") else f"{folder}/{name}"


def _file_entry(root: Path, path: Path, rel: str, shown: Path) -> SourceEntry:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return _link_entry(root, path, rel, shown)
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{shown}/{rel} is not a regular file (device, socket or pipe); refusing it")
    return SourceEntry(rel, "file", size=info.st_size, executable=bool(info.st_mode & stat.S_IXUSR))


def _link_entry(root: Path, path: Path, rel: str, shown: Path) -> SourceEntry:
    text = str(path.readlink())
    resolved = Path(os.path.realpath(path))
    if not resolved.is_relative_to(root):
        raise UserError(f"{shown}/{rel} is a symlink to {text}, which leaves the folder")
    if not resolved.exists():
        raise UserError(f"{shown}/{rel} is a broken symlink (to {text})")
    # Kept as a link, rewritten relative to its own folder and pointing at the final target, so
    # absolute links and chains of links publish as one plain in-tree link.
    target = os.path.relpath(resolved, os.path.realpath(path.parent))
    return SourceEntry(rel, "symlink", target=Path(target).as_posix())


def _load(root: Path, entry: SourceEntry, shown: Path) -> SourceEntry:
    if entry.kind != "file":
        return entry
    try:
        data = (root / entry.path).read_bytes()
    except OSError as exc:
        raise UserError(f"{shown}/{entry.path} cannot be read: {exc.strerror or exc}") from None
    return replace(entry, data=data, size=len(data))
