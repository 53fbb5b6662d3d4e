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
from gitops_tool.core.service_range import Probe, ServiceRangeFacts

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
MAPPING = parse_role_mapping(
    {"roles": {"management": "node-1", "scheduler-1": "node-2", "scheduler-2": "node-3"}}
)


def pod(
    name: str,
    node: str,
    *,
    ready: bool = True,
    scheduler: bool = False,
    phase: str = "Running",
    component: str | None = None,
) -> dict[str, object]:
    component = component or ("scheduler" if scheduler else None)
    labels = {COMPONENT_LABEL: component} if component else {}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"nodeName": node},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def deployment(
    name: str, ready: int, replicas: int = 1, scheduler: bool = False, component: str | None = None
) -> dict[str, object]:
    component = component or ("scheduler" if scheduler else None)
    labels = {COMPONENT_LABEL: component} if component else {}
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": ready},
    }


BACKUP_CRONJOB: dict[str, object] = {
    "metadata": {"name": "airflow-db-backup", "uid": "u-1"},
    "spec": {"schedule": "0 2 * * *"},
}


def backup_job(name: str, created: str, condition: str) -> dict[str, object]:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "ownerReferences": [{"kind": "CronJob", "name": "airflow-db-backup", "uid": "u-1"}],
        },
        "status": {
            "conditions": [{"type": condition, "status": "True", "reason": "BackoffLimitExceeded"}],
            "completionTime": created.replace(":00:00Z", ":05:00Z"),
        },
    }


def with_args(workload: dict[str, object], *args: str) -> dict[str, object]:
    spec = dict(workload["spec"])  # type: ignore[call-overload]
    spec["template"] = {"spec": {"containers": [{"args": list(args)}]}}
    return {**workload, "spec": spec}


def healthy() -> ClusterSnapshot:
    nodes = {name: {NODE_ROLE_LABEL: role} for role, name in MAPPING.roles.items()}
    return ClusterSnapshot(
        now=NOW,
        pods=[
            pod("test-nfs-pod", "node-1", phase="Succeeded"),
            pod("airflow-scheduler-1-a", "node-2", scheduler=True),
            pod("airflow-scheduler-2-b", "node-3", scheduler=True),
            pod("airflow-triggerer-1-a", "node-2", component="triggerer"),
            pod("airflow-triggerer-2-b", "node-3", component="triggerer"),
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
            deployment("airflow-triggerer-1", 1, component="triggerer"),
            deployment("airflow-triggerer-2", 1, component="triggerer"),
            with_args(deployment("airflow-webserver", 1), "airflow", "webserver"),
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
        backup_cronjob=BACKUP_CRONJOB,
        jobs=[backup_job("airflow-db-backup-29391720", "2026-11-27T02:00:00Z", "Complete")],
        service_range=ServiceRangeFacts(NFS_IP, NFS_IP, "10.96.0.1", Probe.ALLOCATED),
    )


NFS_IP = "10.96.20.49"


def test_a_healthy_cluster_passes_every_check() -> None:
    results = run_checks(healthy())
    assert [(r.name, r.status) for r in results] == [
        ("pending pods", Status.PASS),
        ("node labels", Status.PASS),
        ("NFS ClusterIP in the Service range", Status.PASS),
        ("NFS server and provisioner", Status.PASS),
        ("NFS write/read test", Status.PASS),
        ("PVCs bound", Status.PASS),
        ("schedulers", Status.PASS),
        ("triggerers", Status.PASS),
        ("executor RBAC", Status.PASS),
        ("warning events", Status.PASS),
        ("backups", Status.PASS),
        ("Airflow layout", Status.PASS),
    ]
    assert "hint" not in report_text(results)
    assert results[-2].detail == "last successful backup 2026-11-27 02:05Z (schedule 0 2 * * *)"
    assert results[-1].detail == "Airflow 2 layout (webserver)"


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
        # k3s's range, and the kubeadm address Git still asks for.
        service_range=ServiceRangeFacts(NFS_IP, None, "10.43.0.1", Probe.OUT_OF_RANGE, "10.43.0.0/16"),
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
            # Airflow 3's api-server without the DAG processor of components/airflow-3.
            with_args(deployment("airflow-webserver", 1), "airflow", "api-server"),
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
        jobs=[
            backup_job("airflow-db-backup-29391720", "2026-11-26T02:00:00Z", "Complete"),
            backup_job("airflow-db-backup-29393160", "2026-11-27T02:00:00Z", "Failed"),
        ],
    )
    results = {r.name: r for r in run_checks(snapshot)}
    assert all(r.status is Status.FAIL for r in results.values())
    assert results["pending pods"].items == [
        "airflow-webserver-x: Unschedulable: 0/3 nodes are available: "
        "3 node(s) didn't match Pod's node affinity/selector."
    ]
    assert "node-2: 2 schedulers on one node" in results["schedulers"].items[0]
    assert results["node labels"].hint == "gitops-tool nodes apply overlays/three-node-ha --yes"
    assert results["PVCs bound"].items == ["airflow-dags: Pending"]
    assert results["NFS write/read test"].detail == "test-nfs-pod Failed: exit code 1 (Error)"
    assert results["NFS server and provisioner"].items == ["Deployment/nfs-client-provisioner: 0/1 ready"]
    assert "may not: create pods" in results["executor RBAC"].detail
    assert results["warning events"].items == ["Pod/p: FailedMount: mount failed"]
    assert results["backups"].detail == (
        "the latest backup Job airflow-db-backup-29393160 failed: BackoffLimitExceeded"
    )
    assert results["NFS ClusterIP in the Service range"].detail == (
        "10.96.20.49 is outside the cluster's Service range 10.43.0.0/16; the kubernetes Service is 10.43.0.1"
    )
    assert results["triggerers"].detail == "no triggerer Deployment in the namespace"
    assert "every deferred task stays deferred" in results["triggerers"].hint
    text = report_text(results.values())
    assert text.count("hint:") == 12


def test_backups_not_enabled_not_yet_run_suspended_or_unreadable() -> None:
    def backups(**changes: object) -> tuple[Status, str, str]:
        result = {r.name: r for r in run_checks(replace(healthy(), **changes))}["backups"]  # type: ignore[arg-type]
        return result.status, result.detail, result.hint

    status, detail, hint = backups(backup_cronjob=None, jobs=[])
    assert (status, detail) == (
        Status.UNKNOWN,
        "backups are not enabled: no CronJob airflow/airflow-db-backup",
    )
    assert hint.startswith("gitops-tool backup enable OVERLAY")
    assert backups(jobs=[]) == (
        Status.UNKNOWN,
        "no backup has completed yet (schedule 0 2 * * * UTC)",
        "gitops-tool backup now",
    )
    suspended = {**BACKUP_CRONJOB, "spec": {"schedule": "0 2 * * *", "suspend": True}}
    assert backups(backup_cronjob=suspended)[:2] == (
        Status.FAIL,
        "CronJob airflow-db-backup is suspended: no scheduled backup runs",
    )
    # A failure older than the last success is history, not a problem.
    older = [
        backup_job("a", "2026-11-25T02:00:00Z", "Failed"),
        backup_job("b", "2026-11-26T02:00:00Z", "Complete"),
    ]
    assert backups(jobs=older)[0] is Status.PASS
    # list and restore Jobs carry the CronJob's labels but are not backups.
    listing = backup_job("airflow-backup-list-x", "2026-11-27T04:00:00Z", "Failed")
    listing["metadata"]["labels"] = {"gitops-tool.io/backup-job": "list"}  # type: ignore[index]
    assert backups(jobs=[*older, listing])[0] is Status.PASS
    assert backups(backups_readable=False, backup_cronjob=None)[0] is Status.UNKNOWN


def test_unknown_when_the_api_server_cannot_be_asked() -> None:
    snapshot = replace(
        healthy(), access=[AccessAnswer("create", "pods", "", None, "403 Forbidden")], label_plan=None
    )
    results = {r.name: r for r in run_checks(snapshot)}
    assert results["executor RBAC"].status is Status.UNKNOWN
    assert results["node labels"].status is Status.UNKNOWN


def test_the_airflow_layout_is_one_version_whole() -> None:
    def layout(*workloads: dict[str, object]) -> tuple[Status, str]:
        snapshot = healthy()
        others = [w for w in snapshot.workloads if w.get("metadata", {}).get("name") != "airflow-webserver"]
        result = {r.name: r for r in run_checks(replace(snapshot, workloads=[*others, *workloads]))}
        found = result["Airflow layout"]
        return found.status, found.detail + " " + found.hint

    api_server = with_args(deployment("airflow-webserver", 1), "airflow", "api-server")
    webserver = with_args(deployment("airflow-webserver", 1), "airflow", "webserver")
    assert layout(api_server, deployment("airflow-dag-processor", 1))[0] is Status.PASS
    status, text = layout(api_server)
    assert status is Status.FAIL and "no DAG file is parsed" in text
    status, text = layout(api_server, deployment("airflow-dag-processor", 0))
    assert status is Status.FAIL and "0 of 1 ready" in text and "secrets rotate" in text
    status, text = layout(webserver, deployment("airflow-dag-processor", 1))
    assert status is Status.FAIL and "half-synced" in text
    assert layout()[0] is Status.UNKNOWN


def test_triggerers_unready_or_sharing_a_node_fail_with_the_pods_named() -> None:
    snapshot = healthy()
    pods = [p for p in snapshot.pods if "triggerer" not in str(p["metadata"])]
    snapshot = replace(
        snapshot,
        pods=[
            *pods,
            pod("airflow-triggerer-1-a", "node-2", component="triggerer"),
            pod("airflow-triggerer-2-b", "node-2", component="triggerer"),
            pod("airflow-triggerer-2-c", "node-3", component="triggerer", ready=False),
        ],
    )
    result = {r.name: r for r in run_checks(snapshot)}["triggerers"]
    assert result.status is Status.FAIL
    assert result.items == [
        "airflow-triggerer-2-c: not ready",
        "node-2: 2 triggerers on one node (airflow-triggerer-1-a, airflow-triggerer-2-b)",
    ]
    assert {r.name: r for r in run_checks(healthy())}["triggerers"].detail == (
        "2 ready on distinct nodes (node-2, node-3)"
    )
