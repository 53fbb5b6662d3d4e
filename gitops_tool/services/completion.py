"""Shell completion values read from the repository under the current folder.

Completion runs on every <TAB>: it must be quick and never fail loudly, so any problem (no
repository here, an unreadable overlay) completes nothing instead of printing an error.
"""

from __future__ import annotations

from pathlib import Path

from gitops_tool.adapters.overlay_files import read_overlay_state, resolve_overlay_in
from gitops_tool.adapters.project import find_project_root, list_overlays
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.errors import GitopsError


def overlay_names(start: Path | None = None) -> list[str]:
    """The overlays of the repository holding ``start``, by name (``three-node-ha``)."""
    try:
        return [folder.name for folder in list_overlays(find_project_root(start))]
    except (GitopsError, OSError):
        return []


def scheduler_numbers(overlay: str | None, *, existing: bool, start: Path | None = None) -> list[str]:
    """The scheduler numbers of ``overlay`` (``existing``), or the next free one to add."""
    try:
        root = find_project_root(start)
        state = read_overlay_state(root, resolve_overlay_in(root, overlay or DEFAULT_OVERLAY))
    except (GitopsError, OSError, ValueError):
        return []
    present = sorted(set(state.present()))
    if existing:
        return [str(n) for n in present]
    return [str(max(present, default=0) + 1)]
