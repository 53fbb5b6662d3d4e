"""doctor's NFS ClusterIP check against the emulated API server with a k3s Service range: the
overlay's render (real kustomize) is the address asked for, a dry-run create the API's verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitops_tool.core.conventions import INFRA_NAMESPACE
from tests.cluster_support import kube_args, namespace, service
from tests.conftest import RunCli, init_repo
from tests.kubeapi import KubeApiServer

K3S = "10.43.0.0/16"
CHECK = "NFS ClusterIP in the Service range"


def K3S_CLUSTER() -> list[dict[str, Any]]:
    return [namespace(), service("default", "kubernetes", "10.43.0.1")]


NFS_IP = "10.96.20.49"


def _check(run_cli: RunCli, api: KubeApiServer, repo: Path, tmp_path: Path) -> dict[str, Any]:
    result = run_cli("doctor", "three-node-ha", "-o", "json", *kube_args(api, tmp_path), cwd=repo)
    assert result.code in (0, 1), result.err
    checks = {c["check"]: c for c in json.loads(result.out)["checks"]}
    found: dict[str, Any] = checks[CHECK]
    return found


def test_the_shipped_address_on_k3s_fails_with_the_range_and_the_fix(
    run_cli: RunCli, project_copy: Path, tmp_path: Path
) -> None:
    with KubeApiServer(K3S_CLUSTER(), service_cidr=K3S) as api:
        check = _check(run_cli, api, project_copy, tmp_path)
        assert check["status"] == "fail"
        assert check["detail"] == (
            "10.96.20.49 is outside the cluster's Service range 10.43.0.0/16; "
            "the kubernetes Service is 10.43.0.1"
        )
        assert "gitops-tool init" in check["hint"] and "--service-cidr" in check["hint"]
        assert len(api.objects("Service")) == 1  # the dry run stored nothing
        probes = [r for r in api.requests if r.method != "GET" and r.path.endswith("/services")]
        assert [r.query.get("dryRun") for r in probes] == ["All"]


@pytest.mark.slow
def test_after_init_with_the_k3s_range_the_check_passes(
    run_cli: RunCli, project_copy: Path, tmp_path: Path
) -> None:
    repo = init_repo(project_copy)
    done = run_cli("init", "--repo-url", "https://git.example.com/a/b.git", "--service-cidr", K3S, cwd=repo)
    assert done.code == 0, done.err
    with KubeApiServer(K3S_CLUSTER(), service_cidr=K3S) as api:
        check = _check(run_cli, api, repo, tmp_path)
        assert check["status"] == "pass", check
        assert check["detail"].startswith("10.43.20.49 is in the Service range and free")


@pytest.mark.parametrize(
    ("holder", "detail"),
    [
        (service(INFRA_NAMESPACE, "nfs-server", "10.96.99.99"), "live nfs-server Service has 10.96.99.99"),
        (service("default", "x", "10.96.20.49"), "another Service holds it"),
    ],
    ids=["a live nfs-server with another address cannot be changed in place", "another Service holds it"],
)
def test_the_address_taken_or_unchangeable_live_fails(
    run_cli: RunCli, project_copy: Path, tmp_path: Path, holder: dict[str, Any], detail: str
) -> None:
    objects = [namespace(), service("default", "kubernetes", "10.96.0.1"), holder]
    with KubeApiServer(objects, service_cidr="10.96.0.0/12") as api:
        check = _check(run_cli, api, project_copy, tmp_path)
        assert check["status"] == "fail"
        assert detail in check["detail"]


def test_without_leave_to_dry_run_a_service_it_says_unknown(
    run_cli: RunCli, project_copy: Path, tmp_path: Path
) -> None:
    with KubeApiServer([namespace()], service_cidr=K3S) as api:
        api.forbid("services", namespace="default")
        check = _check(run_cli, api, project_copy, tmp_path)
        assert check["status"] == "unknown"
        assert "could not ask the API server about 10.96.20.49 (dry-run create: HTTP 403)" in check["detail"]
        assert "--service-cluster-ip-range" in check["hint"]
