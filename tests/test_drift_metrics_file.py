"""``gitops-tool drift --metrics-file`` against the emulated API server, parsed by prometheus_client."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gitops_tool.adapters.kustomize import KustomizeRenderer, resolve_kustomize
from gitops_tool.core import conventions as c
from gitops_tool.core.documents import parse_manifests
from tests import livestate as ls
from tests.conftest import REPO_ROOT, CliResult, RunCli
from tests.inject import run_with_injected_error
from tests.kubeapi import KubeApiServer

OVERLAY = "overlays/three-node-ha"
ROLES = yaml.safe_load((REPO_ROOT / OVERLAY / c.NODE_ROLES_FILE).read_text())["roles"]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def cluster() -> list[dict[str, Any]]:
    desired = parse_manifests(KustomizeRenderer(resolve_kustomize()).build(REPO_ROOT / OVERLAY), "render")
    return ls.cluster_state(desired, workers=5, roles=ROLES)


def _drift(
    run_cli: RunCli,
    tmp_path: Path,
    objects: list[dict[str, Any]],
    metrics: Path,
    *args: str,
    prepare: Callable[[KubeApiServer], None] | None = None,
) -> tuple[CliResult, KubeApiServer]:
    with KubeApiServer(objects) as api:
        if prepare is not None:
            prepare(api)
        result = run_cli(
            "drift",
            OVERLAY,
            "--worktree",
            "--kubeconfig",
            str(api.kubeconfig(tmp_path)),
            "--output",
            "json",
            "--metrics-file",
            str(metrics),
            *args,
            cwd=REPO_ROOT,
        )
    return result, api


def _samples(path: Path) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _get(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted({"overlay": OVERLAY, **labels}.items())))]


def test_in_sync_audit_writes_parseable_metrics(
    run_cli: RunCli, tmp_path: Path, cluster: list[dict[str, Any]]
) -> None:
    metrics = tmp_path / "gitops_drift.prom"
    result, _ = _drift(run_cli, tmp_path, cluster, metrics)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    samples = _samples(metrics)
    assert _get(samples, "gitops_drift_drifted_resources") == 0
    assert _get(samples, "gitops_drift_audit_success") == 1
    assert _get(samples, "gitops_drift_audit_errors") == 0
    assert _get(samples, "gitops_drift_audit_duration_seconds") > 0
    assert _get(samples, "gitops_drift_last_audit_timestamp_seconds") > 1.7e9
    counted = sum(v for (name, _), v in samples.items() if name == "gitops_drift_resources")
    assert counted == report["summary"]["in_sync"] > 0
    deployments = [o for o in cluster if o["kind"] == "Deployment"]
    assert _get(samples, "gitops_drift_resources", kind="Deployment", status="in-sync") == len(deployments)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_drift_is_counted_by_kind_and_status(
    run_cli: RunCli, tmp_path: Path, cluster: list[dict[str, Any]]
) -> None:
    changed = [dict(o) for o in cluster]
    scheduler = ls.find(changed, "Deployment", "airflow-scheduler-2")
    changed[changed.index(scheduler)] = copy = json.loads(json.dumps(scheduler))
    ls.kubectl_scale(copy, 3)
    metrics = tmp_path / "gitops_drift.prom"
    metrics.write_text("old content\n")
    result, _ = _drift(run_cli, tmp_path, changed, metrics)
    assert result.code == 1
    samples = _samples(metrics)
    assert _get(samples, "gitops_drift_resources", kind="Deployment", status="modified") == 1
    assert _get(samples, "gitops_drift_drifted_resources") == 1
    assert _get(samples, "gitops_drift_audit_success") == 1


def test_unreadable_kinds_count_as_errors(
    run_cli: RunCli, tmp_path: Path, cluster: list[dict[str, Any]]
) -> None:
    metrics = tmp_path / "gitops_drift.prom"
    result, _ = _drift(
        run_cli, tmp_path, cluster, metrics, "--allow-partial", prepare=lambda api: api.forbid("configmaps")
    )
    assert result.code == 0, result.err
    samples = _samples(metrics)
    unknown = _get(samples, "gitops_drift_resources", kind="ConfigMap", status="unknown")
    assert unknown > 0
    # Every unknown ConfigMap, plus each unreadable namespace holding no desired ConfigMap (it
    # could hide extras).
    assert _get(samples, "gitops_drift_audit_errors") > unknown
    assert _get(samples, "gitops_drift_audit_success") == 0


def test_a_failed_audit_still_writes_its_metrics(
    run_cli: RunCli, tmp_path: Path, cluster: list[dict[str, Any]]
) -> None:
    metrics = tmp_path / "gitops_drift.prom"
    result, _ = _drift(
        run_cli,
        tmp_path,
        cluster,
        metrics,
        "--request-timeout",
        "0.3",
        prepare=lambda api: api.fail(401, path="/", times=100),
    )
    assert result.code == 2
    assert result.err.count("\n") == 1
    samples = _samples(metrics)
    assert _get(samples, "gitops_drift_audit_success") == 0
    assert _get(samples, "gitops_drift_audit_errors") == 1
    assert not any(name == "gitops_drift_resources" for name, _ in samples)


@pytest.mark.parametrize(
    "where", ["gitops_tool/core/drift/engine.py:compare", "gitops_tool/core/drift/render.py:render_json"]
)
def test_an_internal_error_is_a_failed_audit_too(
    where: str, tmp_path: Path, cluster: list[dict[str, Any]]
) -> None:
    """A bug while auditing or while printing the report: exit 3, and the failure metrics."""
    metrics = tmp_path / "gitops_drift.prom"
    with KubeApiServer(cluster) as api:
        kubeconfig = str(api.kubeconfig(tmp_path))
        argv = ["drift", OVERLAY, "--worktree", "--kubeconfig", kubeconfig, "--output", "json"]
        env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        result = run_with_injected_error([*argv, "--metrics-file", str(metrics)], REPO_ROOT, env, where)
    assert result.returncode == 3, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    samples = _samples(metrics)
    assert _get(samples, "gitops_drift_audit_success") == 0
    assert _get(samples, "gitops_drift_audit_errors") == 1


def test_a_missing_folder_is_refused_before_the_cluster_is_read(
    run_cli: RunCli, tmp_path: Path, cluster: list[dict[str, Any]]
) -> None:
    metrics = tmp_path / "no-such-folder" / "gitops_drift.prom"
    result, api = _drift(run_cli, tmp_path, cluster, metrics)
    assert result.code == 2
    assert "no-such-folder" in result.err and result.err.count("\n") == 1
    assert api.requests == []
    assert not metrics.parent.exists()
