"""`gitops-tool upgrade-airflow`: real git repositories, real kustomize, and drift after a sync."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core.airflow_upgrade import image_uses
from gitops_tool.core.objects import CLUSTER_SCOPED_KINDS
from tests.cluster_support import CANARY_TOKEN, kube_args, node
from tests.conftest import RunCli, git, init_repo
from tests.kubeapi import KubeApiServer

OLD = "2.11.0-python3.9"
NEW = "2.11.1-python3.9"


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def render(repo: Path, run_cli: RunCli, overlay: str = "overlays/three-node-ha") -> list[dict[str, Any]]:
    result = run_cli("render", overlay, cwd=repo)
    assert result.code == 0, result.err
    return [d for d in yaml.safe_load_all(result.out) if d]


def tags(objects: list[dict[str, Any]]) -> set[str]:
    return {u.tag for u in image_uses(objects)}


def test_upgrade_changes_every_reference_in_one_commit(repo: Path, run_cli: RunCli) -> None:
    assert tags(render(repo, run_cli)) == {OLD}
    head = git(repo, "rev-parse", "HEAD").strip()
    result = run_cli("upgrade-airflow", "2.11.1", cwd=repo)
    assert result.code == 0, result.err
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    assert git(repo, "log", "-1", "--format=%s").strip() == (
        f"Upgrade Airflow to {NEW} (overlays/single-node-legacy, overlays/three-node-ha)"
    )
    changed = sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split())
    assert changed == sorted(
        line.split()[1] for line in result.out.splitlines() if line.startswith("  changed")
    )
    assert all(p.startswith("base/") for p in changed)
    assert git(repo, "status", "--porcelain") == ""
    for overlay in ("overlays/three-node-ha", "overlays/single-node-legacy"):
        objects = render(repo, run_cli, overlay)
        assert tags(objects) == {NEW}
        where = {u.where for u in image_uses(objects)}
        assert any("(pod template)" in w for w in where)  # worker pod templates, kept as text
        hook = [
            o
            for o in objects
            if o["kind"] == "Job" and "argocd.argoproj.io/hook" in (o["metadata"].get("annotations") or {})
        ]
        assert hook and all(f"apache/airflow:{NEW}" in str(h["spec"]) for h in hook)  # the migration hook
    diff = git(repo, "show", "--format=", "HEAD")
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert removed and all(OLD in line for line in removed)  # only the tags changed: comments and layout kept


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2.11.0", f"already runs apache/airflow:{OLD}; nothing to upgrade"),
        ("2.10.5", f"refusing to downgrade overlays/single-node-legacy from {OLD} to 2.10.5-python3.9"),
        ("latest", "malformed Airflow version 'latest'"),
        ("2.11", "malformed Airflow version '2.11'"),
    ],
)
def test_refusals_change_nothing(repo: Path, run_cli: RunCli, version: str, message: str) -> None:
    head = git(repo, "rev-parse", "HEAD")
    result = run_cli("upgrade-airflow", version, cwd=repo)
    assert result.code == 2
    assert message in result.err
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""


def test_refuses_uncommitted_manifests_and_a_shared_overlay(repo: Path, run_cli: RunCli) -> None:
    (repo / "base" / "kustomization.yaml").write_text(
        (repo / "base" / "kustomization.yaml").read_text() + "\n"
    )
    dirty = run_cli("upgrade-airflow", "2.11.1", cwd=repo)
    assert dirty.code == 2 and "uncommitted changes in the manifests: base/kustomization.yaml" in dirty.err
    git(repo, "checkout", "--", ".")
    shared = run_cli("upgrade-airflow", "2.11.1", "overlays/three-node-ha", cwd=repo)
    assert shared.code == 2 and "upgrade them together with --all" in shared.err
    both = run_cli("upgrade-airflow", "2.11.1", "overlays/three-node-ha", "--all", cwd=repo)
    assert both.code == 2 and "not both" in both.err
    assert git(repo, "status", "--porcelain") == "" and len(git(repo, "log", "--format=%h").split()) == 1


def test_a_render_that_fails_validation_leaves_everything_as_it_was(repo: Path, run_cli: RunCli) -> None:
    broken = repo / "overlays" / "three-node-ha" / "broken.yaml"
    broken.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  key: [not, a, string]\n"
    )
    kustomization = repo / "overlays" / "three-node-ha" / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("resources:\n", "resources:\n  - broken.yaml\n", 1)
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "broken")
    head = git(repo, "rev-parse", "HEAD")
    before = {p: p.read_bytes() for p in (repo / "base").rglob("*.yaml")}
    result = run_cli("upgrade-airflow", "2.11.1", cwd=repo)
    assert result.code == 2 and "would not validate after the upgrade, nothing was changed" in result.err
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""
    assert {p: p.read_bytes() for p in (repo / "base").rglob("*.yaml")} == before


def test_dry_run_and_no_commit(repo: Path, run_cli: RunCli) -> None:
    dry = run_cli("upgrade-airflow", "2.11.1", "--dry-run", cwd=repo)
    assert dry.code == 0 and "would change base/webserver/deployment.yaml (2 references)" in dry.out
    assert git(repo, "status", "--porcelain") == ""
    loose = run_cli("upgrade-airflow", "2.11.1", "--no-commit", cwd=repo)
    assert loose.code == 0 and "not committed" in loose.out
    assert len(git(repo, "log", "--format=%h").split()) == 1 and git(repo, "status", "--porcelain") != ""


def _as_served(repo: Path, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Argo CD's sync leaves live: the render in the destination namespace (hooks run and go),
    and the nodes the overlay maps."""
    live = []
    for obj in objects:
        if "argocd.argoproj.io/hook" in (obj["metadata"].get("annotations") or {}):
            continue
        if obj["kind"] not in CLUSTER_SCOPED_KINDS:
            obj["metadata"].setdefault("namespace", "airflow")
        live.append(obj)
    roles = yaml.safe_load((repo / "overlays/three-node-ha/node-roles.yaml").read_text())["roles"]
    return live + [node(name, role) for role, name in roles.items()]


def test_after_the_sync_drift_reports_nothing(repo: Path, run_cli: RunCli, tmp_path: Path) -> None:
    before = render(repo, run_cli)
    assert run_cli("upgrade-airflow", "2.11.1", cwd=repo).code == 0
    drift = ("drift", "overlays/three-node-ha", "--namespace", "airflow", "-o", "json")
    with KubeApiServer(_as_served(repo, before), token=CANARY_TOKEN) as api:
        pending = run_cli(*drift, *kube_args(api, tmp_path), cwd=repo)
        assert pending.code == 1, pending.err  # Git moved on; the cluster still runs the old tag
        report = json.loads(pending.out)
        changed = {(d["desired"], d["live"]) for r in report["resources"] for d in r["differences"]}
        assert (f"apache/airflow:{NEW}", f"apache/airflow:{OLD}") in changed
        api.add_all(_as_served(repo, render(repo, run_cli)))  # the sync: live becomes the new render
        synced = run_cli(*drift, *kube_args(api, tmp_path), cwd=repo)
        assert synced.code == 0, synced.out + synced.err
        summary = json.loads(synced.out)["summary"]
        assert summary["in_sync"] > 50
        assert {k: v for k, v in summary.items() if k != "in_sync"} == {
            "modified": 0,
            "missing": 0,
            "extra": 0,
            "unknown": 0,
            "unknown_scopes": 0,
        }
        assert api.methods() == {"GET"}


def test_a_repository_requiring_digests_refuses_an_upgrade_that_would_drop_them(
    repo: Path, run_cli: RunCli
) -> None:
    """The new tag's digest is unknown (digests are never invented): the upgrade stops, unchanged."""
    namespace = repo / "base" / "namespace" / "namespace.yaml"
    namespace.write_text(
        namespace.read_text().replace(
            "  annotations:\n",
            '  annotations:\n    policy.gitops-tool.io/require-image-digests: "true"\n',
            1,
        )
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "require digests")
    head = git(repo, "rev-parse", "HEAD")
    result = run_cli("upgrade-airflow", "2.11.1", cwd=repo)
    assert result.code == 2
    assert "would not validate after the upgrade, nothing was changed" in result.err
    assert "has no digest, and the namespace requires digests" in result.err
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""
