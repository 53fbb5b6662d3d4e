"""`gitops-tool dags source show|set`: the real CLI, real git repositories, real kustomize."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core.dags.git_source import PLACEHOLDER_REPO, check_period, check_repo
from gitops_tool.errors import UserError
from tests.conftest import RunCli, git, init_repo
from tests.scheduler_support import commit_subject, committed_paths, repo_state

HA = "overlays/three-node-ha"
KFILE = f"{HA}/kustomization.yaml"
REPO = "https://github.com/acme/airflow-dags.git"
SECRET = "s3cr3t-c4n4ry-77e1"


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


def _show(run_cli: RunCli, repo: Path, overlay: str = "three-node-ha") -> dict[str, Any]:
    result = run_cli("dags", "source", "show", overlay, "--output", "json", cwd=repo)
    assert result.code == 0, result.err
    shown: dict[str, Any] = json.loads(result.out)
    return shown


def _rendered(run_cli: RunCli, repo: Path) -> list[dict[str, Any]]:
    result = run_cli("render", HA, cwd=repo)
    assert result.code == 0, result.err
    return [d for d in yaml.safe_load_all(result.out) if d]


def _git_sync_configmap(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("airflow-git-sync-")
    ]
    return found


def _deployment_configmaps(objects: list[dict[str, Any]]) -> set[str]:
    (deployment,) = [
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "airflow-git-sync"
    ]
    text = json.dumps(deployment["spec"]["template"])
    return {
        o["metadata"]["name"] for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] in text
    }


def test_show_marks_the_shipped_placeholder(run_cli: RunCli, repo: Path) -> None:
    shown = _show(run_cli, repo)
    assert shown["repo"] == PLACEHOLDER_REPO
    assert (shown["ref"], shown["period"], shown["username"]) == ("main", "60s", "git")
    assert shown["placeholder"] is True
    text = run_cli("dags", "source", "show", cwd=repo)
    assert text.code == 0, text.err
    assert "placeholder" in text.out


def test_set_then_show_then_update_in_place_rolls_the_deployment(run_cli: RunCli, repo: Path) -> None:
    before = _rendered(run_cli, repo)
    old_name = _git_sync_configmap(before)["metadata"]["name"]
    result = run_cli("dags", "source", "set", "three-node-ha", "--url", REPO, "--ref", "prod", cwd=repo)
    assert result.code == 0, result.err
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    assert committed_paths(repo) == [KFILE]
    assert commit_subject(repo) == f"{HA}: git-sync source (repo, ref)"
    assert git(repo, "status", "--porcelain") == ""
    shown = _show(run_cli, repo)
    assert (shown["repo"], shown["ref"], shown["period"], shown["username"]) == (REPO, "prod", "60s", "git")
    assert shown["placeholder"] is False

    objects = _rendered(run_cli, repo)
    configmap = _git_sync_configmap(objects)
    assert configmap["data"]["repo"] == REPO
    assert configmap["data"]["ref"] == "prod"
    assert configmap["metadata"]["name"] != old_name  # a new hash suffix: the Deployment rolls
    assert _deployment_configmaps(objects) == {configmap["metadata"]["name"]}

    # Set again: the same patch entry is updated, not a second one added; comments stay.
    text_before = (repo / KFILE).read_text()
    assert "# Who may reach the LoadBalancers" in text_before
    result = run_cli("dags", "source", "set", "three-node-ha", "--url", REPO, "--period", "5m", cwd=repo)
    assert result.code == 0, result.err
    assert commit_subject(repo) == f"{HA}: git-sync source (period)"
    kustomization = yaml.safe_load((repo / KFILE).read_text())
    ours = [p for p in kustomization["patches"] if p.get("target", {}).get("name") == "airflow-git-sync"]
    assert len(ours) == 1
    assert "# Who may reach the LoadBalancers" in (repo / KFILE).read_text()
    shown = _show(run_cli, repo)
    assert (shown["repo"], shown["ref"], shown["period"]) == (REPO, "prod", "5m")
    newer = _git_sync_configmap(_rendered(run_cli, repo))["metadata"]["name"]
    assert newer not in (old_name, configmap["metadata"]["name"])
    validated = run_cli("validate", HA, cwd=repo)
    assert validated.code == 0, validated.out + validated.err
    assert "placeholder" not in validated.err


def test_ssh_urls_once_git_sync_ssh_is_enabled(run_cli: RunCli, repo: Path) -> None:
    scp = "git@github.com:acme/airflow-dags.git"
    refused = run_cli("dags", "source", "set", "three-node-ha", "--url", scp, cwd=repo)
    assert refused.code == 2
    assert "gitops-tool components enable git-sync-ssh" in refused.err
    assert run_cli("components", "enable", "git-sync-ssh", "three-node-ha", cwd=repo).code == 0
    result = run_cli("dags", "source", "set", "three-node-ha", "--url", scp, cwd=repo)
    assert result.code == 0, result.err
    assert _show(run_cli, repo)["repo"] == scp


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["single-node-legacy", "--url", REPO], "gitops-tool components enable git-sync single-node-legacy"),
        (["three-node-ha", "--url", f"https://deploy:{SECRET}@github.com/acme/d.git"], "credentials"),
        (["three-node-ha", "--url", f"https://{SECRET}@github.com/acme/d.git"], "credentials"),
        (["three-node-ha", "--url", f"https://github.com/acme/d.git?token={SECRET}"], "query string"),
        (["three-node-ha", "--url", "http://github.com/acme/d.git"], "https://"),
        (["three-node-ha", "--url", "ftp://github.com/acme/d.git"], "ftp URLs are not supported"),
        (["three-node-ha", "--url", "ssh://git@github.com/acme/d.git"], "git-sync-ssh"),
        (["three-node-ha", "--url", "/srv/dags.git"], "not a URL git-sync is set up for"),
        (["three-node-ha", "--url", REPO, "--period", "60"], "not a duration"),
        (["three-node-ha", "--url", REPO, "--period", "1 m"], "not a duration"),
        (["three-node-ha", "--url", REPO, "--period", "10ms"], "below 1s"),
        (["three-node-ha", "--url", REPO, "--ref", "-x"], "not a branch, tag or commit"),
        (["three-node-ha", "--url", PLACEHOLDER_REPO, "--ref", "main"], "nothing to change"),
        (["three-node-ha"], "--url URL"),
        (["nope", "--url", REPO], "unknown overlay nope"),
    ],
)
def test_refusals_are_one_line_change_nothing_and_never_echo_the_secret(
    run_cli: RunCli, repo: Path, args: list[str], message: str
) -> None:
    before = repo_state(repo)
    result = run_cli("dags", "source", "set", *args, cwd=repo)
    assert result.code == 2, result.out + result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert message in result.err
    assert SECRET not in result.out + result.err
    assert repo_state(repo) == before
    assert not (repo / ".git" / "gitops-tool.lock").exists()


def test_show_refuses_an_overlay_without_git_sync(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("dags", "source", "show", "single-node-legacy", cwd=repo)
    assert result.code == 2
    assert "gitops-tool components enable git-sync single-node-legacy" in result.err


def test_validate_warns_about_the_placeholder_but_passes(run_cli: RunCli, repo: Path) -> None:
    result = run_cli("validate", cwd=repo)
    assert result.code == 0, result.out + result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {HA}: git-sync still syncs the placeholder {PLACEHOLDER_REPO}; "
        "set yours: gitops-tool dags source set three-node-ha --url URL"
    ]


@pytest.mark.parametrize(
    ("url", "ssh"),
    [
        ("https://github.com/acme/d.git", False),
        ("https://git.example.com:8443/group/sub/d.git", False),
        ("ssh://git@github.com/acme/d.git", True),
        ("ssh://git@github.com:2222/acme/d.git", True),
        ("git@github.com:acme/d.git", True),
    ],
)
def test_accepted_urls(url: str, ssh: bool) -> None:
    check_repo(url, ssh)


@pytest.mark.parametrize("period", ["60s", "5m", "1m30s", "1.5h", "1000ms"])
def test_accepted_periods(period: str) -> None:
    check_period(period)


@pytest.mark.parametrize("url", [f"https://user:{SECRET}/x@github.com/a.git", f"ssh://git:{SECRET}@h/a.git"])
def test_odd_credentials_are_refused_without_echo(url: str) -> None:
    with pytest.raises(UserError) as caught:
        check_repo(url, ssh=True)
    assert SECRET not in str(caught.value)


def _settings(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """airflow-config and airflow-worker-config as rendered, by their name without hash suffix."""
    found = {}
    for o in objects:
        name = o["metadata"]["name"]
        if o["kind"] != "ConfigMap":
            continue
        for base in ("airflow-config", "airflow-worker-config"):
            if name == base or (name.startswith(f"{base}-") and "worker" not in name[len(base) :]):
                found[base] = o
    assert set(found) == {"airflow-config", "airflow-worker-config"}
    return found


def _referencing(objects: list[dict[str, Any]], configmap: str) -> set[str]:
    return {
        o["metadata"]["name"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet") and configmap in json.dumps(o["spec"]["template"])
    }


def test_subdir_points_both_settings_configmaps_at_it_then_resets_to_the_root(
    run_cli: RunCli, repo: Path
) -> None:
    before = _settings(_rendered(run_cli, repo))
    assert before["airflow-config"]["data"]["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags/current"
    old_config = before["airflow-config"]["metadata"]["name"]
    assert old_config != "airflow-config"  # hashed
    rolled = _referencing(_rendered(run_cli, repo), old_config)
    assert rolled  # the schedulers and webserver read it by its hashed name
    assert _show(run_cli, repo)["subdir"] == ""

    result = run_cli("dags", "source", "set", "three-node-ha", "--subdir", "dags/prod/", cwd=repo)
    assert result.code == 0, result.err
    assert commit_subject(repo) == f"{HA}: git-sync source (subdir)"
    assert committed_paths(repo) == [KFILE]
    assert git(repo, "status", "--porcelain") == ""
    objects = _rendered(run_cli, repo)
    after = _settings(objects)
    for name in ("airflow-config", "airflow-worker-config"):
        assert after[name]["data"]["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/airflow/dags/current/dags/prod"
        # the other settings are untouched by the patch
        assert {k: v for k, v in after[name]["data"].items() if k != "AIRFLOW__CORE__DAGS_FOLDER"} == {
            k: v for k, v in before[name]["data"].items() if k != "AIRFLOW__CORE__DAGS_FOLDER"
        }
    new_config = after["airflow-config"]["metadata"]["name"]
    assert new_config != old_config  # a new hash suffix ...
    assert _referencing(objects, new_config) == rolled  # ... so every pod reading it rolls
    assert not _referencing(objects, old_config)
    # The worker settings keep their fixed name (the pod template string names it); workers are new
    # pods every time and read the new content.
    assert after["airflow-worker-config"]["metadata"]["name"] == "airflow-worker-config"
    shown = _show(run_cli, repo)
    assert shown["subdir"] == "dags/prod"
    assert set(shown["dags_folders"].values()) == {"/opt/airflow/dags/current/dags/prod"}
    assert shown["repo"] == PLACEHOLDER_REPO  # --subdir alone leaves the source as it was
    text = run_cli("dags", "source", "show", cwd=repo)
    assert "dags folder (airflow-worker-config): /opt/airflow/dags/current/dags/prod" in text.out
    validated = run_cli("validate", HA, cwd=repo)
    assert validated.code == 0, validated.out + validated.err

    # Again with the repository: the patches are updated in place, not added twice.
    result = run_cli("dags", "source", "set", "--url", REPO, "--subdir", "flows", cwd=repo)
    assert result.code == 0, result.err
    kustomization = yaml.safe_load((repo / KFILE).read_text())
    names = [p["target"]["name"] for p in kustomization["patches"] if p["target"]["kind"] == "ConfigMap"]
    assert sorted(names) == [
        "airflow-config",
        "airflow-git-sync",
        "airflow-worker-config",
    ]
    assert "# Who may reach the LoadBalancers" in (repo / KFILE).read_text()
    after = _settings(_rendered(run_cli, repo))
    assert {o["data"]["AIRFLOW__CORE__DAGS_FOLDER"] for o in after.values()} == {
        "/opt/airflow/dags/current/flows"
    }
    assert after["airflow-config"]["metadata"]["name"] not in (old_config, new_config)

    # Back to the root: both folder patches go, the source patch stays, the render is the shipped one.
    result = run_cli("dags", "source", "set", "--subdir", ".", cwd=repo)
    assert result.code == 0, result.err
    kustomization = yaml.safe_load((repo / KFILE).read_text())
    names = [p.get("target", {}).get("name") for p in kustomization["patches"]]
    assert "airflow-config" not in names and "airflow-worker-config" not in names
    assert "airflow-git-sync" in names
    reset = _settings(_rendered(run_cli, repo))
    assert reset["airflow-config"]["metadata"]["name"] == old_config
    assert reset["airflow-worker-config"]["data"] == before["airflow-worker-config"]["data"]
    assert _show(run_cli, repo)["subdir"] == ""
    validated = run_cli("validate", HA, cwd=repo)
    assert validated.code == 0, validated.out + validated.err
    refused = run_cli("dags", "source", "set", "--subdir", "", cwd=repo)
    assert refused.code == 2 and "nothing to change" in refused.err


@pytest.mark.parametrize(
    ("subdir", "message"),
    [
        ("/dags", "relative"),
        ("../other", "'..'"),
        ("dags/../../etc", "'..'"),
        ("dags//prod", "empty"),
        ("./dags", "'.'"),
        ("dags prod", "may only hold"),
        ("dags;rm", "may only hold"),
        ("dägs", "may only hold"),
    ],
)
def test_subdir_refusals_change_nothing(run_cli: RunCli, repo: Path, subdir: str, message: str) -> None:
    before = repo_state(repo)
    result = run_cli("dags", "source", "set", "three-node-ha", "--subdir", subdir, cwd=repo)
    assert result.code == 2, result.out + result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert message in result.err
    assert repo_state(repo) == before


def test_subdir_with_other_source_values_still_needs_the_repository(run_cli: RunCli, repo: Path) -> None:
    before = repo_state(repo)
    result = run_cli("dags", "source", "set", "--subdir", "dags", "--ref", "prod", cwd=repo)
    assert result.code == 2
    assert "--url URL" in result.err
    assert repo_state(repo) == before
