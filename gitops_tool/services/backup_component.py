"""``gitops-tool backup enable|disable``: the backup component in or out of overlays, one commit.

Every refusal (bad schedule or retention, unknown overlay, already enabled or not enabled, the
repository's state, uncommitted changes in the files it writes, the lock) comes before the first
write. Then the kustomizations are written, rendered, the Argo CD project's whitelist follows the
renders, every overlay touched is validated (schemas and policies), and only then is it committed;
any failure on the way puts files, index and branch back as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_tool.adapters import yaml_roundtrip
from gitops_tool.adapters.files import read_text
from gitops_tool.adapters.git_repo import GitRepo, open_project_repo
from gitops_tool.adapters.overlay_files import FileChange, materialise, resolve_overlay_in
from gitops_tool.adapters.project import kustomization_file, list_overlays
from gitops_tool.adapters.repo_lock import repository_lock
from gitops_tool.adapters.transaction import FileTransaction, sigterm_as_interrupt
from gitops_tool.core import backup_component as bc
from gitops_tool.core.argocd import PROJECT_FILE
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit, Plan
from gitops_tool.errors import RepositoryError, ScaffoldInvalid, UserError
from gitops_tool.services.rendering import render_overlay


@dataclass(frozen=True)
class ComponentOptions:
    overlays: tuple[str, ...] = ()  # empty: every overlay (--all)
    commit: bool = True
    kubernetes_version: str = "1.37"
    kustomize: str | None = None


@dataclass
class ComponentResult:
    overlays: list[str]
    paths: list[str] = field(default_factory=list)  # repo-relative, as committed
    settings: dict[str, bc.Settings] = field(default_factory=dict)  # overlay -> rendered schedule, retention
    skipped: list[str] = field(default_factory=list)  # --all: overlays already in the wanted state
    commit: str | None = None
    message: str = ""


@dataclass(frozen=True)
class _Target:
    overlay: str  # repository-relative folder
    file: str  # its kustomization, repository-relative
    kustomization: Any  # plain data


def enable(settings: bc.Settings, options: ComponentOptions, start: Path | None = None) -> ComponentResult:
    wanted = bc.Settings(
        bc.check_schedule(settings.schedule) if settings.schedule is not None else None,
        bc.check_retention(settings.retention) if settings.retention is not None else None,
    )
    patch = bc.settings_patch(wanted)
    from ruamel.yaml.scalarstring import LiteralScalarString

    patch["patch"] = LiteralScalarString(patch["patch"])

    def plan(target: _Target) -> list[Edit]:
        return bc.plan_enable(target.kustomization, target.file, target.overlay, wanted, patch)

    return _change(options, start, "enable", plan, wanted)


def disable(options: ComponentOptions, start: Path | None = None) -> ComponentResult:
    def plan(target: _Target) -> list[Edit]:
        return bc.plan_disable(target.kustomization, target.file, target.overlay)

    return _change(options, start, "disable", plan, None)


def _change(
    options: ComponentOptions,
    start: Path | None,
    verb: str,
    planner: Callable[[_Target], list[Edit]],
    wanted: bc.Settings | None,
) -> ComponentResult:
    root, git = open_project_repo(start or Path.cwd())
    if not (root / bc.COMPONENT).is_dir():
        raise UserError(f"no {bc.COMPONENT} folder in {root}: this repository has no backup component")
    git.check_ready()
    with repository_lock(git.git_dir, f"backup {verb}"):
        targets, edits, skipped = _plan(root, options, planner, enabling=wanted is not None)
        project = root / PROJECT_FILE
        paths = sorted({t.file for t in targets} | ({PROJECT_FILE} if project.is_file() else set()))
        _refuse_dirty(git, root, paths)
        if options.commit:
            git.identity()
        labels = [t.overlay for t in targets]
        result = ComponentResult(labels, skipped=skipped, message=_message(verb, labels, wanted))
        before = _render_all(root, options) if project.is_file() else []
        snapshot = git.snapshot()
        try:
            with sigterm_as_interrupt(), FileTransaction(root) as files:
                changes = _write(files, materialise(root, Plan(result.message, tuple(edits))))
                if project.is_file():
                    changes += _follow_project(files, root, before, _render_all(root, options))
                _validate(root, labels, options)
                if wanted is not None:
                    for target in labels:
                        objects = render_overlay(str(root / target), options.kustomize, root).objects()
                        result.settings[target] = bc.check_rendered(objects, target, wanted)
                result.paths = sorted(git.relative(root / c.path) for c in changes)
                if options.commit:
                    result.commit = git.commit_paths(result.paths, result.message)
                files.finish()
        except BaseException:
            git.restore(snapshot)
            raise
    return result


def _plan(
    root: Path, options: ComponentOptions, planner: Callable[[_Target], list[Edit]], enabling: bool
) -> tuple[list[_Target], list[Edit], list[str]]:
    folders = (
        [resolve_overlay_in(root, o) for o in options.overlays] if options.overlays else list_overlays(root)
    )
    targets: list[_Target] = []
    edits: list[Edit] = []
    skipped: list[str] = []
    for folder in dict.fromkeys(folders):
        overlay = folder.relative_to(root).as_posix()
        kfile = kustomization_file(folder)
        if kfile is None:  # pragma: no cover - resolve_overlay_in and list_overlays check it
            raise UserError(f"{overlay} has no kustomization.yaml")
        file = kfile.relative_to(root).as_posix()
        loaded = yaml_roundtrip.load(read_text(kfile, "kustomization"), file)
        target = _Target(overlay, file, yaml_roundtrip.plain(loaded.documents[0] if loaded.documents else {}))
        try:
            edits += planner(target)
        except bc.AlreadyInState:
            if options.overlays:
                raise
            skipped.append(overlay)
            continue
        targets.append(target)
    if not targets:
        state = "already enabled" if enabling else "not enabled"
        raise UserError(f"backups are {state} in every overlay ({', '.join(skipped)}); nothing to do")
    return targets, edits, skipped


def _refuse_dirty(git: GitRepo, root: Path, paths: list[str]) -> None:
    dirty = git.dirty([git.relative(root / p) for p in paths])
    if dirty:
        raise RepositoryError(
            f"uncommitted changes in files this command writes: {', '.join(dirty)}; "
            "commit or stash them first"
        )


def _write(files: FileTransaction, changes: list[FileChange]) -> list[FileChange]:
    written = []
    for change in changes:
        if change.after is not None and change.after != change.before:
            files.write_file(change.path, change.after)
            written.append(change)
    return written


def _render_all(root: Path, options: ComponentOptions) -> list[Manifest]:
    objects: list[Manifest] = []
    for folder in list_overlays(root):
        objects.extend(render_overlay(str(folder), options.kustomize, root).objects())
    return objects


def _follow_project(
    files: FileTransaction, root: Path, before: list[Manifest], after: list[Manifest]
) -> list[FileChange]:
    """The Argo CD project admits what the overlays now render (it refuses any other kind)."""
    loaded = yaml_roundtrip.load(read_text(root / PROJECT_FILE, "Argo CD project"), PROJECT_FILE)
    project = yaml_roundtrip.plain(loaded.documents[0] if loaded.documents else {})
    edits = bc.whitelist_edits(project, PROJECT_FILE, before, after, _whitelist_entry)
    if not edits:
        return []
    return _write(files, materialise(root, Plan("", tuple(edits))))


def _whitelist_entry(key: bc.WhitelistKey) -> Any:
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    group, kind, name = key
    entry = CommentedMap()
    entry["group"] = group or DoubleQuotedScalarString("")  # the core group, spelt "" as in the file
    entry["kind"] = kind
    if name:
        entry["name"] = name
    return entry


def _validate(root: Path, overlays: list[str], options: ComponentOptions) -> None:
    from gitops_tool.services.validation import validate_overlays

    for report in validate_overlays(
        [str(root / o) for o in overlays], options.kubernetes_version, options.kustomize, root
    ):
        if not report.ok:
            first = report.violations[0]
            more = f" (and {len(report.violations) - 1} more)" if len(report.violations) > 1 else ""
            raise ScaffoldInvalid(
                f"{report.overlay} would not validate, nothing was changed: "
                f"{first.source}: {first.object}: {first.message}{more}"
            )


def _message(verb: str, overlays: list[str], wanted: bc.Settings | None) -> str:
    where = ", ".join(overlays)
    if wanted is None:
        return f"{where}: disable backups ({bc.COMPONENT})"
    extra = []
    if wanted.schedule is not None:
        extra.append(f"schedule {wanted.schedule}")
    if wanted.retention is not None:
        extra.append(f"keep {wanted.retention}")
    return f"{where}: enable backups ({bc.COMPONENT}{'; ' + ', '.join(extra) if extra else ''})"
