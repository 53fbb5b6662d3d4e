"""Schema validation: every violation, precise messages, exit 1; custom resources skipped."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunCli
from tests.overlay_inputs import write_overlay

BROKEN_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
  namespace: airflow
spec:
  replicas: two
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
        - name: main
          image: busybox:1.36.1
          imagee: typo
          ports:
            - containerPort: "eighty"
"""

CUSTOM_RESOURCE = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  namespace: airflow
"""


def test_schema_errors_exit_1_with_every_violation(run_cli: RunCli, tmp_path: Path) -> None:
    write_overlay(tmp_path, "broken", {"deployment.yaml": BROKEN_DEPLOYMENT})
    result = run_cli("validate", "overlays/broken", cwd=tmp_path)
    assert result.code == 1, result.err
    lines = result.out.splitlines()
    assert lines[0] == "overlays/broken: 1 objects, Kubernetes 1.37: 3 violation(s)"
    where = "  schema: Deployment/airflow/broken at"
    assert lines[1].startswith(f"{where} spec.replicas: 'two' is not of type 'integer'")
    assert lines[2] == f"{where} spec.template.spec.containers[0]: unknown field(s): imagee"
    assert any("spec.template.spec.containers[0].ports[0].containerPort" in line for line in lines)


def test_schema_errors_as_json(run_cli: RunCli, tmp_path: Path) -> None:
    write_overlay(tmp_path, "broken", {"deployment.yaml": BROKEN_DEPLOYMENT})
    result = run_cli("validate", "overlays/broken", "--output", "json", "-k", "1.30", cwd=tmp_path)
    assert result.code == 1
    report = json.loads(result.out)
    assert report["ok"] is False
    assert report["kubernetes_version"] == "1.30"
    paths = sorted(v["path"] for v in report["overlays"][0]["violations"])
    assert paths == [
        "spec.replicas",
        "spec.template.spec.containers[0]",
        "spec.template.spec.containers[0].ports[0].containerPort",
    ]
    assert {v["object"] for v in report["overlays"][0]["violations"]} == {"Deployment/airflow/broken"}


def test_custom_resources_without_a_schema_are_reported_and_skipped(run_cli: RunCli, tmp_path: Path) -> None:
    write_overlay(tmp_path, "broken", {"widget.yaml": CUSTOM_RESOURCE})
    result = run_cli("validate", "overlays/broken", cwd=tmp_path)
    assert result.code == 0, result.out + result.err
    assert "skipped: Widget/airflow/w: no schema for example.com/v1 Widget" in result.out
