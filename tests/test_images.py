"""Image references with tags and digests, and `gitops-tool images`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_tool.core.images import ImageRef, parse_image
from gitops_tool.errors import UserError
from tests.conftest import RunCli

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("apache/airflow:2.11.0-python3.9", ImageRef("apache/airflow", "2.11.0-python3.9")),
        ("busybox", ImageRef("busybox")),
        ("localhost:5000/app:1.0", ImageRef("localhost:5000/app", "1.0")),
        ("localhost:5000/app", ImageRef("localhost:5000/app")),
        (
            f"quay.io/prometheus/prometheus:v3.5.0@{DIGEST}",
            ImageRef("quay.io/prometheus/prometheus", "v3.5.0", DIGEST),
        ),
        (f"postgres@{DIGEST}", ImageRef("postgres", "", DIGEST)),
    ],
)
def test_parse_image(reference: str, expected: ImageRef) -> None:
    parsed = parse_image(reference)
    assert parsed == expected
    assert str(parsed) == reference


@pytest.mark.parametrize(
    ("reference", "pinned"),
    [("busybox", False), ("busybox:latest", False), ("busybox:1.36.1", True), (f"busybox@{DIGEST}", True)],
)
def test_pinned(reference: str, pinned: bool) -> None:
    assert parse_image(reference).pinned is pinned


@pytest.mark.parametrize("reference", ["", "a b", "app:", "app@sha256:short", "app@md5:" + "a" * 64])
def test_invalid_references(reference: str) -> None:
    with pytest.raises(UserError):
        parse_image(reference)


OVERLAY = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: airflow}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      initContainers: [{{name: wait, image: "apache/airflow:2.11.0-python3.9"}}]
      containers: [{{name: web, image: "apache/airflow:2.11.0-python3.9"}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: backup, namespace: airflow}}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: dump, image: "postgres:16.4@{DIGEST}"}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: worker-pod-template, namespace: airflow}}
data:
  pod_template.yaml: |
    apiVersion: v1
    kind: Pod
    metadata: {{name: worker}}
    spec:
      containers: [{{name: base, image: "apache/airflow:2.11.0-python3.9"}}]
"""


def test_images_command_lists_images_with_their_workloads(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "overlays" / "x"
    folder.mkdir(parents=True)
    (folder / "all.yaml").write_text(OVERLAY)
    (folder / "kustomization.yaml").write_text("resources: [all.yaml]\n")
    result = run_cli("images", "overlays/x", "--output", "json", cwd=tmp_path)
    assert result.code == 0, result.err
    rows = json.loads(result.out)["images"]
    assert [r["image"] for r in rows] == ["apache/airflow:2.11.0-python3.9", f"postgres:16.4@{DIGEST}"]
    assert rows[0]["workloads"] == [  # in render order: kustomize puts ConfigMaps first
        "ConfigMap/airflow/worker-pod-template (pod template) [base]",
        "Deployment/airflow/web [wait]",
        "Deployment/airflow/web [web]",
    ]
    assert rows[1] == {
        "image": f"postgres:16.4@{DIGEST}",
        "repository": "postgres",
        "tag": "16.4",
        "digest": DIGEST,
        "pinned": True,
        "workloads": ["CronJob/airflow/backup [dump]"],
    }
    text = run_cli("images", "overlays/x", cwd=tmp_path)
    assert text.code == 0
    assert f"postgres:16.4 @{DIGEST}" in text.out.splitlines()


def test_images_of_the_shipped_overlay_are_all_pinned(run_cli: RunCli, repo_root: Path) -> None:
    result = run_cli("images", "--output", "json", cwd=repo_root)
    assert result.code == 0, result.err
    assert all(row["pinned"] for row in json.loads(result.out)["images"])
