"""Both overlays are strict-schema-valid on every supported Kubernetes minor, 1.30 to 1.37."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from gitops_tool.adapters.schema import SchemaValidator, supported_versions
from tests.conftest import RunCli
from tests.manifests_support import HA, LEGACY, OVERLAYS, find, rendered

VERSIONS = [f"1.{minor}" for minor in range(30, 38)]


def test_every_targeted_minor_is_supported() -> None:
    assert set(VERSIONS) <= set(supported_versions())


@pytest.mark.parametrize("version", VERSIONS)
def test_validate_passes_with_no_object_skipped(run_cli: RunCli, repo_root: Path, version: str) -> None:
    result = run_cli("validate", HA, LEGACY, "-k", version, "--output", "json", cwd=repo_root)
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    assert report["kubernetes_version"] == version and report["ok"] is True
    for overlay in report["overlays"]:
        assert overlay["violations"] == [] and overlay["skipped"] == [], overlay
        assert overlay["objects"] == len(rendered(overlay["overlay"]))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_schema_validator_knows_every_rendered_kind(version: str, overlay: str) -> None:
    validator = SchemaValidator(version)
    assert {o["kind"]: validator.validate_one(o) for o in rendered(overlay)} == {
        o["kind"]: [] for o in rendered(overlay)
    }


def test_the_validator_would_catch_a_broken_scheduler() -> None:
    """The passing tests above mean something: the same validator flags a typo in a rendered object."""
    scheduler = copy.deepcopy(find(rendered(HA), "Deployment", "airflow-scheduler-1"))
    scheduler["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["timeoutSecond"] = 20
    errors = SchemaValidator("1.30").validate_one(scheduler)
    assert errors and errors[0][0].startswith("spec.template.spec.containers[0].livenessProbe")
