"""``gitops-tool drift adopt``: live hotfixes written back into the overlay, through the CLI, with real
Git in a copy of the repository, real kustomize and policies, live state from a snapshot file or the
emulated API server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.adapters.kustomize import KustomizeRenderer, resolve_kustomize
from gitops_tool.core import conventions as c
from gitops_tool.core.documents import parse_manifests
from tests import livestate as ls
from tests.conftest import REPO_ROOT, CliResult, RunCli, git, init_repo
from tests.kubeapi import KubeApiServer

pytestmark = pytest.mark.slow  # each case renders, validates and commits in a copy of the repository

OVERLAY = "overlays/three-node-ha"
ROLES = yaml.safe_load((REPO_ROOT / OVERLAY / c.NODE_ROLES_FILE).read_text())["roles"]
CONTAINER = "airflow-scheduler"
PATCH = f"{OVERLAY}/adopted/deployment-airflow-airflow-scheduler-1.yaml"
SET_ENV_AT = "2026-11-30T02:10:00Z"
SET_RESOURCES_AT = "2026-11-30T02:14:00Z"


@pytest.fixture(scope="module")
def desired() -> list[dict[str, Any]]:
    return parse_manifests(KustomizeRenderer(resolve_kustomize()).build(REPO_ROOT / OVERLAY), "render")


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def _snapshot(tmp_path: Path, live: list[dict[str, Any]], name: str = "live.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": live}))
    return str(path)


def _hotfixed(desired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The night's hotfix: `kubectl set env` and `kubectl set resources` on scheduler-1."""
    live = ls.cluster_state(desired, workers=2, roles=ROLES)
    scheduler = ls.find(live, "Deployment", "airflow-scheduler-1")
    ls.kubectl_set_env(scheduler, CONTAINER, "AIRFLOW__SCHEDULER__PARSING_PROCESSES", "4", time=SET_ENV_AT)
    ls.kubectl_set_resources(scheduler, CONTAINER, limits={"memory": "2Gi"}, time=SET_RESOURCES_AT)
    return live


def _state(repo: Path) -> tuple[str, str]:
    return git(repo, "rev-parse", "HEAD").strip(), git(repo, "status", "--porcelain", "--untracked-files=all")


def _adopt(run_cli: RunCli, repo: Path, *args: str) -> CliResult:
    return run_cli("drift", "adopt", OVERLAY, *args, cwd=repo)


def _audit(run_cli: RunCli, repo: Path, live_file: str) -> CliResult:
    return run_cli("drift", OVERLAY, "--live-file", live_file, "--output", "json", cwd=repo)


def test_a_hotfix_adopted_is_one_commit_in_the_overlay_and_drift_is_clean_after(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = _snapshot(tmp_path, _hotfixed(desired))
    before = _audit(run_cli, repo, live)
    assert before.code == 1
    first = git(repo, "rev-parse", "HEAD").strip()

    result = _adopt(run_cli, repo, "--live-file", live)
    assert result.code == 0, result.err
    assert PATCH in result.out
    assert git(repo, "rev-list", "--count", f"{first}..HEAD").strip() == "1"
    assert git(repo, "status", "--porcelain").strip() == ""
    stat = git(repo, "show", "--stat", "--format=", "HEAD")
    touched = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert touched == [
        f"{OVERLAY}/adopted/deployment-airflow-airflow-scheduler-1.yaml",
        f"{OVERLAY}/kustomization.yaml",
    ]
    assert all(p.startswith(f"{OVERLAY}/") for p in touched), stat
    message = git(repo, "log", "-1", "--format=%B")
    assert "changed by kubectl-set, 2026-11-30 02:14 UTC (Update)" in message
    assert "/spec/template/spec/containers/0/resources/limits/memory" in message
    scheduler = next(o for o in desired if o["metadata"]["name"] == "airflow-scheduler-1")
    env = scheduler["spec"]["template"]["spec"]["containers"][0]["env"]
    assert f"/spec/template/spec/containers/0/env/{len(env)}: changed by kubectl-set" in message
    # The patch is a strategic merge of exactly the two changes, listed in the overlay's kustomization.
    patch = yaml.safe_load((repo / PATCH).read_text())
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {
            "name": CONTAINER,
            "env": [{"name": "AIRFLOW__SCHEDULER__PARSING_PROCESSES", "value": "4"}],
            "resources": {"limits": {"memory": "2Gi"}},
        }
    ]
    kustomization = yaml.safe_load((repo / OVERLAY / "kustomization.yaml").read_text())
    assert {"path": "adopted/deployment-airflow-airflow-scheduler-1.yaml"} in kustomization["patches"]
    assert "# Who may reach the LoadBalancers" in (repo / OVERLAY / "kustomization.yaml").read_text()

    after = _audit(run_cli, repo, live)
    assert after.code == 0, after.out + after.err
    assert json.loads(after.out)["resources"] == []
    validate = run_cli("validate", OVERLAY, cwd=repo)
    assert validate.code == 0, validate.out + validate.err


def test_a_later_hotfix_of_the_same_object_merges_into_its_patch(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = _hotfixed(desired)
    assert _adopt(run_cli, repo, "--live-file", _snapshot(tmp_path, live)).code == 0
    scheduler = ls.find(live, "Deployment", "airflow-scheduler-1")
    ls.kubectl_set_env(
        scheduler, CONTAINER, "AIRFLOW__SCHEDULER__PARSING_PROCESSES", "6", time="2026-12-01T08:00:00Z"
    )
    ls.kubectl_set_resources(scheduler, CONTAINER, requests={"cpu": "500m"}, time="2026-12-01T08:01:00Z")
    second = _snapshot(tmp_path, live, "second.yaml")
    result = _adopt(run_cli, repo, "--live-file", second, "-m", "Keep the 2026-12-01 scheduler tuning")
    assert result.code == 0, result.err
    assert git(repo, "log", "-1", "--format=%s").strip() == "Keep the 2026-12-01 scheduler tuning"
    (container,) = yaml.safe_load((repo / PATCH).read_text())["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "AIRFLOW__SCHEDULER__PARSING_PROCESSES", "value": "6"}]
    assert container["resources"] == {"limits": {"memory": "2Gi"}, "requests": {"cpu": "500m"}}
    kustomization = (repo / OVERLAY / "kustomization.yaml").read_text()
    assert kustomization.count("adopted/deployment-airflow-airflow-scheduler-1.yaml") == 1
    assert _audit(run_cli, repo, second).code == 0


def test_dry_run_prints_the_patch_as_a_diff_and_writes_nothing(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = _snapshot(tmp_path, _hotfixed(desired))
    state = _state(repo)
    result = _adopt(run_cli, repo, "--live-file", live, "--dry-run")
    assert result.code == 0, result.err
    assert f"+++ b/{PATCH}" in result.out
    assert f"--- a/{OVERLAY}/kustomization.yaml" in result.out
    assert "+  - path: adopted/deployment-airflow-airflow-scheduler-1.yaml" in result.out
    assert "+          value: '4'" in result.out
    assert _state(repo) == state
    assert not (repo / PATCH).exists()


def test_no_commit_writes_and_validates_but_leaves_it_uncommitted(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    result = _adopt(run_cli, repo, "--live-file", _snapshot(tmp_path, _hotfixed(desired)), "--no-commit")
    assert result.code == 0, result.err
    assert git(repo, "rev-parse", "HEAD").strip() == head
    changed = git(repo, "status", "--porcelain", "--untracked-files=all").split("\n")
    assert sorted(line[3:] for line in changed if line) == [PATCH, f"{OVERLAY}/kustomization.yaml"]


def _secret_in_overlay(repo: Path) -> dict[str, Any]:
    """A Secret the overlay renders (as some teams keep a non-sensitive one in Git), committed."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "airflow-smtp", "namespace": c.NAMESPACE},
        "type": "Opaque",
        "stringData": {"host": "smtp.example.com"},
    }
    (repo / OVERLAY / "smtp-secret.yaml").write_text(yaml.safe_dump(secret))
    kustomization = repo / OVERLAY / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace(
            "  - scheduler-pdb.yaml\n", "  - scheduler-pdb.yaml\n  - smtp-secret.yaml\n"
        )
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "smtp secret")
    return secret


def _edit_secret(repo: Path, desired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    secret = _secret_in_overlay(repo)
    live = ls.cluster_state([*desired, secret], workers=0, roles=ROLES)
    ls.kubectl_edit_data(ls.find(live, "Secret", "airflow-smtp"), "host", "c2VjcmV0LWNhbmFyeS12YWx1ZQ==")
    return live


def _unpinned(repo: Path, desired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    live = ls.cluster_state(desired, workers=0, roles=ROLES)
    ls.kubectl_set_image(
        ls.find(live, "Deployment", "airflow-scheduler-1"), CONTAINER, "apache/airflow:latest"
    )
    return live


def _privileged(repo: Path, desired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    live = ls.cluster_state(desired, workers=0, roles=ROLES)
    scheduler = ls.find(live, "Deployment", "airflow-scheduler-1")
    context = scheduler["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    context.update({"privileged": True, "allowPrivilegeEscalation": True})
    key = 'k:{"name":"airflow-scheduler"}'
    fields: dict[str, Any] = {"f:securityContext": {"f:privileged": {}, "f:allowPrivilegeEscalation": {}}}
    ls._record(
        scheduler, "kubectl-edit", {"f:spec": {"f:template": {"f:spec": {"f:containers": {key: fields}}}}}
    )
    return live


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_edit_secret, "Secret data is never written to Git; change the value in the cluster"),
        (_unpinned, "image apache/airflow:latest uses the floating tag latest; pin an exact version tag"),
        (_privileged, "container airflow-scheduler is privileged; drop privileged"),
    ],
    ids=["secret-data", "unpinned-image", "privileged-container"],
)
def test_refusals_say_why_and_change_nothing(  # noqa: PLR0917 - fixtures and parameters
    run_cli: RunCli,
    repo: Path,
    tmp_path: Path,
    desired: list[dict[str, Any]],
    make: Callable[[Path, list[dict[str, Any]]], list[dict[str, Any]]],
    reason: str,
) -> None:
    live = _snapshot(tmp_path, make(repo, desired))
    state = _state(repo)
    result = _adopt(run_cli, repo, "--live-file", live)
    assert result.code == 2, result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gitops-tool: error: refusing to adopt"), result.err
    assert reason in lines[0]
    assert "nothing was written" in lines[0]
    assert "secret-canary-value" not in result.out + result.err
    assert "c2VjcmV0LWNhbmFyeS12YWx1ZQ" not in result.out + result.err
    assert _state(repo) == state


def test_the_bundled_snapshot_scale_of_a_scheduler_is_refused(run_cli: RunCli, repo: Path) -> None:
    state = _state(repo)
    result = _adopt(run_cli, repo, "--live-file", str(REPO_ROOT / "examples" / "live" / "three-node-ha.yaml"))
    assert result.code == 2
    assert "Deployment airflow/airflow-scheduler-2 /spec/replicas=2: 2 replicas cannot all run" in result.err
    assert "pod anti-affinity on kubernetes.io/hostname" in result.err and "add-scheduler" in result.err
    assert _state(repo) == state


def test_a_field_a_controller_owns_is_refused(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = ls.cluster_state(desired, workers=0, roles=ROLES)
    scheduler = ls.find(live, "Deployment", "airflow-scheduler-1")
    scheduler["spec"]["replicas"] = 0
    ls._record(scheduler, "kube-controller-manager", {"f:spec": {"f:replicas": {}}}, "scale")
    state = _state(repo)
    result = _adopt(run_cli, repo, "--live-file", _snapshot(tmp_path, live))
    assert result.code == 2
    assert "/spec/replicas is owned by the controller kube-controller-manager" in result.err
    assert _state(repo) == state


def test_dirty_tree_detached_head_and_broken_overlay_are_refused(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = _snapshot(tmp_path, _hotfixed(desired))
    (repo / "base" / "notes.txt").write_text("work in progress\n")
    result = _adopt(run_cli, repo, "--live-file", live)
    assert result.code == 2 and "uncommitted changes (base/notes.txt)" in result.err
    (repo / "base" / "notes.txt").unlink()

    git(repo, "checkout", "-q", "--detach")
    result = _adopt(run_cli, repo, "--live-file", live)
    assert result.code == 2 and "HEAD is detached" in result.err
    git(repo, "checkout", "-q", "main")

    kustomization = repo / OVERLAY / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("scheduler-pdb.yaml", "no-such-file.yaml"))
    git(repo, "commit", "-q", "-am", "break the overlay")
    state = _state(repo)
    result = _adopt(run_cli, repo, "--live-file", live)
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1 and "no-such-file.yaml" in result.err
    assert _state(repo) == state


def test_extra_objects_need_include_extra_and_then_become_resource_files(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = ls.cluster_state(desired, workers=0, roles=ROLES)
    stray = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "scheduler-hotfix",
            "namespace": c.NAMESPACE,
            "labels": dict(c.OWNERSHIP_LABELS),
        },
        "data": {"note": "made by hand"},
    }
    applied = ls.simulate_apply(stray, manager="kubectl-client-side-apply", server_side=False)
    live.append(applied)
    path = _snapshot(tmp_path, live)
    state = _state(repo)
    refused = _adopt(run_cli, repo, "--live-file", path)
    assert refused.code == 2 and "ConfigMap airflow/scheduler-hotfix: it is extra" in refused.err
    assert "--include-extra" in refused.err
    assert _state(repo) == state

    result = _adopt(run_cli, repo, "--live-file", path, "--include-extra")
    assert result.code == 0, result.err
    added = yaml.safe_load(
        (repo / OVERLAY / "adopted" / "configmap-airflow-scheduler-hotfix.yaml").read_text()
    )
    assert added["data"] == {"note": "made by hand"}
    assert not {"uid", "resourceVersion", "managedFields", "creationTimestamp"} & set(added["metadata"])
    assert "kubectl.kubernetes.io/last-applied-configuration" not in (
        added["metadata"].get("annotations") or {}
    )
    assert yaml.safe_load((repo / OVERLAY / "kustomization.yaml").read_text())["resources"][-1] == (
        "adopted/configmap-airflow-scheduler-hotfix.yaml"
    )
    assert _audit(run_cli, repo, path).code == 0


def test_only_adopts_the_named_objects(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = _hotfixed(desired)
    ls.kubectl_label(ls.find(live, "Service", "airflow-webserver"), "exposed-by", "alice")
    path = _snapshot(tmp_path, live)
    result = _adopt(run_cli, repo, "--live-file", path, "--only", "Deployment/airflow/airflow-scheduler-1")
    assert result.code == 0, result.err
    after = _audit(run_cli, repo, path)
    assert after.code == 1
    assert [r["name"] for r in json.loads(after.out)["resources"]] == ["airflow-webserver"]
    missing = _adopt(run_cli, repo, "--live-file", path, "--only", "Deployment/airflow/airflow-scheduler-9")
    assert (
        missing.code == 2
        and "--only Deployment/airflow/airflow-scheduler-9: no drift to adopt" in missing.err
    )
    bad = _adopt(run_cli, repo, "--live-file", path, "--only", "airflow-webserver")
    assert bad.code == 2 and "KIND/NAMESPACE/NAME" in bad.err


def test_adopt_reads_the_cluster_and_only_reads_it(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    with KubeApiServer(_hotfixed(desired), token="auditor-token") as api:
        config = api.kubeconfig(tmp_path)
        result = _adopt(run_cli, repo, "--kubeconfig", str(config))
        assert result.code == 0, result.err
        audit = run_cli("drift", OVERLAY, "--kubeconfig", str(config), cwd=repo)
        assert api.methods() == {"GET"}
    assert audit.code == 0, audit.out + audit.err
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [
        PATCH,
        f"{OVERLAY}/kustomization.yaml",
    ]


def test_nothing_to_adopt_on_a_clean_cluster(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    state = _state(repo)
    result = _adopt(
        run_cli, repo, "--live-file", _snapshot(tmp_path, ls.cluster_state(desired, workers=0, roles=ROLES))
    )
    assert result.code == 0 and "nothing to adopt" in result.out
    assert _state(repo) == state


def test_a_generated_config_map_is_refused_with_what_to_change_instead(
    run_cli: RunCli, repo: Path, tmp_path: Path, desired: list[dict[str, Any]]
) -> None:
    live = ls.cluster_state(desired, workers=0, roles=ROLES)
    config = next(
        o for o in live if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("airflow-git-sync-")
    )
    key = sorted(config["data"])[0]
    ls.kubectl_edit_data(config, key, "edited on call")
    state = _state(repo)
    result = _adopt(run_cli, repo, "--live-file", _snapshot(tmp_path, live))
    assert result.code == 2
    assert f"ConfigMap airflow/{config['metadata']['name']} /data/{key}" in result.err
    assert "configMapGenerator" in result.err and "change the generator's value" in result.err
    assert _state(repo) == state
