"""``gitops-tool upgrade-airflow VERSION``."""

from typing import Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.errors import UserError


def register(app: typer.Typer) -> None:
    app.command(
        "upgrade-airflow",
        epilog="Example: gitops-tool upgrade-airflow 2.11.1 --all  (keeps the -python3.9 suffix)",
    )(upgrade_airflow)


def upgrade_airflow(  # noqa: PLR0917 - Typer maps parameters to options
    version: Annotated[str, typer.Argument(help="New Airflow release, e.g. 2.11.1 or 2.11.1-python3.12.")],
    overlay: Annotated[
        str | None,
        typer.Option("--overlay", help="Upgrade only this overlay (when it sets the image itself)."),
    ] = None,
    all_overlays: Annotated[bool, typer.Option("--all", help="Upgrade every overlay (the default).")] = False,
    no_commit: Annotated[bool, typer.Option("--no-commit", help="Leave the change uncommitted.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files it would change; write nothing.")
    ] = False,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """Set the Airflow image tag everywhere it occurs, in one validated Git commit (refuses
    downgrades, malformed tags and a tag already in place)."""
    from gitops_tool.adapters.schema import normalise_version
    from gitops_tool.services.airflow_upgrade import UpgradeOptions, upgrade

    if overlay is not None and all_overlays:
        raise UserError("give --overlay or --all, not both")
    result = upgrade(
        version,
        UpgradeOptions(
            overlay=overlay,
            commit=not no_commit,
            dry_run=dry_run,
            kubernetes_version=normalise_version(kubernetes_version),
            kustomize=kustomize,
        ),
    )
    verb = "would change" if dry_run else "changed"
    typer.echo(f"apache/airflow {', '.join(result.old)} -> {result.new} ({', '.join(result.overlays)})")
    for path, count in sorted(result.files.items()):
        typer.echo(f"  {verb} {path} ({count} reference{'s' if count != 1 else ''})")
    if result.commit:
        typer.echo(f"committed {result.commit[:12]}; Argo CD runs the DB migration hook on sync")
    elif not dry_run:
        typer.echo("not committed (--no-commit): review with git diff, then commit")
    return 0
