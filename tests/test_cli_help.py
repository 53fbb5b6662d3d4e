"""Every command documents itself: --help works and shows a usage example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer._click.core import Command, Context
from typer.core import TyperGroup

from gitops_tool.cli.app import app
from gitops_tool.cli.app import main as full_main
from gitops_tool.cli.entry import is_root_help
from gitops_tool.cli.root import SUMMARIES
from tests.conftest import RunCli

# The only command-line modules the root help may load.
FAST_PATH_MODULES = {"gitops_tool.cli.entry", "gitops_tool.cli.root"}


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: Command, path: list[str]) -> None:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            paths.append(path)

    walk(root, [])
    return paths


def test_every_command_has_help_with_an_example(run_cli: RunCli) -> None:
    paths = _command_paths()
    assert ["render"] in paths and ["validate"] in paths
    missing = []
    for path in paths:
        result = run_cli(*path, "--help")
        assert result.code == 0, (path, result.err)
        if "Example" not in result.out:
            missing.append(" ".join(path))
    assert missing == []


def test_version(run_cli: RunCli) -> None:
    from gitops_tool import __version__

    result = run_cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"gitops-tool {__version__}"


def test_shell_completion_is_offered(run_cli: RunCli) -> None:
    result = run_cli("--help")
    assert "--install-completion" in result.out
    assert "--show-completion" in result.out


def test_usage_errors_are_one_line(run_cli: RunCli) -> None:
    for args in (["render"], ["render", "overlays/x", "--bogus"], ["no-such-command"]):
        result = run_cli(*args)
        assert result.code == 2
        lines = result.err.strip().splitlines()
        assert len(lines) == 1, result.err
        assert lines[0].startswith("gitops-tool: error: ")
        assert "--help" in lines[0]


# --- the root help, printed from cli/root.py SUMMARIES without the command modules ------------------


def test_root_summaries_are_what_the_registered_commands_say() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    context = Context(root)
    registered = []
    for name in root.list_commands(context):
        command = root.get_command(context, name)
        assert command is not None
        if not command.hidden:
            # The short help click shows comes from the first paragraph, whitespace collapsed.
            registered.append((name, " ".join((command.help or "").split("\n\n")[0].split())))
    assert list(SUMMARIES) == registered, (
        "gitops_tool/cli/root.py SUMMARIES must list every command of app.py _register(), in order, "
        "with the first paragraph of its help"
    )


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"]])
def test_root_help_prints_what_the_full_app_prints(
    run_cli: RunCli, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert is_root_help(args)
    fast = run_cli(*args)
    with pytest.raises(SystemExit) as exited:
        full_main(args)
    full = capsys.readouterr()
    assert (fast.code, fast.out, fast.err) == (exited.value.code, full.out, full.err)
    assert "Commands:" in fast.out + fast.err


def test_root_help_loads_no_command_module() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom gitops_tool.cli.entry import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "gitops_tool.cli.root" in loaded
    assert [m for m in loaded if m == "gitops_tool.cli.app" or m.startswith("gitops_tool.services")] == []
    assert [m for m in loaded if m.startswith("gitops_tool.cli.") and m not in FAST_PATH_MODULES] == []


def test_shell_completion_goes_through_the_whole_command_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Completion runs with no arguments (like the root help) but needs every subcommand."""
    monkeypatch.setenv("_GITOPS_TOOL_COMPLETE", "complete_bash")
    assert not is_root_help([])
    script = Path(sys.executable).parent / "gitops-tool"
    env = {
        **os.environ,
        "_GITOPS_TOOL_COMPLETE": "complete_bash",
        "COMP_WORDS": "gitops-tool secrets ",
        "COMP_CWORD": "2",
    }
    completed = subprocess.run([str(script)], env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["init", "rotate"]
