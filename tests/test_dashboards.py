"""Grafana dashboards: valid, provisioned, reading only metrics the repo's exporters produce."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from types import ModuleType
from typing import Any

import pytest
import yaml

from gitops_tool.core.documents import parse_manifests
from gitops_tool.services.rendering import render_overlay
from tests import metrics_catalog as catalog
from tests.conftest import REPO_ROOT

GRAFANA = REPO_ROOT / "base" / "grafana"
TITLES = {
    "airflow-kubernetes-metrics.json": "Airflow Kubernetes Metrics",
    "airflow-advanced-kubernetes-metrics.json": "Airflow Advanced Kubernetes Metrics",
    "gitops-drift.json": "GitOps drift",
}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", REPO_ROOT / "scripts" / "build_dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve string annotations through sys.modules.
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _provisioned_uids() -> set[str]:
    config = yaml.safe_load((GRAFANA / "datasources.yaml").read_text(encoding="utf-8"))
    return {source["uid"] for source in config["datasources"]}


def _datasources(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict):
            found.append(node["datasource"])
        for value in node.values():
            found.extend(_datasources(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_datasources(value))
    return found


def test_the_three_dashboards_exist_with_their_titles() -> None:
    dashboards = catalog.dashboards()
    assert {name: d["title"] for name, d in dashboards.items()} == TITLES
    assert len({d["uid"] for d in dashboards.values()}) == len(dashboards)


def test_committed_dashboards_are_the_generator_output() -> None:
    generated = _generator().render_all()
    for name, text in generated.items():
        assert (GRAFANA / "dashboards" / name).read_text(encoding="utf-8") == text, (
            f"{name} differs from scripts/build_dashboards.py: run it and commit the result"
        )


@pytest.mark.parametrize("name", sorted(TITLES))
def test_dashboard_is_valid_grafana_json(name: str) -> None:
    dashboard = json.loads((GRAFANA / "dashboards" / name).read_text(encoding="utf-8"))
    assert {"uid", "title", "panels", "schemaVersion", "templating"} <= set(dashboard)
    panels = catalog.panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert all(isinstance(i, int) and i > 0 for i in ids)
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"{panel['title']} has no query"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
    uids = {source["uid"] for source in _datasources(dashboard)}
    assert uids and uids <= _provisioned_uids()
    variables = [v["name"] for v in dashboard["templating"]["list"]]
    assert len(variables) == len(set(variables))
    used = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", json.dumps([p.get("targets") for p in panels]))
    assert {v for v in used if not v.startswith("__")} <= set(variables)


def test_no_two_panels_overlap() -> None:
    for name, dashboard in catalog.dashboards().items():
        cells: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            area = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not area & cells, f"{name}: {panel['title']} overlaps another panel"
            cells |= area


def test_every_query_parses_and_reads_produced_metrics() -> None:
    queries = catalog.dashboard_queries()
    assert len(queries) > 40
    produced = catalog.produced_names()
    missing = set()
    for where, expr in queries:
        catalog.parse(expr)
        missing |= {(where, name) for name in catalog.metric_names(expr) if name not in produced}
    assert missing == set()


def test_schedulers_are_never_hard_coded() -> None:
    # add-scheduler N must show up without a dashboard edit.
    for name in TITLES:
        text = (GRAFANA / "dashboards" / name).read_text(encoding="utf-8")
        assert not re.search(r"scheduler-\d", text), f"{name} names a scheduler instance"


def test_grafana_provisions_every_dashboard_file() -> None:
    objects = parse_manifests(render_overlay(str(REPO_ROOT / "overlays/three-node-ha")).text, "three-node-ha")
    grafana = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "grafana")
    pod = grafana["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    providers = yaml.safe_load((GRAFANA / "dashboard-providers.yaml").read_text(encoding="utf-8"))[
        "providers"
    ]
    provider_paths = {p["options"]["path"] for p in providers}
    shown: set[str] = set()
    for volume in pod["volumes"]:
        config_map_name = volume.get("configMap", {}).get("name", "")
        config_map = next(
            (o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == config_map_name),
            None,
        )
        if config_map is None or volume["name"] not in mounts:
            continue
        for key, text in config_map.get("data", {}).items():
            if key.endswith(".json") and mounts[volume["name"]] in provider_paths:
                shown.add(json.loads(text)["title"])
    assert shown == set(TITLES.values())


def test_drift_metrics_show_on_the_drift_dashboard() -> None:
    used = {
        name
        for where, expr in catalog.dashboard_queries()
        if where.startswith("gitops-drift.json:")
        for name in catalog.metric_names(expr)
    }
    assert catalog.drift_names() <= used | {"gitops_drift_audit_success"}
    assert {"gitops_drift_resources", "gitops_drift_last_audit_timestamp_seconds"} <= used


def _panel_metrics(dashboard_file: str) -> dict[str, set[str]]:
    dashboard = catalog.dashboards()[dashboard_file]
    return {
        panel["title"]: {n for t in panel.get("targets", []) for n in catalog.metric_names(t["expr"])}
        for panel in catalog.panels(dashboard)
        if panel["type"] != "row"
    }


# The seed's "Ключевые метрики" (key metrics), each with the metrics a panel must read to show it.
SEED_KEY_METRICS = {
    "CPU per node": ("airflow-kubernetes-metrics.json", {"node_cpu_seconds_total"}),
    "Memory per node": ("airflow-kubernetes-metrics.json", {"node_memory_MemAvailable_bytes"}),
    "CPU per pod": ("airflow-kubernetes-metrics.json", {"container_cpu_usage_seconds_total"}),
    "Memory per pod": ("airflow-kubernetes-metrics.json", {"container_memory_working_set_bytes"}),
    "Scheduler state": ("airflow-kubernetes-metrics.json", {"airflow_db_scheduler_heartbeat_age_seconds"}),
    "Active workers": ("airflow-kubernetes-metrics.json", {"kube_pod_status_phase", "kube_pod_labels"}),
    "DAG performance": ("airflow-advanced-kubernetes-metrics.json", {"airflow_dagrun_duration_sum"}),
    "Database state": ("airflow-advanced-kubernetes-metrics.json", {"pg_stat_database_numbackends"}),
}


@pytest.mark.parametrize("key_metric", sorted(SEED_KEY_METRICS))
def test_each_seed_key_metric_has_a_panel(key_metric: str) -> None:
    dashboard_file, needed = SEED_KEY_METRICS[key_metric]
    produced = catalog.produced_names()
    panels = [title for title, names in _panel_metrics(dashboard_file).items() if needed <= names]
    assert panels, f"no panel of {dashboard_file} shows {key_metric}"
    assert needed <= produced.keys()
