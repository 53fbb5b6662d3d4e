"""``gitops-tool components list|enable|disable``: optional components in or out of overlays.

The machinery every component switch shares (``backup enable|disable`` is one user of it): every
refusal (unknown overlay or component, already in that state, a component another one needs, the
repository's state, uncommitted changes in the files it writes, the lock) comes before the first
write. Then the kustomizations are written, rendered, the Argo CD project's whitelist follows the
renders, every overlay touched is validated (schemas and policies), and only then is it committed;
any failure on the way puts files, index and branch back as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_tool.adapters import yaml_roundtrip
from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.overlay_files import FileChange, materialise, resolve_overlay_in
from gitops_tool.adapters.project import find_project_root, kustomization_file, list_overlays
from gitops_tool.adapters.transaction import FileTransaction
from gitops_tool.core import components as cc
from gitops_tool.core import project_whitelist
from gitops_tool.core.argocd import PROJECT_FILE
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit, Plan
from gitops_tool.errors import AlreadyInState, ScaffoldInvalid, UserError
from gitops_tool.services.committed_change import commit_change, locked_repository, refuse_dirty
from gitops_tool.services.rendering import RenderedOverlay, render_overlay


@dataclass(frozen=True)
class ComponentOptions:
    overlays: tuple[str, ...] = ()  # empty: every overlay (--all)
    commit: bool = True
    kubernetes_version: str = "1.37"
    kustomize: str | None = None


@dataclass
class ChangeResult:
    overlays: list[str]
    paths: list[str] = field(default_factory=list)  # repo-relative, as committed
    skipped: list[str] = field(default_factory=list)  # --all: overlays already in the wanted state
    commit: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Target:
    overlay: str  # repository-relative folder
    file: str  # its kustomization, repository-relative
    kustomization: Any  # plain data


@dataclass(frozen=True)
class Change:
    """One switch of components: what it is called, which folders it needs, how it plans an overlay."""

    verb: str  # for the lock and messages: "backup enable", "components disable"
    folders: tuple[str, ...]  # component folders the repository must have
    planner: Callable[[Target], list[Edit]]  # raises AlreadyInState when nothing is to change
    nothing_to_do: str  # "backups are already enabled"; " in every overlay (...)" follows
    message: Callable[[list[str]], str]  # commit subject from the overlays changed
    check: Callable[[str, list[Manifest]], None] | None = None  # an overlay's render after the change


# --- components list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentState:
    name: str
    summary: str
    requires: tuple[str, ...]
    enabled: dict[str, bool]  # overlay -> listed in its components:


def list_states(overlay: str | None = None, start: Path | None = None) -> list[ComponentState]:
    """Every known component the repository ships, and whether each overlay lists it."""
    root = find_project_root(start)
    folders = [resolve_overlay_in(root, overlay)] if overlay is not None else list_overlays(root)
    on: dict[str, list[str]] = {}
    for target in _targets(root, folders):
        on[target.overlay] = cc.enabled(target.kustomization, target.overlay, target.file)
    return [
        ComponentState(c.name, c.summary, c.requires, {o: c.name in names for o, names in on.items()})
        for c in cc.REGISTRY
        if (root / c.folder).is_dir()
    ]


# --- components enable|disable ----------------------------------------------------------------------

_BACKUP = "backup"  # switched by services/backup_component.py, which owns its settings patch


def enable(name: str, options: ComponentOptions, start: Path | None = None) -> ChangeResult:
    component = cc.known(name)
    component.check_switchable()
    if name == _BACKUP:
        from gitops_tool.core.backup_component import Settings
        from gitops_tool.services import backup_component

        return backup_component.enable(Settings(), options, start)
    added: dict[str, list[cc.Component]] = {}

    def plan(target: Target) -> list[Edit]:
        adding = cc.plan_enable(target.kustomization, target.file, target.overlay, name)
        added[target.overlay] = adding
        return cc.enable_edits(target.kustomization, target.file, target.overlay, adding)

    def message(overlays: list[str]) -> str:
        extra = sorted({c.name for o in overlays for c in added[o]} - {name})
        also = f" with {', '.join(extra)} it requires" if extra else ""
        return f"{', '.join(overlays)}: enable {name} ({component.folder}{also})"

    folders = tuple(c.folder for c in cc.with_requirements(name))
    return change(
        Change(f"components enable {name}", folders, plan, f"{name} is already enabled", message),
        options,
        start,
    )


def disable(name: str, options: ComponentOptions, start: Path | None = None) -> ChangeResult:
    component = cc.known(name)
    component.check_switchable()
    if name == _BACKUP:
        # Its own switch also removes the schedule/retention patch `backup enable` wrote.
        from gitops_tool.services import backup_component

        return backup_component.disable(options, start)

    def plan(target: Target) -> list[Edit]:
        return cc.plan_disable(target.kustomization, target.file, target.overlay, name)

    def message(overlays: list[str]) -> str:
        return f"{', '.join(overlays)}: disable {name} ({component.folder})"

    return change(
        Change(f"components disable {name}", (component.folder,), plan, f"{name} is not enabled", message),
        options,
        start,
    )


def change(spec: Change, options: ComponentOptions, start: Path | None = None) -> ChangeResult:
    with locked_repository(start or Path.cwd(), spec.verb) as (root, git):
        for folder in spec.folders:
            if not (root / folder).is_dir():
                name = folder.rsplit("/", 1)[-1]
                raise UserError(f"no {folder} folder in {root}: this repository has no {name} component")
        targets, edits, skipped = _plan(root, options, spec)
        project = root / PROJECT_FILE
        labels = [t.overlay for t in targets]
        result = ChangeResult(labels, skipped=skipped, message=spec.message(labels))
        plan = Plan(result.message, tuple(edits))
        paths = sorted(
            {t.file for t in targets}
            | set(plan.touched_paths())
            | ({PROJECT_FILE} if project.is_file() else set())
        )
        refuse_dirty(git, root, paths)
        follow = project.is_file()
        before = _render(root, list_overlays(root), options) if follow else {}

        def apply(files: FileTransaction) -> list[str]:
            changes = _write(files, materialise(root, plan))
            # Every overlay again, not just the changed ones: one overlay may build on another.
            after = _render(root, list_overlays(root) if follow else [root / o for o in labels], options)
            if follow:
                changes += _follow_project(files, root, _objects(before), _objects(after))
            touched = [after[(root / label).resolve()] for label in labels]
            _validate(root, touched, options)
            if spec.check is not None:
                for label, (_, objects) in zip(labels, touched, strict=True):
                    spec.check(label, objects)
            result.paths = sorted(git.relative(root / c.path) for c in changes)
            return result.paths

        result.commit = commit_change(
            root,
            git,
            verb=spec.verb,
            message=result.message,
            paths=[git.relative(root / p) for p in paths],
            apply=apply,
            commit=options.commit,
        )
    return result


def overlay_target(root: Path, overlay: str) -> Target:
    """One overlay's kustomization, as the planners of a ``Change`` get it."""
    return _targets(root, [resolve_overlay_in(root, overlay)])[0]


def _targets(root: Path, folders: Iterable[Path]) -> list[Target]:
    targets = []
    for folder in dict.fromkeys(folders):
        overlay = folder.relative_to(root).as_posix()
        kfile = kustomization_file(folder)
        if kfile is None:  # pragma: no cover - resolve_overlay_in and list_overlays check it
            raise UserError(f"{overlay} has no kustomization.yaml")
        file = kfile.relative_to(root).as_posix()
        loaded = yaml_roundtrip.load(read_text(kfile, "kustomization"), file)
        targets.append(
            Target(overlay, file, yaml_roundtrip.plain(loaded.documents[0] if loaded.documents else {}))
        )
    return targets


def _plan(root: Path, options: ComponentOptions, spec: Change) -> tuple[list[Target], list[Edit], list[str]]:
    folders = (
        [resolve_overlay_in(root, o) for o in options.overlays] if options.overlays else list_overlays(root)
    )
    targets: list[Target] = []
    edits: list[Edit] = []
    skipped: list[str] = []
    for target in _targets(root, folders):
        try:
            edits += spec.planner(target)
        except AlreadyInState:
            if options.overlays:
                raise
            skipped.append(target.overlay)
            continue
        targets.append(target)
    if not targets:
        raise UserError(f"{spec.nothing_to_do} in every overlay ({', '.join(skipped)}); nothing to do")
    return targets, edits, skipped


def _write(files: FileTransaction, changes: list[FileChange]) -> list[FileChange]:
    written = []
    for change in changes:
        if change.after is not None and change.after != change.before:
            files.write_file(change.path, change.after)
            written.append(change)
    return written


_Renders = dict[Path, tuple[RenderedOverlay, list[Manifest]]]


def _render(root: Path, folders: Iterable[Path], options: ComponentOptions) -> _Renders:
    """Each overlay rendered and parsed once, by its folder."""
    renders: _Renders = {}
    for folder in folders:
        rendered = render_overlay(str(folder), options.kustomize, root)
        renders[rendered.path.resolve()] = (rendered, rendered.objects())
    return renders


def _objects(renders: _Renders) -> list[Manifest]:
    return [obj for _, objects in renders.values() for obj in objects]


def _follow_project(
    files: FileTransaction, root: Path, before: list[Manifest], after: list[Manifest]
) -> list[FileChange]:
    """The Argo CD project admits what the overlays now render (it refuses any other kind)."""
    loaded = yaml_roundtrip.load(read_text(root / PROJECT_FILE, "Argo CD project"), PROJECT_FILE)
    project = yaml_roundtrip.plain(loaded.documents[0] if loaded.documents else {})
    edits = project_whitelist.whitelist_edits(project, PROJECT_FILE, before, after, _whitelist_entry)
    if not edits:
        return []
    return _write(files, materialise(root, Plan("", tuple(edits))))


def _whitelist_entry(key: project_whitelist.WhitelistKey) -> Any:
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    group, kind, name = key
    entry = CommentedMap()
    entry["group"] = group or DoubleQuotedScalarString("")  # the core group, spelt "" as in the file
    entry["kind"] = kind
    if name:
        entry["name"] = name
    return entry


def _validate(
    root: Path, renders: list[tuple[RenderedOverlay, list[Manifest]]], options: ComponentOptions
) -> None:
    from gitops_tool.services.validation import validate_rendered

    for report in validate_rendered(renders, options.kubernetes_version, root):
        if not report.ok:
            first = report.violations[0]
            more = f" (and {len(report.violations) - 1} more)" if len(report.violations) > 1 else ""
            raise ScaffoldInvalid(
                f"{report.overlay} would not validate, nothing was changed: "
                f"{first.source}: {first.object}: {first.message}{more}"
            )
