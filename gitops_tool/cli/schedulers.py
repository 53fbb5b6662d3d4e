"""``gitops-tool schedulers add|remove|list``, and the shorthands ``add-scheduler`` and
``remove-scheduler`` (the same commands, under the names users know)."""

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from gitops_tool.cli import deprecation, options
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.errors import EXIT_OK

if TYPE_CHECKING:
    from pathlib import Path

    from gitops_tool.services.schedulers import ScaffoldOptions, ScaffoldResult

_LIMIT_HELP = "Scheduler number, a positive integer up to 64."

NewNumber = Annotated[
    str, typer.Argument(metavar="N", help=_LIMIT_HELP, autocompletion=options.complete_new_scheduler)
]
Number = Annotated[
    str, typer.Argument(metavar="N", help=_LIMIT_HELP, autocompletion=options.complete_scheduler)
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the planned changes as a unified diff; write nothing.")
]
NoCommit = Annotated[
    bool, typer.Option("--no-commit", help="Write and validate, but leave the change uncommitted.")
]
Message = Annotated[
    str | None, typer.Option("--message", "-m", help="Commit message instead of the default.")
]
Node = Annotated[
    str | None,
    typer.Option(
        "--node", help="Map role scheduler-N to this Kubernetes node (the overlay's node-roles.yaml)."
    ),
]

schedulers_app = typer.Typer(
    name="schedulers",
    help="The schedulers of an overlay: add, remove and list them.",
    invoke_without_command=True,
)

_ADD_EPILOG = (
    "Example: gitops-tool {command} 3 --node node-4 (one commit: overlays/three-node-ha: add scheduler-3)"
)
_REMOVE_EPILOG = "Example: gitops-tool {command} 3 --dry-run"


def register(app: typer.Typer) -> None:
    app.add_typer(schedulers_app, name="schedulers")
    schedulers_app.command("add", epilog=_ADD_EPILOG.format(command="schedulers add"))(add_scheduler)
    schedulers_app.command("remove", epilog=_REMOVE_EPILOG.format(command="schedulers remove"))(
        remove_scheduler
    )
    schedulers_app.command("list", epilog="Example: gitops-tool schedulers list three-node-ha --output json")(
        list_
    )
    # The shorthands, documented: the names users know.
    app.command("add-scheduler", epilog=_ADD_EPILOG.format(command="add-scheduler"))(add_scheduler)
    app.command("remove-scheduler", epilog=_REMOVE_EPILOG.format(command="remove-scheduler"))(
        remove_scheduler
    )


@schedulers_app.callback()
def _old_list(
    ctx: typer.Context,
    old_overlay: options.OldOverlay = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", hidden=True, help=f"{deprecation.DEPRECATED} use `schedulers list --output`."
        ),
    ] = None,
    repo: Annotated[
        str | None,
        typer.Option("--repo", hidden=True, help=f"{deprecation.DEPRECATED} use `schedulers list --repo`."),
    ] = None,
) -> None:
    """The schedulers of an overlay: add, remove and list them."""
    if ctx.invoked_subcommand is not None:
        if old_overlay is not None or output is not None or repo is not None:
            from gitops_tool.errors import UserError

            raise UserError(f"give the options after `schedulers {ctx.invoked_subcommand}`")
        return
    # `gitops-tool schedulers [--overlay X] [-o json]`: the listing of the previous release.
    deprecation.warn("`gitops-tool schedulers` without a command", "`gitops-tool schedulers list`")
    if output not in (None, "text", "json"):
        from gitops_tool.errors import UserError

        raise UserError(f"unknown --output {output!r}: use text or json")
    from pathlib import Path

    shown = "json" if output == "json" else "text"
    code = _list(old_overlay or DEFAULT_OVERLAY, shown, Path(repo) if repo else None)
    raise typer.Exit(code)


def add_scheduler(
    number: NewNumber,
    overlay: options.Overlay = None,
    *,
    old_overlay: options.OldOverlay = None,
    node: Node = None,
    no_commit: NoCommit = False,
    dry_run: DryRun = False,
    message: Message = None,
    repo: options.Repo = None,
    kustomize: options.Kustomize = None,
) -> int:
    """Scaffold schedulers/scheduler-N in an overlay, validate it and commit it."""
    from gitops_tool.services.schedulers import add_scheduler as run

    settings = _settings(overlay, old_overlay, dry_run, no_commit, message, repo, kustomize)
    return _report("added", run(number, node, settings), settings)


def remove_scheduler(
    number: Number,
    overlay: options.Overlay = None,
    *,
    old_overlay: options.OldOverlay = None,
    no_commit: NoCommit = False,
    dry_run: DryRun = False,
    message: Message = None,
    repo: options.Repo = None,
    kustomize: options.Kustomize = None,
) -> int:
    """Remove schedulers/scheduler-N from an overlay (never the last one), validate and commit."""
    from gitops_tool.services.schedulers import remove_scheduler as run

    settings = _settings(overlay, old_overlay, dry_run, no_commit, message, repo, kustomize)
    return _report("removed", run(number, settings), settings)


def list_(
    overlay: options.Overlay = None,
    output: options.OutputFormat = "text",
    repo: options.Repo = None,
) -> int:
    """List the schedulers of an overlay with their node role and mapped node."""
    return _list(overlay or DEFAULT_OVERLAY, output, repo)


def _list(overlay: str, output: str, repo: "Path | None") -> int:
    from gitops_tool.services.schedulers import list_schedulers

    label, table = list_schedulers(overlay, repo)
    if output == "json":
        typer.echo(json.dumps({"overlay": label, "schedulers": [asdict(s) for s in table]}, indent=2))
        return EXIT_OK
    typer.echo(f"{'SCHEDULER':<22} {'ROLE':<14} {'NODE':<24} FOLDER")
    for info in table:
        typer.echo(f"{info.name:<22} {info.role:<14} {info.node or '(unmapped)':<24} {info.folder}")
        for note in info.notes:
            typer.echo(f"  warning: {note}")
    return EXIT_OK


def _settings(  # noqa: PLR0917 - the command's options, passed through as given
    overlay: str | None,
    old_overlay: str | None,
    dry_run: bool,
    no_commit: bool,
    message: str | None,
    repo: "Path | None",
    kustomize: str | None,
) -> "ScaffoldOptions":
    from gitops_tool.services.schedulers import ScaffoldOptions

    return ScaffoldOptions(
        repo=repo,
        overlay=deprecation.overlay_from(overlay, old_overlay) or DEFAULT_OVERLAY,
        dry_run=dry_run,
        commit=not no_commit,
        message=message,
        kustomize=kustomize,
    )


def _report(verb: str, result: "ScaffoldResult", settings: "ScaffoldOptions") -> int:
    if settings.dry_run:
        typer.echo(result.diff, nl=False)
        typer.echo(f"dry run: nothing written; would commit: {result.plan.message}", err=True)
    else:
        where = f"commit {result.commit[:12]}: {result.plan.message}" if result.commit else "not committed"
        typer.echo(f"{verb}: {where}")
        for path in result.paths:
            typer.echo(f"  {path}")
    for note in result.plan.notes:
        typer.echo(f"note: {note}", err=True)
    return EXIT_OK
