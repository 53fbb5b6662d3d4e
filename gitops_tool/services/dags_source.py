"""``gitops-tool dags source show|set``: what git-sync syncs, read from the render, written as the
overlay's patch of the ``airflow-git-sync`` ConfigMap (core/dags/git_source.py says why a patch)
through the component switch machinery (services/components.py: refusals before the first write,
render, validation, one commit or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitops_tool.adapters.project import find_project_root
from gitops_tool.core import components as cc
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.core.dags import git_source as gs
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit
from gitops_tool.errors import UserError
from gitops_tool.services.committed_change import settle_interrupted
from gitops_tool.services.components import (
    Change,
    ChangeResult,
    ComponentOptions,
    Target,
    change,
    overlay_target,
)
from gitops_tool.services.rendering import render_overlay


@dataclass(frozen=True)
class Shown:
    overlay: str
    rendered: gs.Rendered


@dataclass
class SetResult:
    change: ChangeResult
    before: gs.Rendered
    after: gs.Rendered


def show(overlay: str = DEFAULT_OVERLAY, start: Path | None = None, kustomize: str | None = None) -> Shown:
    root = find_project_root(start or Path.cwd())
    target = overlay_target(root, overlay)
    gs.git_sync_enabled(target.kustomization, target.overlay, target.file)
    return Shown(target.overlay, rendered_source(root, target.overlay, kustomize))


def set_source(wanted: gs.Source, options: ComponentOptions, start: Path | None = None) -> SetResult:
    (overlay,) = options.overlays
    settle_interrupted(start or Path.cwd(), "dags source set")
    root = find_project_root(start or Path.cwd())
    target = overlay_target(root, overlay)
    ssh = gs.git_sync_enabled(target.kustomization, target.overlay, target.file)
    wanted = gs.check_wanted(wanted, ssh)
    before = rendered_source(root, target.overlay, options.kustomize)
    after: dict[str, gs.Rendered] = {}

    def plan(target: Target) -> list[Edit]:
        return plan_source(target, wanted, before.source)

    def check(label: str, objects: list[Manifest]) -> None:
        rendered = gs.read_rendered(objects, label)
        differ = [k for k, v in wanted.given().items() if getattr(rendered.source, k) != v]
        if differ:  # another generator of the overlay overrides ours
            raise UserError(
                f"{label} still renders other values for {', '.join(differ)}; nothing was changed"
            )
        after[label] = rendered

    def message(overlays: list[str]) -> str:
        keys = ", ".join(k for k, v in wanted.given().items() if getattr(before.source, k) != v)
        return f"{', '.join(overlays)}: git-sync source ({keys})"

    spec = Change(
        "dags source set",
        (cc.known("git-sync").folder,),
        plan,
        "git-sync already syncs these values",
        message,
        check,
    )
    result = change(spec, options, start)
    return SetResult(result, before, after[target.overlay])


def plan_source(target: Target, wanted: gs.Source, current: gs.Source) -> list[Edit]:
    """The edits of the overlay's git-sync patch from ``current`` to ``wanted`` (comments kept)."""
    from ruamel.yaml.scalarstring import LiteralScalarString

    return gs.plan_set(
        target.kustomization, target.file, target.overlay, wanted, current, literal=LiteralScalarString
    )


def rendered_source(root: Path, overlay: str, kustomize: str | None) -> gs.Rendered:
    """What git-sync syncs, as the overlay renders it."""
    return gs.read_rendered(render_overlay(str(root / overlay), kustomize, root).objects(), overlay)
