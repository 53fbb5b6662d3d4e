"""Turning the optional backup component (components/backup) on and off in an overlay, as data.

``gitops-tool backup enable`` lists the component under the overlay's ``components:`` and, when a
schedule or retention is asked for, adds one strategic-merge patch of the CronJob to its
``patches:`` (the component's own defaults: nightly at 02:00 UTC, 14 dumps kept). ``disable``
removes exactly those entries again, so enable then disable gives back the same bytes.

The Argo CD project admits only the kinds the overlays render: kinds the change brings in are added
to its whitelist, and kinds no overlay renders any more after ``disable`` are taken out.

Pure: it reads parsed kustomizations and rendered objects, and returns structural edits.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_tool.core import argocd
from gitops_tool.core.backup_jobs import BACKUP_CONTAINER, BACKUP_CRONJOB
from gitops_tool.core.images import pod_spec
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit, MappingDelete, MappingSet, SequenceInsert, SequenceRemove
from gitops_tool.errors import UserError

COMPONENT = "components/backup"
RETENTION_ENV = "BACKUP_KEEP"
COMPONENTS_KEY = "components"
PATCHES_KEY = "patches"

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


class AlreadyInState(UserError):
    """The overlay already has (or already lacks) the component: nothing to change there."""


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


def component_entry(overlay: str) -> str:
    """How ``overlay`` (repository-relative) names the component in its ``components:``."""
    return posixpath.relpath(COMPONENT, overlay)


def _names_component(entry: Any, overlay: str) -> bool:
    return isinstance(entry, str) and posixpath.normpath(posixpath.join(overlay, entry)) == COMPONENT


def _list(kustomization: Mapping[str, Any], key: str, source: str) -> list[Any]:
    value = kustomization.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError(f"{source}: {key} is not a list")
    return value


def is_enabled(kustomization: Mapping[str, Any], overlay: str, source: str) -> bool:
    return any(_names_component(e, overlay) for e in _list(kustomization, COMPONENTS_KEY, source))


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
    edits: list[Edit] = []
    components = _list(kustomization, COMPONENTS_KEY, file)
    if COMPONENTS_KEY not in kustomization:
        # A new components: key goes before resources:, where the readers of a kustomization look.
        keys = list(kustomization)
        edits.append(
            MappingSet(file, (), COMPONENTS_KEY, [], keys.index("resources") if "resources" in keys else None)
        )
    edits.append(SequenceInsert(file, (COMPONENTS_KEY,), len(components), component_entry(overlay)))
    if settings.any:
        patches = _list(kustomization, PATCHES_KEY, file)
        edits.append(SequenceInsert(file, (PATCHES_KEY,), len(patches), patch_value))
    return edits


def plan_disable(kustomization: Mapping[str, Any], file: str, overlay: str) -> list[Edit]:
    if not is_enabled(kustomization, overlay, file):
        raise AlreadyInState(
            f"backups are not enabled in {overlay} (its components: does not list {COMPONENT})"
        )
    edits: list[Edit] = []
    components = _list(kustomization, COMPONENTS_KEY, file)
    kept = [e for e in components if not _names_component(e, overlay)]
    if kept:
        # From the end, so earlier indexes stay valid.
        edits += [
            SequenceRemove(file, (COMPONENTS_KEY,), i)
            for i in reversed(range(len(components)))
            if _names_component(components[i], overlay)
        ]
    else:
        edits.append(MappingDelete(file, (), COMPONENTS_KEY))
    patches = _list(kustomization, PATCHES_KEY, file)
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


# --- the Argo CD project's whitelists -----------------------------------------------------------------

WhitelistKey = tuple[str, str, str]  # (group, kind, name); name is "" for namespaced kinds
CLUSTER_WHITELIST = "clusterResourceWhitelist"
NAMESPACED_WHITELIST = "namespaceResourceWhitelist"


def _entries(objects: Iterable[Manifest]) -> dict[str, set[WhitelistKey]]:
    objects = list(objects)
    return {
        CLUSTER_WHITELIST: {
            (e["group"], e["kind"], e.get("name", "")) for e in argocd.cluster_whitelist(objects)
        },
        NAMESPACED_WHITELIST: {(e["group"], e["kind"], "") for e in argocd.namespaced_whitelist(objects)},
    }


def _key(entry: Any) -> WhitelistKey:
    if not isinstance(entry, Mapping):
        return ("", "", "")
    return (str(entry.get("group", "")), str(entry.get("kind", "")), str(entry.get("name", "")))


def whitelist_edits(
    project: Mapping[str, Any],
    file: str,
    before: Iterable[Manifest],
    after: Iterable[Manifest],
    entry_value: Any,
) -> list[Edit]:
    """Add what the change brings in and the project lacks; drop what no overlay renders any more.

    ``before``/``after`` are every overlay's objects around the change; ``entry_value(key, name?)``
    builds a whitelist entry in the writer's style. Entries stay sorted by group, kind and name.
    """
    spec = project.get("spec")
    if not isinstance(spec, Mapping):
        raise UserError(f"{file}: an AppProject without spec")
    old, new = _entries(before), _entries(after)
    edits: list[Edit] = []
    for list_key in (CLUSTER_WHITELIST, NAMESPACED_WHITELIST):
        current = spec.get(list_key)
        if not isinstance(current, list):
            continue  # no whitelist of this kind: the project restricts nothing here
        keys = [_key(e) for e in current]
        gone = old[list_key] - new[list_key]
        for index in reversed(range(len(keys))):
            if keys[index] in gone:
                edits.append(SequenceRemove(file, ("spec", list_key), index))
                del keys[index]
        for added in sorted(new[list_key] - old[list_key] - set(keys)):
            index = sum(1 for k in keys if k < added)
            edits.append(SequenceInsert(file, ("spec", list_key), index, entry_value(added)))
            keys.insert(index, added)
    return edits
