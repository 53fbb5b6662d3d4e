"""Real Airflow driven by the rendered manifests: the environment of every Airflow container, read from
the overlay as the kubelet would build it, turned into a local run (PostgreSQL on loopback,
LocalExecutor standing in for the KubernetesExecutor, folders under a temp AIRFLOW_HOME) and the
processes the overlays run (the migration hook, the scheduler, the triggerer) started from it.

Used by the `real` tier (Airflow 2.11 and 3). Every process has a timeout and is killed on the way out.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.images import embedded_pods, pod_spec
from gitops_tool.core.objects import Manifest, describe
from gitops_tool.services.rendering import render_overlay
from tests.real.servers import airflow_venv, free_port

AIRFLOW_VERSION = "2.11.0"
AIRFLOW_IMAGE = "apache/airflow"
CONTAINER_HOME = "/opt/airflow"
# Stand-ins for the values the pods read from Secret airflow-secrets (never in the render).
SECRET_PLACEHOLDER = "<secret>"


def render(repo: Path, overlay: str) -> list[Manifest]:
    """``overlay`` of the project at ``repo`` rendered by the tool (the pinned kustomize)."""
    result = render_overlay(str(repo / overlay), root=repo)
    return parse_manifests(result.text, overlay)


@dataclass(frozen=True)
class AirflowContainer:
    """One container running the Airflow image, with the environment its pod would get."""

    where: str
    container: Manifest
    pod: Manifest
    env: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.container.get("name", ""))

    @property
    def args(self) -> list[str]:
        return [str(a) for a in (self.container.get("command") or []) + (self.container.get("args") or [])]


def _config_maps(objects: list[Manifest]) -> dict[str, dict[str, str]]:
    return {
        str(obj["metadata"]["name"]): {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
        for obj in objects
        if obj.get("kind") == "ConfigMap"
    }


def container_env(
    container: Mapping[str, Any], config_maps: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """The environment the kubelet builds: envFrom ConfigMaps first, then env (which wins).

    A secretKeyRef becomes SECRET_PLACEHOLDER; a missing ConfigMap is an error (the pod would not start).
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref is None:
            raise AssertionError(f"unsupported envFrom {source!r}")
        name = str(ref["name"])
        if name not in config_maps:
            raise AssertionError(f"envFrom names ConfigMap {name} that the render does not hold")
        prefix = str(source.get("prefix") or "")
        env.update({prefix + k: v for k, v in config_maps[name].items()})
    for item in container.get("env") or []:
        if "value" in item:
            env[str(item["name"])] = str(item["value"])
        elif "secretKeyRef" in (item.get("valueFrom") or {}):
            env[str(item["name"])] = SECRET_PLACEHOLDER
        elif "configMapKeyRef" in (item.get("valueFrom") or {}):
            ref = item["valueFrom"]["configMapKeyRef"]
            env[str(item["name"])] = config_maps[str(ref["name"])][str(ref["key"])]
        elif "fieldRef" in (item.get("valueFrom") or {}):
            env[str(item["name"])] = FIELD_VALUES.get(str(item["valueFrom"]["fieldRef"]["fieldPath"]), "")
        else:
            env[str(item["name"])] = ""
    # $(NAME) refers to a variable defined earlier in the container's env (the kubelet expands it).
    return {name: _DEPENDENT.sub(lambda m: env.get(m[1], m[0]), value) for name, value in env.items()}


# What the downward API would give a pod here.
FIELD_VALUES = {"spec.nodeName": "local-node", "metadata.name": "local-pod", "metadata.namespace": "airflow"}
_DEPENDENT = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def config_map_files(container: AirflowContainer, objects: list[Manifest]) -> dict[str, str]:
    """Files the container sees from its ConfigMap volumes: mount path/key -> content."""
    config_maps = _config_maps(objects)
    spec = pod_spec(container.pod) or {}
    volumes = {str(v["name"]): v for v in spec.get("volumes") or []}
    files: dict[str, str] = {}
    for mount in container.container.get("volumeMounts") or []:
        source = volumes.get(str(mount["name"]), {}).get("configMap")
        if source is None:
            continue
        data = config_maps.get(str(source["name"]))
        if data is None:  # a hashed name: generated ConfigMaps keep the name with a suffix
            matches = [v for k, v in config_maps.items() if k.rsplit("-", 1)[0] == source["name"]]
            data = matches[0] if len(matches) == 1 else {}
        for key, content in data.items():
            files[f"{mount['mountPath']}/{key}"] = content
    return files


def airflow_containers(objects: list[Manifest]) -> list[AirflowContainer]:
    """Every container (init containers included) running the Airflow image, in workloads and in the
    worker pod templates the KubernetesExecutor reads."""
    config_maps = _config_maps(objects)
    found: list[AirflowContainer] = []
    for obj in objects:
        owner = describe(obj)
        pods: list[tuple[str, Manifest]] = [(owner, obj)]
        pods += [(f"{owner} (pod template)", pod) for pod in embedded_pods(obj)]
        for label, pod in pods:
            spec = pod_spec(pod)
            if not spec:
                continue
            for container in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
                if str(container.get("image", "")).startswith(AIRFLOW_IMAGE + ":"):
                    found.append(
                        AirflowContainer(
                            f"{label} [{container.get('name')}]",
                            container,
                            pod,
                            container_env(container, config_maps),
                        )
                    )
    return found


def airflow_options(objects: list[Manifest]) -> set[tuple[str, str]]:
    """Every (AIRFLOW__ option, value) any Airflow container of the render sets (Secrets excluded)."""
    return {
        (name, value)
        for container in airflow_containers(objects)
        for name, value in container.env.items()
        if name.startswith("AIRFLOW__") and value != SECRET_PLACEHOLDER
    }


def find_container(objects: list[Manifest], args_prefix: list[str]) -> AirflowContainer:
    """The first main Airflow container whose command line starts with ``args_prefix``."""
    for candidate in airflow_containers(objects):
        if candidate.args[: len(args_prefix)] == args_prefix:
            return candidate
    raise AssertionError(f"no Airflow container runs {' '.join(args_prefix)!r} in the render")


@dataclass(frozen=True)
class LocalRun:
    """Where a local Airflow run lives and what it connects to."""

    venv: Path
    home: Path
    dsn: str
    statsd_port: int
    fernet_key: str = field(default_factory=lambda: _fernet_key())  # noqa: PLW0108 (defined below)

    def install_files(self, files: Mapping[str, str]) -> None:
        """Writes the container's ConfigMap files that live under AIRFLOW_HOME into ``home``."""
        for path, content in files.items():
            if path.startswith(CONTAINER_HOME + "/"):
                target = self.home / path[len(CONTAINER_HOME) + 1 :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)

    def env(self, rendered_env: Mapping[str, str]) -> dict[str, str]:
        """``rendered_env`` made to run here: container paths under ``home``, the database and the
        Secret values filled in, LocalExecutor, statsd on the loopback listener, free local ports."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        for key, value in rendered_env.items():
            local = str(self.home) + value[len(CONTAINER_HOME) :]
            env[key] = local if value.startswith(CONTAINER_HOME) else value
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "PATH": f"{self.venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.dsn,
                "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
                "AIRFLOW__WEBSERVER__SECRET_KEY": "local-test-secret",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            }
        )
        if "AIRFLOW__METRICS__STATSD_HOST" in env:
            env["AIRFLOW__METRICS__STATSD_HOST"] = "127.0.0.1"
            env["AIRFLOW__METRICS__STATSD_PORT"] = str(self.statsd_port)
        for port_option in (
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_SERVER_PORT",
        ):
            if port_option in env or port_option.startswith("AIRFLOW__LOGGING__"):
                env[port_option] = str(free_port())
        return env


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def run(args: list[str], env: Mapping[str, str], timeout: float, cwd: Path | None = None) -> str:
    """Runs ``args``; its output, or AssertionError with the output's tail on failure/timeout."""
    try:
        result = subprocess.run(
            args, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{shlex.join(args)} timed out after {timeout}s: {_tail(exc.stdout, exc.stderr)}"
        ) from exc
    if result.returncode != 0:
        raise AssertionError(
            f"{shlex.join(args)} exited {result.returncode}: {_tail(result.stdout, result.stderr)}"
        )
    return result.stdout + result.stderr


def airflow_python(
    version: str,
    script: str,
    *args: str,
    home: Path,
    timeout: float,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    what: str = "script",
) -> str:
    """``python -c SCRIPT ARGS`` by the Python of Airflow ``version``'s venv, with AIRFLOW_HOME ``home``
    and a bare PATH (plus ``env``); its stdout, or AssertionError with the tail of its stderr."""
    result = subprocess.run(
        [str(airflow_venv(version) / "bin" / "python"), "-c", script, *args],
        input=stdin,
        env={"AIRFLOW_HOME": str(home), "PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{what}: {result.stderr[-3000:]}"
    return result.stdout


def _tail(*parts: object, lines: int = 40) -> str:
    text = "\n".join(p.decode(errors="replace") if isinstance(p, bytes) else str(p or "") for p in parts)
    return "\n".join(text.strip().splitlines()[-lines:])


def probe_command(container: AirflowContainer, probe: str) -> list[str]:
    """The exec probe of ``container`` as a local command: the image's /entrypoint wrapper dropped
    (its only job here, waiting for the database, is off in the probe anyway)."""
    command = [str(c) for c in container.container[probe]["exec"]["command"]]
    return [c.replace("exec /entrypoint ", "exec ") for c in command]


@contextmanager
def process(args: list[str], env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running process writing to ``log``; terminated (then killed) with its group on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class StatsdListener:
    """A UDP listener on 127.0.0.1 keeping every statsd line it receives."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.lines.extend(line for line in data.decode(errors="replace").splitlines() if line)

    def __enter__(self) -> StatsdListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


# A deferrable task in a TaskGroup (task id grp.inner) of a DAG with a dotted id, then a plain task:
# the shapes whose statsd names the mapping must keep as labels. The sensor defers to the triggerer
# for a few seconds.
PROBE_DAG_ID = "gitops.probe"
PROBE_DAG = """
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.sensors.date_time import DateTimeSensorAsync
from airflow.utils.task_group import TaskGroup

with DAG("gitops.probe", start_date=datetime(2024, 1, 1), schedule=None, catchup=False) as dag:
    with TaskGroup("grp"):
        # Waits 8 s from its own start, however late that is (a busy machine): it always defers.
        inner = DateTimeSensorAsync(
            task_id="inner", target_time="{{ (ti.start_date + macros.timedelta(seconds=8)).isoformat() }}"
        )
    done = BashOperator(task_id="done", bash_command="true")
    inner >> done
"""


def write_probe_dag(dags_folder: Path) -> None:
    dags_folder.mkdir(parents=True, exist_ok=True)
    (dags_folder / "gitops_probe.py").write_text(PROBE_DAG)


def wait_for(check: Any, timeout: float, what: str, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class ScenarioResult:
    """What a scenario run saw: task states over time, the liveness probe outputs, the logs folder."""

    states_seen: dict[str, list[str]] = field(default_factory=dict)
    dag_run_state: str = ""
    probes: dict[str, str] = field(default_factory=dict)
    logs: Path = Path()


def run_scenario(objects: list[Manifest], local: LocalRun, sql: Any, timeout: float = 240) -> ScenarioResult:
    """The overlay's first start, for real: the migration hook's command, then its scheduler and
    triggerer with their rendered environment; the probe DAG triggered and followed until its run
    ends; the liveness probes of both run while they are up. ``sql(query)`` runs SQL on the metadata
    database (psql)."""
    migrate = find_container(objects, ["airflow", "db", "migrate"])
    scheduler = find_container(objects, ["airflow", "scheduler"])
    triggerer = find_container(objects, ["airflow", "triggerer"])
    result = ScenarioResult(logs=local.home / "process-logs")
    result.logs.mkdir(parents=True, exist_ok=True)
    for container in (migrate, scheduler, triggerer):
        local.install_files(config_map_files(container, objects))
    run(migrate.args, local.env(migrate.env), timeout=300)
    scheduler_env = local.env(scheduler.env)
    write_probe_dag(Path(scheduler_env["AIRFLOW__CORE__DAGS_FOLDER"]))
    deadline = time.monotonic() + timeout
    with (
        process(scheduler.args, scheduler_env, result.logs / "scheduler.log"),
        process(triggerer.args, local.env(triggerer.env), result.logs / "triggerer.log"),
    ):
        wait_for(
            lambda: sql(f"SELECT count(*) FROM dag WHERE dag_id = '{PROBE_DAG_ID}'") == "1",  # noqa: S608
            timeout=120,
            what=f"the scheduler to parse {PROBE_DAG_ID} (logs: {result.logs})",
        )
        sql(f"UPDATE dag SET is_paused = false WHERE dag_id = '{PROBE_DAG_ID}'")  # noqa: S608
        run(["airflow", "dags", "trigger", PROBE_DAG_ID], scheduler_env, timeout=120)

        def finished() -> str:
            query = "SELECT task_id, coalesce(state, 'none') FROM task_instance WHERE dag_id = %s"
            for row in sql(query % f"'{PROBE_DAG_ID}'").splitlines():
                task, state = row.split("|")
                seen = result.states_seen.setdefault(task, [])
                if not seen or seen[-1] != state:
                    seen.append(state)
            state = sql(f"SELECT state FROM dag_run WHERE dag_id = '{PROBE_DAG_ID}'")  # noqa: S608
            return state if state in ("success", "failed") else ""

        result.dag_run_state = wait_for(
            finished,
            timeout=max(30.0, deadline - time.monotonic()),
            what=f"the {PROBE_DAG_ID} run",
            interval=0.5,
        )
        for name, container in (("scheduler", scheduler), ("triggerer", triggerer)):
            command = probe_command(container, "livenessProbe")
            result.probes[name] = run(command, local.env(container.env), timeout=90)
    return result
