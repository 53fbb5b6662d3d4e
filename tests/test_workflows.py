"""GitHub workflows, pre-commit hooks and documented commands: valid, pinned, least-privilege, and real.

Workflows are validated offline against the GitHub workflow JSON Schema that check-jsonschema vendors
from SchemaStore (check_jsonschema/builtin_schemas/vendor/github-workflows.json). Every
`gitops-tool <command>` they, the README, the docs/ pages and the pre-commit hooks use must exist in the
real CLI.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO_ROOT, RunCli

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
EXPECTED_WORKFLOWS = {"ci.yml", "drift.yml", "e2e.yml", "image.yml"}
# The only write rights any job gets: pushing the container image.
WRITE_RIGHTS = {("image.yml", "push"): {"packages"}}
_SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")


def _yaml(path: Path) -> Any:
    # YAML 1.2, as GitHub reads workflows: `on` stays a string key (PyYAML would make it True).
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


@cache
def _workflow_schema() -> dict[str, Any]:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "github-workflows.json"
    schema: dict[str, Any] = json.loads(vendored.read_text(encoding="utf-8"))
    return schema


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_expected_workflows_exist() -> None:
    assert {p.name for p in _workflow_files()} >= EXPECTED_WORKFLOWS


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_workflow_is_valid_against_the_github_workflow_schema(path: Path) -> None:
    schema = _workflow_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_yaml(path))
    ]
    assert errors == []


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    schema = _workflow_schema()
    assert not jsonschema.validators.validator_for(schema)(schema).is_valid(_yaml(broken))


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_actions_are_pinned_by_full_commit_sha_with_the_tag_in_a_comment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for step in _steps(_yaml(path)):
        if "uses" in step:
            assert _SHA_PIN.match(step["uses"]), step["uses"]
            assert re.search(rf"uses: {re.escape(step['uses'])} # v\d", text), (
                f"{step['uses']}: no # vX comment"
            )


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_token_rights_are_none_by_default_and_read_only_per_job(path: Path) -> None:
    workflow = _yaml(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {name}: no explicit permissions"
        writes = {scope for scope, right in job["permissions"].items() if right not in ("read", "none")}
        assert writes == WRITE_RIGHTS.get((path.name, name), set()), f"job {name}: {job['permissions']}"
        assert set(job["permissions"].values()) <= {"read", "write", "none"}


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_checkout_never_persists_credentials(path: Path) -> None:
    checkouts = [s for s in _steps(_yaml(path)) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    assert all(s.get("with", {}).get("persist-credentials") is False for s in checkouts)


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_a_script(path: Path) -> None:
    """Inputs, secrets and event data reach scripts through env, never spliced into the shell text."""
    scripts = [s["run"] for s in _steps(_yaml(path)) if "run" in s]
    assert [s for s in scripts if "${{" in s] == []


@pytest.mark.parametrize("path", _workflow_files(), ids=lambda p: p.name)
def test_every_script_is_valid_bash(path: Path) -> None:
    for step in _steps(_yaml(path)):
        if "run" in step:
            parsed = subprocess.run(
                ["bash", "-n"], input=step["run"], text=True, capture_output=True, check=False
            )
            assert parsed.returncode == 0, f"{step.get('name')}: {parsed.stderr}"


def _commands(lines: list[str]) -> list[str]:
    """The commands of script lines; a `( a && b )` subshell of .ci/run counts as its commands."""
    unwrapped = [line.strip().removeprefix("( ").removesuffix(" )") for line in lines]
    return [part.strip() for line in unwrapped for part in line.split(" && ") if part.strip()]


def test_ci_workflow_runs_the_same_commands_as_ci_run() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    after_reset = script[script.index("rm -rf .venv") + 1 :]
    local = _commands([line for line in after_reset if line.strip() and not line.lstrip().startswith("#")])
    ci = _yaml(WORKFLOWS / "ci.yml")
    steps = [step["run"] for step in _steps(ci) if "run" in step]
    assert _commands([line for run in steps for line in run.splitlines()]) == local
    assert set(ci["on"]) == {"push", "pull_request"}


def test_ci_run_checks_the_formatting() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ".venv/bin/ruff format --check ." in script


def _runs(workflow: dict[str, Any]) -> str:
    return "\n".join(step["run"] for step in _steps(workflow) if "run" in step)


def test_drift_workflow_is_scheduled_and_manual_reports_both_ways_and_fails_on_drift() -> None:
    workflow = _yaml(WORKFLOWS / "drift.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    runs = _runs(workflow)
    assert re.search(r"gitops-tool drift .*--output markdown > drift-report.md", runs)
    assert 'cat drift-report.md >> "$GITHUB_STEP_SUMMARY"' in runs
    assert re.search(r"gitops-tool drift .*--output json > drift-report.json", runs)
    (upload,) = [s for s in _steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["with"]["path"] == "drift-report.json"
    assert any("secrets.DRIFT_KUBECONFIG" in str(s.get("env", {})) for s in _steps(workflow))
    assert 'if [ "$MARKDOWN_EXIT" = 1 ] || [ "$JSON_EXIT" = 1 ]; then' in runs


@pytest.mark.parametrize(
    ("markdown", "json_code", "job"),
    [("0", "0", 0), ("1", "1", 1), ("0", "1", 1), ("2", "1", 2), ("3", "3", 2), ("130", "0", 2), ("", "", 2)],
)
def test_drift_workflow_fails_the_audit_on_anything_but_0_and_1(
    markdown: str, json_code: str, job: int
) -> None:
    """The "Fail on drift" step's script run by bash with each pair of exit codes (empty: no code)."""
    (step,) = [s for s in _steps(_yaml(WORKFLOWS / "drift.yml")) if s.get("name") == "Fail on drift"]
    env = {"PATH": os.environ["PATH"], "MARKDOWN_EXIT": markdown, "JSON_EXIT": json_code}
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == job, result.stdout + result.stderr


def test_e2e_workflow_is_manual_and_expects_no_drift_then_drift_after_kubectl_scale() -> None:
    workflow = _yaml(WORKFLOWS / "e2e.yml")
    assert set(workflow["on"]) == {"workflow_dispatch"}
    runs = _runs(workflow)
    order = [
        "gitops-tool nodes apply",
        "gitops-tool secrets init",
        "gitops-tool argocd app three-node-ha",
        "Synced",
        "gitops-tool drift",
        "kubectl scale deployment/airflow-scheduler-1",
        "gitops-tool drift",
    ]
    positions, start = [], 0
    for needle in order:
        start = runs.index(needle, start) + 1
        positions.append(start)
    assert positions == sorted(positions)
    assert 'if [ "$code" -ne 1 ]; then' in runs
    (kind,) = [s for s in _steps(workflow) if s.get("uses", "").startswith("helm/kind-action@")]
    kind_config = _yaml(REPO_ROOT / kind["with"]["config"])
    assert [n["role"] for n in kind_config["nodes"]] == ["control-plane", "worker", "worker", "worker"]


# --- pre-commit ---------------------------------------------------------------------------------


def _pre_commit_config() -> dict[str, Any]:
    config: dict[str, Any] = _yaml(REPO_ROOT / ".pre-commit-config.yaml")
    return config


@pytest.mark.parametrize(
    ("command", "file"),
    [("validate-config", ".pre-commit-config.yaml"), ("validate-manifest", ".pre-commit-hooks.yaml")],
)
def test_pre_commit_files_pass_pre_commits_own_validation(command: str, file: str, tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "pre_commit", command, file], check=False, cwd=REPO_ROOT, capture_output=True
    )
    assert ok.returncode == 0, ok.stdout.decode() + ok.stderr.decode()
    broken = tmp_path / "broken.yaml"
    broken.write_text((REPO_ROOT / file).read_text(encoding="utf-8").replace("language:", "languag:"))
    bad = subprocess.run(
        [sys.executable, "-m", "pre_commit", command, str(broken)], check=False, capture_output=True
    )
    assert bad.returncode != 0


def test_pre_commit_remote_hooks_are_pinned_to_release_tags() -> None:
    for repo in _pre_commit_config()["repos"]:
        if repo["repo"] not in ("local", "meta"):
            assert re.fullmatch(r"v?\d+\.\d+\.\d+", repo["rev"]), f"{repo['repo']}: rev {repo['rev']}"


def test_pre_commit_ruff_is_the_ruff_the_dev_extra_pins() -> None:
    (ruff,) = [r for r in _pre_commit_config()["repos"] if r["repo"].endswith("/ruff-pre-commit")]
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"ruff=={ruff["rev"].removeprefix("v")}"' in pyproject


def test_pre_commit_runs_ruff_mypy_and_the_published_validate_hook() -> None:
    hooks = {h["id"]: h for repo in _pre_commit_config()["repos"] for h in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "mypy", "lint-imports", "gitops-tool-validate"} <= set(hooks)
    assert hooks["ruff-format"]["args"] == ["--check"]
    # The import contracts, with the same command tests/test_architecture.py runs.
    assert hooks["lint-imports"]["entry"] == "lint-imports"
    assert hooks["lint-imports"]["pass_filenames"] is False
    (published,) = _yaml(REPO_ROOT / ".pre-commit-hooks.yaml")
    assert published["id"] == "gitops-tool-validate"
    assert published["language"] == "python"
    assert published["pass_filenames"] is False
    assert hooks["gitops-tool-validate"]["entry"] == published["entry"]
    assert hooks["gitops-tool-validate"]["files"] == published["files"]
    for folder in ("base", "overlays", "policies", "schemas"):
        assert re.match(published["files"], f"{folder}/x.yaml")
    assert not re.match(published["files"], "gitops_tool/cli/app.py")


# --- every gitops-tool command used exists ------------------------------------------------------


def _markdown_code(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    without_blocks = re.sub(r"```.*?```", "", text, flags=re.S)
    return blocks + re.findall(r"`([^`]+)`", without_blocks)


def _used_texts() -> dict[str, list[str]]:
    used = {
        "README.md": _markdown_code(REPO_ROOT / "README.md"),
        "docs/": [
            code for page in sorted((REPO_ROOT / "docs").rglob("*.md")) for code in _markdown_code(page)
        ],
    }
    for path in _workflow_files():
        used[path.name] = [s["run"] for s in _steps(_yaml(path)) if "run" in s]
    for name in (".pre-commit-hooks.yaml", ".pre-commit-config.yaml"):
        data = _yaml(REPO_ROOT / name)
        hooks = data if isinstance(data, list) else [h for r in data["repos"] for h in r["hooks"]]
        used[name] = [str(h.get("entry", "")) for h in hooks]
    return used


def _invocations(text: str) -> list[tuple[str, ...]]:
    """The command words after each `gitops-tool`: up to the first option, path, value or shell token."""
    found: list[tuple[str, ...]] = []
    for match in re.finditer(r"(?:^|[\s/`(|;&])gitops-tool((?:[ \t]+[^\s`|;&)]+)*)", text, flags=re.M):
        words: list[str] = []
        for word in match.group(1).split():
            if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
                break
            words.append(word)
        found.append(tuple(words))
    return found


def _all_invocations() -> dict[tuple[str, ...], set[str]]:
    where: dict[tuple[str, ...], set[str]] = {}
    for source, texts in _used_texts().items():
        for text in texts:
            for words in _invocations(text):
                if words:
                    where.setdefault(words, set()).add(source)
    return where


def test_invocations_are_found_in_code_and_scripts() -> None:
    assert _invocations('.venv/bin/gitops-tool render "$overlay" > /dev/null') == [("render",)]
    assert _invocations("x | gitops-tool argocd app three-node-ha --repo-url U") == [
        ("argocd", "app", "three-node-ha")
    ]
    assert _invocations("gitops-tool") == [()]
    invocations = _all_invocations()
    assert ("validate",) in invocations
    assert {"README.md", "docs/", ".pre-commit-hooks.yaml", ".pre-commit-config.yaml"} <= invocations[
        ("validate",)
    ]


CHECKED_SOURCES = sorted(
    {p.name for p in _workflow_files()}
    | {"README.md", "docs/", ".pre-commit-hooks.yaml", ".pre-commit-config.yaml"}
)


@pytest.mark.parametrize("source", CHECKED_SOURCES)
def test_every_gitops_tool_command_used_exists(run_cli: RunCli, source: str) -> None:
    missing = []
    for words, sources in sorted(_all_invocations().items()):
        if source in sources and run_cli(*words, "--help", cwd=REPO_ROOT).code != 0:
            missing.append(shlex.join(["gitops-tool", *words]))
    assert missing == []


def test_a_command_that_does_not_exist_is_caught(run_cli: RunCli) -> None:
    assert run_cli("argocd", "nonexistent", "--help", cwd=REPO_ROOT).code != 0
    assert run_cli("nonexistent", "--help", cwd=REPO_ROOT).code != 0
