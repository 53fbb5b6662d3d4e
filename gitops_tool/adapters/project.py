"""Finding the gitops repository on disk and the overlays in it."""

from __future__ import annotations

from pathlib import Path

from gitops_tool.errors import UserError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``overlays/`` (the gitops repository)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "overlays").is_dir():
            return folder
    raise UserError(f"no gitops repository here: no overlays/ folder in {here} or above it (use --repo)")


def kustomization_file(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def overlay_candidates(overlay: str, root: Path | None, *, from_cwd: bool = True) -> list[Path]:
    """Where an overlay argument may be, in the order every command tries them: the current folder
    (when ``from_cwd``), the repository ``root``, then ``overlays/`` under it; an absolute path is
    only itself. The caller decides which exists (on disk, or in a commit)."""
    given = Path(overlay)
    if given.is_absolute():
        return [given]
    candidates = [given] if from_cwd else []
    if root is not None:
        candidates += [root / given, root / "overlays" / given]
    return candidates


def resolve_overlay(overlay: str, root: Path | None = None) -> Path:
    """An overlay argument as a folder: relative to the current folder, else to the repository root."""
    given = Path(overlay)
    try:
        project = root or find_project_root()
    except UserError:
        project = None
    for candidate in overlay_candidates(overlay, project):
        if candidate.is_dir():
            if kustomization_file(candidate) is None:
                raise UserError(f"{overlay} is not a kustomization: no kustomization.yaml in {candidate}")
            return candidate.resolve()
    if given.exists():
        raise UserError(f"overlay {overlay} is a file; give the folder holding its kustomization.yaml")
    raise UserError(f"unknown overlay {overlay}: no such folder")


def list_overlays(root: Path) -> list[Path]:
    """Every folder directly under ``root/overlays`` that holds a kustomization."""
    base = root / "overlays"
    return sorted(p for p in base.iterdir() if p.is_dir() and kustomization_file(p) is not None)


def display_path(path: Path, root: Path | None = None) -> str:
    """``path`` relative to the repository root when inside it, for messages and reports."""
    try:
        anchor = root or find_project_root(path)
        return str(path.resolve().relative_to(anchor))
    except (UserError, ValueError):
        return str(path)
