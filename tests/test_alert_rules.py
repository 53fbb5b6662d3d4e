"""Alert rule files: valid Prometheus rule groups whose queries read metrics the repo produces."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import metrics_catalog as catalog

REQUIRED_ALERTS = {
    "AirflowSchedulerHeartbeatStopped",
    "AirflowSchedulerDeploymentUnavailable",
    "AirflowWorkerPodsPendingTooLong",
    "PostgresDown",
    "PostgresNearMaxConnections",
    "NfsVolumeNearlyFull",
    "NodeDown",
    "GitOpsDriftDetected",
    "NfsServerDown",
    "NfsVolumeMountFailing",
    "AirflowNoTriggererHeartbeat",
    "AirflowTriggererHeartbeatStopped",
    "StatsdExporterAbsent",
    "KubeStateMetricsAbsent",
}
_DURATION = re.compile(r"^((\d+)(ms|s|m|h|d|w|y))+$")
_RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
_GROUP_KEYS = {"name", "rules", "interval", "limit", "query_offset", "labels"}


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def test_rule_files_exist_and_are_listed_in_the_generator() -> None:
    files = catalog.rule_files()
    assert files
    kustomization = _load(catalog.RULES_DIR / "kustomization.yaml")
    listed = {f for gen in kustomization["configMapGenerator"] for f in gen["files"]}
    assert {p.name for p in files} == listed


@pytest.mark.parametrize("path", catalog.rule_files(), ids=lambda p: p.name)
def test_rule_file_is_a_valid_rule_group_file(path: Path) -> None:
    document = _load(path)
    assert set(document) == {"groups"}
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names))
    for group in document["groups"]:
        assert set(group) <= _GROUP_KEYS
        assert group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= _RULE_KEYS, rule
            assert ("alert" in rule) != ("record" in rule)
            catalog.parse(rule["expr"])
            if "for" in rule:
                assert _DURATION.match(rule["for"]), rule["for"]
            if "alert" in rule:
                assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", rule["alert"])
                assert rule["labels"]["severity"] in {"critical", "warning", "info"}
                assert rule["annotations"]["summary"]
                for text in rule["annotations"].values():
                    # Go templates must balance, or Prometheus refuses the whole file.
                    assert text.count("{{") == text.count("}}")
            else:
                assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule["record"])


def test_required_alerts_exist_once() -> None:
    alerts = [name.split(":", 1)[1] for name, _ in catalog.rule_queries()]
    assert len(alerts) == len(set(alerts))
    assert set(alerts) >= REQUIRED_ALERTS


def test_scheduler_heartbeat_alert_is_per_scheduler() -> None:
    rules = dict(catalog.rule_queries())
    expr = rules["airflow.rules.yaml:AirflowSchedulerHeartbeatStopped"]
    # Grouped by scheduler and never summed across schedulers.
    assert re.search(r"by \(scheduler\)", expr)
    assert "sum(" not in expr.replace(" ", "") and "sum by" not in expr
    assert "scheduler-1" not in expr and "scheduler-2" not in expr


def test_every_rule_reads_only_produced_metrics() -> None:
    produced = catalog.produced_names()
    missing = {
        (where, name)
        for where, expr in catalog.rule_queries()
        for name in catalog.metric_names(expr)
        if name not in produced
    }
    assert missing == set()


def test_the_name_check_catches_an_unknown_metric() -> None:
    assert "airflow_made_up_metric" not in catalog.produced_names()
    assert catalog.metric_names("rate(airflow_made_up_metric[5m]) > 0") == {"airflow_made_up_metric"}
