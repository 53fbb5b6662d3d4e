"""Airflow 3 as a planned Git change: `upgrade-airflow 3.3.2 --major` on real git and kustomize,
its refusals, the published-Python rule, the option renames and the DAG check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core import airflow3_migration as a3
from gitops_tool.core.airflow_upgrade import AirflowTag, check_upgrade, image_uses, requested_tag
from gitops_tool.core.backup_jobs import BACKUP_CRONJOB
from gitops_tool.errors import UserError
from gitops_tool.services.airflow_upgrade import check_recent_backup
from tests.conftest import RunCli, git

OLD = AirflowTag((2, 11, 0), "python3.9")
NEW = AirflowTag((3, 3, 2), "python3.12")


@pytest.fixture
def repo(project_copy: Path) -> Path:
    git(project_copy, "init", "-q", "-b", "main")
    git(project_copy, "add", "-A")
    git(project_copy, "commit", "-q", "-m", "initial")
    return project_copy


def _render(repo: Path, run_cli: RunCli, overlay: str) -> list[dict[str, Any]]:
    result = run_cli("render", overlay, cwd=repo)
    assert result.code == 0, result.err
    return [d for d in yaml.safe_load_all(result.out) if d]


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


# --- tags: majors, downgrades and the Pythons a release publishes -------------------------------------


def test_a_major_upgrade_moves_off_an_unpublished_python() -> None:
    # 3.3 publishes no python3.9 image: the suffix becomes the default major Python, never 3.9.
    assert requested_tag("3.3.2", OLD) == NEW
    assert requested_tag("3.0.6", OLD) == AirflowTag((3, 0, 6), "python3.9")
    assert requested_tag("2.11.1", OLD) == AirflowTag((2, 11, 1), "python3.9")
    with pytest.raises(UserError, match=r"apache/airflow:3.3.2-python3.9 is not published.*3.10, 3.11"):
        requested_tag("3.3.2-python3.9", OLD)
    with pytest.raises(UserError, match=r"2.11.1-python3.13 is not published"):
        requested_tag("2.11.1-python3.13", OLD)


def test_a_major_upgrade_needs_major_and_a_downgrade_of_the_major_is_refused() -> None:
    with pytest.raises(UserError, match=r"3.3.2 is a major upgrade of x from Airflow 2.11.0.*--major"):
        check_upgrade(OLD, NEW, "x")
    check_upgrade(OLD, NEW, "x", major=True)
    with pytest.raises(UserError, match=r"--major is for an upgrade to a new major release"):
        check_upgrade(OLD, AirflowTag((2, 11, 1), "python3.9"), "x", major=True)
    with pytest.raises(UserError, match=r"from Airflow 3 to 2 .* one-way; the way back is the backup"):
        check_upgrade(NEW, OLD, "x")


def test_options_airflow_3_moved_are_renamed_and_removed_ones_dropped() -> None:
    env = (
        "# comment stays\nAIRFLOW__WEBSERVER__SECRET_KEY_CMD=cat /s\nAIRFLOW__CORE__PARALLELISM=16\n"
        "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL=60\nAIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR=False\n"
    )
    text, found = a3.migrate_env_file(env)
    assert text == (
        "# comment stays\nAIRFLOW__API__SECRET_KEY_CMD=cat /s\nAIRFLOW__CORE__PARALLELISM=16\n"
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=60\n"
    )
    assert {c.describe() for c in found} == {
        "AIRFLOW__WEBSERVER__SECRET_KEY -> AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL -> AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL",
        "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR removed",
    }
    yaml_text = "env:\n  - name: AIRFLOW__WEBSERVER__SECRET_KEY\n  - name: AIRFLOW__API_AUTH__JWT_SECRET\n"
    assert a3.migrate_manifest_text(yaml_text, "f.yaml")[0] == yaml_text.replace("WEBSERVER", "API", 1)
    with pytest.raises(UserError, match=r"f.yaml sets AIRFLOW__CORE__CHECK_SLAS, which Airflow 3 removed"):
        a3.migrate_manifest_text("- name: AIRFLOW__CORE__CHECK_SLAS\n", "f.yaml")


def test_a_major_upgrade_needs_a_backup_younger_than_a_day() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    cronjob = {"metadata": {"name": BACKUP_CRONJOB}, "status": {}}
    with pytest.raises(UserError, match="backups are not enabled"):
        check_recent_backup(None, [], now)
    with pytest.raises(UserError, match="none has succeeded"):
        check_recent_backup(cronjob, [], now)
    old = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(UserError, match=r"the last one succeeded .*backup now"):
        check_recent_backup({**cronjob, "status": {"lastSuccessfulTime": old}}, [], now)
    fresh = (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert check_recent_backup(
        {**cronjob, "status": {"lastSuccessfulTime": fresh}}, [], now
    ) == now - timedelta(hours=3)


# --- the command on a real repository ---------------------------------------------------------------


@pytest.mark.slow
def test_major_upgrade_refusals_change_nothing(repo: Path, run_cli: RunCli) -> None:
    head = _head(repo)
    for args, message in (
        (("3.3.2",), "is a major upgrade"),
        (("3.3.2", "--major"), "needs a backup younger than a day"),
        (
            ("3.3.2", "--major", "--backup-confirmed", "overlays/three-node-ha"),
            "without an OVERLAY",
        ),
        (("3.3.2-python3.9", "--major", "--backup-confirmed"), "is not published"),
    ):
        result = run_cli("upgrade-airflow", *args, cwd=repo)
        assert result.code == 2, result.out + result.err
        assert message in result.err
        assert len(result.err.strip().splitlines()) == 1
    assert _head(repo) == head
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.slow
def test_major_upgrade_is_one_validated_commit_and_both_overlays_run_airflow_3(
    repo: Path, run_cli: RunCli
) -> None:
    head = _head(repo)
    result = run_cli("upgrade-airflow", "3.3.2", "--major", "--backup-confirmed", cwd=repo)
    assert result.code == 0, result.err
    assert "AIRFLOW__WEBSERVER__SECRET_KEY -> AIRFLOW__API__SECRET_KEY" in result.out
    assert "rollback:" in result.out
    assert git(repo, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert git(repo, "status", "--porcelain") == ""
    validated = run_cli("validate", cwd=repo)
    assert validated.code == 0, validated.out + validated.err
    for overlay in ("overlays/three-node-ha", "overlays/single-node-legacy"):
        objects = _render(repo, run_cli, overlay)
        assert {u.tag for u in image_uses(objects)} == {"3.3.2-python3.12"}
        deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
        assert "airflow-dag-processor" in deployments
        web = deployments["airflow-webserver"]["spec"]["template"]["spec"]["containers"][0]
        assert web["args"] == ["airflow", "api-server"]
        assert web["livenessProbe"]["httpGet"]["path"] == "/api/v2/monitor/health"
        env_names = {e["name"] for e in web["env"]}
        assert {"AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"} <= env_names
        assert not any(name.startswith("AIRFLOW__WEBSERVER__") for name in env_names)
        config = next(
            o
            for o in objects
            if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "airflow-worker-config"
        )
        assert config["data"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith(":8080/execution/")
        assert "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR" not in config["data"]
    # Once on 3, going back is refused with the way back named; a patch upgrade is an ordinary one.
    back = run_cli("upgrade-airflow", "2.11.1", cwd=repo)
    assert back.code == 2 and "one-way" in back.err
    patch = run_cli("upgrade-airflow", "3.3.3", "--dry-run", cwd=repo)
    assert patch.code == 0, patch.err
    assert "3.3.2-python3.12 -> 3.3.3-python3.12" in patch.out


def test_add_scheduler_on_the_airflow_3_flavour_gets_the_airflow_3_settings(
    repo: Path, run_cli: RunCli
) -> None:
    """A scheduler scaffolded after the major upgrade runs as its siblings do: the 3.x image, the
    JWT secret and the API secret key, no webserver-era option; its triggerer too."""
    assert run_cli("upgrade-airflow", "3.3.2", "--major", "--backup-confirmed", cwd=repo).code == 0
    added = run_cli("add-scheduler", "3", "--node", "node-4", cwd=repo)
    assert added.code == 0, added.err
    assert git(repo, "status", "--porcelain") == ""
    validated = run_cli("validate", "overlays/three-node-ha", cwd=repo)
    assert validated.code == 0, validated.out + validated.err
    objects = _render(repo, run_cli, "overlays/three-node-ha")
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}

    def settings(name: str) -> tuple[list[str], set[str], str]:
        pod = deployments[name]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        return container["args"], {e["name"] for e in container.get("env") or []}, container["image"]

    for new, sibling in (
        ("airflow-scheduler-3", "airflow-scheduler-1"),
        ("airflow-triggerer-3", "airflow-triggerer-1"),
    ):
        args, env, image = settings(new)
        assert (args, env, image) == settings(sibling), new
        assert image == "apache/airflow:3.3.2-python3.12"
        assert "AIRFLOW__API_AUTH__JWT_SECRET" in env and "AIRFLOW__API__SECRET_KEY" in env
        assert not any(name.startswith("AIRFLOW__WEBSERVER__") for name in env)
        terms = deployments[new]["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        assert terms == [
            {
                "matchExpressions": [
                    {"key": "node-role.kubernetes.io/airflow", "operator": "In", "values": ["scheduler-3"]}
                ]
            }
        ]


def test_check_dags_lists_what_breaks_on_airflow_3(tmp_path: Path, run_cli: RunCli) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "old.py").write_text(
        "from airflow.operators.dummy import DummyOperator\n"
        "from airflow import DAG\n"
        "with DAG('old', schedule_interval='@daily'):\n"
        "    DummyOperator(task_id='a')\n",
        encoding="utf-8",
    )
    (dags / "new.py").write_text("from airflow.sdk import DAG\n", encoding="utf-8")
    result = run_cli("upgrade-airflow", "3.3.2", "--check-dags", str(dags), cwd=tmp_path)
    assert result.code == 1, result.err
    assert "old.py:3:" in result.out and "AIR301" in result.out
    assert "new.py" not in result.out
    (dags / "old.py").unlink()
    clean = run_cli("upgrade-airflow", "3.3.2", "--check-dags", str(dags), cwd=tmp_path)
    assert clean.code == 0, clean.err
    assert "0 finding(s)" in clean.out


def test_components_enable_points_to_the_major_upgrade(repo: Path, run_cli: RunCli) -> None:
    for verb in ("enable", "disable"):
        result = run_cli("components", verb, "airflow-3", "--all", cwd=repo)
        assert result.code == 2
        assert "gitops-tool upgrade-airflow 3.3.2 --major" in result.err
    assert git(repo, "status", "--porcelain") == ""
