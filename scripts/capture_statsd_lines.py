"""Regenerates tests/data/statsd/airflow-VERSION.lines: the statsd lines real Airflow sends.

Runs the real-tier scenario (tests/real/airflow_run.py): a throw-away PostgreSQL, the migration
hook's command, the scheduler and the triggerer of the three-node-ha render with its rendered
environment (LocalExecutor for the KubernetesExecutor), a DAG with a dotted id whose TaskGroup task
``grp.inner`` defers; statsd pointed at a UDP listener on 127.0.0.1. Writes one line per distinct
metric name and type (the first value seen), sorted, so regenerating gives a stable file.

    .venv/bin/python scripts/capture_statsd_lines.py            # needs scripts/ci/install_real_software.sh
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.real.airflow_run import (  # noqa: E402
    AIRFLOW_VERSION,
    LocalRun,
    StatsdListener,
    render,
    run_scenario,
)
from tests.real.servers import airflow_venv, postgres_server  # noqa: E402

OVERLAY = "overlays/three-node-ha"


def distinct_lines(lines: list[str]) -> list[str]:
    """The first line of each (name, type) pair, sorted: ``name:value|type[|@rate][|#tags]``."""
    first: dict[tuple[str, str], str] = {}
    for line in lines:
        name, _, rest = line.partition(":")
        kind = rest.split("|")[1] if "|" in rest else ""
        first.setdefault((name, kind), line)
    return [first[key] for key in sorted(first)]


def capture(version: str = AIRFLOW_VERSION) -> list[str]:
    venv = airflow_venv(version)
    objects = render(ROOT, OVERLAY)
    with postgres_server() as pg, tempfile.TemporaryDirectory(prefix="gitops-statsd-") as tmp:
        pg.create_database("airflow", "airflow", "airflow-pass")
        with StatsdListener() as listener:
            local = LocalRun(venv, Path(tmp), pg.dsn("airflow", "airflow", "airflow-pass"), listener.port)
            result = run_scenario(objects, local, lambda q: pg.psql(q, database="airflow"))
        if result.dag_run_state != "success":
            raise SystemExit(f"the probe DAG run ended {result.dag_run_state!r}: {result.states_seen}")
        return listener.lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=AIRFLOW_VERSION)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    output = args.output or ROOT / "tests" / "data" / "statsd" / f"airflow-{args.version}.lines"
    lines = distinct_lines(capture(args.version))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"{len(lines)} distinct statsd lines -> {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
