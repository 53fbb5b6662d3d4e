"""``gitops-tool dags push|rollback|status`` through the real CLI, the official client and the
emulated API server, whose emulated kubelet runs the agent pod's script for real on tmp folders."""

from __future__ import annotations

import base64
import io
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster_support import CANARY_TOKEN, kube_args
from tests.conftest import RunCli
from tests.dags_agent_runner import run_pod
from tests.kubeapi import KubeApiServer

NS = "/api/v1/namespaces/airflow"
PREFLIGHT = [
    ("GET", "/apis/apps/v1/namespaces/airflow/deployments/airflow-git-sync"),
    ("GET", f"{NS}/persistentvolumeclaims/airflow-dags"),
]
PUSH_REQUESTS = [
    *PREFLIGHT,
    ("POST", f"{NS}/configmaps"),
    ("POST", f"{NS}/pods"),
    ("GET", f"{NS}/pods/airflow-dags-push"),
    ("GET", f"{NS}/pods/airflow-dags-push/log"),
    ("DELETE", f"{NS}/pods/airflow-dags-push"),
    ("DELETE", f"{NS}/configmaps/airflow-dags-push"),
]


class Kubelet:
    """Runs every created pod at once: the volume of each node is a tmp folder (shared by default)."""

    def __init__(self, tmp_path: Path) -> None:
        self.volume = tmp_path / "nfs"
        self.volume.mkdir()
        self.node_volumes: dict[str, Path] = {}
        self.scratch = tmp_path / "kubelet"
        self.runs = 0
        self.pods: list[dict[str, Any]] = []

    def __call__(self, api: KubeApiServer, pod: dict[str, Any]) -> None:
        self.runs += 1
        self.pods.append(pod)
        meta = pod["metadata"]
        configmaps = {
            cm["metadata"]["name"]: cm
            for cm in api.objects("ConfigMap")
            if cm["metadata"]["namespace"] == "airflow"
        }
        volume = self.node_volumes.get(pod["spec"].get("nodeName", ""), self.volume)
        scratch = self.scratch / str(self.runs)
        code, log = run_pod(pod, {"airflow-dags": volume, "__scratch__": scratch}, configmaps)
        pod["status"] = {"phase": "Succeeded" if code == 0 else "Failed"}
        api.add(pod)
        api.set_log(meta["namespace"], meta["name"], log)

    def published(self) -> Path:
        return self.volume / "current"

    def versions(self) -> list[str]:
        return sorted(p.name for p in (self.volume / ".dags-push").iterdir())


DAGS_PVC = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "airflow-dags", "namespace": "airflow"},
    "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs-client"},
    "status": {"phase": "Bound"},
}


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer([DAGS_PVC], token=CANARY_TOKEN) as server:
        yield server


@pytest.fixture
def kubelet(api: KubeApiServer, tmp_path: Path) -> Kubelet:
    runner = Kubelet(tmp_path)
    api.on_create("Pod", runner)
    return runner


def _dags(folder: Path, files: dict[str, str]) -> Path:
    if folder.exists():
        for path in sorted(folder.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def _calls(api: KubeApiServer) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in api.requests]


def test_push_sends_exactly_these_requests_and_deletes_only_after_the_switch(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    dags = _dags(
        tmp_path / "dags", {"etl.py": "A = 1\n", "lib/helpers.py": "H = 1\n", "sql/q.sql": "select 1\n"}
    )
    result = run_cli("dags", "push", str(dags), *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert _calls(api) == PUSH_REQUESTS
    configmap = api.requests[2].body
    assert set(configmap["binaryData"]) == {"dags.tar.gz"} and set(configmap["data"]) == {"manifest.json"}
    archive = base64.b64decode(configmap["binaryData"]["dags.tar.gz"])
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert tar.getnames() == ["etl.py", "lib/helpers.py", "sql/q.sql"]
    pod = api.requests[3].body
    assert pod["spec"]["volumes"][0] == {
        "name": "dags",
        "persistentVolumeClaim": {"claimName": "airflow-dags", "readOnly": False},
    }
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["automountServiceAccountToken"] is False
    # The switch happened (the log says so) before the first DELETE was sent.
    first_delete = next(i for i, r in enumerate(api.requests) if r.method == "DELETE")
    assert [r.path for r in api.requests[:first_delete]][-1].endswith("/log")
    assert (kubelet.published() / "lib" / "helpers.py").read_text() == "H = 1\n"
    assert api.objects("Pod") == [] and api.objects("ConfigMap") == []
    out = result.out.splitlines()
    assert out[0].startswith("published 2") and out[0].endswith("before: nothing")
    assert out[1:] == [
        "files: 3 added, 0 changed, 0 removed",
        "  + etl.py",
        "  + lib/helpers.py",
        "  + sql/q.sql",
    ]


def test_second_push_reports_added_changed_removed_and_prunes_after_the_switch(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    dags = tmp_path / "dags"
    args = kube_args(api, tmp_path)
    _dags(dags, {"a.py": "A = 1\n", "b.py": "B = 1\n"})
    first = run_cli("dags", "push", str(dags), "--keep", "1", *args).out.split()[1]
    _dags(dags, {"a.py": "A = 1\n", "b.py": "B = 2\n", "c.py": "C = 1\n"})
    second = run_cli("dags", "push", str(dags), "--keep", "1", *args).out.split()[1]
    _dags(dags, {"a.py": "A = 1\n", "c.py": "C = 1\n"})
    result = run_cli("dags", "push", str(dags), "--keep", "1", *args)
    assert result.code == 0, result.err
    third = result.out.split()[1]
    assert f"before: {second}" in result.out
    assert "files: 0 added, 0 changed, 1 removed\n  - b.py" in result.out
    assert f"removed old versions: {first}" in result.out
    assert kubelet.versions() == [second, third]
    assert not (kubelet.published() / "b.py").exists()


def test_failed_switch_leaves_the_volume_and_the_cluster_as_they_were(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    # The seed's recipe copied DAGs straight into the volume: `current` may be a real folder.
    (kubelet.volume / "current").mkdir()
    (kubelet.volume / "current" / "manual.py").write_text("M = 1\n")
    dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
    result = run_cli("dags", "push", str(dags), *kube_args(api, tmp_path))
    assert result.code == 2
    assert (
        "dags publish failed in pod airflow-dags-push: current on the volume is a real file or folder"
        in result.err
    )
    assert (kubelet.volume / "current" / "manual.py").read_text() == "M = 1\n"
    assert api.objects("Pod") == [] and api.objects("ConfigMap") == []
    assert _calls(api) == PUSH_REQUESTS


def test_dry_run_asks_the_server_with_dry_run_and_changes_nothing(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
    result = run_cli("dags", "push", str(dags), "--dry-run", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert result.out.startswith("dry run: 1 files compile and pack into ")
    assert _calls(api) == PUSH_REQUESTS[:4]
    assert [r.query.get("dryRun") for r in api.requests[2:]] == ["All", "All"]
    assert kubelet.runs == 0 and list(kubelet.volume.iterdir()) == []
    assert api.objects("Pod") == [] and api.objects("ConfigMap") == []


def test_keep_must_leave_a_version_to_roll_back_to(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
    result = run_cli("dags", "push", str(dags), "--keep", "0", *kube_args(api, tmp_path))
    assert result.code == 2
    assert "--keep 0: keep at least 1 previous version" in result.err
    assert api.requests == []


def test_compile_errors_stop_before_any_request(api: KubeApiServer, tmp_path: Path, run_cli: RunCli) -> None:
    dags = _dags(tmp_path / "dags", {"good.py": "A = 1\n", "team/bad.py": "def broken(:\n    pass\n"})
    result = run_cli("dags", "push", str(dags), *kube_args(api, tmp_path))
    assert result.code == 1
    assert result.out.splitlines()[0] == "1 DAG file(s) do not load; nothing was published:"
    assert result.out.splitlines()[1].startswith("  team/bad.py:1:12: SyntaxError: ")
    assert api.requests == []


def test_refuses_to_be_a_second_writer_next_to_git_sync(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    api.add(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "airflow-git-sync", "namespace": "airflow"},
            "spec": {"replicas": 1},
        }
    )
    dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
    for args in (["push", str(dags)], ["rollback"]):
        result = run_cli("dags", *args, *kube_args(api, tmp_path))
        assert result.code == 2
        assert "git-sync (Deployment airflow/airflow-git-sync) publishes the DAGs" in result.err
    assert {r.method for r in api.requests} == {"GET"} and kubelet.runs == 0


def test_a_running_push_blocks_a_second_one_and_is_left_alone(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    api.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "airflow-dags-push", "namespace": "airflow"},
            "spec": {"containers": []},
            "status": {"phase": "Running"},
        }
    )
    dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
    result = run_cli("dags", "push", str(dags), *kube_args(api, tmp_path))
    assert result.code == 2
    assert (
        "Pod airflow/airflow-dags-push already exists: another `gitops-tool dags` command is running"
        in result.err
    )
    assert api.get_object("Pod", "airflow", "airflow-dags-push") is not None
    assert api.objects("ConfigMap") == []  # the bundle it had created is gone again


def test_rollback_switches_back_and_reports_the_difference(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    dags = tmp_path / "dags"
    args = kube_args(api, tmp_path)
    _dags(dags, {"a.py": "A = 1\n"})
    first = run_cli("dags", "push", str(dags), *args).out.split()[1]
    _dags(dags, {"a.py": "A = 2\n", "b.py": "B = 1\n"})
    second = run_cli("dags", "push", str(dags), *args).out.split()[1]
    before = len(api.requests)
    result = run_cli("dags", "rollback", *args)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"rolled back: {second} -> {first}",
        "files: 0 added, 1 changed, 1 removed",
        "  ~ a.py",
        "  - b.py",
    ]
    assert [(r.method, r.path) for r in api.requests[before:]] == [
        *PREFLIGHT,
        ("POST", f"{NS}/pods"),
        ("GET", f"{NS}/pods/airflow-dags-push"),
        ("GET", f"{NS}/pods/airflow-dags-push/log"),
        ("DELETE", f"{NS}/pods/airflow-dags-push"),
    ]
    assert (kubelet.published() / "a.py").read_text() == "A = 1\n"
    assert kubelet.versions() == [first, second]
    result = run_cli("dags", "rollback", "--to", second, *args)
    assert result.out.startswith(f"rolled back: {first} -> {second}")


def _scheduler(name: str, node: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "airflow",
            "labels": {"app.kubernetes.io/component": "scheduler"},
        },
        "spec": {"nodeName": node, "containers": []},
        "status": {"phase": "Running"},
    }


def test_status_reads_the_volume_from_each_schedulers_node(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    args = kube_args(api, tmp_path)
    version = run_cli("dags", "push", str(_dags(tmp_path / "dags", {"a.py": "A = 1\n"})), *args).out.split()[
        1
    ]
    api.add(_scheduler("airflow-scheduler-1-abc", "node-b"))
    api.add(_scheduler("airflow-scheduler-2-def", "node-c"))
    result = run_cli("dags", "status", *args)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"published: {version} (gitops-tool dags push, 20")
    assert lines[1:4] == [
        f"  scheduler airflow-scheduler-1-abc on node-b: {version}",
        f"  scheduler airflow-scheduler-2-def on node-c: {version}",
        "schedulers see the same version: yes",
    ]
    status_pods = [p for p in kubelet.pods if p["metadata"]["name"].startswith("airflow-dags-status-")]
    assert [p["spec"]["nodeName"] for p in status_pods] == ["node-b", "node-c"]
    assert all(p["spec"]["volumes"][0]["persistentVolumeClaim"]["readOnly"] for p in status_pods)
    assert api.objects("Pod") == [
        p for p in api.objects("Pod") if p["metadata"]["name"].startswith("airflow-scheduler")
    ]

    # node-c's NFS client still serves an older tree: a finding, exit 1.
    stale = tmp_path / "stale"
    stale.mkdir()
    kubelet.node_volumes["node-c"] = stale
    result = run_cli("dags", "status", *args)
    assert result.code == 1
    assert "  scheduler airflow-scheduler-2-def on node-c: nothing" in result.out
    assert "schedulers see the same version: NO" in result.out


def test_status_names_a_git_sync_commit(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    (kubelet.volume / ".git-sync" / ".worktrees" / commit).mkdir(parents=True)
    (kubelet.volume / "current").symlink_to(f".git-sync/.worktrees/{commit}")
    result = run_cli("dags", "status", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert result.out.startswith(f"published: {commit} (git-sync commit, 20")
    assert "schedulers: none running" in result.out


def test_pod_that_never_finishes_times_out_and_is_cleaned_up(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli
) -> None:
    dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
    result = run_cli("dags", "push", str(dags), "--timeout", "1", *kube_args(api, tmp_path))
    assert result.code == 2
    assert "pod airflow-dags-push did not finish within 1s (phase Pending)" in result.err
    assert api.objects("Pod") == [] and api.objects("ConfigMap") == []


def test_check_imports_without_a_local_airflow_says_how_to_get_one(
    api: KubeApiServer, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITOPS_TOOL_AIRFLOW_PYTHON", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
    result = run_cli("dags", "push", str(dags), "--check-imports", *kube_args(api, tmp_path))
    assert result.code == 2
    assert "--check-imports needs a local Apache Airflow and none was found" in result.err
    assert api.requests == []


STUB_DAGBAG = '''
import importlib.util, os, traceback

class DagBag:
    """Stands in for Airflow's DagBag: imports every .py, records failures by file."""

    def __init__(self, dag_folder, include_examples=False, safe_mode=False):
        self.import_errors = {}
        self.dag_ids = []
        for root, _, files in os.walk(dag_folder):
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                path = os.path.join(root, name)
                spec = importlib.util.spec_from_file_location(name[:-3], path)
                module = importlib.util.module_from_spec(spec)
                try:
                    spec.loader.exec_module(module)
                except Exception:
                    self.import_errors[path] = traceback.format_exc()
                else:
                    self.dag_ids.append(name[:-3])
'''


def test_check_imports_runs_the_files_in_the_local_airflow(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "airflow-site"
    (site / "airflow" / "models").mkdir(parents=True)
    (site / "airflow" / "__init__.py").write_text("")
    (site / "airflow" / "models" / "__init__.py").write_text("")
    (site / "airflow" / "models" / "dagbag.py").write_text(STUB_DAGBAG)
    python = tmp_path / "airflow-python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    monkeypatch.setenv("GITOPS_TOOL_AIRFLOW_PYTHON", str(python))
    dags = _dags(tmp_path / "dags", {"ok.py": "A = 1\n", "needs.py": "import not_installed_anywhere\n"})
    result = run_cli("dags", "push", str(dags), "--check-imports", *kube_args(api, tmp_path))
    assert result.code == 1
    assert (
        result.out.splitlines()[1]
        == "  needs.py: ModuleNotFoundError: No module named 'not_installed_anywhere'"
    )
    assert api.requests == []
    _dags(dags, {"ok.py": "import json\n"})
    result = run_cli("dags", "push", str(dags), "--check-imports", *kube_args(api, tmp_path))
    assert result.code == 0, result.err
    assert result.out.startswith("published ")


def test_a_missing_dags_volume_is_named_before_anything_is_created(tmp_path: Path, run_cli: RunCli) -> None:
    with KubeApiServer() as api:
        dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
        for args in (["push", str(dags)], ["rollback"], ["status"]):
            result = run_cli("dags", *args, *kube_args(api, tmp_path))
            assert result.code == 2
            assert "PersistentVolumeClaim airflow/airflow-dags does not exist" in result.err
        assert {r.method for r in api.requests} == {"GET"}


def test_no_output_ever_shows_the_credentials(
    api: KubeApiServer, kubelet: Kubelet, tmp_path: Path, run_cli: RunCli
) -> None:
    dags = _dags(tmp_path / "dags", {"a.py": "A = 1\n"})
    args = kube_args(api, tmp_path)
    api.fail(403, method="POST", path=f"{NS}/configmaps")
    outputs = [run_cli("dags", "push", str(dags), *args)]
    outputs += [run_cli("dags", *a, *args) for a in (["push", str(dags)], ["rollback"], ["status"])]
    assert outputs[0].code == 2 and "403 Forbidden" in outputs[0].err
    for result in outputs:
        assert CANARY_TOKEN not in result.out + result.err
