"""``gitops-tool add-scheduler``, ``remove-scheduler`` and ``schedulers``."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.errors import EXIT_OK, UserError

if TYPE_CHECKING:
    from gitops_tool.services.schedulers import ScaffoldOptions, ScaffoldResult

_LIMIT_HELP = "Scheduler number, a positive integer up to 64."

Overlay = Annotated[str, typer.Option("--overlay", help="Overlay folder, relative to the repository root.")]
Repo = Annotated[
    Path | None,
    typer.Option("--repo", help="The gitops repository (any folder inside it); default: the current folder."),
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


def register(app: typer.Typer) -> None:
    app.command(
        "add-scheduler",
        epilog="Example: gitops-tool add-scheduler 3 --node node-4 "
        "(one commit: overlays/three-node-ha: add scheduler-3)",
    )(add_scheduler)
    app.command("remove-scheduler", epilog="Example: gitops-tool remove-scheduler 3 --dry-run")(
        remove_scheduler
    )
    app.command("schedulers", epilog="Example: gitops-tool schedulers --output json")(schedulers)


def add_scheduler(
    number: Annotated[str, typer.Argument(metavar="N", help=_LIMIT_HELP)],
    *,
    overlay: Overlay = "overlays/three-node-ha",
    node: Annotated[
        str | None,
        typer.Option(
            "--node", help="Map role scheduler-N to this Kubernetes node (the overlay's node-roles.yaml)."
        ),
    ] = None,
    no_commit: NoCommit = False,
    dry_run: DryRun = False,
    message: Message = None,
    repo: Repo = None,
    kustomize: options.Kustomize = None,
) -> int:
    """Scaffold schedulers/scheduler-N in an overlay, validate it and commit it."""
    from gitops_tool.services.schedulers import add_scheduler as run

    settings = _settings(
        overlay=overlay, dry_run=dry_run, no_commit=no_commit, message=message, repo=repo, kustomize=kustomize
    )
    return _report("added", run(number, node, settings), settings)


def remove_scheduler(
    number: Annotated[str, typer.Argument(metavar="N", help=_LIMIT_HELP)],
    *,
    overlay: Overlay = "overlays/three-node-ha",
    no_commit: NoCommit = False,
    dry_run: DryRun = False,
    message: Message = None,
    repo: Repo = None,
    kustomize: options.Kustomize = None,
) -> int:
    """Remove schedulers/scheduler-N from an overlay (never the last one), validate and commit."""
    from gitops_tool.services.schedulers import remove_scheduler as run

    settings = _settings(
        overlay=overlay, dry_run=dry_run, no_commit=no_commit, message=message, repo=repo, kustomize=kustomize
    )
    return _report("removed", run(number, settings), settings)


def schedulers(
    *,
    overlay: Overlay = "overlays/three-node-ha",
    output: options.OutputFormat = "text",
    repo: Repo = None,
) -> int:
    """List the schedulers of an overlay with their node role and mapped node."""
    from gitops_tool.services.schedulers import list_schedulers

    if output not in ("text", "json"):
        raise UserError(f"unknown --output {output!r}: use text or json")
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


def _settings(
    *,
    overlay: str,
    dry_run: bool,
    no_commit: bool,
    message: str | None,
    repo: Path | None,
    kustomize: str | None,
) -> "ScaffoldOptions":
    from gitops_tool.services.schedulers import ScaffoldOptions

    return ScaffoldOptions(
        repo=repo,
        overlay=overlay,
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
