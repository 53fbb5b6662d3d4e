"""Who wrote a live value and when: the field manager of a difference, from ``managedFields``.

Every write to an object records, per field manager, which fields that manager now owns (its
FieldsV1 set), the operation (``Apply`` for server-side apply, ``Update`` for everything else:
``kubectl edit/set/scale/patch``, controllers) and the time of its last write. A difference at
path P is attributed to the managers whose set reaches P: P itself, a field below it (the manager
owns part of the value) or a leaf above it (an atomic value such as ``command`` owned whole). When
several do, the one that wrote last is the owner. A path no entry reaches has "no owner recorded"
(a value in Git but not live has none: nobody owns an absent field).

``--since`` keeps the differences whose owner wrote inside a window (``since_filter``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gitops_tool.core.drift.fieldsv1 import FieldsNode, item_child
from gitops_tool.core.drift.mergekeys import key_of, key_spec
from gitops_tool.core.drift.model import (
    Difference,
    DriftReport,
    LiveOwner,
    ResourceResult,
    Status,
)
from gitops_tool.errors import UserError


@dataclass(frozen=True)
class _Entry:
    owner: LiveOwner
    fields: FieldsNode
    order: int  # position in managedFields: the later entry wins a tie in time


def _entries(managed_fields: Any) -> list[_Entry]:
    entries: list[_Entry] = []
    if not isinstance(managed_fields, list):
        return entries
    for index, entry in enumerate(managed_fields):
        if not isinstance(entry, Mapping) or entry.get("subresource") == "status":
            continue  # status is never compared
        fields = entry.get("fieldsV1")
        if not isinstance(fields, Mapping):
            continue
        owner = LiveOwner(
            str(entry.get("manager") or "(unnamed manager)"),
            str(entry.get("operation") or ""),
            str(entry.get("time") or ""),
        )
        entries.append(_Entry(owner, fields, index))
    return entries


def _latest(entries: Iterable[_Entry]) -> LiveOwner | None:
    best: _Entry | None = None
    best_key: tuple[datetime, int] | None = None
    floor = datetime.min.replace(tzinfo=UTC)
    for entry in entries:
        key = (entry.owner.moment or floor, entry.order)
        if best_key is None or key > best_key:
            best, best_key = entry, key
    return best.owner if best is not None else None


class Attributor:
    """Owners of paths of one live object (built once per differing object)."""

    def __init__(self, live: Mapping[str, Any]) -> None:
        self.live = live
        self.entries = _entries((live.get("metadata") or {}).get("managedFields"))

    def object_owner(self) -> LiveOwner | None:
        """The manager that wrote the object last (an ``extra`` object's owner)."""
        return _latest(self.entries)

    def owner(self, path: Sequence[Any], projected: Mapping[str, Any] | None = None) -> LiveOwner | None:
        """The owner of the live value at ``path`` (keys and list positions of ``projected``, the
        live object as the engine projected it; list items are found live by their merge key)."""
        if not self.entries:
            return None
        live_steps = _live_steps(self.live, projected, path)
        if live_steps is None:
            return None
        owner = _latest(e for e in self.entries if _reaches(e.fields, live_steps))
        if owner is None and self.live.get("kind") == "Secret" and len(path) >= 2 and path[0] == "data":
            # stringData is write-only: the API server stores it as data but records the writer's
            # ownership under f:stringData.
            written: list[_Step] = [("field", "stringData", None), *live_steps[1:]]
            owner = _latest(e for e in self.entries if _reaches(e.fields, written))
        return owner


_Step = tuple[str, Any, int | None]  # ("field", name, None) or ("item", live item, live index)


def _live_steps(live: Any, projected: Any, path: Sequence[Any]) -> list[_Step] | None:
    """``path`` as steps through the real live object; None when the value is not live."""
    steps: list[_Step] = []
    node: Any = live
    shown: Any = projected
    parent = ""
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list):
                return None
            probe = shown[part] if isinstance(shown, list) and part < len(shown) else None
            index = _live_index(node, probe, part, parent)
            if index is None:
                return None
            node = node[index]
            steps.append(("item", node, index))
        else:
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
            steps.append(("field", part, None))
            parent = str(part)
        shown = shown[part] if _has(shown, part) else None
    return steps


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, Mapping):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and part < len(container)


def _live_index(items: list[Any], probe: Any, position: int, key: str) -> int | None:
    if isinstance(probe, Mapping) and items and isinstance(items[0], Mapping):
        spec = key_spec(key, probe)
        wanted = key_of(spec, probe) if spec is not None else None
        if wanted is not None and spec is not None:
            for index, item in enumerate(items):
                if isinstance(item, Mapping) and key_of(spec, item) == wanted:
                    return index
            return None
    return position if position < len(items) else None


def _reaches(fields: FieldsNode, steps: Sequence[_Step]) -> bool:
    node: FieldsNode | None = fields
    for kind, value, index in steps:
        if node is None:
            return False
        if _is_leaf(node) and node is not fields:
            return True  # an atomic value above the path, owned whole
        node = node.get("f:" + value) if kind == "field" else item_child(node, value, index)
    return node is not None


def _is_leaf(node: FieldsNode) -> bool:
    return not node or set(node) == {"."}


# --- --since ----------------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` or combinations (``1h30m``); a positive span."""
    raw = text.strip().lower()
    parts = _DURATION.findall(raw)
    if not raw or not parts or "".join(n + u for n, u in parts) != raw:
        raise UserError(f"--since {text!r}: give a duration such as 30m, 12h, 7d or 1h30m")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise UserError(f"--since {text!r}: the window must be longer than 0s")
    return timedelta(seconds=seconds)


def _recent(owner: LiveOwner | None, cutoff: datetime) -> bool:
    moment = owner.moment if owner is not None else None
    return moment is not None and moment >= cutoff


def since_filter(report: DriftReport, cutoff: datetime, label: str) -> DriftReport:
    """Only the differences (and extra objects) whose owner wrote at or after ``cutoff``.

    A resource left without differences leaves the report; how many did is said in a warning.
    Missing objects have no live owner and always leave.
    """
    kept: list[ResourceResult] = []
    hidden = 0
    for result in report.resources:
        if result.status is Status.EXTRA:
            if _recent(result.live_owner, cutoff):
                kept.append(result)
            else:
                hidden += 1
        elif result.status in (Status.MODIFIED, Status.MISSING):
            recent = tuple(d for d in result.differences if _recent(d.live_owner, cutoff))
            if recent:
                kept.append(replace(result, differences=recent))
            else:
                hidden += 1
        else:
            kept.append(result)
    out = replace(report, resources=kept, warnings=list(report.warnings))
    if hidden:
        out.warnings.append(
            f"{hidden} drifted resource(s) not shown: no owner recorded or last written before "
            f"{cutoff:%Y-%m-%d %H:%M:%S} UTC (--since {label})"
        )
    return out


def attribute_differences(
    differences: Iterable[tuple[Sequence[Any], Difference]],
    live: Mapping[str, Any],
    projected: Mapping[str, Any] | None,
) -> list[Difference]:
    attributor = Attributor(live)
    return [replace(d, live_owner=attributor.owner(path, projected)) for path, d in differences]
