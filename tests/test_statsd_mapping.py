"""The statsd mapping turns Airflow's statsd names into the Airflow Helm chart's Prometheus names."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests import metrics_catalog as catalog


@pytest.mark.parametrize(
    ("statsd", "expected"),
    [
        ("airflow.scheduler_heartbeat", ("airflow_scheduler_heartbeat", {"type"})),
        ("airflow.dagrun.duration.success.etl", ("airflow_dagrun_duration", {"dag_id"})),
        ("airflow.dagrun.duration.failed.etl", ("airflow_dagrun_failed", {"dag_id"})),
        ("airflow.dag.etl.load.duration", ("airflow_task_duration", {"dag_id", "task_id"})),
        ("airflow.pool.open_slots.default_pool", ("airflow_pool_open_slots", {"pool"})),
        ("airflow.operator_failures_BashOperator", ("airflow_operator_failures", {"operator"})),
        ("airflow.ti.finish.etl.load.failed", ("airflow_ti_finish", {"dag_id", "task_id", "state"})),
        ("airflow.executor.open_slots", ("airflow_executor_open_slots", set())),
        ("airflow.scheduler.scheduler_loop_duration", ("airflow_scheduler_scheduler_loop_duration", set())),
    ],
)
def test_airflow_names_map_as_the_chart_maps_them(statsd: str, expected: tuple[str, set[str]]) -> None:
    mapped = catalog.statsd_prometheus_name(statsd, catalog.statsd_mappings())
    assert mapped is not None
    assert (mapped[0], set(mapped[1])) == expected


def test_bare_twins_of_labelled_metrics_are_dropped() -> None:
    mappings = catalog.statsd_mappings()
    for bare in (
        "airflow.pool.open_slots",
        "airflow.ti.finish",
        "airflow.task.duration",
        "airflow.operator_failures",
    ):
        assert catalog.statsd_prometheus_name(bare, mappings) is None


def test_no_prometheus_name_gets_two_label_sets_or_types() -> None:
    # statsd-exporter refuses a sample whose name it already registered with other labels or type:
    # the series would silently stop updating.
    shapes: dict[str, set[tuple[str, frozenset[str]]]] = defaultdict(set)
    for series in catalog.statsd_series():
        shapes[series.name].add((series.kind, series.labels))
    assert {name: shape for name, shape in shapes.items() if len(shape) > 1} == {}


def test_the_chart_section_is_cited() -> None:
    text = catalog.STATSD_MAPPING.read_text(encoding="utf-8")
    assert "apache/airflow/blob/main/chart/files/statsd-mappings.yml" in text
