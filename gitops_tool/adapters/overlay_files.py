"""Reading an overlay's scheduler layout from disk, and turning a plan into file contents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_tool.adapters import yaml_roundtrip
from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.project import kustomization_file, overlay_candidates
from gitops_tool.core.conventions import LEGACY_OVERLAY, NODE_ROLES_FILE
from gitops_tool.core.node_roles import parse_role_mapping
from gitops_tool.core.scaffold.plan import NewFile, NewFolder, Plan, RemoveFolder
from gitops_tool.core.scaffold.scheduler_plans import OverlayState, SchedulerFolder
from gitops_tool.core.scaffold.schedulers import SCHEDULERS_DIR, number_of
from gitops_tool.errors import UserError

_YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class FileChange:
    """One file a plan writes: its text before (None: new) and after (None: removed)."""

    path: str  # relative to the repository root
    before: str | None
    after: str | None


def resolve_overlay_in(root: Path, overlay: str) -> Path:
    """An overlay of the repository at ``root``: ``overlays/NAME``, ``NAME`` or an absolute path in it."""
    for candidate in overlay_candidates(overlay, root, from_cwd=False):
        folder = candidate.resolve()
        if folder.is_dir() and kustomization_file(folder) is not None:
            try:
                folder.relative_to(root)
            except ValueError:
                raise UserError(f"overlay {overlay} is outside the repository {root}") from None
            return folder
    raise UserError(f"unknown overlay {overlay}: no kustomization folder of that name in {root / 'overlays'}")


def read_overlay_state(root: Path, overlay_dir: Path) -> OverlayState:
    label = overlay_dir.relative_to(root).as_posix()
    kfile = kustomization_file(overlay_dir)
    if kfile is None:
        raise UserError(f"{label} has no kustomization.yaml")
    kustomization = _load(root, kfile)
    resources = kustomization.get("resources") if isinstance(kustomization, dict) else None
    roles_path = overlay_dir / NODE_ROLES_FILE
    roles: dict[str, str] | None = None
    if roles_path.is_file():
        document = yaml_roundtrip.plain(_load(root, roles_path))
        roles = parse_role_mapping(document, f"{label}/{NODE_ROLES_FILE}").roles
    return OverlayState(
        overlay=label,
        kustomization_file=kfile.relative_to(root).as_posix(),
        resources=tuple(yaml_roundtrip.plain(resources or [])),
        folders=_scheduler_folders(root, overlay_dir / SCHEDULERS_DIR),
        node_roles_file=roles_path.relative_to(root).as_posix(),
        node_roles=roles,
        legacy=label == LEGACY_OVERLAY,
    )


def _scheduler_folders(root: Path, folder: Path) -> dict[int, SchedulerFolder]:
    found: dict[int, SchedulerFolder] = {}
    if not folder.is_dir():
        return found
    for entry in sorted(folder.iterdir()):
        number = number_of(entry.name)
        if number is None or not entry.is_dir():
            continue
        files: dict[str, tuple[Any, ...] | str] = {}
        for path in sorted(p for p in entry.rglob("*") if p.is_file()):
            name = path.relative_to(entry).as_posix()
            source = path.relative_to(root).as_posix()
            text = read_text(path, "file")
            if path.suffix in _YAML_SUFFIXES:
                files[name] = tuple(yaml_roundtrip.load(text, source).documents)
            else:
                files[name] = text
        found[number] = SchedulerFolder(number, files)
    return found


def _load(root: Path, path: Path) -> Any:
    source = path.relative_to(root).as_posix()
    documents = yaml_roundtrip.load(read_text(path, "file"), source).documents
    return documents[0] if documents else {}


def materialise(root: Path, plan: Plan) -> list[FileChange]:
    """The text of every file ``plan`` creates, edits or removes, in path order."""
    changes: list[FileChange] = []
    edited: dict[str, yaml_roundtrip.YamlFile] = {}
    before: dict[str, str | None] = {}
    for change in plan.changes:
        if isinstance(change, NewFolder):
            for new in change.files:
                changes.append(FileChange(f"{change.path}/{new.name}", None, _new_text(root, new)))
        elif isinstance(change, RemoveFolder):
            folder = root / change.path
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                changes.append(FileChange(path.relative_to(root).as_posix(), read_text(path), None))
        else:
            if change.file not in edited:
                path = root / change.file
                text = read_text(path) if path.is_file() else None
                before[change.file] = text
                edited[change.file] = yaml_roundtrip.load(text or "", change.file)
                if not edited[change.file].documents:
                    from ruamel.yaml.comments import CommentedMap

                    edited[change.file].documents.append(CommentedMap())
            yaml_roundtrip.apply_edit(edited[change.file], change, change.file)
    for name, loaded in edited.items():
        changes.append(FileChange(name, before[name], yaml_roundtrip.dump(loaded.documents, loaded.style)))
    return sorted(changes, key=lambda c: c.path)


def _new_text(root: Path, new: NewFile) -> str:
    if new.documents is None:
        return str(new.text or "")
    source_text = read_text(root / new.source) if new.source else ""
    style = yaml_roundtrip.guess_style(source_text) if source_text else yaml_roundtrip.Style()
    documents = list(new.documents)
    if not new.keep_head_comment and documents:
        yaml_roundtrip.drop_head_comment(documents[0])
    if new.comment_rewrite is not None:
        for document in documents:
            yaml_roundtrip.rewrite_comments(document, new.comment_rewrite)
    return yaml_roundtrip.dump(documents, style)
