"""Merge keys match across normalisation: a live Service port 5432 is the desired "5432"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import RunCli

SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "postgres", "namespace": "airflow"},
    "spec": {
        "ports": [{"name": "postgres", "port": 5432, "targetPort": "postgres"}],
        "selector": {"app": "pg"},
    },
}


def test_identical_service_ports_are_in_sync_and_a_changed_port_is_not(
    tmp_path: Path, run_cli: RunCli
) -> None:
    desired = tmp_path / "desired.yaml"
    live = tmp_path / "live.yaml"
    desired.write_text(yaml.safe_dump(SERVICE))
    live.write_text(
        yaml.safe_dump(
            {
                **SERVICE,
                "spec": {
                    **SERVICE["spec"],
                    "ports": [
                        {"name": "postgres", "port": 5432, "protocol": "TCP", "targetPort": "postgres"}
                    ],
                },
            }
        )
    )
    same = run_cli("drift", "--desired-file", str(desired), "--live-file", str(live))
    assert same.code == 0, same.out
    live.write_text(
        yaml.safe_dump(
            {
                **SERVICE,
                "spec": {
                    **SERVICE["spec"],
                    "ports": [{"name": "postgres", "port": 5433, "targetPort": "postgres"}],
                },
            }
        )
    )
    changed = run_cli("drift", "--desired-file", str(desired), "--live-file", str(live))
    assert changed.code == 1
