"""Findings of validation (schema and policy) and how they are reported."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One reason an object is not acceptable."""

    overlay: str
    source: str  # "schema" or "policy:<package>"
    object: str  # e.g. Deployment/airflow/airflow-scheduler-1
    path: str  # field path inside the object, "" for the whole object
    message: str
    rule: str = ""


@dataclass
class OverlayReport:
    overlay: str
    objects: int = 0
    violations: list[Violation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # objects with no schema, with the reason
    exceptions: list[str] = field(default_factory=list)  # policy exceptions granted in the manifests
    layout: str = ""  # "ha" or "legacy" as the policies saw it, with the reason; "" when not checked
    warnings: list[str] = field(default_factory=list)  # worth fixing, never a failure (stderr)

    @property
    def ok(self) -> bool:
        return not self.violations


def reports_to_json(reports: list[OverlayReport], kubernetes_version: str) -> dict[str, Any]:
    return {
        "kubernetes_version": kubernetes_version,
        "ok": all(r.ok for r in reports),
        "overlays": [
            {
                "overlay": r.overlay,
                "objects": r.objects,
                "ok": r.ok,
                "violations": [asdict(v) for v in r.violations],
                "skipped": r.skipped,
                "exceptions": r.exceptions,
                "layout": r.layout,
            }
            for r in reports
        ],
    }


def reports_to_text(reports: list[OverlayReport], kubernetes_version: str) -> str:
    lines: list[str] = []
    for report in reports:
        state = "ok" if report.ok else f"{len(report.violations)} violation(s)"
        lines.append(f"{report.overlay}: {report.objects} objects, Kubernetes {kubernetes_version}: {state}")
        if report.layout:
            lines.append(f"  layout: {report.layout}")
        for v in report.violations:
            where = f" at {v.path}" if v.path else ""
            rule = f" [{v.rule}]" if v.rule else ""
            lines.append(f"  {v.source}{rule}: {v.object}{where}: {v.message}")
        for skipped in report.skipped:
            lines.append(f"  skipped: {skipped}")
        for exc in report.exceptions:
            lines.append(f"  exception: {exc}")
    return "\n".join(lines)
