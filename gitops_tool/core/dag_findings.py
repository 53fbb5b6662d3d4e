"""What ruff's Airflow 3 rules (AIR3xx) report about a DAG folder, checked and made readable.

Pure: parses ruff's ``--output-format json`` text; anything not of that shape is an error, never
"no findings".
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from gitops_tool.errors import RuffReportError


@dataclass(frozen=True, order=True)
class DagFinding:
    file: str
    row: int
    column: int
    code: str
    message: str

    def line(self, base: PurePath | None = None) -> str:
        shown = self.file
        if base is not None:
            with contextlib.suppress(ValueError):
                shown = PurePath(self.file).relative_to(base).as_posix()
        return f"{shown}:{self.row}:{self.column}: {self.code} {self.message}"


def parse_ruff_json(text: str) -> list[DagFinding]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuffReportError(f"ruff printed no JSON report ({exc.msg})") from None
    if not isinstance(data, list):
        raise RuffReportError("ruff's JSON report is not a list of findings")
    findings = []
    for item in data:
        location = item.get("location") if isinstance(item, dict) else None
        if not isinstance(location, dict) or not isinstance(item.get("code"), str):
            raise RuffReportError("ruff's JSON report has a finding without code or location")
        findings.append(
            DagFinding(
                str(item.get("filename", "")),
                int(location.get("row", 0)),
                int(location.get("column", 0)),
                item["code"],
                str(item.get("message", "")).strip(),
            )
        )
    return sorted(findings)
