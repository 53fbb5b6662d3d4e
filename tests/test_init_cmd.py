"""`gitops-tool init`: the real CLI on a committed copy of the repository, real git, real kustomize."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core.init_plan import nfs_cluster_ip
from gitops_tool.errors import UserError
from tests.conftest import RunCli, git, init_repo
from tests.scheduler_support import HA, commit_subject, committed_paths, repo_state

URL = "https://git.example.com/team/airflow-gitops.git"
ACCEPTANCE = [
    "init",
    "--repo-url",
    URL,
    "--service-cidr",
    "10.43.0.0/16",
    "--node",
    "management=m1",
    "--node",
    "scheduler-1=s1",
    "--node",
    "scheduler-2=s2",
    "--lb-source-range",
    "203.0.113.0/24",
]
TOKEN = "glpat-canary-8b1f0c2d"


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def _documents(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _argocd_sources(repo: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((repo / "argocd").rglob("*.yaml")):
        for doc in _documents(path):
            spec = doc.get("spec") or {}
            urls = [spec["source"]["repoURL"]] if "source" in spec else list(spec.get("sourceRepos") or [])
            found[path.relative_to(repo).as_posix()] = urls
    return found


def _rendered(run_cli: RunCli, repo: Path, overlay: str) -> list[dict[str, Any]]:
    result = run_cli("render", overlay, "-o", "json", cwd=repo)
    assert result.code == 0, result.err
    items: list[dict[str, Any]] = yaml.safe_load(result.out)["items"]
    return items


@pytest.mark.slow
def test_init_makes_the_clone_yours_in_one_validated_commit(run_cli: RunCli, repo: Path) -> None:
    before = git(repo, "rev-parse", "HEAD").strip()
    result = run_cli(*ACCEPTANCE, cwd=repo)
    assert result.code == 0, result.err

    # One commit, on top of the clone, with a clean tree after it.
    assert git(repo, "rev-list", f"{before}..HEAD").split() == [git(repo, "rev-parse", "HEAD").strip()]
    assert commit_subject(repo).startswith("init: ")
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert committed_paths(repo) == sorted(
        [
            "argocd/applications/single-node-legacy.yaml",
            "argocd/applications/three-node-ha.yaml",
            "argocd/projects/airflow.yaml",
            "argocd/projects/bootstrap.yaml",
            "argocd/root.yaml",
            "base/nfs/server-service.yaml",
            f"{HA}/lb-source-ranges.yaml",
            f"{HA}/node-roles.yaml",
        ]
    )

    # Every Argo CD object names the URL, and only it.
    sources = _argocd_sources(repo)
    assert len(sources) == 5
    assert all(urls == [URL] for urls in sources.values()), sources

    # The NFS Service's ClusterIP lies in the k3s range, in every overlay's render, and the
    # provisioner follows it.
    network = ipaddress.ip_network("10.43.0.0/16")
    for overlay in ("three-node-ha", "single-node-legacy"):
        objects = _rendered(run_cli, repo, overlay)
        service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "nfs-server")
        assert ipaddress.ip_address(service["spec"]["clusterIP"]) in network
        provisioner = next(
            o
            for o in objects
            if o["kind"] == "Deployment" and o["metadata"]["name"] == "nfs-client-provisioner"
        )
        env = provisioner["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": "NFS_SERVER", "value": service["spec"]["clusterIP"]} in env

    roles = yaml.safe_load((repo / HA / "node-roles.yaml").read_text())["roles"]
    assert roles == {"management": "m1", "scheduler-1": "s1", "scheduler-2": "s2"}
    ranges = yaml.safe_load((repo / HA / "lb-source-ranges.yaml").read_text())["spec"]
    assert ranges["loadBalancerSourceRanges"] == ["203.0.113.0/24"]
    # Comments people maintain stay.
    assert (
        "# Airflow's namespace and the infrastructure's"
        in (repo / "argocd/projects/airflow.yaml").read_text()
    )

    # The Application generator defaults to it too.
    generated = run_cli("argocd", "app", "single-node-legacy", "-o", "json", cwd=repo)
    assert generated.code == 0, generated.err
    assert yaml.safe_load(generated.out)["spec"]["source"]["repoURL"] == URL

    validated = run_cli("validate", cwd=repo)
    assert validated.code == 0, validated.out + validated.err


def test_dry_run_prints_the_diff_and_writes_nothing(run_cli: RunCli, repo: Path) -> None:
    state = repo_state(repo)
    result = run_cli(*ACCEPTANCE, "--dry-run", cwd=repo)
    assert result.code == 0, result.err
    assert "+  clusterIP: 10.43.20.49" in result.out
    assert f"+    repoURL: {URL}" in result.out
    assert "+  scheduler-2: s2" in result.out
    assert "dry run: nothing written" in result.err
    assert repo_state(repo) == state


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--repo-url", f"https://deploy:{TOKEN}@git.example.com/x/y.git"], "--repo-url carries credentials"),
        (["--repo-url", f"https://{TOKEN}@git.example.com/x/y.git"], "--repo-url carries credentials"),
        (["--repo-url", f"https://git.example.com/x/y.git?private_token={TOKEN}"], "carries credentials"),
        (["--repo-url", f"ssh://git:{TOKEN}@git.example.com/x/y.git"], "carries credentials"),
        (["--repo-url", f"ftp://{TOKEN}/x"], "is not a Git URL Argo CD can clone"),
        (["--repo-url", URL, "--dag-repo", f"https://u:{TOKEN}@git.example.com/d.git"], "--dag-repo carries"),
        (["--repo-url", URL, "--node", "boss=m1"], "unknown role 'boss'"),
        (["--repo-url", URL, "--node", "scheduler-1"], "expected ROLE=NODE"),
        (["--repo-url", URL, "--node", "scheduler-1=Not_A_Node"], "not a valid Kubernetes node name"),
        (["--repo-url", URL, "--node", "management=n1", "--node", "scheduler-1=n1"], "both roles"),
        (["--repo-url", URL, "--service-cidr", "10.43.0.1/16"], "not a network in CIDR notation"),
        (["--repo-url", URL, "--service-cidr", "10.43.0.0/30"], "too small"),
        (["--repo-url", URL, "--service-cidr", "10.43.0.0/16", "--nfs-cluster-ip", "10.96.20.49"], "outside"),
        (["--repo-url", URL, "--service-cidr", "10.43.0.0/16", "--nfs-cluster-ip", "10.43.0.10"], "DNS"),
        (["--repo-url", URL, "--lb-source-range", "203.0.113.7/24"], "not a network in CIDR notation"),
        (["--repo-url", URL, "--overlay-typo"], "No such option"),
    ],
)
def test_refusals_change_nothing_and_never_echo_a_url(
    run_cli: RunCli, repo: Path, extra: list[str], message: str
) -> None:
    state = repo_state(repo)
    result = run_cli("init", *extra, cwd=repo)
    assert result.code == 2, result.out + result.err
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert TOKEN not in result.out + result.err
    assert repo_state(repo) == state


def test_a_dirty_tree_is_refused(run_cli: RunCli, repo: Path) -> None:
    (repo / "notes.txt").write_text("mine\n")
    state = repo_state(repo)
    result = run_cli("init", "--repo-url", URL, cwd=repo)
    assert result.code == 2
    assert "uncommitted changes (notes.txt)" in result.err
    assert repo_state(repo) == state


def test_without_repo_url_and_no_terminal_it_says_what_to_give(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("init", "--service-cidr", "10.43.0.0/16", cwd=repo)
    assert result.code == 2
    assert "give --repo-url URL" in result.err


@pytest.mark.slow
def test_a_change_that_would_not_validate_is_rolled_back(run_cli: RunCli, repo: Path) -> None:
    state = repo_state(repo)
    result = run_cli("init", "--repo-url", URL, "--lb-source-range", "0.0.0.0/0", cwd=repo)
    assert result.code != 0
    assert "would not validate, nothing was changed" in result.err
    assert "lb-source-ranges" in result.err
    assert repo_state(repo) == state


@pytest.mark.slow
def test_dag_repo_and_revision_land_in_the_same_commit(run_cli: RunCli, repo: Path) -> None:
    dags = "https://git.example.com/team/dags.git"
    result = run_cli("init", "--repo-url", URL, "--revision", "prod", "--dag-repo", dags, cwd=repo)
    assert result.code == 0, result.err
    assert f"{HA}/kustomization.yaml" in committed_paths(repo)
    shown = run_cli("dags", "source", "show", "three-node-ha", "-o", "json", cwd=repo)
    assert yaml.safe_load(shown.out)["repo"] == dags
    root = _documents(repo / "argocd/root.yaml")[0]
    assert root["spec"]["source"]["targetRevision"] == "prod"
    again = run_cli("init", "--repo-url", URL, "--revision", "prod", "--dag-repo", dags, cwd=repo)
    assert again.code == 2 and "nothing to change" in again.err


def test_the_nfs_address_keeps_its_place_in_the_network() -> None:
    assert nfs_cluster_ip("10.96.0.0/12") == "10.96.20.49"
    assert nfs_cluster_ip("10.43.0.0/16") == "10.43.20.49"
    assert nfs_cluster_ip("10.100.0.0/16") == "10.100.20.49"
    assert nfs_cluster_ip("172.20.0.0/16") == "172.20.20.49"
    assert nfs_cluster_ip("192.168.7.0/24") == "192.168.7.177"  # 20.49 does not fit: the upper half
    assert nfs_cluster_ip("fd00:10:96::/108") == "fd00:10:96::1431"
    with pytest.raises(UserError, match="broadcast"):
        nfs_cluster_ip("192.168.7.0/24", "192.168.7.255")
