"""`gitops-tool doctor` against the emulated API server: reads only, plus access reviews."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_tool.core.conventions import INFRA_NAMESPACE
from tests.cluster_support import CANARY_TOKEN, kube_args, namespace, node, service
from tests.conftest import RunCli
from tests.kubeapi import KubeApiServer

SCHEDULER = {"app.kubernetes.io/component": "scheduler"}
TRIGGERER = {"app.kubernetes.io/component": "triggerer"}


def _deployment(
    name: str, ready: int, labels: dict[str, str] | None = None, ns: str = "airflow"
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"replicas": 1},
        "status": {"replicas": 1, "readyReplicas": ready},
    }


def _pod(name: str, node_name: str, labels: dict[str, str], ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "airflow", "labels": labels},
        "spec": {"nodeName": node_name},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]},
    }


def _pvc(name: str, phase: str = "Bound") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "airflow"},
        "spec": {},
        "status": {"phase": phase},
    }


def _backup_cronjob() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "airflow-db-backup", "namespace": "airflow"},
        "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {}}}}},
    }


def _backup_job(name: str, condition: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "airflow",
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "CronJob", "name": "airflow-db-backup", "uid": "x"}
            ],
        },
        "spec": {"template": {"spec": {}}},
        "status": {
            "conditions": [{"type": condition, "status": "True"}],
            "completionTime": "2026-11-27T02:05:00Z",
        },
    }


def healthy() -> list[dict[str, Any]]:
    return [
        namespace(),
        node("node-1", "management"),
        node("node-2", "scheduler-1"),
        node("node-3", "scheduler-2"),
        # The NFS workloads live in the infrastructure namespace (docs/security.md, "Pod Security").
        _deployment("nfs-server", 1, ns=INFRA_NAMESPACE),
        _deployment("nfs-client-provisioner", 1, ns=INFRA_NAMESPACE),
        _deployment("airflow-scheduler-1", 1, SCHEDULER),
        _deployment("airflow-scheduler-2", 1, SCHEDULER),
        _pod("airflow-scheduler-1-abc", "node-2", SCHEDULER),
        _pod("airflow-scheduler-2-def", "node-3", SCHEDULER),
        _pvc("airflow-dags"),
        _pvc("airflow-logs"),
        {**_pod("test-nfs-pod", "node-1", {}), "status": {"phase": "Succeeded"}},
        _backup_cronjob(),
        _backup_job("airflow-db-backup-29393160", "Complete"),
        {
            **_deployment("airflow-webserver", 1),
            "spec": {
                "replicas": 1,
                "template": {"spec": {"containers": [{"args": ["airflow", "webserver"]}]}},
            },
        },
        service("default", "kubernetes", "10.96.0.1"),
        service(INFRA_NAMESPACE, "nfs-server", NFS_IP),
        _deployment("airflow-triggerer-1", 1, TRIGGERER),
        _deployment("airflow-triggerer-2", 1, TRIGGERER),
        _pod("airflow-triggerer-1-abc", "node-2", TRIGGERER),
        _pod("airflow-triggerer-2-def", "node-3", TRIGGERER),
    ]


NFS_IP = "10.96.20.49"


def _overlay(tmp_path: Path) -> list[str]:
    overlay = tmp_path / "repo" / "overlays" / "ha"
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / "kustomization.yaml").write_text("resources: [nfs-server.yaml]\n")
    (overlay / "nfs-server.yaml").write_text(json.dumps(service(INFRA_NAMESPACE, "nfs-server", NFS_IP)))
    (overlay / "node-roles.yaml").write_text(
        "roles: {management: node-1, scheduler-1: node-2, scheduler-2: node-3}\n"
    )
    return [str(overlay)]


def test_a_healthy_cluster_passes_with_reads_and_access_reviews_only(tmp_path: Path, run_cli: RunCli) -> None:
    with KubeApiServer(healthy(), token=CANARY_TOKEN, service_cidr="10.96.0.0/12") as api:
        result = run_cli("doctor", *_overlay(tmp_path), *kube_args(api, tmp_path))
        assert result.code == 0, result.out + result.err
        assert [line.split(":")[0] for line in result.out.splitlines()] == [
            "PASS    pending pods",
            "PASS    node labels",
            "PASS    NFS ClusterIP in the Service range",
            "PASS    NFS server and provisioner",
            "PASS    NFS write/read test",
            "PASS    PVCs bound",
            "PASS    schedulers",
            "PASS    triggerers",
            "PASS    executor RBAC",
            "PASS    warning events",
            "PASS    backups",
            "PASS    Airflow layout",
        ]
        assert "PASS    backups: last successful backup 2026-11-27 02:05Z (schedule 0 2 * * *)" in result.out
        writes = [r for r in api.requests if r.method != "GET"]
        probes = [r for r in writes if r.path == "/api/v1/namespaces/default/services"]
        assert [(r.method, r.query.get("dryRun"), r.body["spec"]["clusterIP"]) for r in probes] == [
            ("POST", "All", NFS_IP)
        ]
        assert "held by the nfs-server Service" in result.out
        assert len(api.objects("Service")) == 2  # the dry run stored nothing
        posts = [r for r in writes if r not in probes]
        assert {r.path for r in posts} == {"/apis/authorization.k8s.io/v1/subjectaccessreviews"}
        assert [
            (
                p.body["spec"]["resourceAttributes"]["verb"],
                p.body["spec"]["resourceAttributes"].get("subresource"),
            )
            for p in posts
        ] == [
            ("create", None),
            ("get", None),
            ("list", None),
            ("watch", None),
            ("patch", None),
            ("delete", None),
            ("get", "log"),
        ]
        assert all(p.body["spec"]["user"] == "system:serviceaccount:airflow:airflow" for p in posts)
        assert api.objects("SubjectAccessReview") == []


def test_each_seed_problem_is_a_failed_check_with_a_hint(tmp_path: Path, run_cli: RunCli) -> None:
    objects = healthy()
    objects[2] = node("node-2")  # lost its role label
    objects[5] = _deployment("nfs-client-provisioner", 0, ns=INFRA_NAMESPACE)
    objects[9] = _pod("airflow-scheduler-2-def", "node-2", SCHEDULER)  # both schedulers on node-2
    objects[10] = _pvc("airflow-dags", "Pending")
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "airflow-webserver-1", "namespace": "airflow"},
            "spec": {},
            "status": {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/3 nodes are available",
                    }
                ],
            },
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e1", "namespace": "airflow"},
            "type": "Warning",
            "reason": "FailedMount",
            "lastTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "involvedObject": {"kind": "Pod", "name": "airflow-webserver-1"},
            "message": "mount failed",
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e2", "namespace": INFRA_NAMESPACE},
            "type": "Warning",
            "reason": "FailedCreate",
            "lastTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "involvedObject": {"kind": "ReplicaSet", "name": "nfs-client-provisioner-5d9"},
            "message": "forbidden",
        }
    )
    with KubeApiServer(objects, token=CANARY_TOKEN) as api:
        api.access_rule = lambda spec: spec["resourceAttributes"]["verb"] != "create"
        result = run_cli("doctor", *_overlay(tmp_path), "--output", "json", *kube_args(api, tmp_path))
        assert result.code == 1, result.err
        checks = {c["check"]: c for c in json.loads(result.out)["checks"]}
        assert {name: c["status"] for name, c in checks.items()} == {
            "pending pods": "fail",
            "node labels": "fail",
            "NFS ClusterIP in the Service range": "pass",
            "NFS server and provisioner": "fail",
            "NFS write/read test": "pass",
            "PVCs bound": "fail",
            "schedulers": "fail",
            "triggerers": "pass",
            "executor RBAC": "fail",
            "warning events": "fail",
            "backups": "pass",
            "Airflow layout": "pass",
        }
        assert checks["pending pods"]["items"] == [
            "airflow-webserver-1: Unschedulable: 0/3 nodes are available"
        ]
        assert checks["node labels"]["items"] == ["node-2: add node-role.kubernetes.io/airflow=scheduler-1"]
        assert "create pods" in checks["executor RBAC"]["detail"]
        assert checks["warning events"]["items"] == [
            "Pod/airflow-webserver-1: FailedMount: mount failed",
            "ReplicaSet/nfs-client-provisioner-5d9: FailedCreate: forbidden",
        ]
        assert checks["NFS server and provisioner"]["items"] == [
            "Deployment/nfs-client-provisioner: 0/1 ready"
        ]
        assert all(c["hint"] for c in checks.values() if c["status"] == "fail")
        assert {r.method for r in api.requests} == {"GET", "POST"}


def test_forbidden_access_reviews_make_the_rbac_check_unknown(tmp_path: Path, run_cli: RunCli) -> None:
    with KubeApiServer(healthy(), token=CANARY_TOKEN) as api:
        api.forbid("subjectaccessreviews", group="authorization.k8s.io")
        result = run_cli("doctor", *_overlay(tmp_path), *kube_args(api, tmp_path))
        assert result.code == 0, result.err
        assert "UNKNOWN executor RBAC: could not ask the API server: HTTP 403" in result.out


def test_without_the_backup_cronjob_doctor_says_backups_are_not_enabled(
    tmp_path: Path, run_cli: RunCli
) -> None:
    objects = [o for o in healthy() if o["kind"] not in ("CronJob", "Job")]
    with KubeApiServer(objects, token=CANARY_TOKEN) as api:
        result = run_cli("doctor", *_overlay(tmp_path), *kube_args(api, tmp_path))
        assert result.code == 0, result.err  # optional: not a failure, but said with the way to enable it
        lines = result.out.splitlines()
        at = lines.index("UNKNOWN backups: backups are not enabled: no CronJob airflow/airflow-db-backup")
        assert lines[at + 1].strip().startswith("hint: gitops-tool backup enable OVERLAY")
        assert "/apis/batch/v1/namespaces/airflow/jobs" not in [r.path for r in api.requests]
