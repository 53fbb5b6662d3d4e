"""The drift report: one result per resource, with the differing fields of modified ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MASK = "<secret value hidden>"


class Status(StrEnum):
    IN_SYNC = "in-sync"
    MODIFIED = "modified"
    MISSING = "missing"  # in Git, not live
    EXTRA = "extra"  # live, owned by this repository, not in Git
    UNKNOWN = "unknown"  # could not be read (forbidden kind, --allow-partial)


DRIFT_STATUSES = frozenset({Status.MODIFIED, Status.MISSING, Status.EXTRA})


@dataclass(frozen=True)
class Difference:
    """One differing field. ``path`` is a JSON Pointer into the object, list indexes as in Git."""

    path: str
    desired: Any
    live: Any
    reason: str


@dataclass(frozen=True)
class ResourceResult:
    api_version: str
    kind: str
    namespace: str
    name: str
    status: Status
    differences: tuple[Difference, ...] = ()
    note: str = ""  # why a resource is unknown, shown in text and markdown

    @property
    def title(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass
class DriftReport:
    overlay: str | None
    ref: str | None
    resources: list[ResourceResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hooks_skipped: int = 0

    def count(self, status: Status) -> int:
        return sum(1 for r in self.resources if r.status is status)

    def summary(self) -> dict[str, int]:
        return {
            "in_sync": self.count(Status.IN_SYNC),
            "modified": self.count(Status.MODIFIED),
            "missing": self.count(Status.MISSING),
            "extra": self.count(Status.EXTRA),
            "unknown": self.count(Status.UNKNOWN),
        }

    @property
    def has_drift(self) -> bool:
        return any(r.status in DRIFT_STATUSES for r in self.resources)

    @property
    def has_unknown(self) -> bool:
        return any(r.status is Status.UNKNOWN for r in self.resources)
