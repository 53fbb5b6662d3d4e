"""The drift report as text (people), JSON (machines, stable schema) and Markdown (PR comments).

Secret values never reach these functions: the engine has already replaced them by ``MASK``.
"""

from __future__ import annotations

import json
from typing import Any

from gitops_tool.core.drift.model import (
    Difference,
    DriftReport,
    LiveOwner,
    ResourceResult,
    Status,
    owner_suffix,
)

_COLOURS = {
    Status.IN_SYNC: "\033[32m",
    Status.MODIFIED: "\033[33m",
    Status.MISSING: "\033[31m",
    Status.EXTRA: "\033[35m",
    Status.UNKNOWN: "\033[90m",
}
_RESET = "\033[0m"
_RED = "\033[31m"
_GREEN = "\033[32m"
_VALUE_WIDTH = 160


def _shown(report: DriftReport, show_in_sync: bool) -> list[ResourceResult]:
    return [r for r in report.resources if show_in_sync or r.status is not Status.IN_SYNC]


def to_json(report: DriftReport, show_in_sync: bool = False) -> dict[str, Any]:
    """The documented JSON schema (docs/concepts/drift.md)."""
    return {
        "overlay": report.overlay,
        "ref": report.ref,
        "summary": report.summary(),
        "resources": [
            {
                "apiVersion": r.api_version,
                "kind": r.kind,
                "namespace": r.namespace or None,
                "name": r.name,
                "status": str(r.status),
                "differences": [_difference_json(d) for d in r.differences],
                **({"live_owner": _owner_json(r.live_owner)} if r.status is Status.EXTRA else {}),
            }
            for r in _shown(report, show_in_sync)
        ],
        "unknown_scopes": [
            {
                "apiGroup": s.group,
                "kind": s.kind,
                "namespace": s.namespace or None,
                "name": s.name or None,
                "reason": s.reason,
            }
            for s in report.unknown_scopes
        ],
    }


def _difference_json(d: Difference) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": d.path,
        "desired": d.desired,
        "live": d.live,
        "reason": d.reason,
        "live_owner": _owner_json(d.live_owner),
    }
    if d.git_source is not None:
        out["git_source"] = d.git_source.to_json()
    return out


def _owner_json(owner: LiveOwner | None) -> dict[str, str | None] | None:
    return owner.to_json() if owner is not None else None


def render_json(report: DriftReport, show_in_sync: bool = False) -> str:
    return json.dumps(to_json(report, show_in_sync), indent=2, sort_keys=False)


def summary_line(report: DriftReport) -> str:
    counts = report.summary()
    where = report.overlay or "desired manifests"
    if report.ref:
        where += f" @ {report.ref}"
    parts = [
        f"{counts['modified']} modified",
        f"{counts['missing']} missing",
        f"{counts['extra']} extra",
        f"{counts['in_sync']} in sync",
    ]
    if counts["unknown"]:
        parts.append(f"{counts['unknown']} unknown")
    if counts["unknown_scopes"]:
        parts.append(f"{counts['unknown_scopes']} unreadable scope(s)")
    verdict = "drift" if report.has_drift else ("no drift" if not report.has_unknown else "incomplete")
    return f"{verdict}: {where}: " + ", ".join(parts)


def render_text(report: DriftReport, show_in_sync: bool = False, colour: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    lines = [summary_line(report)]
    shown = _shown(report, show_in_sync)
    if shown:
        kinds = max(len("KIND"), *(len(r.kind) for r in shown))
        names = max(len("NAMESPACE/NAME"), *(len(_where(r)) for r in shown))
        lines.append("")
        lines.append(f"{'KIND':<{kinds}}  {'NAMESPACE/NAME':<{names}}  STATUS")
        for r in shown:
            status = paint(str(r.status), _COLOURS[r.status])
            note = f"  ({r.note})" if r.note else ""
            if r.status is Status.EXTRA:
                note += f"  ({owner_suffix(r.live_owner)})"
            lines.append(f"{r.kind:<{kinds}}  {_where(r):<{names}}  {status}{note}")
    for r in shown:
        if not r.differences:
            continue
        lines.append("")
        lines.append(f"{r.title} ({r.status}):")
        for d in r.differences:
            lines.append(f"  {d.path}  [{d.reason}]  {owner_suffix(d.live_owner)}")
            if d.git_source is not None:
                lines.append(f"    desired value: {d.git_source.suffix()}")
            lines.append("    " + paint(f"- git:  {_value(d.desired)}", _RED))
            lines.append("    " + paint(f"+ live: {_value(d.live)}", _GREEN))
    if report.unknown_scopes:
        lines.append("")
        lines.append("Not read (unknown; missing or extra objects there would go unseen):")
        lines.extend(f"  {s.title}: {s.reason}" for s in report.unknown_scopes)
    if report.hooks_skipped:
        lines.append("")
        lines.append(f"{report.hooks_skipped} Argo CD hook resource(s) not compared (as Argo CD does).")
    return "\n".join(lines)


def render_markdown(report: DriftReport, show_in_sync: bool = False) -> str:
    lines = [f"### gitops-tool drift: {summary_line(report)}", ""]
    counts = report.summary()
    lines.append("| in sync | modified | missing | extra | unknown |")
    lines.append("|---:|---:|---:|---:|---:|")
    lines.append(
        f"| {counts['in_sync']} | {counts['modified']} | {counts['missing']} | {counts['extra']} "
        f"| {counts['unknown']} |"
    )
    shown = _shown(report, show_in_sync)
    if shown:
        lines += ["", "| kind | namespace/name | status |", "|---|---|---|"]
        for r in shown:
            note = f" ({_md(r.note)})" if r.note else ""
            if r.status is Status.EXTRA:
                note += f" ({_md(owner_suffix(r.live_owner))})"
            lines.append(f"| {r.kind} | `{_where(r)}` | **{r.status}**{note} |")
    for r in shown:
        if not r.differences:
            continue
        lines += [
            "",
            f"<details><summary>{_md(r.title)}: {len(r.differences)} difference(s)</summary>",
            "",
            "| path | Git | live | reason | live owner |",
            "|---|---|---|---|---|",
        ]
        for d in r.differences:
            source = f"<br>desired value: {_md(d.git_source.suffix())}" if d.git_source is not None else ""
            lines.append(
                f"| `{_md(d.path)}` | `{_md(_value(d.desired))}` | `{_md(_value(d.live))}` "
                f"| {_md(d.reason)} | {_md(owner_suffix(d.live_owner))}{source} |"
            )
        lines += ["", "</details>"]
    if report.unknown_scopes:
        lines += ["", "**Not read** (unknown; missing or extra objects there would go unseen):", ""]
        lines.extend(f"- {_md(s.title)}: {_md(s.reason)}" for s in report.unknown_scopes)
    return "\n".join(lines)


def _where(r: ResourceResult) -> str:
    return f"{r.namespace}/{r.name}" if r.namespace else r.name


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")
