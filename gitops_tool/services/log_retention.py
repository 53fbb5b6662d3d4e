"""``gitops-tool logs retention show|set``: the days of logs the airflow-logs volume keeps, read from
the render, written as the overlay's patch of ConfigMap ``airflow-log-retention`` through the
committed-change routine of services/components.py (refusals first, render, validation, one commit
or nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitops_tool.adapters.project import find_project_root
from gitops_tool.core import log_retention as lr
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit
from gitops_tool.errors import UserError
from gitops_tool.services.components import (
    Change,
    ChangeResult,
    ComponentOptions,
    Target,
    change,
    overlay_target,
)
from gitops_tool.services.rendering import render_overlay

BASE_FOLDER = "base/log-retention"


def show(overlay: str, start: Path | None = None, kustomize: str | None = None) -> tuple[str, int]:
    """(overlay, days) as the overlay renders them."""
    root = find_project_root(start or Path.cwd())
    target = overlay_target(root, overlay)
    return target.overlay, _days(root, target.overlay, kustomize)


@dataclass
class SetResult:
    change: ChangeResult
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)


def set_days(days: int, options: ComponentOptions, start: Path | None = None) -> SetResult:
    """Writes ``days`` into each overlay of ``options`` (all when none), validated, one commit."""
    root = find_project_root(start or Path.cwd())
    result = SetResult(ChangeResult([]))

    from ruamel.yaml.scalarstring import LiteralScalarString

    def plan(target: Target) -> list[Edit]:
        current = _days(root, target.overlay, options.kustomize)
        result.before[target.overlay] = current
        return lr.plan_set(
            target.kustomization, target.file, target.overlay, days, current, literal=LiteralScalarString
        )

    def check(label: str, objects: list[Manifest]) -> None:
        rendered = lr.read_days(objects, label)
        if rendered != days:  # something later in the overlay overrides our patch
            raise UserError(f"{label} still renders {rendered} day(s); nothing was changed")
        result.after[label] = rendered

    def message(overlays: list[str]) -> str:
        return f"{', '.join(overlays)}: keep Airflow logs {days} day(s)"

    spec = Change(
        "logs retention set",
        (BASE_FOLDER,),
        plan,
        f"logs are already kept {days} day(s)",
        message,
        check,
    )
    result.change = change(spec, options, start)
    return result


def _days(root: Path, overlay: str, kustomize: str | None) -> int:
    return lr.read_days(render_overlay(str(root / overlay), kustomize, root).objects(), overlay)
