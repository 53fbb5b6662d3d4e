"""The drift report: one result per resource, with the differing fields of modified ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

MASK = "<secret value hidden>"
NO_OWNER = "no owner recorded"


class Status(StrEnum):
    IN_SYNC = "in-sync"
    MODIFIED = "modified"
    MISSING = "missing"  # in Git, not live
    EXTRA = "extra"  # live, owned by this repository, not in Git
    UNKNOWN = "unknown"  # could not be read (forbidden kind, --allow-partial)


DRIFT_STATUSES = frozenset({Status.MODIFIED, Status.MISSING, Status.EXTRA})


@dataclass(frozen=True)
class LiveOwner:
    """The managedFields entry that owns a live value."""

    manager: str
    operation: str
    time: str  # as the API server recorded it (RFC 3339, UTC), "" when the entry has none

    @property
    def moment(self) -> datetime | None:
        return parse_time(self.time)

    def suffix(self) -> str:
        """``changed by kubectl-scale, 2026-11-30 10:12 UTC`` (text and markdown reports)."""
        moment = self.moment
        when = f", {moment:%Y-%m-%d %H:%M} UTC" if moment is not None else ""
        return f"changed by {self.manager}{when}"

    def to_json(self) -> dict[str, str | None]:
        return {"manager": self.manager, "operation": self.operation, "time": self.time or None}


def owner_suffix(owner: LiveOwner | None) -> str:
    return owner.suffix() if owner is not None else NO_OWNER


def parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class GitSource:
    """Where a desired value comes from: the repository file and the commit that last changed it.

    ``file`` is "generated" (and the rest empty) where no file line produces the value.
    """

    file: str
    commit: str = ""
    author: str = ""
    date: str = ""  # ISO 8601
    line: int = 0  # 1-based; 0 when generated

    def to_json(self) -> dict[str, str | int | None]:
        return {
            "file": self.file,
            "line": self.line or None,
            "commit": self.commit or None,
            "author": self.author or None,
            "date": self.date or None,
        }

    def suffix(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if not self.commit:
            return f"from {where}" if self.line else f"{where}"
        return f"from {where} @ {self.commit[:12]} ({self.author}, {self.date[:10]})"


@dataclass(frozen=True)
class Difference:
    """One differing field. ``path`` is a JSON Pointer into the object, list indexes as in Git."""

    path: str
    desired: Any
    live: Any
    reason: str
    live_owner: LiveOwner | None = None  # None: no managedFields entry covers the live value
    git_source: GitSource | None = None  # with --blame only


@dataclass(frozen=True)
class ResourceResult:
    api_version: str
    kind: str
    namespace: str
    name: str
    status: Status
    differences: tuple[Difference, ...] = ()
    note: str = ""  # why a resource is unknown, shown in text and markdown
    live_owner: LiveOwner | None = None  # an extra object's last writer

    @property
    def title(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class UnreadableScope:
    """Live objects of ``kind`` (in ``namespace``, or everywhere when empty; only the object
    ``name`` when set) could not be read; ``reason`` says why (forbidden, an unusable answer)."""

    group: str
    kind: str
    namespace: str
    reason: str
    name: str = ""

    def covers(self, group: str, kind: str, namespace: str, name: str) -> bool:
        return (
            (self.group, self.kind) == (group, kind)
            and self.namespace in ("", namespace)
            and self.name in ("", name)
        )

    @property
    def title(self) -> str:
        what = f"{self.kind}.{self.group}" if self.group else self.kind
        if self.name:
            what += f" {self.namespace}/{self.name}" if self.namespace else f" {self.name}"
        elif self.namespace:
            what += f" in {self.namespace}"
        else:
            what += " (all namespaces)"
        return what


@dataclass
class DriftReport:
    overlay: str | None
    ref: str | None
    resources: list[ResourceResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hooks_skipped: int = 0
    # Every scope of the live state that could not be read: its desired objects are ``unknown``,
    # and extra objects in it would have gone unseen, so it is reported even when it holds none.
    unknown_scopes: list[UnreadableScope] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for r in self.resources if r.status is status)

    def summary(self) -> dict[str, int]:
        return {
            "in_sync": self.count(Status.IN_SYNC),
            "modified": self.count(Status.MODIFIED),
            "missing": self.count(Status.MISSING),
            "extra": self.count(Status.EXTRA),
            "unknown": self.count(Status.UNKNOWN),
            "unknown_scopes": len(self.unknown_scopes),
        }

    def scopes_without_results(self) -> list[UnreadableScope]:
        """Unknown scopes no ``unknown`` resource stands for (they could only hide extras)."""
        return [
            s
            for s in self.unknown_scopes
            if not any(
                r.status is Status.UNKNOWN and s.covers(_group(r.api_version), r.kind, r.namespace, r.name)
                for r in self.resources
            )
        ]

    @property
    def has_drift(self) -> bool:
        return any(r.status in DRIFT_STATUSES for r in self.resources)

    @property
    def has_unknown(self) -> bool:
        return bool(self.unknown_scopes) or any(r.status is Status.UNKNOWN for r in self.resources)


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]
