"""Airflow 3.3.2 for real: the option table the major upgrade applies is Airflow's own, and a
database made by Airflow 2.11.0, with a DAG run in it, migrates to 3.3.2 and keeps the run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.real.servers import Postgres, airflow_venv

AIRFLOW_2 = "2.11.0"
AIRFLOW_3 = "3.3.2"
KEPT_DAG = """
import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("kept_across_upgrade", start_date=pendulum.datetime(2026, 1, 1), schedule=None):
    EmptyOperator(task_id="only")
"""


def _airflow(version: str, args: list[str], env: dict[str, str], timeout: float = 600) -> str:
    venv = airflow_venv(version)
    result = subprocess.run(
        [str(venv / "bin" / "airflow"), *args],
        env={**env, "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"airflow {version} {' '.join(args)}: {result.stderr[-2000:]}"
    return result.stdout


def _base_env(home: Path, dsn: str, dags: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": dsn,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        }
    )
    return env


def test_the_option_table_is_what_airflow_3_reports(tmp_path: Path) -> None:
    python = airflow_venv(AIRFLOW_3) / "bin" / "python"
    result = subprocess.run(
        [str(python), str(REPO_ROOT / "scripts" / "update_airflow3_config_changes.py"), "--check"],
        env={**os.environ, "AIRFLOW_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_a_2_11_database_with_a_dag_run_migrates_to_3_and_keeps_it(
    postgres: Postgres, tmp_path: Path
) -> None:
    postgres.create_database("upgraded", "upgraded", "upgraded-pw")
    dsn = postgres.dsn("upgraded", "upgraded", "upgraded-pw").replace(
        "postgresql://", "postgresql+psycopg2://"
    )
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "kept.py").write_text(KEPT_DAG, encoding="utf-8")
    env2 = _base_env(tmp_path / "home-2", dsn, dags)
    _airflow(AIRFLOW_2, ["db", "migrate"], env2)
    # As the 2.11 scheduler does: the DAG parsed and serialized, then a run of it.
    _airflow(AIRFLOW_2, ["dags", "reserialize"], env2)
    _airflow(AIRFLOW_2, ["dags", "test", "kept_across_upgrade", "2026-01-02"], env2)
    query = "SELECT dag_id, run_id, state FROM dag_run ORDER BY run_id"
    before = postgres.psql(query, database="upgraded")
    assert before == "kept_across_upgrade|manual__2026-01-02T00:00:00+00:00|success"
    tasks_before = postgres.psql("SELECT task_id, state FROM task_instance", database="upgraded")
    version_2 = postgres.psql("SELECT version_num FROM alembic_version", database="upgraded")

    env3 = _base_env(tmp_path / "home-3", dsn, dags)
    _airflow(AIRFLOW_3, ["db", "migrate"], env3)
    assert postgres.psql(query, database="upgraded") == before
    assert postgres.psql("SELECT task_id, state FROM task_instance", database="upgraded") == tasks_before
    assert postgres.psql("SELECT version_num FROM alembic_version", database="upgraded") != version_2
    # Airflow 3 itself agrees the schema is its own, and lists the run through its CLI.
    _airflow(AIRFLOW_3, ["db", "check-migrations", "--migration-wait-timeout", "1"], env3)
    runs = _airflow(AIRFLOW_3, ["dags", "list-runs", "kept_across_upgrade", "--output", "plain"], env3)
    assert "manual__2026-01-02T00:00:00+00:00" in runs
    assert "success" in runs
