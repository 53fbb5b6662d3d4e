"""The statsd mapping, applied as statsd-exporter applies it, to the lines real Airflow 2.11 sends.

The lines are tests/data/statsd/airflow-2.11.0-tagged.lines (scripts/capture_statsd_tagged.py ran
real Airflow with the repo's metrics settings); the matching is tests/statsd_exporter_model.py, a
port of statsd-exporter's parser and state machine.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
import yaml

from gitops_tool.core.images import pod_spec
from gitops_tool.core.objects import Manifest
from tests import metrics_catalog as catalog
from tests.manifests_support import HA, node_roles, rendered
from tests.statsd_exporter_model import Sample, type_conflicts

# The ids of the captured DAGs: a dotted DAG id, a TaskGroup task.
CAPTURED_IDS = ("gitops", "probe", "plain", "grp", "inner")
# Lines of metrics the 100 s capture does not reach (a successful or scheduled run, a busy critical
# section), shaped as the captured lines of the same Airflow code paths are (tags included).
UNREACHED = [
    "airflow.dagrun.duration.success,dag_id=gitops.probe,run_type=manual,component=scheduler,node_name=n:1|ms",
    "airflow.dagrun.duration.success.gitops.probe,dag_id=gitops.probe,run_type=manual,component=scheduler,node_name=n:1|ms",
    "airflow.dagrun.schedule_delay,dag_id=gitops.probe,component=scheduler,node_name=n:1|ms",
    "airflow.dagrun.schedule_delay.gitops.probe,component=scheduler,node_name=n:1|ms",
    "airflow.scheduler.critical_section_busy,component=scheduler,node_name=n:1|c",
    # Airflow 3's DAG processor (components/airflow-3); tests/real/test_airflow3_layout.py sees
    # real Airflow 3.3.2 send it with the rendered settings.
    "airflow.dag_processor_heartbeat:1|c",
]


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    return catalog.statsd_samples(catalog.captured_statsd_lines())


def _shapes(samples: list[Sample]) -> dict[str, set[frozenset[str]]]:
    shapes: dict[str, set[frozenset[str]]] = defaultdict(set)
    for sample in samples:
        shapes[sample.name].add(sample.label_names - catalog.IDENTITY_LABELS)
    return shapes


def test_the_capture_is_real_airflow_output_with_tags() -> None:
    lines = catalog.captured_statsd_lines()
    assert len(lines) > 100
    assert any(line.startswith("airflow.ti.finish,dag_id=gitops.probe,task_id=grp.inner,") for line in lines)
    assert all(",component=" in line.partition(":")[0] for line in lines)


def test_every_rule_is_reachable() -> None:
    """A glob listed after a longer glob it prefixes never matches (9 of 13 drops did not)."""
    assert catalog.statsd_mapper().unattached_rules() == []


def test_no_metric_has_an_unlabelled_twin(samples: list[Sample]) -> None:
    """One label shape per name (besides who sent it): no {pool=""}/{dag_id=""} twin series."""
    assert {name: shapes for name, shapes in _shapes(samples).items() if len(shapes) > 1} == {}
    twins = catalog.statsd_samples(
        [
            "airflow.pool.open_slots,pool_name=p,component=scheduler,node_name=n:1|g",
            "airflow.pool.open_slots.p,component=scheduler,node_name=n:1|g",
        ]
    )
    assert [(s.name, dict(s.labels)["pool"]) for s in twins] == [("airflow_pool_open_slots", "p")]


def test_no_metric_name_holds_a_dag_or_task_id(samples: list[Sample]) -> None:
    names = {s.name for s in catalog.statsd_samples([*catalog.captured_statsd_lines(), *UNREACHED])}
    assert sorted(n for n in names if any(part in n.split("_") for part in CAPTURED_IDS)) == []


@pytest.mark.parametrize(
    "name",
    ["airflow_ti_finish", "airflow_ti_start", "airflow_task_duration", "airflow_task_queued_duration"],
)
def test_taskgroup_and_dotted_ids_are_labels(samples: list[Sample], name: str) -> None:
    ids = {(dict(s.labels)["dag_id"], dict(s.labels)["task_id"]) for s in samples if s.name == name}
    assert {("gitops.probe", "grp.inner"), ("plain", "grp.inner"), ("gitops.probe", "fail")} <= ids


def test_dependency_check_per_dag_is_a_label(samples: list[Sample]) -> None:
    checks = [s for s in samples if "dependency" in s.statsd]
    assert {s.name for s in checks} == {"airflow_dagrun_dependency_check"}
    assert {dict(s.labels)["dag_id"] for s in checks} == {"gitops.probe", "plain"}


def test_chart_names_and_labels_are_kept(samples: list[Sample]) -> None:
    by_name = {s.name: dict(s.labels) for s in samples}
    assert by_name["airflow_pool_open_slots"]["pool"] == "default_pool"
    assert by_name["airflow_operator_failures"]["operator"] == "BashOperator"
    assert by_name["airflow_scheduler_heartbeat"]["type"] == "counter"
    assert {"triggerer_heartbeat", "triggers_running"} <= {n.removeprefix("airflow_") for n in by_name}
    assert type_conflicts(samples) == {}


def _scheduler_tags(objects: tuple[Manifest, ...]) -> dict[str, str]:
    """Each scheduler's tag setting with $(NODE_NAME) as Kubernetes expands it on its node."""
    roles = node_roles(HA)
    tags: dict[str, str] = {}
    for obj in objects:
        if obj["kind"] != "Deployment" or not obj["metadata"]["name"].startswith("airflow-scheduler-"):
            continue
        spec: dict[str, Any] = pod_spec(obj) or {}
        (container,) = [c for c in spec["containers"] if c["name"] == "airflow-scheduler"]
        env = {e["name"]: e for e in container["env"]}
        assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
        term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        role = term["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0]
        value = str(env["GITOPS_TOOL_STATSD_TAGS"]["value"])
        tags[obj["metadata"]["name"]] = value.replace("$(NODE_NAME)", roles[role])
    return tags


def _retag(line: str, tags: str) -> str:
    """A captured scheduler line with its identity tags replaced, as the tagging client writes them."""
    name, _, rest = line.partition(":")
    name = re.sub(r",(component|node_name)=[^,]*", "", name)
    return f"{name}{''.join(',' + t for t in tags.split(','))}:{rest}"


def test_two_schedulers_gauges_are_two_series() -> None:
    objects = rendered(HA)
    tags = _scheduler_tags(objects)
    assert len(tags) >= 2
    gauges = [
        line for line in catalog.captured_statsd_lines() if line.startswith("airflow.executor.open_slots,")
    ]
    samples = catalog.statsd_samples([_retag(line, value) for value in tags.values() for line in gauges])
    series = {s.labels for s in samples if s.name == "airflow_executor_open_slots"}
    assert len(series) == len(tags)
    assert {dict(labels)["component"] for labels in series} == {"scheduler"}


def _labels_used(expr: str) -> set[str]:
    text = catalog.substitute_grafana_variables(expr)
    used = {label for _, label, _ in catalog.label_matchers(expr)}
    for group in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", text):
        used.update(part.strip() for part in group.split(",") if part.strip())
    return used


def test_dashboards_and_alerts_read_names_and_labels_the_mapping_produces() -> None:
    produced = catalog.statsd_labels()
    lines = catalog.captured_statsd_lines() + UNREACHED
    from_capture: dict[str, set[str]] = defaultdict(set)
    for sample in catalog.statsd_samples(lines):
        suffixes = ("", "_sum", "_count") if sample.kind == "observer" else ("",)
        for suffix in suffixes:
            quantile = {"quantile"} if sample.kind == "observer" and not suffix else set()
            from_capture[sample.name + suffix].update(sample.label_names | quantile)
    problems = []
    checked = 0
    for where, expr in catalog.rule_queries() + catalog.dashboard_queries():
        names = {n for n in catalog.metric_names(expr) if n in produced}
        if not names:
            continue
        checked += 1
        missing = sorted(n for n in names if n not in from_capture)
        if missing:
            problems.append(f"{where}: {missing} not in what Airflow 2.11 sent")
            continue
        available = set().union(*(from_capture[n] for n in names))
        # Labels of other (non-statsd) metrics in a mixed query are checked elsewhere.
        if len(names) == len(catalog.metric_names(expr)):
            unknown = _labels_used(expr) - available - {"le", "__name__"}
            if unknown:
                problems.append(f"{where}: labels {sorted(unknown)} not on {sorted(names)}")
    assert checked > 20
    assert problems == []


def test_statsd_exporter_gets_this_mapping_file() -> None:
    text = catalog.STATSD_MAPPING.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["mappings"] == catalog.statsd_mappings()
    assert "apache/airflow/blob/main/chart/files/statsd-mappings.yml" in text


def _grouping_labels(expr: str) -> set[str]:
    text = catalog.substitute_grafana_variables(expr)
    found: set[str] = set()
    for group in re.findall(r"\bby\s*\(([^)]*)\)", text):
        found.update(part.strip() for part in group.split(",") if part.strip())
    return found


def test_no_panel_groups_a_series_that_lacks_the_label() -> None:
    """A series without a panel's `by` label shows as an extra `{pool=""}`-style line."""
    samples = catalog.statsd_samples([*catalog.captured_statsd_lines(), *UNREACHED])
    problems = []
    for where, expr in catalog.dashboard_queries():
        names = catalog.metric_names(expr)
        statsd = [s for s in samples if any(n in {s.name, s.name + "_sum", s.name + "_count"} for n in names)]
        if not statsd:
            continue
        equal = {(label, value) for _, label, value in catalog.label_matchers(expr) if "|" not in value}
        selected = [s for s in statsd if all(dict(s.labels).get(k, v) == v for k, v in equal)]
        for label in _grouping_labels(expr) - {"quantile"}:
            lacking = sorted({s.statsd for s in selected if label not in dict(s.labels)})
            if lacking:
                problems.append(f"{where}: by ({label}) but {lacking[:3]} lack it")
    assert problems == []
