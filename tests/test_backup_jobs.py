"""Jobs derived from the backup CronJob, and reading their results."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gitops_tool.core.backup_jobs import (
    BACKUP_CONTAINER,
    backup_job,
    backup_result,
    check_backup_file,
    is_database_client,
    job_state,
    latest_success,
    list_job,
    parse_listing,
    restore_job,
    safety_dump,
)
from gitops_tool.core.objects import Manifest
from gitops_tool.errors import UserError

NOW = datetime(2026, 11, 27, 5, 0, 0, tzinfo=UTC)


def cronjob() -> dict[str, object]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "airflow-db-backup", "namespace": "airflow", "uid": "u-1"},
        "spec": {
            "schedule": "0 2 * * *",
            "jobTemplate": {
                "metadata": {"labels": {"app.kubernetes.io/component": "backup"}},
                "spec": {
                    "backoffLimit": 1,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {
                                    "name": BACKUP_CONTAINER,
                                    "image": "postgres:16.6-alpine",
                                    "command": ["sh", "-c", "pg_dump ..."],
                                    "volumeMounts": [{"name": "scripts", "mountPath": "/scripts"}],
                                    "env": [
                                        {
                                            "name": "PGPASSWORD",
                                            "valueFrom": {
                                                "secretKeyRef": {
                                                    "name": "airflow-secrets",
                                                    "key": "postgres-password",
                                                }
                                            },
                                        }
                                    ],
                                }
                            ],
                            "volumes": [
                                {"name": "backups", "persistentVolumeClaim": {"claimName": "airflow-backups"}}
                            ],
                        }
                    },
                },
            },
        },
    }


def test_backup_job_is_what_kubectl_create_job_from_makes() -> None:
    job = backup_job(cronjob(), NOW)
    meta = job["metadata"]
    assert meta["name"] == "airflow-db-backup-manual-20261127-050000"
    assert meta["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": "airflow-db-backup",
            "uid": "u-1",
            "controller": True,
        }
    ]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["sh", "-c", "pg_dump ..."]


def test_list_job_carries_no_credentials_and_restore_job_runs_the_restore_script() -> None:
    listing = list_job(cronjob(), NOW)["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in listing and listing["command"][0] == "sh"
    restore = restore_job(cronjob(), "airflow-20261126T020000Z.dump", NOW, lock_timeout_s=7)
    container = restore["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["sh", "/scripts/restore.sh", "/backups/airflow-20261126T020000Z.dump"]
    assert [e["name"] for e in container["env"]] == ["PGPASSWORD", "RESTORE_LOCK_TIMEOUT"]
    assert container["env"][1]["value"] == "7s"
    assert restore["spec"]["backoffLimit"] == 0
    assert "controller" not in restore["metadata"]["ownerReferences"][0]


@pytest.mark.parametrize(
    "name", ["../etc/passwd.dump", "/backups/a.dump", "a.sql", "a b.dump", "-x.dump", ""]
)
def test_restore_refuses_paths_and_odd_names(name: str) -> None:
    with pytest.raises(UserError, match="not a backup file name"):
        check_backup_file(name)


def test_safety_dump_name_is_read_from_the_restore_log() -> None:
    log = "ended 0 other session(s)\nsafety dump written: pre-restore-20261127T050000Z.dump 2048 bytes\n"
    assert safety_dump(log) == "pre-restore-20261127T050000Z.dump"
    assert safety_dump("restore failed: x.dump is not a readable pg_dump archive") is None
    assert safety_dump("safety dump written: ../../etc/passwd 1 bytes") is None


def _workload(labels: dict[str, str], env: list[str], pod_labels: dict[str, str] | None = None) -> Manifest:
    containers = [{"name": "c", "env": [{"name": n, "value": "v"} for n in env]}]
    return {
        "kind": "Deployment",
        "metadata": {"name": "x", "labels": labels},
        "spec": {"template": {"metadata": {"labels": pod_labels or {}}, "spec": {"containers": containers}}},
    }


@pytest.mark.parametrize(
    ("workload", "client"),
    [
        (_workload({"app.kubernetes.io/component": "triggerer"}, []), True),
        (_workload({}, [], {"app.kubernetes.io/component": "dag-processor"}), True),
        (_workload({"app.kubernetes.io/component": "new"}, ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]), True),
        (_workload({"app.kubernetes.io/component": "old"}, ["AIRFLOW__CORE__SQL_ALCHEMY_CONN_CMD"]), True),
        (_workload({"app.kubernetes.io/component": "git-sync"}, ["GITSYNC_REPO"]), False),
        (_workload({"app.kubernetes.io/component": "monitoring"}, ["DATA_SOURCE_NAME"]), False),
    ],
)
def test_database_clients_by_component_or_connection(workload: Manifest, client: bool) -> None:
    assert is_database_client(workload) is client


def test_listing_and_results() -> None:
    log = "airflow-a.dump 2048 1764000000\ngarbage line\nairflow-b.dump 10 1764100000\n"
    files = parse_listing(log)
    assert [f.name for f in files] == ["airflow-b.dump", "airflow-a.dump"]
    assert backup_result("starting\nbackup written: airflow-b.dump 10 bytes\n") == "airflow-b.dump 10 bytes"
    assert backup_result("pg_dump: error\n") is None


def test_job_states_and_latest_success() -> None:
    assert job_state({"status": {}}).phase == "pending"
    assert job_state({"status": {"active": 1}}).phase == "running"
    assert (
        job_state({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}).phase == "succeeded"
    )
    failed = job_state(
        {"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}}
    )
    assert (failed.phase, failed.detail) == ("failed", "BackoffLimitExceeded")
    done = backup_job(cronjob(), NOW)
    done["status"] = {"succeeded": 1, "completionTime": "2026-11-27T04:00:00Z"}
    listing = list_job(cronjob(), NOW)
    listing["status"] = {"succeeded": 1, "completionTime": "2026-11-27T04:59:00Z"}
    assert latest_success(
        [done, listing], {"status": {"lastSuccessfulTime": "2026-11-26T02:00:00Z"}}
    ) == datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    assert latest_success([], None) is None
