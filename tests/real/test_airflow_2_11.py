"""The rendered overlays against real Apache Airflow 2.11.0 (the image's version), in its own venv.

- every AIRFLOW__* option of every Airflow container (ConfigMap envFrom included) is known to
  Airflow and its providers, not deprecated, and parses as its type; `airflow config lint` is clean;
- every worker pod template becomes a worker pod through the cncf.kubernetes provider's own
  PodGenerator.construct_pod, as the KubernetesExecutor builds one (container `base`, volumes, env,
  affinity kept);
- on a real PostgreSQL: the migration hook's command, then the scheduler and the triggerer started
  with their rendered environment (LocalExecutor for the KubernetesExecutor), both liveness probes
  passing, and a deferrable task reaching `success`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from gitops_tool.core.images import embedded_pods
from gitops_tool.core.objects import describe
from tests.conftest import REPO_ROOT
from tests.real.airflow_run import (
    AIRFLOW_VERSION,
    LocalRun,
    StatsdListener,
    airflow_options,
    airflow_python,
    find_container,
    render,
    run,
    run_scenario,
)
from tests.real.servers import Postgres, airflow_venv

OVERLAYS = ("overlays/single-node-legacy", "overlays/three-node-ha")

# Run by the Airflow venv's Python: reads {"options": [[ENV_NAME, value], ...]} on stdin, prints one
# problem per line. Types come from Airflow's own config description (core and providers).
CHECK_OPTIONS = r"""
import importlib, json, os, sys, warnings
pairs = json.load(sys.stdin)["options"]
from airflow.configuration import conf
from airflow.providers_manager import ProvidersManager
ProvidersManager().initialize_providers_configuration()
conf.load_providers_configuration()
# Imported before warnings become errors: its import-time warning is about [metrics]
# timer_unit_consistency being unset, not about an option set here.
import airflow.stats
warnings.simplefilter("error")
description = conf.configuration_description


def kind_of(option):
    # The declared type; Airflow types many integers and booleans "string": then the default decides.
    declared = option.get("type")
    if declared in ("boolean", "integer", "float"):
        return declared
    default = str(option.get("default") or "")
    if default in ("True", "False"):
        return "boolean"
    if default.lstrip("-").isdigit():
        return "integer"
    try:
        float(default)
        return "float"
    except ValueError:
        return declared
problems = []
deprecated = {
    (old_s, old_k): (new_s, new_k) for (new_s, new_k), (old_s, old_k, _) in conf.deprecated_options.items()
}
for env_name, value in pairs:
    _, section, key = env_name.split("__", 2)
    section, key = section.lower(), key.lower()
    if key.endswith("_cmd") or key.endswith("_secret"):
        key = key.rsplit("_", 1)[0]
    if (section, key) in deprecated:
        new_section, new_key = deprecated[(section, key)]
        problems.append(f"{env_name}: deprecated, use [{new_section}] {new_key}")
        continue
    if section in {old for old, _ in conf.deprecated_sections.values()}:
        problems.append(f"{env_name}: section [{section}] is deprecated")
        continue
    option = (description.get(section) or {}).get("options", {}).get(key)
    if option is None:
        problems.append(f"{env_name}: unknown option [{section}] {key}")
        continue
    if option.get("version_deprecated") or option.get("deprecation_reason"):
        since, reason = option.get("version_deprecated"), option.get("deprecation_reason")
        problems.append(f"{env_name}: deprecated since {since}: {reason}")
    os.environ[env_name] = value
    kind = kind_of(option)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if kind == "boolean":
                conf.getboolean(section, key)
            elif kind == "integer":
                conf.getint(section, key)
            elif kind == "float":
                conf.getfloat(section, key)
            else:
                conf.get(section, key)
            if (section, key) == ("api", "auth_backends"):
                for module in value.split(","):
                    importlib.import_module(module.strip())
            if (section, key) == ("core", "executor"):
                from airflow.executors.executor_loader import ExecutorLoader
                ExecutorLoader.get_executor_names()
    except Exception as exc:
        problems.append(f"{env_name}={value!r}: {type(exc).__name__}: {exc}".splitlines()[0])
print("\n".join(problems))
"""

# Run by the Airflow venv's Python: builds the worker pod from the template file argv[1] the way the
# KubernetesExecutor does (kubernetes_executor_utils.AirflowKubernetesScheduler.run_next) and prints
# the result as the API would receive it (JSON).
CONSTRUCT_POD = r"""
import json, sys
from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
from airflow.providers.cncf.kubernetes.kube_client import get_kube_client
from kubernetes.client import ApiClient
base = PodGenerator.deserialize_model_file(sys.argv[1])
pod = PodGenerator.construct_pod(
    namespace="airflow", scheduler_job_id="7", pod_id="gitops-probe-task", dag_id="gitops.probe",
    task_id="grp.inner", kube_image="apache/airflow:2.11.0-python3.9", try_number=1, map_index=-1,
    date=None, run_id="manual__2024-01-01T00:00:00+00:00",
    args=["airflow", "tasks", "run", "gitops.probe", "grp.inner", "manual__2024-01-01T00:00:00+00:00"],
    pod_override_object=None, base_worker_pod=base, with_mutation_hook=True,
)
print(json.dumps(ApiClient().sanitize_for_serialization(pod)))
"""


def check_options(pairs: set[tuple[str, str]], home: Path) -> list[str]:
    """Airflow 2.11's verdict on ``pairs``: one problem per line, empty when every option is fine."""
    stdin = json.dumps({"options": sorted(pairs)})
    env = {"AIRFLOW__CORE__UNIT_TEST_MODE": "False"}
    output = airflow_python(AIRFLOW_VERSION, CHECK_OPTIONS, home=home, timeout=180, stdin=stdin, env=env)
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_options_are_known_current_and_parse(overlay: str, tmp_path: Path) -> None:
    objects = render(REPO_ROOT, overlay)
    pairs = airflow_options(objects)
    assert len(pairs) > 30, f"too few AIRFLOW__ options found: {sorted(pairs)}"
    problems = check_options(pairs, tmp_path)
    assert not problems, "\n".join(problems)


def test_the_option_check_catches_a_misspelt_or_deprecated_option(tmp_path: Path) -> None:
    """The checker itself: a misspelt key, a deprecated key, a non-integer and a deprecated module."""
    problems = check_options(
        {
            ("AIRFLOW__CORE__PARALELLISM", "16"),
            ("AIRFLOW__CORE__SQL_ALCHEMY_CONN", "postgresql://x@localhost/db"),
            ("AIRFLOW__CORE__PARALLELISM", "sixteen"),
            ("AIRFLOW__KUBERNETES__NAMESPACE", "airflow"),
            ("AIRFLOW__API__AUTH_BACKENDS", "airflow.api.auth.backend.basic_auth"),
        },
        tmp_path,
    )
    text = "\n".join(problems)
    assert "AIRFLOW__CORE__PARALELLISM: unknown option" in text
    assert "AIRFLOW__CORE__SQL_ALCHEMY_CONN: deprecated, use [database] sql_alchemy_conn" in text
    assert "AIRFLOW__CORE__PARALLELISM='sixteen'" in text
    assert "AIRFLOW__KUBERNETES__NAMESPACE: section [kubernetes] is deprecated" in text
    assert "AIRFLOW__API__AUTH_BACKENDS='airflow.api.auth.backend.basic_auth'" in text


# Options Airflow 3 moves or renames whose new name Airflow 2.11 does not know yet: `airflow config
# lint` names them, but 2.11 reads only the old name (the Airflow 3 upgrade renames them).
MOVED_IN_AIRFLOW_3 = {
    ("api", "auth_backends"),
    ("webserver", "web_server_port"),
    ("webserver", "workers"),
    ("webserver", "expose_config"),
    ("scheduler", "parsing_processes"),
    ("scheduler", "min_file_process_interval"),
    ("scheduler", "dag_dir_list_interval"),
    ("scheduler", "child_process_log_directory"),
}
# Options Airflow 3 removes because it always behaves as they make 2.11 behave.
DEFAULT_IN_AIRFLOW_3 = {("metrics", "timer_unit_consistency")}
LINT_FINDING = re.compile(r"^\s*- .*?`(?P<option>\w+)`.*?(?:from|in|in the) `(?P<section>\w+)` section")


def lint_findings(output: str) -> dict[tuple[str, str], str]:
    """(section, option) -> the finding, for each line of `airflow config lint` output."""
    found = {}
    for line in output.splitlines():
        match = LINT_FINDING.match(line)
        if match:
            found[(match["section"], match["option"])] = line.strip()
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_lint_is_clean_for_our_options(overlay: str, tmp_path: Path) -> None:
    """`airflow config lint` (what Airflow 3 removes or changes) names none of the options we set,
    but those Airflow 3 moves to a name 2.11 does not know."""
    objects = render(REPO_ROOT, overlay)
    scheduler = find_container(objects, ["airflow", "scheduler"])
    local = LocalRun(airflow_venv(AIRFLOW_VERSION), tmp_path, "postgresql://lint@127.0.0.1:9/lint", 9125)
    ours = dict(airflow_options(objects))
    output = run(["airflow", "config", "lint"], local.env(ours | scheduler.env), timeout=180)
    findings = lint_findings(output)
    assert findings, f"lint output not understood: {output[-2000:]}"
    set_by_us = {tuple(name.lower().split("__")[1:3]) for name in ours}
    allowed = MOVED_IN_AIRFLOW_3 | DEFAULT_IN_AIRFLOW_3
    flagged = {key: line for key, line in findings.items() if key in set_by_us and key not in allowed}
    assert not flagged, "\n".join(flagged.values())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_pod_templates_become_worker_pods(overlay: str, tmp_path: Path) -> None:
    objects = render(REPO_ROOT, overlay)
    templates = [(describe(o), pod) for o in objects for pod in embedded_pods(o)]
    assert templates, "no worker pod template in the render"
    for where, template in templates:
        path = tmp_path / "pod_template_file.yaml"
        path.write_text(yaml.safe_dump(template))
        pod = json.loads(
            airflow_python(AIRFLOW_VERSION, CONSTRUCT_POD, str(path), home=tmp_path, timeout=180, what=where)
        )
        spec, want = pod["spec"], template["spec"]
        # The provider merges the executor's container `base` into the template's FIRST container:
        # that must be the template's own `base` (Airflow's pod_template_file contract), or the task
        # runs with a sidecar's settings.
        template_names = [c["name"] for c in want["containers"]]
        assert template_names[0] == "base", (
            f"{where}: the template's first container is {template_names[0]!r}, not 'base'"
        )
        template_base = want["containers"][0]
        names = [c["name"] for c in spec["containers"]]
        assert names == template_names, f"{where}: the worker pod's containers are {names}"
        base = spec["containers"][0]
        assert base["args"][:3] == ["airflow", "tasks", "run"], where
        assert {v["name"] for v in spec["volumes"]} == {v["name"] for v in want["volumes"]}, where
        want_env = {e["name"] for e in template_base.get("env", [])}
        assert want_env <= {e["name"] for e in base.get("env", [])}, where
        assert base.get("envFrom") == template_base.get("envFrom"), where
        assert base["resources"] == template_base["resources"], where
        assert base["securityContext"] == template_base["securityContext"], where
        assert spec.get("affinity") == want.get("affinity"), where
        assert spec.get("securityContext") == want.get("securityContext"), where
        assert spec.get("terminationGracePeriodSeconds") == want.get("terminationGracePeriodSeconds"), where
        assert base["volumeMounts"] == template_base["volumeMounts"], where


@pytest.mark.slow
def test_first_start_runs_a_deferrable_task(postgres: Postgres, tmp_path: Path) -> None:
    """The HA render's migration hook, scheduler and triggerer against real PostgreSQL: the deferrable
    TaskGroup task defers, the triggerer fires it, the run succeeds; both liveness probes pass."""
    postgres.create_database("airflow_first_start", "airflow_fs", "fs-pass")
    objects = render(REPO_ROOT, "overlays/three-node-ha")
    with StatsdListener() as listener:
        local = LocalRun(
            airflow_venv(AIRFLOW_VERSION),
            tmp_path,
            postgres.dsn("airflow_first_start", "airflow_fs", "fs-pass"),
            listener.port,
        )
        result = run_scenario(objects, local, lambda q: postgres.psql(q, database="airflow_first_start"))
    assert result.dag_run_state == "success", result.states_seen
    assert "deferred" in result.states_seen["grp.inner"], result.states_seen
    assert result.states_seen["grp.inner"][-1] == "success", result.states_seen
    assert result.states_seen["done"][-1] == "success", result.states_seen
    # Real Airflow sent metrics to the rendered statsd settings (here the loopback listener), each
    # process's lines tagged with its component and node by the rendered statsd client.
    for component in ("scheduler", "triggerer"):
        heartbeat = f"airflow.{component}_heartbeat,component={component},node_name=local-node:"
        assert any(line.startswith(heartbeat) for line in listener.lines), component
