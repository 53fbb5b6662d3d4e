"""A scheduler added with add-scheduler is monitored without editing a dashboard, rule or query."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gitops_tool.core import conventions as c
from gitops_tool.core.documents import parse_manifests
from gitops_tool.services.rendering import render_overlay
from tests import metrics_catalog as catalog
from tests.conftest import RunCli, git


def _scheduler_patterns() -> set[str]:
    """Every regex the dashboards and rules use to select scheduler Deployments or schedulers."""
    patterns: set[str] = set()
    for expr in catalog.all_queries():
        for _, label, value in catalog.label_matchers(expr):
            if label in {"deployment", "scheduler"} and "scheduler" in value:
                patterns.add(value)
    return patterns


def test_a_third_scheduler_matches_every_selector(project_copy: Path, run_cli: RunCli) -> None:
    git(project_copy, "init", "-q")
    git(project_copy, "add", "-A")
    git(project_copy, "commit", "-qm", "init")
    result = run_cli("add-scheduler", "3", "--node", "node-4", cwd=project_copy)
    assert result.code == 0, result.err
    changed = git(project_copy, "show", "--name-only", "--format=", "HEAD").split()
    assert changed and all(path.startswith("overlays/") for path in changed)

    rendered = parse_manifests(
        render_overlay(str(project_copy / c.DEFAULT_OVERLAY), root=project_copy).text, "three-node-ha"
    )
    schedulers = sorted(
        o["metadata"]["name"]
        for o in rendered
        if o["kind"] == "Deployment"
        and o["spec"]["template"]["metadata"]["labels"].get(c.COMPONENT_LABEL) == c.SCHEDULER_COMPONENT
    )
    assert schedulers == ["airflow-scheduler-1", "airflow-scheduler-2", "airflow-scheduler-3"]

    patterns = _scheduler_patterns()
    assert patterns, "no query selects schedulers by pattern"
    for pattern in patterns - {"$scheduler"}:
        # PromQL regex matchers are fully anchored.
        assert all(re.fullmatch(pattern, name) for name in schedulers), pattern

    # The job-table query names a scheduler after its pod hostname <deployment>-<replicaset>-<pod>.
    sql = yaml.safe_load(catalog.POSTGRES_QUERIES.read_text(encoding="utf-8"))["airflow_db_scheduler"][
        "query"
    ]
    hostname_pattern = re.search(r"substring\(hostname FROM '([^']+)'\)", sql)
    assert hostname_pattern is not None
    for name in schedulers:
        found = re.search(hostname_pattern.group(1), f"{name}-7c9d8b6f5d-x2k4q")
        assert found is not None and found.group(1) == name
    # A webserver or a worker pod is not taken for a scheduler.
    assert re.search(hostname_pattern.group(1), "airflow-webserver-6d5f7-abcde") is None
