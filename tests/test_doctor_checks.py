"""doctor's checks as pure functions over live objects."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from gitops_tool.core.conventions import COMPONENT_LABEL, NODE_ROLE_LABEL
from gitops_tool.core.doctor import (
    EXECUTOR_PERMISSIONS,
    AccessAnswer,
    ClusterSnapshot,
    Status,
    report_text,
    run_checks,
)
from gitops_tool.core.node_roles import parse_role_mapping, plan_labels

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
MAPPING = parse_role_mapping(
    {"roles": {"management": "node-1", "scheduler-1": "node-2", "scheduler-2": "node-3"}}
)


def pod(
    name: str, node: str, *, ready: bool = True, scheduler: bool = False, phase: str = "Running"
) -> dict[str, object]:
    labels = {COMPONENT_LABEL: "scheduler"} if scheduler else {}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"nodeName": node},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def deployment(name: str, ready: int, replicas: int = 1, scheduler: bool = False) -> dict[str, object]:
    labels = {COMPONENT_LABEL: "scheduler"} if scheduler else {}
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": ready},
    }


def healthy() -> ClusterSnapshot:
    nodes = {name: {NODE_ROLE_LABEL: role} for role, name in MAPPING.roles.items()}
    return ClusterSnapshot(
        now=NOW,
        pods=[
            pod("test-nfs-pod", "node-1", phase="Succeeded"),
            pod("airflow-scheduler-1-a", "node-2", scheduler=True),
            pod("airflow-scheduler-2-b", "node-3", scheduler=True),
        ],
        nodes=[],
        pvcs=[
            {"metadata": {"name": n}, "status": {"phase": "Bound"}} for n in ("airflow-dags", "airflow-logs")
        ],
        workloads=[
            deployment("nfs-server", 1),
            deployment("nfs-client-provisioner", 1),
            deployment("airflow-scheduler-1", 1, scheduler=True),
            deployment("airflow-scheduler-2", 1, scheduler=True),
        ],
        events=[
            {
                "type": "Warning",
                "reason": "BackOff",
                "lastTimestamp": "2026-11-27T02:00:00Z",
                "message": "old",
            }
        ],
        access=[AccessAnswer(v, r, s, True) for v, r, s in EXECUTOR_PERMISSIONS],
        label_plan=plan_labels(MAPPING, nodes),
        overlay="overlays/three-node-ha",
    )


def test_a_healthy_cluster_passes_every_check() -> None:
    results = run_checks(healthy())
    assert [(r.name, r.status) for r in results] == [
        ("pending pods", Status.PASS),
        ("node labels", Status.PASS),
        ("NFS server and provisioner", Status.PASS),
        ("NFS write/read test", Status.PASS),
        ("PVCs bound", Status.PASS),
        ("schedulers", Status.PASS),
        ("executor RBAC", Status.PASS),
        ("warning events", Status.PASS),
    ]
    assert "hint" not in report_text(results)


def test_each_seed_problem_fails_its_check_with_a_hint() -> None:
    pending = pod("airflow-webserver-x", "", phase="Pending")
    pending["status"] = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.",
            }
        ],
    }
    snapshot = replace(
        healthy(),
        pods=[
            pending,
            {
                "metadata": {"name": "test-nfs-pod"},
                "status": {
                    "phase": "Failed",
                    "containerStatuses": [
                        {"name": "test-nfs", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
                    ],
                },
            },
            pod("airflow-scheduler-1-a", "node-2", scheduler=True),
            pod("airflow-scheduler-2-b", "node-2", scheduler=True),
        ],
        pvcs=[{"metadata": {"name": "airflow-dags"}, "status": {"phase": "Pending"}}],
        workloads=[
            deployment("nfs-client-provisioner", 0),
            deployment("airflow-scheduler-1", 1, scheduler=True),
            deployment("airflow-scheduler-2", 1, scheduler=True),
        ],
        events=[
            {
                "type": "Warning",
                "reason": "FailedMount",
                "lastTimestamp": "2026-11-27T04:50:00Z",
                "involvedObject": {"kind": "Pod", "name": "p"},
                "message": "mount failed",
            }
        ],
        access=[AccessAnswer("create", "pods", "", False), AccessAnswer("get", "pods", "", True)],
        label_plan=plan_labels(MAPPING, {"node-1": {}, "node-2": {NODE_ROLE_LABEL: "scheduler-1"}}),
    )
    results = {r.name: r for r in run_checks(snapshot)}
    assert all(r.status is Status.FAIL for r in results.values())
    assert results["pending pods"].items == [
        "airflow-webserver-x: Unschedulable: 0/3 nodes are available: "
        "3 node(s) didn't match Pod's node affinity/selector."
    ]
    assert "node-2: 2 schedulers on one node" in results["schedulers"].items[0]
    assert results["node labels"].hint == "gitops-tool nodes apply --overlay overlays/three-node-ha --yes"
    assert results["PVCs bound"].items == ["airflow-dags: Pending"]
    assert results["NFS write/read test"].detail == "test-nfs-pod Failed: exit code 1 (Error)"
    assert results["NFS server and provisioner"].items == ["Deployment/nfs-client-provisioner: 0/1 ready"]
    assert "may not: create pods" in results["executor RBAC"].detail
    assert results["warning events"].items == ["Pod/p: FailedMount: mount failed"]
    text = report_text(results.values())
    assert text.count("hint:") == 8


def test_unknown_when_the_api_server_cannot_be_asked() -> None:
    snapshot = replace(
        healthy(), access=[AccessAnswer("create", "pods", "", None, "403 Forbidden")], label_plan=None
    )
    results = {r.name: r for r in run_checks(snapshot)}
    assert results["executor RBAC"].status is Status.UNKNOWN
    assert results["node labels"].status is Status.UNKNOWN
