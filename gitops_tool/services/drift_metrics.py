"""``gitops-tool drift --metrics-file``: the audit's outcome as a node-exporter textfile.

The file is written atomically (a collector scraping mid-write sees the old file or the new one)
after every audit, a failed one included: then it says so (``gitops_drift_audit_success 0``) and
the error still reaches the user. Every way an audit can fail counts: an error (exit 2), a bug
(exit 3, also one while the report is printed), an interruption (exit 130).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from gitops_tool.adapters.files import atomic_write
from gitops_tool.core import conventions as c
from gitops_tool.core.drift.model import DriftReport, Status
from gitops_tool.core.drift_metrics import (
    DriftAuditSummary,
    failed_audit_summary,
    format_drift_metrics,
    summary_of_statuses,
)
from gitops_tool.errors import GitopsError, UserError
from gitops_tool.services.drift import DriftRequest, Progress, run_drift


def check_metrics_file(path: Path) -> None:
    """Refuse an unwritable destination before the audit runs, not after."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise UserError(f"cannot write metrics file {path}: folder {folder} does not exist")
    if path.is_dir():
        raise UserError(f"metrics file {path} is a folder")


def run_drift_with_metrics(
    request: DriftRequest, metrics_file: Path, progress: Progress, present: Callable[[DriftReport], int]
) -> int:
    """Run the audit, ``present`` its report (returns the exit code), and write the metrics file."""
    check_metrics_file(metrics_file)
    started = time.monotonic()
    try:
        report = run_drift(request, progress)
    except BaseException:
        _write_failed(metrics_file, request, started)
        raise
    summary = summary_of_report(report, request, time.time(), time.monotonic() - started)
    try:
        code = present(report)
    except GitopsError:  # the audit ran and its report was shown (e.g. unknown resources refused)
        _write(metrics_file, summary)
        raise
    except BaseException:
        _write_failed(metrics_file, request, started)
        raise
    _write(metrics_file, summary)
    return code


def _write_failed(metrics_file: Path, request: DriftRequest, started: float) -> None:
    label = request.overlay or (request.desired_file and "desired-file") or c.DEFAULT_OVERLAY
    # The failure the caller re-raises matters more than a metrics file that cannot be written.
    with contextlib.suppress(OSError):
        _write(metrics_file, failed_audit_summary(label, time.time(), time.monotonic() - started))


def summary_of_report(
    report: DriftReport, request: DriftRequest, finished_at: float, duration_seconds: float
) -> DriftAuditSummary:
    label = report.overlay or request.overlay or "desired-file"
    statuses = [(resource.kind, str(resource.status)) for resource in report.resources]
    # Resources the auditor could not read are what makes an audit partial: they count as errors,
    # and so does each unreadable scope no unknown resource stands for (it could hide extras).
    errors = report.count(Status.UNKNOWN) + len(report.scopes_without_results())
    return summary_of_statuses(label, statuses, finished_at, duration_seconds, errors)


def _write(path: Path, summary: DriftAuditSummary) -> None:
    atomic_write(path, format_drift_metrics(summary))
