"""Real Airflow 2.11 loads the repo's tagging statsd client and sends what the mapping expects.

Airflow's Stats is configured from the rendered scheduler container's metrics settings
(base/config/airflow.env plus the scheduler's own env), the client file is placed where the
scheduler mounts it ($AIRFLOW_HOME/config), and the datagrams are caught on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from gitops_tool.core.images import pod_spec
from tests import metrics_catalog as catalog
from tests.manifests_support import HA, find, rendered
from tests.real.servers import airflow_venv

CLIENT = catalog.REPO / "base" / "config" / "statsd-client" / "gitops_statsd_client.py"
SCRIPT = """
from airflow.stats import Stats
Stats.incr("scheduler_heartbeat", 1, 1)
# As the scheduler sends pool gauges: folded and tagged (scheduler_job_runner.py).
Stats.gauge("pool.open_slots.p", 7)
Stats.gauge("pool.open_slots", 7, tags={"pool_name": "p"})
Stats.gauge("executor.open_slots", -3)
Stats.timing("task.duration", 1500, tags={"dag_id": "a.b", "task_id": "grp.inner"})
"""


def _scheduler_metrics_env() -> dict[str, str]:
    objects = rendered(HA)
    scheduler = find(objects, "Deployment", "airflow-scheduler-1")
    spec = pod_spec(scheduler) or {}
    (container,) = [c for c in spec["containers"] if c["name"] == "airflow-scheduler"]
    env: dict[str, str] = {}
    config_name = container["envFrom"][0]["configMapRef"]["name"]
    (config,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == config_name]
    env.update({k: str(v) for k, v in config["data"].items() if k.startswith("AIRFLOW__METRICS__")})
    for item in container["env"]:
        if "value" in item and (
            item["name"].startswith("AIRFLOW__METRICS__") or item["name"].startswith("GITOPS")
        ):
            env[item["name"]] = str(item["value"]).replace("$(NODE_NAME)", "node-2")
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/opt/airflow/config" in mounts
    return env


def test_airflow_loads_the_client_and_tags_every_line(tmp_path: Path) -> None:
    venv = airflow_venv("2.11.0")
    metrics = _scheduler_metrics_env()
    assert metrics["AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED"] == "True"
    assert metrics["AIRFLOW__METRICS__TIMER_UNIT_CONSISTENCY"] == "True"
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / CLIENT.name).write_text(CLIENT.read_text(encoding="utf-8"), encoding="utf-8")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(metrics)
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                "AIRFLOW__METRICS__STATSD_PORT": str(sock.getsockname()[1]),
            }
        )
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-c", SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Could not configure StatsClient" not in result.stderr
        lines: list[str] = []
        try:
            while True:
                lines.extend(sock.recv(65535).decode().split("\n"))
        except TimeoutError:
            pass
    assert lines, result.stderr[-2000:]
    assert all(line.partition(":")[0].endswith(",component=scheduler,node_name=node-2") for line in lines), (
        lines
    )
    samples = {(s.name, s.labels) for s in catalog.statsd_samples(lines)}
    assert len([name for name, _ in samples if name == "airflow_pool_open_slots"]) == 1  # the twin dropped
    assert (
        "airflow_pool_open_slots",
        (("component", "scheduler"), ("node_name", "node-2"), ("pool", "p")),
    ) in samples
    assert (
        "airflow_task_duration",
        (("component", "scheduler"), ("dag_id", "a.b"), ("node_name", "node-2"), ("task_id", "grp.inner")),
    ) in samples
    # A negative gauge goes out as a pipeline of two lines ("0" then the value): both tagged.
    assert sum(1 for line in lines if line.startswith("airflow.executor.open_slots,")) == 2
