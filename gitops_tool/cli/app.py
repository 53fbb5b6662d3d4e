"""The full ``gitops-tool`` command tree: the root app of cli/root.py with every command module.

Command modules import their heavy dependencies (kubernetes, deepdiff, git, regopy, jsonschema)
inside the command functions, so loading them stays cheap; ``gitops-tool --help`` does not load them
at all: it lists the commands from cli/root.py ``SUMMARIES``, so a new top-level command needs its
line there too (tests/test_cli_help.py says which).
"""

from gitops_tool.cli.root import new_app

app = new_app()


def _register() -> None:
    from gitops_tool.cli import (
        argocd,
        backup,
        components,
        dags,
        doctor,
        drift,
        images,
        init,
        logs,
        migrate,
        nodes,
        policy,
        render,
        schedulers,
        secrets,
        upgrade,
        validate,
    )

    for module in (
        init,
        render,
        validate,
        images,
        argocd,
        secrets,
        nodes,
        schedulers,
        backup,
        components,
        drift,
        logs,
        dags,
        doctor,
        migrate,
        policy,
        upgrade,
    ):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """The full application, without entry.py's fast paths, inside the same one handler."""
    from gitops_tool.cli.entry import main as entry_main

    entry_main(argv, fast_paths=False)
