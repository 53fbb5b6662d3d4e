"""Argo CD's diff test pairs (captured from real clusters) through `gitops-tool drift`, as users run it.

Fixtures: tests/fixtures/peer-diff-cases (from argoproj/gitops-engine pkg/diff/testdata, Apache-2.0;
see its README). Expected outcomes are the ones Argo CD's own tests assert.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli

CASES = Path(__file__).resolve().parent / "fixtures" / "peer-diff-cases"
IN_SYNC = [
    ("deployment-config.json", "deployment-live.json", "Deployment"),
    ("elasticsearch-config.json", "elasticsearch-live.json", "StatefulSet"),
    ("spinnaker-sa-config.json", "spinnaker-sa-live.json", "ServiceAccount"),
    ("wordpress-config.json", "wordpress-live.json", "Secret"),
    ("smd-deploy-config.yaml", "smd-deploy-live.yaml", "Deployment"),
]


def _drift(run_cli: RunCli, config: Path, live: Path) -> tuple[int, dict[str, Any], str]:
    result = run_cli(
        "drift", "--desired-file", str(config), "--live-file", str(live), "--output", "json", "--show-in-sync"
    )
    return result.code, json.loads(result.out), result.out + result.err


@pytest.mark.parametrize(("config", "live", "kind"), IN_SYNC)
def test_peer_pair_is_in_sync(run_cli: RunCli, config: str, live: str, kind: str) -> None:
    code, report, _ = _drift(run_cli, CASES / config, CASES / live)
    assert code == 0
    assert report["summary"] == {
        "in_sync": 1,
        "modified": 0,
        "missing": 0,
        "extra": 0,
        "unknown": 0,
        "unknown_scopes": 0,
    }
    [resource] = report["resources"]
    assert (resource["kind"], resource["status"], resource["differences"]) == (kind, "in-sync", [])


def test_statefulset_label_changes_are_exactly_three(run_cli: RunCli, tmp_path: Path) -> None:
    config = json.loads((CASES / "elasticsearch-config.json").read_text())
    labels = config["metadata"]["labels"]
    labels["foo"] = "bar"
    labels["chart"] = "elasticsearch-1.7.1"
    del labels["release"]
    changed = tmp_path / "config.json"
    changed.write_text(json.dumps(config))
    code, report, _ = _drift(run_cli, changed, CASES / "elasticsearch-live.json")
    assert code == 1
    [resource] = report["resources"]
    assert resource["status"] == "modified"
    assert resource["differences"] == [
        {
            "path": "/metadata/labels/chart",
            "desired": "elasticsearch-1.7.1",
            "live": "elasticsearch-1.7.0",
            "reason": "changed",
            "live_owner": None,  # captured before managedFields existed: no owner recorded
        },
        {
            "path": "/metadata/labels/foo",
            "desired": "bar",
            "live": None,
            "reason": "in Git, not live",
            "live_owner": None,
        },
        {
            "path": "/metadata/labels/release",
            "desired": None,
            "live": "elasticsearch4",
            "reason": "applied from Git earlier, no longer in Git, still live",
            "live_owner": None,
        },
    ]


def test_changed_secret_values_are_reported_never_printed(run_cli: RunCli, tmp_path: Path) -> None:
    config = json.loads((CASES / "wordpress-config.json").read_text())
    live = json.loads((CASES / "wordpress-live.json").read_text())
    config["data"] = dict.fromkeys(config["data"], "++++++++")
    live["data"] = dict.fromkeys(live["data"], "++++++++++++")
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "live.json").write_text(json.dumps(live))
    code, report, _ = _drift(run_cli, tmp_path / "config.json", tmp_path / "live.json")
    assert code == 1
    [resource] = report["resources"]
    assert resource["status"] == "modified"
    assert [d["path"] for d in resource["differences"]] == ["/data/smtp-password", "/data/wordpress-password"]
    assert all(d["reason"] == "secret value differs (values hidden)" for d in resource["differences"])
    for output in ("json", "text", "markdown"):
        result = run_cli(
            "drift",
            "--desired-file",
            str(tmp_path / "config.json"),
            "--live-file",
            str(tmp_path / "live.json"),
            "--output",
            output,
        )
        assert result.code == 1
        assert "++++" not in result.out + result.err
        assert "Skt2T0tjMk5PdQ" not in result.out + result.err
