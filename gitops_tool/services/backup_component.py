"""``gitops-tool backup enable|disable``: the backup component in or out of overlays, one commit.

A user of the generic component switch (services/components.py: refusals before the first write,
render, Argo CD project whitelist, validation, one commit or nothing) that adds the backup's own
schedule/retention patch and checks that the render then runs what was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from gitops_tool.core import backup_component as bc
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit
from gitops_tool.services.components import Change, ChangeResult, ComponentOptions, Target, change

__all__ = ["ComponentOptions", "ComponentResult", "disable", "enable"]


@dataclass
class ComponentResult(ChangeResult):
    settings: dict[str, bc.Settings] = field(default_factory=dict)  # overlay -> rendered schedule, retention


def enable(settings: bc.Settings, options: ComponentOptions, start: Path | None = None) -> ComponentResult:
    wanted = bc.Settings(
        bc.check_schedule(settings.schedule) if settings.schedule is not None else None,
        bc.check_retention(settings.retention) if settings.retention is not None else None,
    )
    patch = bc.settings_patch(wanted)
    from ruamel.yaml.scalarstring import LiteralScalarString

    patch["patch"] = LiteralScalarString(patch["patch"])
    rendered: dict[str, bc.Settings] = {}

    def plan(target: Target) -> list[Edit]:
        return bc.plan_enable(target.kustomization, target.file, target.overlay, wanted, patch)

    def check(overlay: str, objects: list[Manifest]) -> None:
        rendered[overlay] = bc.check_rendered(objects, overlay, wanted)

    spec = Change(
        "backup enable",
        (bc.COMPONENT,),
        plan,
        "backups are already enabled",
        lambda o: _message(o, wanted),
        check,
    )
    return _with_settings(change(spec, options, start), rendered)


def disable(options: ComponentOptions, start: Path | None = None) -> ComponentResult:
    def plan(target: Target) -> list[Edit]:
        return bc.plan_disable(target.kustomization, target.file, target.overlay)

    spec = Change(
        "backup disable", (bc.COMPONENT,), plan, "backups are not enabled", lambda o: _message(o, None)
    )
    return _with_settings(change(spec, options, start), {})


def _with_settings(result: ChangeResult, settings: dict[str, bc.Settings]) -> ComponentResult:
    return ComponentResult(**{f.name: getattr(result, f.name) for f in fields(result)}, settings=settings)


def _message(overlays: list[str], wanted: bc.Settings | None) -> str:
    where = ", ".join(overlays)
    if wanted is None:
        return f"{where}: disable backups ({bc.COMPONENT})"
    extra = []
    if wanted.schedule is not None:
        extra.append(f"schedule {wanted.schedule}")
    if wanted.retention is not None:
        extra.append(f"keep {wanted.retention}")
    return f"{where}: enable backups ({bc.COMPONENT}{'; ' + ', '.join(extra) if extra else ''})"
