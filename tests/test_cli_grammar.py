"""One grammar for every command (docs/concepts/cli-grammar.md), checked on the whole Typer app.

A new command that spells the overlay, the output format, a file or the repository differently, or a
top-level noun outside a group, fails here. Old spellings kept for one release are hidden and say so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._types import TyperChoice

from gitops_tool.cli.app import app
from gitops_tool.cli.deprecation import DEPRECATED
from tests.conftest import RunCli, git, init_repo
from tests.scheduler_support import HA, commit_subject

FORMATS = {"text", "json", "markdown", "yaml"}
# Top-level commands that are not noun groups: verbs on the repository or the cluster, and the two
# documented shorthands of `schedulers add|remove`. Anything else belongs in a group.
TOP_LEVEL_VERBS = {
    "render",
    "validate",
    "images",
    "doctor",
    "upgrade-airflow",
    "init",
    "add-scheduler",
    "remove-scheduler",
}
SHORTHANDS = {"add-scheduler": "schedulers add", "remove-scheduler": "schedulers remove"}
# Commands that change something (Git, the cluster, a file) and print what they did, rather than
# report: the only ones allowed without `-o json`. A new command is a reporter unless listed here.
ACTIONS = {
    "add-scheduler",
    "remove-scheduler",
    "schedulers add",
    "schedulers remove",
    "upgrade-airflow",
    "init",
    "nodes apply",
    "backup enable",
    "backup disable",
    "backup now",
    "backup restore",
    "components enable",
    "components disable",
    "dags push",
    "dags rollback",
    "dags source set",
    "secrets rotate",
    "migrate switch",
    "drift adopt",
    "logs retention set",
}


def _walk(command: Any, path: list[str], hidden: bool = False) -> Iterator[tuple[str, Any, bool]]:
    hidden = hidden or bool(getattr(command, "hidden", False))
    if hasattr(command, "commands"):  # Typer vendors click: recognise groups by their commands
        if path:
            yield " ".join(path), command, hidden
        for name, sub in command.commands.items():
            yield from _walk(sub, [*path, name], hidden)
    else:
        yield " ".join(path), command, hidden


COMMANDS = list(_walk(typer.main.get_command(app), []))
VISIBLE = [(name, command) for name, command, hidden in COMMANDS if not hidden]
LEAVES = [(name, command) for name, command in VISIBLE if not hasattr(command, "commands")]


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option"]


def _arguments(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "argument"]


def _deprecated(param: Any) -> bool:
    return bool(param.hidden) and (param.help or "").startswith(DEPRECATED)


def test_the_walk_sees_the_whole_app() -> None:
    names = {name for name, _ in LEAVES}
    assert {"render", "schedulers add", "schedulers list", "backup restore", "dags source set"} <= names
    assert len(LEAVES) > 30


@pytest.mark.parametrize(("name", "command"), VISIBLE, ids=[n for n, _ in VISIBLE])
def test_the_overlay_is_the_positional_overlay_argument(name: str, command: Any) -> None:
    for option in _options(command):
        if "--overlay" in option.opts:
            assert _deprecated(option), f"{name}: --overlay is only the hidden old spelling of OVERLAY"
    for argument in _arguments(command):
        if "overlay" in argument.name:
            assert "OVERLAY" in (argument.metavar or ""), f"{name}: metavar of {argument.name}"
            assert argument._custom_shell_complete is not None, f"{name}: OVERLAY completes overlay names"


@pytest.mark.parametrize(("name", "command"), VISIBLE, ids=[n for n, _ in VISIBLE])
def test_output_is_always_the_format_and_files_are_output_file(name: str, command: Any) -> None:
    for option in _options(command):
        if _deprecated(option):
            continue
        names = set(option.opts) | set(option.secondary_opts)
        if names & {"-o", "--output"}:
            assert set(option.opts) == {"-o", "--output"}, f"{name}: -o and --output are one option"
            assert isinstance(option.type, TyperChoice), f"{name}: --output must be a choice"
            choices = set(option.type.choices)
            assert choices <= FORMATS and "json" in choices, f"{name}: --output choices {choices}"
            assert option.default is None or option.default in choices
        if option.name.startswith("output") and option.name != "output":
            assert option.opts == ["--output-file"], f"{name}: a file to write is --output-file"
        if "--repo" in option.opts:
            assert option.type.name == "path", f"{name}: --repo is the local repository (a folder)"


@pytest.mark.parametrize(("name", "command"), LEAVES, ids=[n for n, _ in LEAVES])
def test_every_command_that_reports_offers_json(name: str, command: Any) -> None:
    outputs = [o for o in _options(command) if "--output" in o.opts and not o.hidden]
    if name in ACTIONS:
        return
    assert outputs, f"{name} reports: give it -o/--output with json (or list it in ACTIONS)"
    assert "json" in outputs[0].type.choices


def test_every_hidden_command_or_option_is_a_deprecated_spelling() -> None:
    for name, command, _ in COMMANDS:
        if command.hidden:
            assert (command.help or "").startswith(DEPRECATED), name
        for param in command.params:
            if getattr(param, "hidden", False):
                assert _deprecated(param), f"{name}: hidden {param.name} must say {DEPRECATED}"


def test_nouns_are_groups() -> None:
    root: Any = typer.main.get_command(app)
    plain = {n for n, c in root.commands.items() if not hasattr(c, "commands") and not c.hidden}
    assert plain == TOP_LEVEL_VERBS
    leaves = dict(LEAVES)
    for shorthand, full in SHORTHANDS.items():
        # Typer wraps each callback; the function under the wrappers is the same one.
        assert leaves[shorthand].callback.__wrapped__ is leaves[full].callback.__wrapped__, shorthand
        assert [p.name for p in leaves[shorthand].params] == [p.name for p in leaves[full].params]


# --- the spellings at work ---------------------------------------------------------------------------


@pytest.fixture
def repo(project_copy: Path) -> Path:
    return init_repo(project_copy)


@pytest.mark.slow
def test_add_scheduler_and_schedulers_add_are_one_command(run_cli: RunCli, repo: Path) -> None:
    short = run_cli("add-scheduler", "3", "--node", "node-4", "--repo", str(repo))
    assert short.code == 0, short.err
    assert commit_subject(repo) == f"{HA}: add scheduler-3"
    full = run_cli("schedulers", "add", "4", "--node", "node-5", "--repo", str(repo))
    assert full.code == 0, full.err
    assert commit_subject(repo) == f"{HA}: add scheduler-4"
    listed = run_cli("schedulers", "list", "three-node-ha", "-o", "json", "--repo", str(repo))
    assert listed.code == 0, listed.err
    nodes = {s["number"]: s["node"] for s in json.loads(listed.out)["schedulers"]}
    assert nodes == {1: "node-2", 2: "node-3", 3: "node-4", 4: "node-5"}
    removed = run_cli("schedulers", "remove", "4", "overlays/three-node-ha", "--repo", str(repo))
    assert removed.code == 0, removed.err
    assert commit_subject(repo) == f"{HA}: remove scheduler-4"
    assert short.err == full.err == removed.err == ""


@pytest.mark.slow
def test_the_old_overlay_option_still_works_with_a_warning(run_cli: RunCli, repo: Path) -> None:
    new = run_cli("remove-scheduler", "1", "single-node-legacy", "--dry-run", "--repo", str(repo))
    old = run_cli(
        "remove-scheduler", "1", "--overlay", "single-node-legacy", "--dry-run", "--repo", str(repo)
    )
    assert new.code == old.code == 2, old.err  # the last scheduler: refused, the same way
    deprecation = "gitops-tool: warning: --overlay OVERLAY is deprecated"
    assert old.err.startswith(deprecation)
    assert old.err.removeprefix(old.err.splitlines()[0] + "\n") == new.err
    assert "deprecated" not in new.err
    both = run_cli("doctor", "three-node-ha", "--overlay", "three-node-ha")
    assert both.code == 2
    assert "give the overlay once" in both.err


def test_bare_schedulers_is_the_old_listing_with_a_warning(run_cli: RunCli, repo: Path) -> None:
    old = run_cli("schedulers", "--overlay", "single-node-legacy", "--output", "json", "--repo", str(repo))
    assert old.code == 0, old.err
    assert json.loads(old.out)["overlay"] == "overlays/single-node-legacy"
    assert "`gitops-tool schedulers list`" in old.err and "deprecated" in old.err


def test_render_output_is_the_format_and_output_file_the_file(
    run_cli: RunCli, repo_root: Path, tmp_path: Path
) -> None:
    overlay = str(repo_root / HA)
    as_json = run_cli("render", overlay, "-o", "json")
    assert as_json.code == 0, as_json.err
    listed = json.loads(as_json.out)
    assert listed["kind"] == "List" and len(listed["items"]) > 20

    new_file = tmp_path / "new.yaml"
    new = run_cli("render", overlay, "--output-file", str(new_file))
    assert (new.code, new.out, new.err) == (0, "", "")
    old_file = tmp_path / "old.yaml"
    old = run_cli("render", overlay, "-o", str(old_file))
    assert old.code == 0 and old.out == ""
    assert "-o/--output FILE is deprecated" in old.err and "--output-file" in old.err
    assert old_file.read_text() == new_file.read_text()
    assert len(listed["items"]) == new_file.read_text().count("\nkind: ") + new_file.read_text().startswith(
        "kind: "
    )


def test_secrets_init_old_output_spelling_writes_the_file(run_cli: RunCli, tmp_path: Path) -> None:
    old = run_cli("secrets", "init", "-o", str(tmp_path / "old.yaml"), cwd=tmp_path)
    assert old.code == 0, old.err
    assert (tmp_path / "old.yaml").is_file()
    assert "deprecated" in old.err and "--output-file" in old.err
    new = run_cli("secrets", "init", "--output-file", str(tmp_path / "new.yaml"), "-o", "json", cwd=tmp_path)
    assert new.code == 0, new.err
    assert json.loads(new.out)["action"] == "written"
    assert new.err == ""


@pytest.mark.slow
def test_dags_source_set_url_and_its_old_repo_spelling(run_cli: RunCli, repo: Path) -> None:
    url = "https://git.example.com/team/dags.git"
    old = run_cli("dags", "source", "set", "three-node-ha", "--repo", url, "--no-commit", cwd=repo)
    assert old.code == 0, old.err
    assert "`dags source set --repo URL` is deprecated" in old.err and "--url" in old.err
    git(repo, "checkout", "--", ".")
    new = run_cli("dags", "source", "set", "three-node-ha", "--url", url, cwd=repo)
    assert new.code == 0, new.err
    assert "deprecated" not in new.err
    shown = run_cli("dags", "source", "show", "three-node-ha", "-o", "json", cwd=repo)
    assert json.loads(shown.out)["repo"] == url


def test_restore_moved_under_backup(run_cli: RunCli) -> None:
    new = run_cli("backup", "restore", "airflow-20261127T020000Z.dump")
    old = run_cli("restore", "airflow-20261127T020000Z.dump")
    assert new.code == old.code == 2  # refused without --yes, before any cluster access
    assert "run again with --yes" in new.err and "deprecated" not in new.err
    assert "`gitops-tool restore` is deprecated" in old.err and "`gitops-tool backup restore`" in old.err


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "overlays/single-node-legacy", "--no-policies"],
        ["images", "single-node-legacy"],
        ["components", "list", "three-node-ha"],
        ["policy", "test"],
        ["argocd", "app", "three-node-ha", "--repo-url", "https://git.example.com/a/b.git"],
        ["dags", "source", "show"],
        ["drift", "--live-file", "examples/live/three-node-ha.yaml"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_json_output_offline(run_cli: RunCli, repo_root: Path, args: list[str]) -> None:
    result = run_cli(*args, "-o", "json", cwd=repo_root)
    assert result.code in (0, 1), result.err
    assert isinstance(json.loads(result.out), dict)


@pytest.mark.parametrize(
    "command",
    [
        ["render"],
        ["images"],
        ["validate", "--no-policies"],
        ["components", "list"],
        ["dags", "source", "show"],
        ["drift", "--live-file", "LIVE"],  # Git-backed: the overlay is looked up in HEAD
        ["drift", "--worktree", "--live-file", "LIVE"],
    ],
    ids=lambda args: " ".join(a for a in args if a.isalpha()),
)
def test_every_spelling_of_the_overlay_gives_the_same_answer(
    run_cli: RunCli, project_repo: Path, repo_root: Path, command: list[str]
) -> None:
    live = str(repo_root / "examples" / "live" / "three-node-ha.yaml")
    args = [live if a == "LIVE" else a for a in command]
    answers = set()
    absolute = str(project_repo / "overlays" / "three-node-ha")
    for spelling in ("three-node-ha", "overlays/three-node-ha", "overlays/three-node-ha/", absolute):
        result = run_cli(*_with_overlay(args, spelling), cwd=project_repo)
        assert result.code in (0, 1), f"{spelling}: {result.err}"
        answers.add((result.code, result.out.replace(str(project_repo) + "/", "")))
    assert len(answers) == 1, answers


def _with_overlay(args: list[str], overlay: str) -> list[str]:
    """``args`` with the overlay as the positional argument right after the command's words."""
    words = 2 if args[0] in ("components", "dags") else 1
    words = 3 if args[:2] == ["dags", "source"] else words
    return [*args[:words], overlay, *args[words:]]


def test_an_unknown_format_is_a_usage_error(run_cli: RunCli, repo_root: Path) -> None:
    result = run_cli("images", "three-node-ha", "-o", "xml", cwd=repo_root)
    assert result.code == 2
    assert "'xml' is not one of" in result.err


def _complete(words: str, cwd: Path) -> list[str]:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "_GITOPS_TOOL_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    script = Path(sys.executable).parent / "gitops-tool"
    done = subprocess.run([str(script)], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_completion_of_overlays_and_scheduler_numbers(project_copy: Path) -> None:
    assert _complete("gitops-tool render ", project_copy) == ["single-node-legacy", "three-node-ha"]
    assert _complete("gitops-tool doctor thr", project_copy) == ["three-node-ha"]
    assert _complete("gitops-tool remove-scheduler ", project_copy) == ["1", "2"]
    assert _complete("gitops-tool schedulers add ", project_copy) == ["3"]
    # Outside a repository there is nothing to offer, and no error either.
    assert _complete("gitops-tool render ", project_copy.parent) == []
