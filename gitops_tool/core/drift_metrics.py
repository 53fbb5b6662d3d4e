"""Drift audit results as Prometheus text exposition format (node-exporter textfile collector).

The node-exporter textfile collector reads ``*.prom`` files in the text format 0.0.4; it rejects
files that carry timestamps on samples or repeat a metric family, so every family is written once,
sorted, without timestamps. Pure: the caller writes the text (atomically, so the collector never
reads half a file).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

METRIC_PREFIX = "gitops_drift"

# Every status a resource can end in; each is written for each kind seen (0 included) so that
# dashboards and alerts see a series go to zero instead of disappearing.
DRIFT_STATUSES = ("in-sync", "modified", "missing", "extra", "unknown")
DRIFTED_STATUSES = ("modified", "missing", "extra")


@dataclass(frozen=True)
class DriftAuditSummary:
    """What one audit run produced, reduced to what the metrics need."""

    overlay: str
    # (kind, status) for every compared resource.
    resources: Sequence[tuple[str, str]] = ()
    finished_at: float = 0.0  # Unix time in seconds
    duration_seconds: float = 0.0
    errors: int = 0  # errors met during the audit (an audit that failed outright counts 1)
    completed: bool = True  # False when the audit could not produce a report


@dataclass(frozen=True)
class _Family:
    name: str
    help: str
    kind: str  # gauge or counter
    samples: list[tuple[dict[str, str], float]]


def format_drift_metrics(summary: DriftAuditSummary) -> str:
    """The text exposition of ``summary``: one family per metric, no sample timestamps."""
    overlay = {"overlay": summary.overlay}
    counts = Counter(summary.resources)
    kinds = sorted({kind for kind, _ in summary.resources})
    statuses = _statuses(summary)
    by_status = Counter(status for _, status in summary.resources)
    families = [
        _Family(
            f"{METRIC_PREFIX}_resources",
            "Resources of the overlay by drift status and kind in the last audit.",
            "gauge",
            [
                ({**overlay, "kind": kind, "status": status}, float(counts[(kind, status)]))
                for kind in kinds
                for status in statuses
            ],
        ),
        _Family(
            f"{METRIC_PREFIX}_drifted_resources",
            "Resources that are modified, missing or extra in the last audit.",
            "gauge",
            [(overlay, float(sum(by_status[s] for s in DRIFTED_STATUSES)))],
        ),
        _Family(
            f"{METRIC_PREFIX}_last_audit_timestamp_seconds",
            "Unix time the last audit finished.",
            "gauge",
            [(overlay, summary.finished_at)],
        ),
        _Family(
            f"{METRIC_PREFIX}_audit_duration_seconds",
            "Seconds the last audit took.",
            "gauge",
            [(overlay, summary.duration_seconds)],
        ),
        _Family(
            f"{METRIC_PREFIX}_audit_errors",
            "Errors met by the last audit.",
            "gauge",
            [(overlay, float(summary.errors))],
        ),
        _Family(
            f"{METRIC_PREFIX}_audit_success",
            "1 when the last audit produced a complete report, else 0.",
            "gauge",
            [(overlay, 1.0 if summary.completed and summary.errors == 0 else 0.0)],
        ),
    ]
    return "".join(_render(family) for family in families)


def _statuses(summary: DriftAuditSummary) -> list[str]:
    extra = sorted({status for _, status in summary.resources} - set(DRIFT_STATUSES))
    return [*DRIFT_STATUSES, *extra]


def _render(family: _Family) -> str:
    lines = [f"# HELP {family.name} {_escape_help(family.help)}", f"# TYPE {family.name} {family.kind}"]
    lines.extend(f"{family.name}{_labels(labels)} {_value(value)}" for labels, value in family.samples)
    return "\n".join(lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape_label(value)}"' for key, value in sorted(labels.items()))
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def summary_of_statuses(
    overlay: str,
    resources: Iterable[tuple[str, str]],
    finished_at: float,
    duration_seconds: float,
    errors: int = 0,
) -> DriftAuditSummary:
    """A completed audit's summary from ``(kind, status)`` pairs."""
    return DriftAuditSummary(overlay, tuple(resources), finished_at, duration_seconds, errors, True)


def failed_audit_summary(overlay: str, finished_at: float, duration_seconds: float) -> DriftAuditSummary:
    """The summary of an audit that ended in an error before producing a report."""
    return DriftAuditSummary(overlay, (), finished_at, duration_seconds, 1, False)
