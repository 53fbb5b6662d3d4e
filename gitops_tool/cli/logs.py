"""``gitops-tool logs retention show|set``: how long the airflow-logs volume keeps Airflow's logs."""

import json
from typing import Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.cli.overlay_change import component_options, report_change
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.errors import EXIT_OK

logs_app = typer.Typer(
    name="logs",
    help="Airflow's logs on the airflow-logs volume: how many days CronJob airflow-log-retention keeps.",
    no_args_is_help=True,
)
retention_app = typer.Typer(
    name="retention",
    help="Days of logs kept (default 15): files older are removed every hour, then empty folders.",
    no_args_is_help=True,
)
logs_app.add_typer(retention_app, name="retention")


def register(app: typer.Typer) -> None:
    app.add_typer(logs_app, name="logs")


@retention_app.command("show", epilog="Example: gitops-tool logs retention show three-node-ha")
def show(
    overlay: options.Overlay = None,
    output: options.OutputFormat = "text",
    kustomize: options.Kustomize = None,
) -> int:
    """Print the days of logs the overlay keeps, as it renders them."""
    from gitops_tool.core.log_retention import CONFIGMAP, DEFAULT_DAYS
    from gitops_tool.services.log_retention import show as show_days

    label, days = show_days(overlay or DEFAULT_OVERLAY, kustomize=kustomize)
    if output == "json":
        typer.echo(json.dumps({"overlay": label, "days": days, "default": days == DEFAULT_DAYS}, indent=2))
    else:
        default = " (the default)" if days == DEFAULT_DAYS else ""
        typer.echo(f"{label}: logs kept {days} day(s){default} (ConfigMap {CONFIGMAP})")
    return EXIT_OK


@retention_app.command("set", epilog="Example: gitops-tool logs retention set 30 three-node-ha")
def set_(  # noqa: PLR0917 - Typer maps parameters to options
    days: Annotated[str, typer.Argument(metavar="DAYS", help="Whole days of logs to keep (1-3650).")],
    overlay: options.OverlayArgument = None,
    all_overlays: options.AllOverlays = False,
    no_commit: options.NoCommit = False,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """Write the overlay's patch of ConfigMap airflow-log-retention (removed for the default, 15),
    render, validate and commit; the CronJob's next run uses it."""
    from gitops_tool.core.log_retention import check_days
    from gitops_tool.services.log_retention import set_days

    wanted = check_days(days)
    result = set_days(
        wanted, component_options(overlay, all_overlays, no_commit, kubernetes_version, kustomize)
    )
    report_change(result.change)
    for label, before in result.before.items():
        if label in result.after:
            typer.echo(f"{label}: {before} -> {result.after[label]} day(s)")
    return EXIT_OK
