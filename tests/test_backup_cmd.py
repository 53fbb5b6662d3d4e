"""`gitops-tool backup now|list|restore` against the emulated API server.

A small stand-in for the Job controller and kubelet (hooks on the emulated server) moves each Job
from pending through running to its end and gives its pod a log.
"""

from __future__ import annotations

import _thread
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
        for args in (["backup", "now"], ["backup", "list"], ["backup", "restore", "airflow-x.dump", "--yes"]):
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
    result = run_cli("backup", "restore", "airflow-20261127T020000Z.dump", *fast(api, tmp_path))
    assert result.code == 2 and "run again with --yes" in result.err
    bad = run_cli("backup", "restore", "../../etc/passwd", "--yes", *fast(api, tmp_path))
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


def _deployment(
    name: str, replicas: int | None, component: str | None = None, env: list[str] | None = None
) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "airflow", "app.kubernetes.io/component": component or name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "airflow", "labels": labels},
        "spec": {
            **({} if replicas is None else {"replicas": replicas}),
            "selector": {"matchLabels": {"app.kubernetes.io/instance": name}},
            "template": {
                "metadata": {"labels": {**labels, "app.kubernetes.io/instance": name}},
                "spec": {
                    "containers": [{"name": "c", "env": [{"name": n, "value": "x"} for n in env or []]}]
                },
            },
        },
    }


def _scheduler(n: int, replicas: int) -> dict[str, Any]:
    return _deployment(f"airflow-scheduler-{n}", replicas, "scheduler")


def _pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    meta = {"name": name, "namespace": "airflow", "labels": labels}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": {"phase": "Running"}}


def _clients() -> list[dict[str, Any]]:
    """What an overlay runs: Airflow's database clients (by component, or by the connection in
    their environment: a component name this tool does not know yet) and workloads that are not."""
    return [
        _scheduler(1, 1),
        _scheduler(2, 2),
        _deployment("airflow-webserver", 1, "webserver"),
        _deployment("airflow-triggerer", None, "triggerer"),
        _deployment("airflow-newcomer", 3, "something-new", env=["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]),
        _deployment("airflow-git-sync", 1, "git-sync", env=["GITSYNC_REPO"]),
        _deployment("grafana", 1, "monitoring"),
        _pod("task-a", {"app.kubernetes.io/component": "worker", "kubernetes_executor": "True"}),
        _pod("grafana-x", {"app.kubernetes.io/instance": "grafana"}),
    ]


RESTORE_LOG = (
    "ended 1 other session(s) of database airflow; not allowed to end: 0\n"
    "safety dump written: pre-restore-20261127T050000Z.dump 4096 bytes\n"
    "to go back to the database as it was: "
    "gitops-tool backup restore pre-restore-20261127T050000Z.dump --yes\n"
)
STOPPED = {
    "airflow-newcomer": 3,
    "airflow-scheduler-1": 1,
    "airflow-scheduler-2": 2,
    "airflow-triggerer": 1,
    "airflow-webserver": 1,
}


@pytest.mark.parametrize("outcome", ["Complete", "Failed"])
def test_restore_pauses_sync_stops_every_database_client_and_always_starts_them_again(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli, outcome: str
) -> None:
    api.add_resource_type(APPLICATION)
    api.add_all(
        [
            _application("airflow", "overlays/three-node-ha", "airflow"),
            _application("airflow-root", "argocd", "argocd"),
            _application("other", "apps/other", "other"),
            *_clients(),
        ]
    )
    JobController(api, {"restore": RESTORE_LOG}, outcome=outcome)
    result = run_cli(
        "backup",
        "restore",
        "airflow-20261127T020000Z.dump",
        "--yes",
        "--lock-timeout",
        "12",
        *fast(api, tmp_path),
    )
    assert result.code == (0 if outcome == "Complete" else 2), result.err
    apps = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
    deploy = "/apis/apps/v1/namespaces/airflow/deployments"
    automated = {"prune": True, "selfHeal": True}
    assert [(w.method, w.path, w.body if w.method == "PATCH" else None) for w in writes(api)] == [
        ("PATCH", f"{apps}/airflow-root", {"spec": {"syncPolicy": {"automated": None}}}),
        ("PATCH", f"{apps}/airflow", {"spec": {"syncPolicy": {"automated": None}}}),
        *[("PATCH", f"{deploy}/{name}", {"spec": {"replicas": 0}}) for name in STOPPED],
        ("DELETE", "/api/v1/namespaces/airflow/pods/task-a", None),
        ("POST", JOBS, None),
        *[("PATCH", f"{deploy}/{name}", {"spec": {"replicas": n}}) for name, n in STOPPED.items()],
        ("PATCH", f"{apps}/airflow", {"spec": {"syncPolicy": {"automated": automated}}}),
        ("PATCH", f"{apps}/airflow-root", {"spec": {"syncPolicy": {"automated": automated}}}),
    ]
    job = next(w.body for w in writes(api) if w.method == "POST")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["sh", "/scripts/restore.sh", "/backups/airflow-20261127T020000Z.dump"]
    assert {"name": "RESTORE_LOCK_TIMEOUT", "value": "12s"} in container["env"]
    assert any(m["mountPath"] == "/scripts" for m in container["volumeMounts"])
    for name, replicas in STOPPED.items():
        stored = api.get_object("Deployment", "airflow", name)
        assert stored is not None and stored["spec"]["replicas"] == replicas
    for untouched in ("airflow-git-sync", "grafana"):
        assert (api.get_object("Deployment", "airflow", untouched) or {})["spec"]["replicas"] == 1
    app = api.get_object("Application", "argocd", "airflow")
    assert app is not None and app["spec"]["syncPolicy"]["automated"] == automated
    # The way back is printed whether the restore succeeded or failed.
    assert "gitops-tool backup restore pre-restore-20261127T050000Z.dump --yes" in result.out + result.err
    assert CANARY_VALUE not in result.out + result.err


def test_restore_that_does_not_finish_is_stopped_before_the_clients_start_again(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    api.add_all(_clients())
    api.on_create(
        "Job",
        lambda api, job: (
            api.add(_pod(f"{job['metadata']['name']}-x1", {"job-name": job["metadata"]["name"]})),
            api.set_log("airflow", f"{job['metadata']['name']}-x1", RESTORE_LOG),
        ),
    )
    result = run_cli(
        "backup", "restore", "airflow-20261127T020000Z.dump", "--yes", "--timeout", "1", *fast(api, tmp_path)
    )
    assert result.code == 2, result.err
    assert "did not finish within 1s" in result.err and "stopped and deleted" in result.err
    methods = [(w.method, w.path.rsplit("/", 1)[-1]) for w in writes(api)]
    job_name = next(w.body for w in writes(api) if w.method == "POST")["metadata"]["name"]
    deleted = methods.index(("DELETE", job_name))
    assert methods.index(("DELETE", f"{job_name}-x1")) > deleted
    restarted = [i for i, (m, name) in enumerate(methods) if m == "PATCH" and name in STOPPED]
    # Scaled down before the Job, scaled back only after the Job and its pod were deleted.
    assert len(restarted) == 2 * len(STOPPED) and min(restarted[len(STOPPED) :]) > deleted
    for name, replicas in STOPPED.items():
        assert (api.get_object("Deployment", "airflow", name) or {})["spec"]["replicas"] == replicas
    assert "gitops-tool backup restore pre-restore-20261127T050000Z.dump --yes" in result.err


def test_restore_refuses_a_cronjob_without_the_scripts(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    old = cronjob()
    pod_spec = old["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod_spec["containers"][0]["volumeMounts"] = [
        m for m in pod_spec["containers"][0]["volumeMounts"] if m["mountPath"] != "/scripts"
    ]
    api.add(old)
    api.add_all(_clients())
    result = run_cli("backup", "restore", "airflow-20261127T020000Z.dump", "--yes", *fast(api, tmp_path))
    assert result.code == 2 and "let Argo CD sync the overlay first" in result.err
    assert writes(api) == []


def test_cronjob_component_is_the_object_tests_use() -> None:
    # The tests above seed the component's own CronJob: keep its contract visible here.
    obj = copy.deepcopy(cronjob())
    container = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "pg-dump"
    assert container["command"] == ["sh", "/scripts/backup.sh"]
    assert {e["name"] for e in container["env"]} >= {"PGPASSWORD", "BACKUP_KEEP", "PGHOST"}


def test_ctrl_c_during_a_restore_stops_the_job_then_starts_everything_again(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    api.add_resource_type(APPLICATION)
    api.add_all([_application("airflow", "overlays/three-node-ha", "airflow"), *_clients()])
    JobController(api, {"restore": RESTORE_LOG})
    interrupted: list[str] = []

    def ctrl_c(api: KubeApiServer, rec: Recorded) -> None:
        # Ctrl-C while the command follows the running restore Job (its first look at the pods).
        selector = rec.query.get("labelSelector", "")
        if rec.method == "GET" and selector.startswith("job-name=airflow-db-restore") and not interrupted:
            interrupted.append(selector)
            _thread.interrupt_main()

    api.on_request(ctrl_c)
    result = run_cli("backup", "restore", "airflow-20261127T020000Z.dump", "--yes", *fast(api, tmp_path))
    assert interrupted and result.code == 130, result.err
    job_name = interrupted[0].removeprefix("job-name=")
    steps = [(w.method, w.path.rsplit("/", 1)[-1]) for w in writes(api)]
    deleted = steps.index(("DELETE", job_name))
    restarted = [i for i, (m, name) in enumerate(steps) if m == "PATCH" and name in STOPPED][len(STOPPED) :]
    assert len(restarted) == len(STOPPED) and min(restarted) > deleted
    for name, replicas in STOPPED.items():
        assert (api.get_object("Deployment", "airflow", name) or {})["spec"]["replicas"] == replicas
    app = api.get_object("Application", "argocd", "airflow")
    assert app is not None and app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
