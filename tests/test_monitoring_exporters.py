"""The exporters in base/: deployed where the seed puts monitoring, pinned, least privilege."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
import yaml

from gitops_tool.core.conventions import (
    MANAGEMENT_ROLE,
    NODE_ROLE_LABEL,
    POSTGRES_DB,
    POSTGRES_USER,
    SECRET_KEY_POSTGRES_PASSWORD,
    SECRET_NAME,
)
from gitops_tool.core.documents import parse_manifests
from gitops_tool.core.objects import Manifest
from gitops_tool.services.rendering import render_overlay
from tests import metrics_catalog as catalog
from tests.conftest import REPO_ROOT

EXPORTERS = ("statsd-exporter", "kube-state-metrics", "postgres-exporter")
OVERLAYS = ("overlays/three-node-ha", "overlays/single-node-legacy")


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[Manifest]:
    overlay = render_overlay(str(REPO_ROOT / request.param))
    return parse_manifests(overlay.text, request.param)


def _by(objects: list[Manifest], kind: str, name: str) -> Manifest:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _container(deployment: Manifest) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


@pytest.mark.parametrize("name", EXPORTERS)
def test_exporter_is_pinned_limited_probed_and_on_management(rendered: list[Manifest], name: str) -> None:
    deployment = _by(rendered, "Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    assert re.fullmatch(r"[\w./-]+:v\d+\.\d+\.\d+", container["image"]), container["image"]
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert "readinessProbe" in container and "livenessProbe" in container
    assert pod["nodeSelector"] == {NODE_ROLE_LABEL: MANAGEMENT_ROLE}
    assert pod["serviceAccountName"] == name
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    wave = int(deployment["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
    if name == "statsd-exporter":
        # Before every Airflow process (tests/test_statsd_sync_wave.py), with PostgreSQL.
        assert wave == 4
    else:
        assert wave > 4  # after PostgreSQL, which postgres-exporter reads
    assert deployment["metadata"]["namespace"] == "airflow"


def test_only_kube_state_metrics_gets_an_api_token(rendered: list[Manifest]) -> None:
    for name in ("statsd-exporter", "postgres-exporter"):
        assert (
            _by(rendered, "Deployment", name)["spec"]["template"]["spec"]["automountServiceAccountToken"]
            is False
        )


def test_kube_state_metrics_rbac_is_read_only_and_narrow(rendered: list[Manifest]) -> None:
    args = _container(_by(rendered, "Deployment", "kube-state-metrics"))["args"]
    namespaces = next(a for a in args if a.startswith("--namespaces=")).split("=", 1)[1].split(",")
    # airflow-infra too: the NFS server, its provisioner and node-exporter (alert NfsServerDown).
    assert sorted(namespaces) == ["airflow", "airflow-infra"]
    roles = [o for o in rendered if o["kind"] == "Role" and o["metadata"]["name"] == "kube-state-metrics"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == sorted(namespaces)
    bindings = [
        o for o in rendered if o["kind"] == "RoleBinding" and o["metadata"]["name"] == "kube-state-metrics"
    ]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == sorted(namespaces)
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "kube-state-metrics",
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "kube-state-metrics", "namespace": "airflow"}
        ]
    cluster_role = _by(rendered, "ClusterRole", "airflow-kube-state-metrics")
    assert cluster_role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}]
    resources = next(a for a in args if a.startswith("--resources=")).split("=", 1)[1].split(",")
    plural_group = {
        "pods": "",
        "persistentvolumeclaims": "",
        "deployments": "apps",
        "statefulsets": "apps",
        "daemonsets": "apps",
    }
    for role in roles:
        for rule in role["rules"]:
            assert set(rule["verbs"]) == {"list", "watch"}
            assert "*" not in rule["resources"] and "*" not in rule["apiGroups"]
        granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
        # Every namespaced resource it lists is granted in each namespace, and nothing else is.
        assert granted == {(plural_group[r], r) for r in resources if r != "nodes"}


def _allowlist(rendered: list[Manifest]) -> dict[str, set[str]]:
    args = _container(_by(rendered, "Deployment", "kube-state-metrics"))["args"]
    value = next(a for a in args if a.startswith("--metric-labels-allowlist=")).split("=", 1)[1]
    allowed: dict[str, set[str]] = {}
    for resource, labels in re.findall(r"(\w+)=\[([^\]]*)\]", value):
        allowed[resource] = {re.sub(r"[^a-zA-Z0-9_]", "_", label) for label in labels.split(",")}
    return allowed


def test_kube_state_metrics_copies_the_labels_the_queries_read(rendered: list[Manifest]) -> None:
    allowed = _allowlist(rendered)
    assert "kubernetes_executor" in allowed["pods"]  # worker pods of the KubernetesExecutor
    assert "node_role_kubernetes_io_airflow" in allowed["nodes"]
    resource_of = {
        "kube_pod_labels": "pods",
        "kube_node_labels": "nodes",
        "kube_deployment_labels": "deployments",
    }
    used: dict[str, set[str]] = defaultdict(set)
    for expr in catalog.all_queries():
        for metric, label, _ in catalog.label_matchers(expr):
            if metric in resource_of and label.startswith("label_"):
                used[resource_of[metric]].add(label.removeprefix("label_"))
        for label in re.findall(r"\blabel_([a-z0-9_]+)", expr):
            if label in {"replace", "join", "values"}:
                continue
            assert any(label in labels for labels in allowed.values()), f"label_{label} is not allowlisted"
    for resource, labels in used.items():
        assert labels <= allowed[resource], f"{resource}: {labels - allowed[resource]} not allowlisted"


def test_postgres_exporter_reads_the_password_from_the_secret(rendered: list[Manifest]) -> None:
    container = _container(_by(rendered, "Deployment", "postgres-exporter"))
    env = {e["name"]: e for e in container["env"]}
    assert env["DATA_SOURCE_PASS"]["valueFrom"]["secretKeyRef"] == {
        "name": SECRET_NAME,
        "key": SECRET_KEY_POSTGRES_PASSWORD,
    }
    assert env["DATA_SOURCE_USER"]["value"] == POSTGRES_USER
    assert env["DATA_SOURCE_URI"]["value"].startswith(f"postgres:5432/{POSTGRES_DB}?")
    assert all("value" not in e or "pass" not in e["name"].lower() for e in container["env"])


def test_postgres_exporter_loads_the_custom_queries(rendered: list[Manifest]) -> None:
    deployment = _by(rendered, "Deployment", "postgres-exporter")
    container = _container(deployment)
    path = next(a for a in container["args"] if a.startswith("--extend.query-path=")).split("=", 1)[1]
    mount = container["volumeMounts"][0]
    assert path.startswith(mount["mountPath"] + "/")
    volume = deployment["spec"]["template"]["spec"]["volumes"][0]
    config_map = _by(rendered, "ConfigMap", volume["configMap"]["name"])
    queries = yaml.safe_load(config_map["data"][path.rsplit("/", 1)[1]])
    assert "airflow_db_scheduler" in queries


def test_statsd_exporter_loads_the_mapping_and_listens_where_airflow_sends(rendered: list[Manifest]) -> None:
    deployment = _by(rendered, "Deployment", "statsd-exporter")
    container = _container(deployment)
    path = next(a for a in container["args"] if a.startswith("--statsd.mapping-config=")).split("=", 1)[1]
    volume = deployment["spec"]["template"]["spec"]["volumes"][0]
    config_map = _by(rendered, "ConfigMap", volume["configMap"]["name"])
    assert yaml.safe_load(config_map["data"][path.rsplit("/", 1)[1]]) == {
        "mappings": catalog.statsd_mappings()
    }
    service = _by(rendered, "Service", "airflow-statsd")
    udp = [p for p in service["spec"]["ports"] if p.get("protocol") == "UDP"]
    assert [p["port"] for p in udp] == [9125]
