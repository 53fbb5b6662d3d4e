"""``upgrade-airflow --check-dags PATH``: which DAG code breaks on Airflow 3, by ruff's AIR3 rules."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from gitops_tool.adapters.process import run_tool
from gitops_tool.core.dag_findings import parse_ruff_json
from gitops_tool.errors import UserError

RULES = "AIR3"


def _ruff() -> str:
    beside = Path(sys.executable).parent / "ruff"
    found = str(beside) if beside.is_file() else shutil.which("ruff")
    if not found:
        raise UserError("--check-dags needs ruff: pip install ruff (in the tool's environment)")
    return found


def check_airflow3_dags(folder: Path) -> list[str]:
    """One line per finding (``file:row:col: AIR3xx message``), files relative to ``folder``."""
    if not folder.is_dir():
        raise UserError(f"--check-dags {folder}: not a folder")
    args = [_ruff(), "check", "--isolated", "--no-cache", "--exit-zero", "--select", RULES]
    args += ["--output-format", "json", str(folder)]
    findings = parse_ruff_json(run_tool(args, "ruff check"))
    return [finding.line(folder.resolve()) for finding in findings]
