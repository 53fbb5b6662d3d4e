"""Regenerates tests/data/statsd/airflow-2.11.0-tagged.lines: statsd lines real Airflow 2.11 sends.

Runs `airflow scheduler` and `airflow triggerer` from the cached Airflow virtualenv (see
scripts/ci/install_real_software.sh) on sqlite with the SequentialExecutor, with the metrics settings
of base/config/airflow.env (InfluxDB tags, timer unit consistency) and the tagging client of
base/config/statsd-client, triggers two DAGs (a dotted DAG id, a TaskGroup task, a deferrable sensor,
a failing task) and records every datagram sent to a UDP listener on 127.0.0.1.

    .venv/bin/python scripts/capture_statsd_tagged.py [seconds]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "base" / "config" / "statsd-client" / "gitops_statsd_client.py"
OUT = ROOT / "tests" / "data" / "statsd" / "airflow-2.11.0-tagged.lines"
VENV = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitops-tool" / "airflow-2.11.0"
HEADER = """\
# Statsd lines real Apache Airflow 2.11.0 sent (first line of each distinct name+tags+type, sorted).
# Captured by scripts/capture_statsd_tagged.py: sqlite, SequentialExecutor, `airflow
# scheduler` and `airflow triggerer` for {seconds} s with two DAGs (`gitops.probe`, `plain`; TaskGroup task
# `grp.inner`, a deferrable sensor, a failing task), [metrics] statsd_influxdb_enabled = True,
# timer_unit_consistency = True, and base/config/statsd-client/gitops_statsd_client.py as
# statsd_custom_client_path with GITOPS_TOOL_STATSD_TAGS=component=<process>,node_name=node-a.
"""
DAGS = """
from datetime import datetime, timedelta
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.sensors.time_delta import TimeDeltaSensorAsync
from airflow.utils.task_group import TaskGroup
for dag_id in ("gitops.probe", "plain"):
    with DAG(dag_id, start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
        with TaskGroup("grp"):
            inner = TimeDeltaSensorAsync(task_id="inner", delta=timedelta(seconds=2))
        done = BashOperator(task_id="done", bash_command="true")
        fail = BashOperator(task_id="fail", bash_command="exit 1")
        inner >> done
    globals()[dag_id.replace(".", "_")] = dag
"""


class Listener:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.lines: list[str] = []
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            data, _ = self.sock.recvfrom(65535)
            self.lines.extend(data.decode().split("\n"))


def distinct(lines: list[str]) -> list[str]:
    first: dict[tuple[str, str], str] = {}
    for line in lines:
        if line:
            name, _, rest = line.partition(":")
            first.setdefault((name, rest.split("|")[1] if "|" in rest else ""), line)
    return [first[key] for key in sorted(first)]


def capture(home: Path, seconds: int) -> list[str]:
    (home / "dags").mkdir(parents=True)
    (home / "config").mkdir()
    shutil.copy(CLIENT, home / "config" / CLIENT.name)
    (home / "dags" / "gitops_probe.py").write_text(DAGS, encoding="utf-8")
    listener = Listener()
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    base.update(
        {
            "AIRFLOW_HOME": str(home),
            "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(listener.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
            "AIRFLOW__METRICS__TIMER_UNIT_CONSISTENCY": "True",
            "AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED": "True",
            "AIRFLOW__METRICS__STATSD_CUSTOM_CLIENT_PATH": "gitops_statsd_client.TaggedStatsClient",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
        }
    )

    def env(component: str) -> dict[str, str]:
        return {**base, "GITOPS_TOOL_STATSD_TAGS": f"component={component},node_name=node-a"}

    with (home / "run.log").open("w") as log:
        subprocess.run(["airflow", "db", "migrate"], env=env("migration"), check=True, stdout=log, stderr=log)
        procs = [
            subprocess.Popen(["airflow", name], env=env(name), stdout=log, stderr=log, start_new_session=True)
            for name in ("scheduler", "triggerer")
        ]
        try:
            time.sleep(25)
            for dag_id in ("gitops.probe", "plain"):
                subprocess.run(
                    ["airflow", "dags", "trigger", dag_id], env=env("cli"), stdout=log, stderr=log, check=True
                )
            time.sleep(seconds)
            return list(listener.lines)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(20)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory(prefix="gitops-statsd-") as tmp:
        lines = capture(Path(tmp) / "home", seconds)
    OUT.write_text(
        HEADER.format(seconds=seconds) + "".join(line + "\n" for line in distinct(lines)), encoding="utf-8"
    )
    print(f"{len(lines)} lines, {len(distinct(lines))} distinct -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
