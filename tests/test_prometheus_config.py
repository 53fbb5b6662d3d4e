"""Prometheus: every exporter is scraped, the rule files are mounted and loaded, RBAC is minimal."""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.objects import Manifest
from gitops_tool.services.rendering import render_overlay
from tests import metrics_catalog as catalog
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def rendered() -> list[Manifest]:
    return parse_manifests(render_overlay(str(REPO_ROOT / "overlays/three-node-ha")).text, "three-node-ha")


def _one(objects: list[Manifest], kind: str, name_prefix: str) -> Manifest:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"].startswith(name_prefix)]
    assert len(found) == 1, f"{kind}/{name_prefix}*: {len(found)}"
    return found[0]


def _config(rendered: list[Manifest]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        _one(rendered, "ConfigMap", "prometheus-config-")["data"]["prometheus.yml"]
    )
    return config


def _annotated_pod_jobs(rendered: list[Manifest]) -> set[str]:
    """Jobs of the annotation-based scrape: the `app` label of pods that opt in."""
    jobs: set[str] = set()
    for obj in rendered:
        if obj["kind"] not in {"Deployment", "DaemonSet", "StatefulSet"}:
            continue
        template = obj["spec"]["template"]["metadata"]
        if (template.get("annotations") or {}).get("prometheus.io/scrape") == "true":
            jobs.add(template["labels"]["app"])
    return jobs


def test_every_exporter_list_is_scraped(rendered: list[Manifest]) -> None:
    config = _config(rendered)
    jobs = {job["job_name"] for job in config["scrape_configs"]} | _annotated_pod_jobs(rendered)
    for listing in catalog.metric_lists():
        job = listing.header["scrape_job"]
        assert job == "*" or job in jobs, f"{listing.name}: no scrape job {job}"
    # The drift metrics come through the node-exporter textfile collector.
    assert "node-exporter" in jobs


def test_kube_state_metrics_keeps_its_own_namespace_and_pod_labels(rendered: list[Manifest]) -> None:
    job = next(j for j in _config(rendered)["scrape_configs"] if j["job_name"] == "kube-state-metrics")
    assert job["honor_labels"] is True
    assert not any(r.get("target_label") in {"namespace", "pod"} for r in job["relabel_configs"])
    pod = _one(rendered, "Deployment", "kube-state-metrics")["spec"]["template"]["metadata"]
    # Not also scraped by the annotation job, which would rename its labels to exported_*.
    assert "prometheus.io/scrape" not in (pod.get("annotations") or {})


def test_rule_files_are_mounted_where_prometheus_loads_them(rendered: list[Manifest]) -> None:
    config = _config(rendered)
    deployment = _one(rendered, "Deployment", "prometheus")
    pod = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "prometheus")
    rules_map = _one(rendered, "ConfigMap", "prometheus-rules-")
    volume = next(
        v for v in pod["volumes"] if v.get("configMap", {}).get("name") == rules_map["metadata"]["name"]
    )
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    loaded = {
        key
        for key in rules_map["data"]
        for pattern in config["rule_files"]
        if fnmatch.fnmatch(str(PurePosixPath(mount["mountPath"]) / key), pattern)
    }
    assert loaded == {p.name for p in catalog.rule_files()}
    for key, text in rules_map["data"].items():
        assert yaml.safe_load(text) == yaml.safe_load((catalog.RULES_DIR / key).read_text(encoding="utf-8"))


def test_prometheus_reads_kubelet_metrics_without_node_proxy(rendered: list[Manifest]) -> None:
    role = _one(rendered, "ClusterRole", "airflow-prometheus")
    granted = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {("nodes", "list"), ("nodes", "watch"), ("nodes/metrics", "get")}
    binding = _one(rendered, "ClusterRoleBinding", "airflow-prometheus")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "prometheus", "namespace": "airflow"}]
    jobs = {j["job_name"]: j for j in _config(rendered)["scrape_configs"]}
    assert jobs["kubelet-cadvisor"]["metrics_path"] == "/metrics/cadvisor"
    pod = _one(rendered, "Deployment", "prometheus")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True


def test_airflow_sends_statsd_to_the_exporter(rendered: list[Manifest]) -> None:
    config = _one(rendered, "ConfigMap", "airflow-config-")["data"]
    assert config["AIRFLOW__METRICS__STATSD_ON"] == "True"
    assert config["AIRFLOW__METRICS__STATSD_PREFIX"] == "airflow"  # the mapping matches airflow.*
    service = _one(rendered, "Service", config["AIRFLOW__METRICS__STATSD_HOST"])
    ports = {(p["port"], p.get("protocol", "TCP")) for p in service["spec"]["ports"]}
    assert (int(config["AIRFLOW__METRICS__STATSD_PORT"]), "UDP") in ports
    selector = service["spec"]["selector"]
    deployment = _one(rendered, "Deployment", "statsd-exporter")
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_scrape_jobs_are_unique_and_well_formed(rendered: list[Manifest]) -> None:
    config = _config(rendered)
    names = [job["job_name"] for job in config["scrape_configs"]]
    assert len(names) == len(set(names))
    for job in config["scrape_configs"]:
        assert set(job) <= {
            "job_name",
            "honor_labels",
            "scheme",
            "metrics_path",
            "authorization",
            "tls_config",
            "static_configs",
            "kubernetes_sd_configs",
            "relabel_configs",
            "metric_relabel_configs",
        }, job["job_name"]
        for relabel in job.get("relabel_configs", []) + job.get("metric_relabel_configs", []):
            assert relabel.get("action", "replace") in {"replace", "keep", "drop", "labelmap"}
