"""``gitops-tool upgrade-airflow VERSION``."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gitops_tool.cli import deprecation, options
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK, UserError

if TYPE_CHECKING:
    from gitops_tool.services.airflow_upgrade import UpgradeResult


def major_plan_lines(result: "UpgradeResult") -> list[str]:
    """What a 2 -> 3 upgrade changes, and the way back, as the plan printed before the file list."""
    lines = [
        f"major upgrade plan: Airflow {', '.join(result.old)} -> {result.new}",
        "  components added: components/airflow-3 in every overlay (airflow-webserver runs "
        "`airflow api-server`; Deployment airflow-dag-processor on the management node)",
        "  components removed: `airflow webserver` (replaced by the API server, same Service)",
    ]
    if result.options_changed:
        lines.append(f"  configuration ({len(result.options_changed)} option(s), as `airflow config lint`):")
        lines += [f"    {change}" for change in result.options_changed]
    lines += [
        "  secret: key jwt-secret of Secret airflow/airflow-secrets; add it before the sync with "
        "gitops-tool secrets rotate (creates the missing key)",
        "  database: the Argo CD Sync hook runs `airflow db migrate` to Airflow 3 (one-way)",
        "  rollback: git revert the commit, then gitops-tool backup restore FILE (the backup taken "
        "before the upgrade); downgrading with upgrade-airflow is refused",
    ]
    return lines


def register(app: typer.Typer) -> None:
    app.command(
        "upgrade-airflow",
        epilog=(
            "Examples: gitops-tool upgrade-airflow 2.11.1 --all  (keeps the -python3.9 suffix); "
            "gitops-tool upgrade-airflow 3.3.2 --major --context prod  (Airflow 3, docs/airflow-3.md)"
        ),
    )(upgrade_airflow)


def upgrade_airflow(  # noqa: PLR0917 - Typer maps parameters to options
    version: Annotated[str, typer.Argument(help="New Airflow release, e.g. 2.11.1 or 2.11.1-python3.12.")],
    overlay: Annotated[
        str | None,
        typer.Argument(
            metavar="[OVERLAY]",
            help="Upgrade only this overlay, when it sets the image itself (default: every overlay).",
            autocompletion=options.complete_overlay,
            show_default=False,
        ),
    ] = None,
    old_overlay: options.OldOverlay = None,
    all_overlays: Annotated[bool, typer.Option("--all", help="Upgrade every overlay (the default).")] = False,
    no_commit: Annotated[bool, typer.Option("--no-commit", help="Leave the change uncommitted.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files it would change; write nothing.")
    ] = False,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
    major: Annotated[
        bool,
        typer.Option(
            "--major",
            help="Allow a new major release (2 -> 3): also switches the layout (components/airflow-3).",
        ),
    ] = False,
    backup_confirmed: Annotated[
        bool,
        typer.Option(
            "--backup-confirmed",
            help="With --major and no cluster access: you took a backup within the last day.",
        ),
    ] = False,
    check_dags: Annotated[
        Path | None,
        typer.Option(
            "--check-dags",
            help="With --major: run ruff's AIR3 rules over this DAG folder and list what breaks.",
        ),
    ] = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Set the Airflow image tag everywhere it occurs, in one validated Git commit (refuses
    downgrades, malformed tags and a tag already in place).

    A new major release needs --major and a backup younger than a day (checked in the cluster, or
    --backup-confirmed)."""
    from gitops_tool.services.airflow_upgrade import UpgradeOptions, upgrade
    from gitops_tool.services.validation import normalise_version

    overlay = deprecation.overlay_from(overlay, old_overlay)
    if overlay is not None and all_overlays:
        raise UserError("give an OVERLAY or --all, not both")
    if check_dags is not None:
        from gitops_tool.services.dag_check import check_airflow3_dags

        findings = check_airflow3_dags(check_dags)
        for line in findings:
            typer.echo(line)
        typer.echo(
            f"{len(findings)} finding(s) of ruff's AIR3 rules in {check_dags}"
            + ("; fix them before the upgrade" if findings else "")
        )
        if findings or not major:
            return EXIT_FINDINGS if findings else EXIT_OK
    backup_checked = backup_confirmed
    if major and not dry_run and (kubeconfig or context):
        from gitops_tool.services.airflow_upgrade import recent_backup_in_cluster
        from gitops_tool.services.cluster_access import open_cluster

        with open_cluster(kubeconfig, context, request_timeout) as client:
            last = recent_backup_in_cluster(client)
        typer.echo(f"last successful backup {last:%Y-%m-%d %H:%M}Z (younger than a day)")
        backup_checked = True
    result = upgrade(
        version,
        UpgradeOptions(
            overlay=overlay,
            commit=not no_commit,
            dry_run=dry_run,
            kubernetes_version=normalise_version(kubernetes_version),
            kustomize=kustomize,
            major=major,
            backup_checked=backup_checked or dry_run,
        ),
    )
    if result.major:
        for line in major_plan_lines(result):
            typer.echo(line)
    verb = "would change" if dry_run else "changed"
    typer.echo(f"apache/airflow {', '.join(result.old)} -> {result.new} ({', '.join(result.overlays)})")
    for path, count in sorted(result.files.items()):
        typer.echo(f"  {verb} {path} ({count} reference{'s' if count != 1 else ''})")
    if result.commit:
        typer.echo(f"committed {result.commit[:12]}; Argo CD runs the DB migration hook on sync")
    elif not dry_run:
        typer.echo("not committed (--no-commit): review with git diff, then commit")
    return 0
