"""`gitops-tool backup now|list` and `restore` against the emulated API server.

A small stand-in for the Job controller and kubelet (hooks on the emulated server) moves each Job
from pending through running to its end and gives its pod a log.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster_support import CANARY_TOKEN, CANARY_VALUE, kube_args, namespace, writes
from tests.conftest import REPO_ROOT, RunCli
from tests.kubeapi import KubeApiServer, Recorded, ResourceType

CRONJOB_PATH = "/apis/batch/v1/namespaces/airflow/cronjobs/airflow-db-backup"
JOBS = "/apis/batch/v1/namespaces/airflow/jobs"
APPLICATION = ResourceType("argoproj.io", "v1alpha1", "Application", "applications", True)


def cronjob() -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((REPO_ROOT / "components" / "backup" / "cronjob.yaml").read_text())
    obj["metadata"]["namespace"] = "airflow"
    return obj


class JobController:
    """Advances each created Job one step each time its pods are listed; ``outcome`` decides its end."""

    def __init__(self, api: KubeApiServer, logs: dict[str, str], outcome: str = "Complete") -> None:
        self.logs, self.outcome = logs, outcome
        self.gets: dict[str, int] = {}
        self.jobs: list[dict[str, Any]] = []
        api.on_create("Job", self.created)
        api.on_request(self.request)

    def created(self, api: KubeApiServer, job: dict[str, Any]) -> None:
        name = job["metadata"]["name"]
        self.jobs.append(job)
        purpose = job["metadata"]["labels"]["gitops-tool.io/backup-job"]
        api.add(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{name}-x1", "namespace": "airflow", "labels": {"job-name": name}},
                "status": {"phase": "Pending"},
            }
        )
        api.set_log("airflow", f"{name}-x1", self.logs.get(purpose, ""))
        self.gets[name] = 0

    def request(self, api: KubeApiServer, rec: Recorded) -> None:
        # One step each time the command looks at the Job's pods, after it was answered.
        name = rec.query.get("labelSelector", "").removeprefix("job-name=")
        if rec.method != "GET" or rec.path != "/api/v1/namespaces/airflow/pods" or name not in self.gets:
            return
        self.gets[name] += 1
        job = api.get_object("Job", "airflow", name)
        pod = api.get_object("Pod", "airflow", f"{name}-x1")
        assert job is not None and pod is not None
        if self.gets[name] == 1:
            job["status"], pod["status"] = {"active": 1}, {"phase": "Running"}
        elif self.gets[name] == 2:
            done = self.outcome == "Complete"
            job["status"] = {
                "conditions": [
                    {
                        "type": self.outcome,
                        "status": "True",
                        **({} if done else {"reason": "BackoffLimitExceeded"}),
                    }
                ],
                "completionTime": "2026-11-27T05:00:00Z",
            }
            pod["status"] = {"phase": "Succeeded" if done else "Failed"}
        api.add(job)
        api.add(pod)


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer([namespace(), cronjob()], token=CANARY_TOKEN) as server:
        yield server


def fast(api: KubeApiServer, tmp_path: Path) -> list[str]:
    return [*kube_args(api, tmp_path), "--poll-interval", "0.01"]


def test_backup_now_creates_a_job_from_the_cronjob_and_follows_it(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    controller = JobController(api, {"backup": "backup written: airflow-20261127T050000Z.dump 4096 bytes\n"})
    result = run_cli("backup", "now", *fast(api, tmp_path))
    assert result.code == 0, result.err
    assert result.out == "backup written: airflow-20261127T050000Z.dump 4096 bytes\n"
    [post] = writes(api)
    assert (post.method, post.path) == ("POST", JOBS)
    stored_cronjob = api.get_object("CronJob", "airflow", "airflow-db-backup")
    assert stored_cronjob is not None
    assert post.body["spec"] == stored_cronjob["spec"]["jobTemplate"]["spec"]
    assert post.body["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": "airflow-db-backup",
            "uid": stored_cronjob["metadata"]["uid"],
            "controller": True,
        }
    ]
    assert post.body["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    name = controller.jobs[0]["metadata"]["name"]
    assert api.requests[0].path == CRONJOB_PATH
    assert api.requests[-1].path == f"/api/v1/namespaces/airflow/pods/{name}-x1/log"
    progress = result.err.splitlines()
    assert progress[0] == f"created Job airflow/{name}"
    assert [line.split("] ")[1] for line in progress[1:]] == [
        f"pod {name}-x1: Pending",
        f"pod {name}-x1: Running",
        f"pod {name}-x1: Succeeded",
    ]


def test_backup_now_reports_a_failed_job_with_its_last_log_line(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    JobController(api, {"backup": "pg_dump: error: connection to server failed\n"}, outcome="Failed")
    result = run_cli("backup", "now", *fast(api, tmp_path))
    assert result.code == 2
    last = result.err.strip().splitlines()[-1]
    assert "failed: BackoffLimitExceeded; last log line: pg_dump: error: connection to server failed" in last


def test_backup_without_the_component_says_how_to_enable_it(tmp_path: Path, run_cli: RunCli) -> None:
    with KubeApiServer([namespace()], token=CANARY_TOKEN) as api:
        for args in (["backup", "now"], ["backup", "list"], ["restore", "airflow-x.dump", "--yes"]):
            result = run_cli(*args, *fast(api, tmp_path))
            assert result.code == 2
            assert "no CronJob airflow/airflow-db-backup: backups are not enabled" in result.err
            assert "`gitops-tool backup enable OVERLAY`" in result.err
        assert writes(api) == []


def test_backup_list_reads_the_volume_through_a_job_and_removes_it(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    listing = (
        "airflow-20261126T020000Z.dump 1048576 1764122400\nairflow-20261127T020000Z.dump 2048 1764208800\n"
    )
    controller = JobController(api, {"list": listing})
    result = run_cli("backup", "list", *fast(api, tmp_path))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "airflow-20261127T020000Z.dump     2.0 KiB  2025-11-27 02:00:00Z",
        "airflow-20261126T020000Z.dump     1.0 MiB  2025-11-26 02:00:00Z",
    ]
    name = controller.jobs[0]["metadata"]["name"]
    assert [(w.method, w.path, w.query) for w in writes(api)] == [
        ("POST", JOBS, {"fieldManager": "gitops-tool"}),
        ("DELETE", f"{JOBS}/{name}", {"propagationPolicy": "Background"}),
    ]
    container = writes(api)[0].body["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container  # listing files needs no database password


def test_restore_refuses_without_yes_before_any_request(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    result = run_cli("restore", "airflow-20261127T020000Z.dump", *fast(api, tmp_path))
    assert result.code == 2 and "run again with --yes" in result.err
    bad = run_cli("restore", "../../etc/passwd", "--yes", *fast(api, tmp_path))
    assert bad.code == 2 and "not a backup file name" in bad.err
    assert api.requests == []


def _application(name: str, path: str, dest: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "source": {"path": path},
            "destination": {"namespace": dest},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def _scheduler(n: int, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"airflow-scheduler-{n}",
            "namespace": "airflow",
            "labels": {"app.kubernetes.io/component": "scheduler"},
        },
        "spec": {"replicas": replicas},
    }


@pytest.mark.parametrize("outcome", ["Complete", "Failed"])
def test_restore_pauses_sync_stops_schedulers_and_always_starts_them_again(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli, outcome: str
) -> None:
    api.add_resource_type(APPLICATION)
    api.add_all(
        [
            _application("airflow", "overlays/three-node-ha", "airflow"),
            _application("airflow-root", "argocd", "argocd"),
            _application("other", "apps/other", "other"),
            _scheduler(1, 1),
            _scheduler(2, 2),
        ]
    )
    JobController(api, {"restore": "pg_restore: done\n"}, outcome=outcome)
    result = run_cli("restore", "airflow-20261127T020000Z.dump", "--yes", *fast(api, tmp_path))
    assert result.code == (0 if outcome == "Complete" else 2), result.err
    apps = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
    deploy = "/apis/apps/v1/namespaces/airflow/deployments"
    automated = {"prune": True, "selfHeal": True}
    assert [(w.method, w.path, w.body if w.method == "PATCH" else None) for w in writes(api)] == [
        ("PATCH", f"{apps}/airflow-root", {"spec": {"syncPolicy": {"automated": None}}}),
        ("PATCH", f"{apps}/airflow", {"spec": {"syncPolicy": {"automated": None}}}),
        ("PATCH", f"{deploy}/airflow-scheduler-1", {"spec": {"replicas": 0}}),
        ("PATCH", f"{deploy}/airflow-scheduler-2", {"spec": {"replicas": 0}}),
        ("POST", JOBS, None),
        ("PATCH", f"{deploy}/airflow-scheduler-1", {"spec": {"replicas": 1}}),
        ("PATCH", f"{deploy}/airflow-scheduler-2", {"spec": {"replicas": 2}}),
        ("PATCH", f"{apps}/airflow", {"spec": {"syncPolicy": {"automated": automated}}}),
        ("PATCH", f"{apps}/airflow-root", {"spec": {"syncPolicy": {"automated": automated}}}),
    ]
    command = writes(api)[4].body["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[0] == "pg_restore" and command[-1] == "/backups/airflow-20261127T020000Z.dump"
    assert "--single-transaction" in command
    for n, replicas in ((1, 1), (2, 2)):
        stored = api.get_object("Deployment", "airflow", f"airflow-scheduler-{n}")
        assert stored is not None and stored["spec"]["replicas"] == replicas
    app = api.get_object("Application", "argocd", "airflow")
    assert app is not None and app["spec"]["syncPolicy"]["automated"] == automated
    assert CANARY_VALUE not in result.out + result.err


def test_cronjob_component_is_the_object_tests_use() -> None:
    # The tests above seed the component's own CronJob: keep its contract visible here.
    obj = copy.deepcopy(cronjob())
    container = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "pg-dump"
    assert "backup written:" in container["command"][2]
    assert {e["name"] for e in container["env"]} >= {"PGPASSWORD", "BACKUP_KEEP", "PGHOST"}
