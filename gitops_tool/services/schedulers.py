"""add-scheduler, remove-scheduler and schedulers: plan, check, write, validate, commit, or undo.

The order matters: every refusal (bad number, unknown or legacy overlay, repository state, node
name, lock) happens before the first write; after it, any failure puts the files, the index and the
branch back exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gitops_tool.adapters.git_repo import GitRepo, open_project_repo
from gitops_tool.adapters.overlay_files import FileChange, materialise, read_overlay_state, resolve_overlay_in
from gitops_tool.adapters.project import find_project_root
from gitops_tool.adapters.transaction import FileTransaction
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.core.scaffold.diff import unified_diff
from gitops_tool.core.scaffold.plan import NewFolder, Plan, RemoveFolder
from gitops_tool.core.scaffold.scheduler_plans import (
    OverlayState,
    SchedulerInfo,
    plan_add_scheduler,
    plan_remove_scheduler,
    scheduler_table,
)
from gitops_tool.core.scaffold.schedulers import parse_scheduler_number
from gitops_tool.core.validation import OverlayReport
from gitops_tool.errors import ScaffoldInvalid, UserError
from gitops_tool.services.committed_change import commit_change, locked_repository, refuse_dirty

_Planner = Callable[[OverlayState], Plan]


@dataclass(frozen=True)
class ScaffoldOptions:
    repo: Path | None = None  # a folder inside the repository; default: the current folder
    overlay: str = DEFAULT_OVERLAY
    dry_run: bool = False
    commit: bool = True
    message: str | None = None
    kustomize: str | None = None
    kubernetes_version: str = "1.37"


@dataclass
class ScaffoldResult:
    plan: Plan
    changes: list[FileChange]
    diff: str
    written: bool = False
    commit: str | None = None
    paths: list[str] = field(default_factory=list)  # as committed (or left uncommitted), repo-relative


def add_scheduler(number: str, node: str | None, options: ScaffoldOptions) -> ScaffoldResult:
    wanted = parse_scheduler_number(number)
    return _scaffold(
        options, "add-scheduler", lambda state: plan_add_scheduler(state, wanted, node, options.message)
    )


def remove_scheduler(number: str, options: ScaffoldOptions) -> ScaffoldResult:
    wanted = parse_scheduler_number(number)
    return _scaffold(
        options, "remove-scheduler", lambda state: plan_remove_scheduler(state, wanted, options.message)
    )


def list_schedulers(
    overlay: str = DEFAULT_OVERLAY, repo: Path | None = None
) -> tuple[str, list[SchedulerInfo]]:
    root = find_project_root(repo or Path.cwd())
    state = read_overlay_state(root, resolve_overlay_in(root, overlay))
    return state.overlay, scheduler_table(state)


def _scaffold(options: ScaffoldOptions, command: str, planner: _Planner) -> ScaffoldResult:
    if options.message is not None and not options.message.strip():
        raise UserError("--message must not be empty")
    start = (options.repo or Path.cwd()).resolve()
    if options.repo is not None and not start.is_dir():
        raise UserError(f"--repo {options.repo}: no such folder")
    if options.dry_run:
        root, git = open_project_repo(start)
        git.check_ready()
        return _plan(root, git, options, planner)[0]
    with locked_repository(start, command) as (root, git):
        result, overlay_dir = _plan(root, git, options, planner)

        def apply(files: FileTransaction) -> list[str]:
            _write(files, result)
            _check(overlay_dir, root, options)
            return result.paths

        result.commit = commit_change(
            root,
            git,
            verb=command,
            message=result.plan.message,
            paths=result.paths,
            apply=apply,
            commit=options.commit,
        )
        result.written = True
    return result


def _plan(
    root: Path, git: GitRepo, options: ScaffoldOptions, planner: _Planner
) -> tuple[ScaffoldResult, Path]:
    overlay_dir = resolve_overlay_in(root, options.overlay)
    state = read_overlay_state(root, overlay_dir)
    plan = planner(state)
    paths = [git.relative(root / p) for p in plan.touched_paths()]
    refuse_dirty(git, git.root, paths)
    changes = materialise(root, plan)
    diff = unified_diff((c.path, c.before, c.after) for c in changes)
    return ScaffoldResult(plan, changes, diff, paths=paths), overlay_dir


def _write(files: FileTransaction, result: ScaffoldResult) -> None:
    after = {c.path: c.after for c in result.changes}
    for change in result.plan.changes:
        if isinstance(change, RemoveFolder):
            files.remove_folder(change.path)
        elif isinstance(change, NewFolder):
            prefix = change.path + "/"
            files.create_folder(
                change.path,
                {
                    p.removeprefix(prefix): text
                    for p, text in after.items()
                    if p.startswith(prefix) and text is not None
                },
            )
    for path in result.plan.edited_files():
        text = after[path]
        if text is not None:
            files.write_file(path, text)


def _check(overlay_dir: Path, root: Path, options: ScaffoldOptions) -> None:
    """Render and validate the changed overlay (schema, and policies where validate has them)."""
    from gitops_tool.services.validation import validate_overlays

    reports = validate_overlays(
        [str(overlay_dir)], options.kubernetes_version, kustomize=options.kustomize, root=root
    )
    failed = [r for r in reports if not r.ok]
    if failed:
        raise ScaffoldInvalid(_invalid_message(failed))


def _invalid_message(failed: list[OverlayReport]) -> str:
    violations = [v for r in failed for v in r.violations]
    first = violations[0]
    where = f" at {first.path}" if first.path else ""
    more = f" (and {len(violations) - 1} more; see `gitops-tool validate`)" if len(violations) > 1 else ""
    return (
        f"{failed[0].overlay} would not validate, nothing was changed: "
        f"{first.source}: {first.object}{where}: {first.message}{more}"
    )
