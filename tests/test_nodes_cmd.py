"""`gitops-tool nodes check|apply` against the emulated API server."""

from __future__ import annotations

from pathlib import Path

from tests.cluster_support import CANARY_TOKEN, calls, kube_args, node, writes
from tests.conftest import RunCli
from tests.kubeapi import KubeApiServer

LABEL = "node-role.kubernetes.io/airflow"


def _overlay(tmp_path: Path) -> str:
    overlay = tmp_path / "repo" / "overlays" / "ha"
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    (overlay / "node-roles.yaml").write_text(
        "# mapping\nroles:\n  management: node-1\n  scheduler-1: node-2\n  scheduler-2: node-3\n"
    )
    return str(overlay)


def test_check_passes_on_a_labelled_cluster_with_gets_only(tmp_path: Path, run_cli: RunCli) -> None:
    nodes = [node("node-1", "management"), node("node-2", "scheduler-1"), node("node-3", "scheduler-2")]
    with KubeApiServer(nodes, token=CANARY_TOKEN) as api:
        result = run_cli("nodes", "check", _overlay(tmp_path), *kube_args(api, tmp_path))
        assert result.code == 0, result.err
        assert "node labels match" in result.out
        assert calls(api) == [("GET", "/api/v1/nodes")]


def test_check_lists_every_mismatch_and_exits_1(tmp_path: Path, run_cli: RunCli) -> None:
    nodes = [
        node("node-1"),
        node("node-2", "scheduler-2"),
        node("node-9", "scheduler-1"),
        node("node-8", "gpu"),
    ]
    with KubeApiServer(nodes, token=CANARY_TOKEN) as api:
        result = run_cli("nodes", "check", _overlay(tmp_path), *kube_args(api, tmp_path))
        assert result.code == 1, result.err
        assert result.out.splitlines() == [
            "note: node-8 carries role gpu, which overlays/ha does not map (left alone)",
            "4 node label mismatch(es) against overlays/ha/node-roles.yaml:",
            "  node-3: node not found (mapped to role scheduler-2)",
            f"  node-1: add {LABEL}=management",
            f"  node-2: change {LABEL} scheduler-2 -> scheduler-1",
            f"  node-9: remove {LABEL}=scheduler-1 (role mapped to another node)",
        ]
        assert api.methods() == {"GET"}


def test_apply_is_a_dry_run_without_yes(tmp_path: Path, run_cli: RunCli) -> None:
    nodes = [node("node-1"), node("node-2", "scheduler-2"), node("node-3", "scheduler-1")]
    with KubeApiServer(nodes, token=CANARY_TOKEN) as api:
        result = run_cli("nodes", "apply", _overlay(tmp_path), *kube_args(api, tmp_path))
        assert result.code == 0, result.err
        assert result.out.splitlines() == [
            "dry run: 3 change(s) planned (run again with --yes to apply):",
            f"  node-1: add {LABEL}=management",
            f"  node-2: change {LABEL} scheduler-2 -> scheduler-1",
            f"  node-3: change {LABEL} scheduler-1 -> scheduler-2",
        ]
        assert calls(api) == [("GET", "/api/v1/nodes")]


def test_apply_yes_patches_only_the_role_label(tmp_path: Path, run_cli: RunCli) -> None:
    nodes = [
        node("node-1"),
        node("node-2", "scheduler-1"),
        node("node-3", "scheduler-2"),
        node("old", "management"),
    ]
    with KubeApiServer(nodes, token=CANARY_TOKEN) as api:
        result = run_cli("nodes", "apply", _overlay(tmp_path), "--yes", *kube_args(api, tmp_path))
        assert result.code == 0, result.err
        assert [(r.method, r.path, r.body) for r in writes(api)] == [
            ("PATCH", "/api/v1/nodes/node-1", {"metadata": {"labels": {LABEL: "management"}}}),
            ("PATCH", "/api/v1/nodes/old", {"metadata": {"labels": {LABEL: None}}}),
        ]
        assert api.get_object("Node", "", "node-1")["metadata"]["labels"][LABEL] == "management"  # type: ignore[index]
        old_labels = api.get_object("Node", "", "old")["metadata"]["labels"]  # type: ignore[index]
        assert old_labels == {"kubernetes.io/hostname": "old"}
        again = run_cli("nodes", "apply", _overlay(tmp_path), "--yes", *kube_args(api, tmp_path))
        assert again.code == 0 and "nothing to do" in again.out
        check = run_cli("nodes", "check", _overlay(tmp_path), *kube_args(api, tmp_path))
        assert check.code == 0


def test_apply_refuses_when_a_mapped_node_is_missing(tmp_path: Path, run_cli: RunCli) -> None:
    with KubeApiServer([node("node-1"), node("node-2")], token=CANARY_TOKEN) as api:
        result = run_cli("nodes", "apply", _overlay(tmp_path), "--yes", *kube_args(api, tmp_path))
        assert result.code == 2
        assert "mapped node(s) not in the cluster: node-3 (scheduler-2)" in result.err
        assert writes(api) == []


def test_overlay_without_mapping_and_the_shipped_overlays(
    tmp_path: Path, run_cli: RunCli, repo_root: Path
) -> None:
    overlay = tmp_path / "o"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    result = run_cli("nodes", "check", str(overlay), "--kubeconfig", str(tmp_path / "none"))
    assert result.code == 2 and "has no node-roles.yaml" in result.err
    nodes = [node("node-1", "management"), node("node-2", "scheduler-1"), node("node-3", "scheduler-2")]
    with KubeApiServer(nodes, token=CANARY_TOKEN) as api:
        for shipped in ("overlays/three-node-ha", "overlays/single-node-legacy"):
            result = run_cli("nodes", "check", shipped, *kube_args(api, tmp_path), cwd=repo_root)
            assert result.code == 0, (shipped, result.out, result.err)
