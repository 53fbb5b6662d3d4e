"""Every command documents itself: --help works and shows a usage example."""

from __future__ import annotations

import typer.main
from typer._click.core import Command
from typer.core import TyperGroup

from gitops_tool.cli.app import app
from tests.conftest import RunCli


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
