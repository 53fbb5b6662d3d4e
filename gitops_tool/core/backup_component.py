"""Turning the optional backup component (components/backup) on and off in an overlay, as data.

``gitops-tool backup enable`` lists the component under the overlay's ``components:`` and, when a
schedule or retention is asked for, adds one strategic-merge patch of the CronJob to its
``patches:`` (the component's own defaults: nightly at 02:00 UTC, 14 dumps kept). ``disable``
removes exactly those entries again, so enable then disable gives back the same bytes.

Pure: it reads parsed kustomizations and rendered objects, and returns structural edits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_tool.core import components
from gitops_tool.core.backup_jobs import BACKUP_CONTAINER, BACKUP_CRONJOB
from gitops_tool.core.images import pod_spec
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit, MappingDelete, SequenceInsert, SequenceRemove
from gitops_tool.errors import AlreadyInState, UserError

_BACKUP = components.known("backup")
COMPONENT = _BACKUP.folder
RETENTION_ENV = "BACKUP_KEEP"
PATCHES_KEY = components.PATCHES_KEY

# Kubernetes CronJob schedules: five fields (robfig/cron's standard parser) or one of the macros.
_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_from: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 6, _DAYS, 0),
)
_TERM = re.compile(r"^(?P<range>\*|\?|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/(?P<step>[0-9]+))?$")


@dataclass(frozen=True)
class Settings:
    """What ``enable`` sets beyond the component's defaults (None: keep the default)."""

    schedule: str | None = None
    retention: int | None = None

    @property
    def any(self) -> bool:
        return self.schedule is not None or self.retention is not None


def check_schedule(text: str) -> str:
    """A CronJob schedule as the API server accepts it; one clear reason otherwise."""
    schedule = text.strip()
    if not schedule:
        raise UserError("--schedule must not be empty (a cron expression such as '0 2 * * *')")
    if re.match(r"^(CRON_)?TZ=", schedule):
        raise UserError(
            f"bad --schedule {text!r}: a time zone in the schedule is not allowed in a CronJob "
            "(the component runs in Etc/UTC)"
        )
    if schedule.startswith("@"):
        if schedule not in _MACROS:
            raise UserError(f"bad --schedule {text!r}: use five cron fields or one of {', '.join(_MACROS)}")
        return schedule
    fields = schedule.split()
    if len(fields) != len(_FIELDS):
        raise UserError(
            f"bad --schedule {text!r}: {len(fields)} field(s); a cron expression has five "
            "(minute hour day-of-month month day-of-week), such as '30 1 * * *'"
        )
    for value, spec in zip(fields, _FIELDS, strict=True):
        reason = _field_problem(value, spec)
        if reason:
            raise UserError(f"bad --schedule {text!r}: {spec.name} {value!r}: {reason}")
    return " ".join(fields)


def _field_problem(value: str, spec: _Field) -> str:
    for term in value.split(","):
        match = _TERM.match(term)
        if match is None:
            return "expected a number, a range a-b, *, a list, or a step /n"
        step = match.group("step")
        if step is not None and int(step) < 1:
            return "a step must be at least 1"
        part = match.group("range")
        if part in ("*", "?"):
            if part == "?" and spec.name not in ("day of month", "day of week"):
                return "? is only allowed for the day of month or week"
            continue
        bounds = part.split("-")
        numbers = [_number(b, spec) for b in bounds]
        if any(n is None for n in numbers):
            return f"expected {spec.low}-{spec.high}" + (
                f" or {spec.names[0]}-{spec.names[-1]}" if spec.names else ""
            )
        if len(numbers) == 2 and numbers[0] > numbers[1]:  # type: ignore[operator]
            return "a range must go from low to high"
    return ""


def _number(text: str, spec: _Field) -> int | None:
    if text.isdigit():
        number = int(text)
        return number if spec.low <= number <= spec.high else None
    lowered = text.lower()
    if lowered in spec.names:
        return spec.names.index(lowered) + spec.names_from
    return None


def check_retention(count: int) -> int:
    if count < 1:
        raise UserError(f"--retention must be at least 1 (the number of dumps kept), not {count}")
    return count


# --- the overlay's kustomization ---------------------------------------------------------------------


def is_enabled(kustomization: Mapping[str, Any], overlay: str, source: str) -> bool:
    return components.is_enabled(kustomization, overlay, source, _BACKUP)


def is_settings_patch(entry: Any) -> bool:
    """The patch ``enable`` adds for a schedule or retention, exactly as it writes it (a patch of the
    CronJob someone wrote by hand is theirs: ``disable`` leaves it)."""
    if (
        not isinstance(entry, Mapping)
        or dict(entry.get("target") or {}) != settings_patch(Settings())["target"]
    ):
        return False
    text = entry.get("patch")
    if not isinstance(text, str):
        return False
    schedule = re.search(r'^  schedule: "(.*)"$', text, re.MULTILINE)
    retention = re.search(r'^ +value: "([0-9]+)"$', text, re.MULTILINE)
    found = Settings(schedule.group(1) if schedule else None, int(retention.group(1)) if retention else None)
    return found.any and settings_patch_text(found) == text.rstrip("\n")


def settings_patch_text(settings: Settings) -> str:
    """The strategic-merge patch of the CronJob (containers and env are merged by name)."""
    lines = ["apiVersion: batch/v1", "kind: CronJob", "metadata:", f"  name: {BACKUP_CRONJOB}", "spec:"]
    if settings.schedule is not None:
        lines.append(f'  schedule: "{settings.schedule}"')
    if settings.retention is not None:
        lines += [
            "  jobTemplate:",
            "    spec:",
            "      template:",
            "        spec:",
            "          containers:",
            f"            - name: {BACKUP_CONTAINER}",
            "              env:",
            f"                - name: {RETENTION_ENV}",
            f'                  value: "{settings.retention}"',
        ]
    return "\n".join(lines)


def settings_patch(settings: Settings) -> dict[str, Any]:
    return {"target": {"kind": "CronJob", "name": BACKUP_CRONJOB}, "patch": settings_patch_text(settings)}


def plan_enable(
    kustomization: Mapping[str, Any], file: str, overlay: str, settings: Settings, patch_value: Any
) -> list[Edit]:
    """Edits of the overlay's kustomization ``file``; ``patch_value`` is the settings patch as the
    writer wants it (a literal block for the patch text)."""
    if is_enabled(kustomization, overlay, file):
        raise AlreadyInState(f"backups are already enabled in {overlay} (its components: list {COMPONENT})")
    edits = components.enable_edits(kustomization, file, overlay, [_BACKUP])
    if settings.any:
        patches = components.kustomization_list(kustomization, PATCHES_KEY, file)
        edits.append(SequenceInsert(file, (PATCHES_KEY,), len(patches), patch_value))
    return edits


def plan_disable(kustomization: Mapping[str, Any], file: str, overlay: str) -> list[Edit]:
    if not is_enabled(kustomization, overlay, file):
        raise AlreadyInState(
            f"backups are not enabled in {overlay} (its components: does not list {COMPONENT})"
        )
    edits = components.plan_disable(kustomization, file, overlay, _BACKUP.name)
    patches = components.kustomization_list(kustomization, PATCHES_KEY, file)
    settings = [i for i, p in enumerate(patches) if is_settings_patch(p)]
    if settings and len(settings) == len(patches):
        edits.append(MappingDelete(file, (), PATCHES_KEY))
    else:
        edits += [SequenceRemove(file, (PATCHES_KEY,), i) for i in reversed(settings)]
    return edits


# --- what the render then runs ------------------------------------------------------------------------


def rendered_settings(objects: Iterable[Manifest], label: str) -> Settings:
    """The backup CronJob's schedule and retention in a render; refuses a render without it."""
    for obj in objects:
        if obj.get("kind") != "CronJob" or (obj.get("metadata") or {}).get("name") != BACKUP_CRONJOB:
            continue
        schedule = str((obj.get("spec") or {}).get("schedule", ""))
        retention: int | None = None
        for container in (pod_spec(obj) or {}).get("containers") or []:
            if container.get("name") != BACKUP_CONTAINER:
                continue
            for env in container.get("env") or []:
                if env.get("name") == RETENTION_ENV and str(env.get("value", "")).isdigit():
                    retention = int(env["value"])
        return Settings(schedule, retention)
    raise UserError(f"{label} renders no CronJob {BACKUP_CRONJOB} although it lists {COMPONENT}")


def check_rendered(objects: Sequence[Manifest], label: str, wanted: Settings) -> Settings:
    """The render runs what was asked for (a patch that merged nowhere would silently not)."""
    found = rendered_settings(objects, label)
    if wanted.schedule is not None and found.schedule != wanted.schedule:
        raise UserError(f"{label}: the backup CronJob runs on {found.schedule!r}, not {wanted.schedule!r}")
    if wanted.retention is not None and found.retention != wanted.retention:
        raise UserError(f"{label}: the backup CronJob keeps {found.retention} dumps, not {wanted.retention}")
    return found
