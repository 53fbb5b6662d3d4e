"""Drift on the three-node-ha overlay against an emulated API server, through the real kubernetes client.

The cluster is seeded with the overlay's objects as a real API server returns them after an Argo CD
sync (tests/livestate.py: defaults, managedFields, status, controllers' objects, 20 worker pods,
labelled Nodes), then changed the way people change clusters by hand.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.adapters.kustomize import KustomizeRenderer, resolve_kustomize
from gitops_tool.core import conventions as c
from gitops_tool.core.documents import parse_manifests
from tests import livestate as ls
from tests.cluster_support import Drift, drift_json
from tests.conftest import REPO_ROOT, RunCli
from tests.kubeapi import KubeApiServer

OVERLAY = "overlays/three-node-ha"
ROLES = yaml.safe_load((REPO_ROOT / OVERLAY / c.NODE_ROLES_FILE).read_text())["roles"]


@pytest.fixture(scope="module")
def desired() -> list[dict[str, Any]]:
    text = KustomizeRenderer(resolve_kustomize()).build(REPO_ROOT / OVERLAY)
    return parse_manifests(text, "render")


@pytest.fixture
def cluster(desired: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    # Sync waves and hooks ran: everything is there (hook Jobs too, and they are not compared).
    yield ls.cluster_state(desired, workers=20, roles=ROLES, extra_nodes=["node-4"])


@pytest.fixture
def drift(run_cli: RunCli, tmp_path: Path) -> Drift:
    return functools.partial(drift_json, run_cli, tmp_path, (OVERLAY, "--worktree"))


def _changed(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{r['kind']}/{r['name']}": r for r in report["resources"] if r["status"] != "in-sync"}


def _name(objects: list[dict[str, Any]], kind: str, prefix: str) -> str:
    return next(
        str(o["metadata"]["name"])
        for o in objects
        if o["kind"] == kind and o["metadata"]["name"].startswith(prefix)
    )


def test_faithful_copy_with_defaults_managed_fields_and_workers_is_clean(
    drift: Drift, cluster: list[dict[str, Any]], desired: list[dict[str, Any]]
) -> None:
    result, report, api = drift(cluster, "--show-in-sync")
    assert result.code == 0, result.out + result.err
    summary = report["summary"]
    assert (summary["modified"], summary["missing"], summary["extra"], summary["unknown"]) == (0, 0, 0, 0)
    hooks = sum(1 for o in desired if c.ARGOCD_HOOK in (o["metadata"].get("annotations") or {}))
    assert summary["in_sync"] == len(desired) - hooks + len(ROLES)
    assert api.methods() == {"GET"}
    # Only the overlay's two namespaces are read (each of them), lists are paginated, worker pods
    # are never listed.
    namespaced = [r.path for r in api.requests if "/namespaces/" in r.path]
    read = {re.search(r"/namespaces/([^/]+)", p).group(1) for p in namespaced}  # type: ignore[union-attr]
    assert read == {c.NAMESPACE, c.INFRA_NAMESPACE}
    assert {o["metadata"].get("namespace") for o in desired if o["kind"] == "DaemonSet"} == {
        c.INFRA_NAMESPACE
    }
    lists = [r for r in api.requests if r.path.endswith("/configmaps")]
    assert lists and all(r.query.get("limit") for r in lists)
    assert not any(r.path.endswith("/pods") for r in api.requests)


def test_faithful_copy_after_client_side_apply_is_clean(drift: Drift, desired: list[dict[str, Any]]) -> None:
    live = ls.cluster_state(desired, workers=3, server_side=False, roles=ROLES)
    result, report, _ = drift(live)
    assert result.code == 0, result.out
    assert report["resources"] == []


def test_kubectl_set_image_on_a_scheduler(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    scheduler = ls.find(cluster, "Deployment", "airflow-scheduler-1")
    old = scheduler["spec"]["template"]["spec"]["containers"][0]["image"]
    ls.kubectl_set_image(scheduler, "airflow-scheduler", "apache/airflow:2.11.1-python3.9")
    result, report, _ = drift(cluster)
    assert result.code == 1
    changed = _changed(report)
    assert list(changed) == ["Deployment/airflow-scheduler-1"]
    assert changed["Deployment/airflow-scheduler-1"]["differences"] == [
        {
            "path": "/spec/template/spec/containers/0/image",
            "desired": old,
            "live": "apache/airflow:2.11.1-python3.9",
            "reason": "changed",
            "live_owner": {"manager": "kubectl-set", "operation": "Update", "time": ls.LATER},
        }
    ]


def test_kubectl_scale(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    ls.kubectl_scale(ls.find(cluster, "Deployment", "airflow-scheduler-2"), 3)
    result, report, _ = drift(cluster)
    assert result.code == 1
    assert _changed(report)["Deployment/airflow-scheduler-2"]["differences"] == [
        {
            "path": "/spec/replicas",
            "desired": 1,
            "live": 3,
            "reason": "changed",
            "live_owner": {"manager": "kubectl-scale", "operation": "Update", "time": ls.LATER},
        }
    ]
    assert len(_changed(report)) == 1


def test_kubectl_edit_of_the_airflow_config_map(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    name = _name(cluster, "ConfigMap", "airflow-config")
    config = ls.find(cluster, "ConfigMap", name)
    ls.kubectl_edit_data(config, "AIRFLOW__CORE__LOAD_EXAMPLES", "True")
    result, report, _ = drift(cluster)
    assert result.code == 1
    assert _changed(report)[f"ConfigMap/{name}"]["differences"] == [
        {
            "path": "/data/AIRFLOW__CORE__LOAD_EXAMPLES",
            "desired": "False",
            "live": "True",
            "reason": "changed",
            "live_owner": {"manager": "kubectl-edit", "operation": "Update", "time": ls.LATER},
        }
    ]


def test_kubectl_set_env_adds_a_variable(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    scheduler = ls.find(cluster, "Deployment", "airflow-scheduler-1")
    env_count = len(scheduler["spec"]["template"]["spec"]["containers"][0].get("env") or [])
    ls.kubectl_set_env(scheduler, "airflow-scheduler", "AIRFLOW__CORE__PARALLELISM", "64")
    result, report, _ = drift(cluster)
    assert result.code == 1
    assert _changed(report)["Deployment/airflow-scheduler-1"]["differences"] == [
        {
            "path": f"/spec/template/spec/containers/0/env/{env_count}",
            "desired": None,
            "live": {"name": "AIRFLOW__CORE__PARALLELISM", "value": "64"},
            "reason": "set live by kubectl-set (imperative change)",
            "live_owner": {"manager": "kubectl-set", "operation": "Update", "time": ls.LATER},
        }
    ]


def test_kubectl_label_on_a_service(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    ls.kubectl_label(ls.find(cluster, "Service", "airflow-webserver"), "exposed-by", "alice")
    result, report, _ = drift(cluster)
    assert result.code == 1
    assert _changed(report)["Service/airflow-webserver"]["differences"] == [
        {
            "path": "/metadata/labels/exposed-by",
            "desired": None,
            "live": "alice",
            "reason": "set live by kubectl-label (imperative change)",
            "live_owner": {"manager": "kubectl-label", "operation": "Update", "time": ls.LATER},
        }
    ]


def test_deleted_service_is_missing(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    remaining = [o for o in cluster if not (o["kind"] == "Service" and o["metadata"]["name"] == "postgres")]
    result, report, _ = drift(remaining)
    assert result.code == 1
    assert {k: r["status"] for k, r in _changed(report).items()} == {"Service/postgres": "missing"}


def test_hand_made_config_map_with_the_repo_labels_is_extra(
    drift: Drift, cluster: list[dict[str, Any]]
) -> None:
    handmade = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "hotfix-settings",
            "namespace": "airflow",
            "labels": dict(c.OWNERSHIP_LABELS),
            "managedFields": [
                {
                    "manager": "kubectl-create",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {"f:x": {}}},
                }
            ],
        },
        "data": {"x": "1"},
    }
    unlabelled = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "someone-elses", "namespace": "airflow"},
        "data": {"y": "2"},
    }
    result, report, _ = drift([*cluster, handmade, unlabelled])
    assert result.code == 1
    assert {k: r["status"] for k, r in _changed(report).items()} == {"ConfigMap/hotfix-settings": "extra"}


def test_changes_in_the_infrastructure_namespace_are_drift_too(
    drift: Drift, cluster: list[dict[str, Any]]
) -> None:
    """node-exporter edited, the NFS Service deleted and a labelled hand-made object added, all in
    airflow-infra: each reported there; the same hand-made object in another namespace is not ours."""
    exporter = ls.find(cluster, "DaemonSet", "node-exporter")
    assert exporter["metadata"]["namespace"] == c.INFRA_NAMESPACE
    exporter["spec"]["template"]["spec"]["containers"][0]["image"] = "prom/node-exporter:v1.9.0"
    remaining = [o for o in cluster if not (o["kind"] == "Service" and o["metadata"]["name"] == "nfs-server")]

    def handmade(namespace: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "nfs-tuning", "namespace": namespace, "labels": dict(c.OWNERSHIP_LABELS)},
            "data": {"threads": "16"},
        }

    result, report, _ = drift([*remaining, handmade(c.INFRA_NAMESPACE), handmade("default")])
    assert result.code == 1
    changed = {
        (r["kind"], r["namespace"], r["name"]): r["status"]
        for r in report["resources"]
        if r["status"] != "in-sync"
    }
    assert changed == {
        ("DaemonSet", c.INFRA_NAMESPACE, "node-exporter"): "modified",
        ("Service", c.INFRA_NAMESPACE, "nfs-server"): "missing",
        ("ConfigMap", c.INFRA_NAMESPACE, "nfs-tuning"): "extra",
    }


def test_node_that_lost_its_role_label(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    node = ls.find(cluster, "Node", ROLES["scheduler-1"])
    del node["metadata"]["labels"][c.NODE_ROLE_LABEL]
    result, report, _ = drift(cluster)
    assert result.code == 1
    assert _changed(report)[f"Node/{ROLES['scheduler-1']}"]["differences"] == [
        {
            "path": "/metadata/labels/node-role.kubernetes.io~1airflow",
            "desired": "scheduler-1",
            "live": None,
            "reason": "role label missing",
            "live_owner": None,  # nobody owns a label that is not there
        }
    ]


def test_changed_secret_value_is_reported_not_printed(
    run_cli: RunCli, tmp_path: Path, desired: list[dict[str, Any]], cluster: list[dict[str, Any]]
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "airflow-webserver-extra",
            "namespace": "airflow",
            "labels": dict(c.OWNERSHIP_LABELS),
        },
        "type": "Opaque",
        "stringData": {"token": "git-side-value-1234"},
    }
    live_secret = ls.simulate_apply(secret)
    live_secret["data"]["token"] = "Y2x1c3Rlci1zaWRlLXZhbHVlLTU2Nzg="  # cluster-side-value-5678
    desired_file = tmp_path / "desired.yaml"
    desired_file.write_text(yaml.safe_dump_all([*desired, secret]))
    with KubeApiServer([*cluster, live_secret]) as api:
        for output in ("json", "text", "markdown"):
            result = run_cli(
                "drift",
                OVERLAY,
                "--desired-file",
                str(desired_file),
                "--kubeconfig",
                str(api.kubeconfig(tmp_path)),
                "--output",
                output,
                cwd=REPO_ROOT,
            )
            assert result.code == 1
            shown = result.out + result.err
            for value in (
                "git-side-value-1234",
                "Z2l0LXNpZGUtdmFsdWUtMTIzNA",
                "cluster-side-value-5678",
                "Y2x1c3Rlci1zaWRlLXZhbHVlLTU2Nzg",
            ):
                assert value not in shown
            if output == "json":
                assert json.loads(result.out)["resources"][0]["differences"] == [
                    {
                        "path": "/data/token",
                        "desired": "<secret value hidden>",
                        "live": "<secret value hidden>",
                        "reason": "secret value differs (values hidden)",
                        # changed without a record here: the applier still owns the value
                        "live_owner": {
                            "manager": "argocd-controller",
                            "operation": "Apply",
                            "time": ls.APPLY_TIME,
                        },
                    }
                ]
        assert api.methods() == {"GET"}


def test_forbidden_kind_is_unknown_and_exit_2_unless_partial(
    drift: Drift, cluster: list[dict[str, Any]]
) -> None:
    def deny(api: KubeApiServer) -> None:
        api.forbid("configmaps")

    result, report, _ = drift(cluster, prepare=deny)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "--allow-partial" in result.err
    statuses = {r["status"] for r in report["resources"] if r["kind"] == "ConfigMap"}
    assert statuses == {"unknown"}
    result, report, _ = drift(cluster, "--allow-partial", prepare=deny)
    assert result.code == 0
    assert report["summary"]["unknown"] == sum(1 for r in report["resources"] if r["kind"] == "ConfigMap") > 0


def test_throttling_and_server_errors_are_retried(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    def flaky(api: KubeApiServer) -> None:
        api.fail(429, path="/apis/apps/v1/namespaces/airflow/deployments", retry_after=0)
        api.fail(503, path="/api/v1/namespaces/airflow/services")

    result, _, api = drift(cluster, prepare=flaky)
    assert result.code == 0, result.err
    assert len([r for r in api.requests if r.path == "/apis/apps/v1/namespaces/airflow/deployments"]) == 2


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        (lambda api: api.silence(), "no answer within 0.3s"),
        (lambda api: api.fail(401, path="/", times=100), "401 Unauthorized"),
    ],
    ids=["silent", "unauthorized"],
)
def test_cluster_failures_end_in_one_line(
    drift: Drift, cluster: list[dict[str, Any]], prepare: Callable[[KubeApiServer], None], expected: str
) -> None:
    result, _, api = drift(cluster, "--request-timeout", "0.3", prepare=prepare)
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and expected in result.err and api.url in result.err


def test_kubeconfig_without_the_context(run_cli: RunCli, tmp_path: Path) -> None:
    with KubeApiServer() as api:
        config = api.kubeconfig(tmp_path)
        result = run_cli(
            "drift", OVERLAY, "--worktree", "--kubeconfig", str(config), "--context", "prod", cwd=REPO_ROOT
        )
    assert result.code == 2
    assert result.err.strip().endswith("has no context 'prod' (contexts: emulated)")
    assert api.requests == []


def test_large_namespaces_are_listed_page_by_page(drift: Drift, cluster: list[dict[str, Any]]) -> None:
    others = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"team-config-{i:03}", "namespace": "airflow"},
            "data": {"i": str(i)},
        }
        for i in range(520)
    ]
    result, _, api = drift([*cluster, *others])
    assert result.code == 0, result.out
    pages = [r for r in api.requests if r.path == "/api/v1/namespaces/airflow/configmaps"]
    assert len(pages) == 2 and "continue" in pages[1].query
    assert api.methods() == {"GET"}
