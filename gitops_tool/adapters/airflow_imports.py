"""``dags push --check-imports``: import the DAG folder with the user's own Airflow.

Airflow is not a dependency of gitops-tool (it is large and pins much); the check runs Airflow's
``DagBag`` in the Python that runs the local ``airflow`` command, or the one named by
``GITOPS_TOOL_AIRFLOW_PYTHON``, with a throw-away ``AIRFLOW_HOME`` so no configuration or database
of the user is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from gitops_tool.adapters.process import run_tool
from gitops_tool.errors import UserError

AIRFLOW_PYTHON_ENV = "GITOPS_TOOL_AIRFLOW_PYTHON"
_MARK = "gitops-tool-import-report:"
_PROBE = f"""
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], include_examples=False, safe_mode=False)
print({_MARK!r} + json.dumps({{"errors": dict(bag.import_errors), "dags": sorted(bag.dag_ids)}}))
"""


def find_airflow_python() -> str:
    """The interpreter of the local Airflow; ``UserError`` saying how to provide one when none."""
    explicit = os.environ.get(AIRFLOW_PYTHON_ENV)
    if explicit:
        if not (Path(explicit).is_file() and os.access(explicit, os.X_OK)):
            raise UserError(f"{AIRFLOW_PYTHON_ENV}={explicit} is not an executable Python")
        return explicit
    airflow = shutil.which("airflow")
    if airflow:
        with Path(airflow).open("rb") as handle:
            first = handle.readline(512).decode("utf-8", "replace").strip()
        if first.startswith("#!") and "python" in first:
            return first[2:].strip().split()[0]
    raise UserError(
        "--check-imports needs a local Apache Airflow and none was found (no `airflow` command on "
        f"PATH); install apache-airflow in a virtualenv and activate it, or set {AIRFLOW_PYTHON_ENV} to "
        "its Python. Without --check-imports every file is still compiled."
    )


def import_errors(folder: Path, python: str) -> dict[str, str]:
    """``file -> error`` for every DAG file Airflow fails to import (empty when all import)."""
    with tempfile.TemporaryDirectory(prefix="gitops-tool-airflow-home-") as home:
        env_args = [
            f"AIRFLOW_HOME={home}",
            "AIRFLOW__CORE__LOAD_EXAMPLES=False",
            "AIRFLOW__CORE__UNIT_TEST_MODE=True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL=ERROR",
        ]
        output = run_tool(
            ["env", *env_args, python, "-c", _PROBE, str(folder.resolve())],
            f"Airflow could not load {folder} (--check-imports)",
        )
    for line in reversed(output.splitlines()):
        if line.startswith(_MARK):
            report = json.loads(line[len(_MARK) :])
            root = str(folder.resolve())
            return {
                os.path.relpath(path, root) if path.startswith(root) else path: str(error).strip()
                for path, error in sorted(report["errors"].items())
            }
    raise UserError(f"--check-imports: {python} printed no import report; is it Apache Airflow's Python?")
