"""Planned file changes, as data: what a scaffold command creates, edits and removes.

A plan names files relative to the repository root. Edits are structural (insert an item into a
list, set a key of a mapping) so the adapter that applies them can keep the comments, key order and
quoting of the files people maintain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class NewFile:
    """A file of a new folder: YAML documents (data) or, for anything else, text."""

    name: str  # relative to the new folder
    documents: tuple[Any, ...] | None = None
    text: str | None = None
    # Applied to the comments of ``documents`` as well, so they describe the new instance.
    comment_rewrite: Callable[[str], str] | None = None
    # The file this one is derived from (relative to the repository): written in the same style.
    source: str | None = None
    # Whether the comment block heading the source file is kept; other comments always are.
    keep_head_comment: bool = True


@dataclass(frozen=True)
class NewFolder:
    path: str
    files: tuple[NewFile, ...]


@dataclass(frozen=True)
class RemoveFolder:
    path: str


@dataclass(frozen=True)
class SequenceInsert:
    """Insert ``value`` at ``index`` of the list at ``key_path`` of ``file`` (creating it if absent)."""

    file: str
    key_path: KeyPath
    index: int
    value: Any


@dataclass(frozen=True)
class SequenceRemove:
    file: str
    key_path: KeyPath
    index: int


@dataclass(frozen=True)
class MappingSet:
    """Set ``key`` of the mapping at ``key_path`` of ``file``; a new key goes to position ``index``."""

    file: str
    key_path: KeyPath
    key: str
    value: Any
    index: int | None = None  # None: keep an existing key where it is, append a new one


@dataclass(frozen=True)
class MappingDelete:
    file: str
    key_path: KeyPath
    key: str


Edit = SequenceInsert | SequenceRemove | MappingSet | MappingDelete
Change = NewFolder | RemoveFolder | Edit


@dataclass(frozen=True)
class Plan:
    """Everything one command changes, and the commit message that describes it."""

    message: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = field(default=())

    def edited_files(self) -> list[str]:
        return sorted({c.file for c in self.changes if not isinstance(c, NewFolder | RemoveFolder)})

    def folders(self) -> list[str]:
        return sorted(c.path for c in self.changes if isinstance(c, NewFolder | RemoveFolder))

    def touched_paths(self) -> list[str]:
        """Every path the plan writes: whole folders and single files, relative to the repository."""
        return sorted({*self.folders(), *self.edited_files()})
