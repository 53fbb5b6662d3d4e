"""The Airflow 3 layout against real Apache Airflow 3.3.2, as `upgrade-airflow 3.3.2 --major` writes
it into a copy of this repository:

- every AIRFLOW__* option of every Airflow container of both overlays is known to Airflow 3.3.2 and
  its providers and is no deprecated name; `airflow config lint` names none of them;
- every worker pod template becomes a worker pod through the cncf.kubernetes provider's
  PodGenerator.construct_pod, as Airflow 3's KubernetesExecutor builds one;
- on a real PostgreSQL, the first start: the migration hook's command, then the api-server, the DAG
  processor, the scheduler and the triggerer with their rendered environment (LocalExecutor standing
  in for the KubernetesExecutor: it runs each task through the API server's Task Execution API, as
  the worker pods do); the API server's health endpoint answers, the DAG processor parses the DAG,
  a deferrable TaskGroup task and a plain task succeed, and the liveness probes pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core.images import embedded_pods
from gitops_tool.core.objects import describe
from tests.conftest import REPO_ROOT, git
from tests.real.airflow_run import (
    LocalRun,
    StatsdListener,
    airflow_options,
    airflow_python,
    config_map_files,
    find_container,
    probe_command,
    process,
    render,
    run,
    wait_for,
)
from tests.real.servers import Postgres, airflow_venv, free_port

AIRFLOW_3 = "3.3.2"
OVERLAYS = ("overlays/single-node-legacy", "overlays/three-node-ha")


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the repository after `gitops-tool upgrade-airflow 3.3.2 --major`, run as a user runs it."""
    repo = tmp_path_factory.mktemp("airflow3") / "project"
    repo.mkdir()
    for name in ("base", "overlays", "policies", "argocd", "components", "schemas"):
        shutil.copytree(REPO_ROOT / name, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    tool = Path(sys.executable).parent / "gitops-tool"
    result = subprocess.run(
        [str(tool), "upgrade-airflow", AIRFLOW_3, "--major", "--backup-confirmed"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    yield repo


# Run by Airflow 3.3.2's Python: {"options": [[ENV_NAME, value], ...]} on stdin, one problem a line.
CHECK_OPTIONS = r"""
import json, sys
pairs = json.load(sys.stdin)["options"]
from airflow.configuration import conf
from airflow.providers_manager import ProvidersManager
ProvidersManager().initialize_providers_configuration()
description = conf.configuration_description
old_names = {(old[0], old[1]): new for new, old in conf.deprecated_options.items()}
for name, value in pairs:
    parts = name.split("__")
    if len(parts) != 3:
        print(f"PROBLEM {name}: not an AIRFLOW__SECTION__OPTION name")
        continue
    section, option = parts[1].lower(), parts[2].lower()
    known = description.get(section, {}).get("options", {})
    for suffix in ("_cmd", "_secret"):
        if option.endswith(suffix) and option[: -len(suffix)] in known:
            option = option[: -len(suffix)]
    if (section, option) in old_names:
        new = old_names[(section, option)]
        print(f"PROBLEM {name}: deprecated, use [{new[0]}] {new[1]}")
    elif option not in description.get(section, {}).get("options", {}):
        print(f"PROBLEM {name}: unknown option")
"""


def check_options(pairs: set[tuple[str, str]], home: Path) -> list[str]:
    stdin = json.dumps({"options": sorted(pairs)})
    output = airflow_python(AIRFLOW_3, CHECK_OPTIONS, home=home, timeout=300, stdin=stdin)
    # Airflow logs to stdout too: the checker's own lines are the ones it marks.
    return [line.removeprefix("PROBLEM ") for line in output.splitlines() if line.startswith("PROBLEM ")]


def test_the_option_check_catches_unknown_and_deprecated_names(tmp_path: Path) -> None:
    problems = "\n".join(
        check_options(
            {
                ("AIRFLOW__CORE__PARALELLISM", "16"),
                ("AIRFLOW__WEBSERVER__SECRET_KEY", "x"),
                ("AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR", "False"),
                ("AIRFLOW__API__PORT", "8080"),
            },
            tmp_path,
        )
    )
    assert "AIRFLOW__CORE__PARALELLISM: unknown option" in problems
    assert "AIRFLOW__WEBSERVER__SECRET_KEY: deprecated, use [api] secret_key" in problems
    assert "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR: unknown option" in problems
    assert "AIRFLOW__API__PORT" not in problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_upgraded_options_are_known_to_airflow_3(upgraded: Path, overlay: str, tmp_path: Path) -> None:
    objects = render(upgraded, overlay)
    pairs = airflow_options(objects)
    assert len(pairs) > 30, sorted(pairs)
    problems = check_options(pairs, tmp_path)
    assert not problems, "\n".join(problems)
    # `airflow config lint` of Airflow 3.3.2 (what it removed or moved) names none of our options.
    scheduler = find_container(objects, ["airflow", "scheduler"])
    local = LocalRun(airflow_venv(AIRFLOW_3), tmp_path, "postgresql://lint@127.0.0.1:9/lint", 9125)
    output = run(["airflow", "config", "lint"], local.env(dict(pairs) | scheduler.env), timeout=300)
    ours = {name.split("__")[2].lower() for name, _ in pairs}
    flagged = [
        line
        for line in output.splitlines()
        if line.strip().startswith("- ") and any(f"`{option}`" in line for option in ours)
    ]
    # The executor's default changed (SequentialExecutor -> LocalExecutor): a note, not an error.
    assert [line for line in flagged if "`executor`" not in line] == [], "\n".join(flagged)


CONSTRUCT_POD = r"""
import json, sys, yaml
from kubernetes.client import ApiClient
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
base = PodGenerator.deserialize_model_file(sys.argv[1])
pod = PodGenerator.construct_pod(
    dag_id="gitops.probe", task_id="grp.inner", pod_id="gitops-probe-grp-inner",
    try_number=1, kube_image=base.spec.containers[0].image, date=None,
    args=["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"],
    pod_override_object=None, base_worker_pod=base, namespace="airflow", scheduler_job_id="1",
    run_id="manual__2026-01-01T00:00:00+00:00", with_mutation_hook=True,
)
print(json.dumps(ApiClient().sanitize_for_serialization(pod)))
"""


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_pod_templates_become_airflow_3_worker_pods(
    upgraded: Path, overlay: str, tmp_path: Path
) -> None:
    objects = render(upgraded, overlay)
    templates = [(describe(o), pod) for o in objects for pod in embedded_pods(o)]
    assert templates
    for where, template in templates:
        path = tmp_path / "pod_template_file.yaml"
        path.write_text(yaml.safe_dump(template))
        output = airflow_python(AIRFLOW_3, CONSTRUCT_POD, str(path), home=tmp_path, timeout=300, what=where)
        spec, want = json.loads(output)["spec"], template["spec"]
        base = spec["containers"][0]
        assert base["name"] == "base", where
        assert base["image"] == "apache/airflow:3.3.2-python3.12", where
        assert base["args"][:3] == ["python", "-m", "airflow.sdk.execution_time.execute_workload"], where
        assert {v["name"] for v in spec["volumes"]} == {v["name"] for v in want["volumes"]}, where
        assert base.get("envFrom") == want["containers"][0].get("envFrom"), where
        assert spec.get("affinity") == want.get("affinity"), where


DAG_ID = "gitops.probe3"
# Airflow 3 DAG code: the task SDK and the standard provider; a deferrable sensor in a TaskGroup.
PROBE_DAG = """
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG, TaskGroup

with DAG("gitops.probe3", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    with TaskGroup("grp"):
        # Waits 8 s from its own start, however late that is (a busy machine): it always defers.
        inner = DateTimeSensorAsync(
            task_id="inner", target_time="{{ (ti.start_date + macros.timedelta(seconds=8)).isoformat() }}"
        )
    done = BashOperator(task_id="done", bash_command="true")
    inner >> done
"""


def _health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5) as answer:
            data = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@pytest.mark.slow
def test_first_start_of_the_airflow_3_layout(upgraded: Path, postgres: Postgres, tmp_path: Path) -> None:
    postgres.create_database("airflow3_first", "airflow3", "a3-pass")
    objects = render(upgraded, "overlays/three-node-ha")
    migrate = find_container(objects, ["airflow", "db", "migrate"])
    api_server = find_container(objects, ["airflow", "api-server"])
    processor = find_container(objects, ["airflow", "dag-processor"])
    scheduler = find_container(objects, ["airflow", "scheduler"])
    triggerer = find_container(objects, ["airflow", "triggerer"])
    port = free_port()
    listener = StatsdListener()
    local = LocalRun(
        airflow_venv(AIRFLOW_3),
        tmp_path,
        postgres.dsn("airflow3_first", "airflow3", "a3-pass"),
        listener.port,
    )

    def env(container: Any) -> dict[str, str]:
        values = local.env(container.env)
        # The API server's port here, and the workers' Task Execution API at it (the Service in the cluster).
        values["AIRFLOW__API__PORT"] = str(port)
        values["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
        return values

    def sql(query: str) -> str:
        return postgres.psql(query, database="airflow3_first")

    for container in (migrate, api_server, processor, scheduler, triggerer):
        local.install_files(config_map_files(container, objects))
    run(migrate.args, env(migrate), timeout=600)
    dags = Path(env(scheduler)["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "gitops_probe3.py").write_text(PROBE_DAG, encoding="utf-8")
    logs = tmp_path / "process-logs"
    logs.mkdir()
    with (
        listener,
        process(api_server.args, env(api_server), logs / "api-server.log"),
        process(processor.args, env(processor), logs / "dag-processor.log"),
        process(scheduler.args, env(scheduler), logs / "scheduler.log"),
        process(triggerer.args, env(triggerer), logs / "triggerer.log"),
    ):
        health = wait_for(lambda: _health(port), timeout=300, what=f"the API server's health (logs: {logs})")
        assert health["metadatabase"]["status"] == "healthy", health
        wait_for(
            lambda: sql(f"SELECT count(*) FROM dag WHERE dag_id = '{DAG_ID}'") == "1",  # noqa: S608
            timeout=300,
            what=f"the DAG processor to parse {DAG_ID} (logs: {logs})",
        )
        sql(f"UPDATE dag SET is_paused = false WHERE dag_id = '{DAG_ID}'")  # noqa: S608
        run(["airflow", "dags", "trigger", DAG_ID], env(scheduler), timeout=300)
        seen: dict[str, list[str]] = {}

        def finished() -> str:
            rows = sql(
                f"SELECT task_id, coalesce(state, 'none') FROM task_instance WHERE dag_id = '{DAG_ID}'"  # noqa: S608
            )
            for row in rows.splitlines():
                task, state = row.split("|")
                if not seen.get(task) or seen[task][-1] != state:
                    seen.setdefault(task, []).append(state)
            state = sql(f"SELECT state FROM dag_run WHERE dag_id = '{DAG_ID}'")  # noqa: S608
            return state if state in ("success", "failed") else ""

        state = wait_for(finished, timeout=400, what=f"the {DAG_ID} run (logs: {logs})", interval=0.5)
        assert state == "success", (seen, (logs / "scheduler.log").read_text()[-3000:])
        assert "deferred" in seen["grp.inner"], seen
        for name, container in (
            ("scheduler", scheduler),
            ("triggerer", triggerer),
            ("dag-processor", processor),
        ):
            output = run(probe_command(container, "livenessProbe"), env(container), timeout=300)
            assert "Found one alive job" in output or "alive" in output.lower(), (name, output[-1000:])
    # The rendered statsd settings work for Airflow 3 too: the DAG processor's heartbeat arrives.
    assert any(line.startswith("airflow.dag_processor_heartbeat") for line in listener.lines), listener.lines[
        :20
    ]
