"""``gitops-tool backup enable|disable|now|list|restore`` (``gitops-tool restore`` is the old spelling
of ``backup restore``, kept one release)."""

from typing import Annotated

import typer

from gitops_tool.cli import deprecation, options
from gitops_tool.cli.overlay_change import component_options, report_change
from gitops_tool.errors import UserError

backup_app = typer.Typer(
    name="backup",
    help="Metadata DB backups: enable the pg_dump CronJob in Git, run and list backups on the NFS volume.",
    no_args_is_help=True,
)

Timeout = Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait for the Job to finish.")]
Poll = Annotated[
    float, typer.Option("--poll-interval", min=0.01, help="Seconds between two looks at the Job.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
    backup_app.command(
        "restore", epilog="Example: gitops-tool backup restore airflow-20261127T020000Z.dump --yes"
    )(restore)
    app.command(
        "restore",
        hidden=True,
        help=f"{deprecation.DEPRECATED} use `gitops-tool backup restore`.",
        epilog="Example: gitops-tool backup restore airflow-20261127T020000Z.dump --yes",
    )(restore)


@backup_app.command("now", epilog="Example: gitops-tool backup now --context prod")
def now(
    timeout: Timeout = 1800.0,
    poll_interval: Poll = 2.0,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Run the backup CronJob now (a Job created through the API) and follow it."""
    from gitops_tool.cli.progress import progress
    from gitops_tool.services import backup
    from gitops_tool.services.cluster_access import open_cluster

    with open_cluster(kubeconfig, context, request_timeout) as client, progress("backup") as report:
        written = backup.backup_now(client, backup.Waiting(timeout=timeout, poll=poll_interval), report)
    typer.echo(f"backup written: {written}")
    return 0


@backup_app.command("list", epilog="Example: gitops-tool backup list --context prod")
def list_(  # noqa: PLR0917 - Typer maps parameters to options
    output: options.OutputFormat = "text",
    timeout: Timeout = 300.0,
    poll_interval: Poll = 2.0,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """List the backup files on the NFS volume, newest first (a short Job reads the volume)."""
    from gitops_tool.cli.progress import progress
    from gitops_tool.core.backup_jobs import listing_text
    from gitops_tool.services import backup
    from gitops_tool.services.cluster_access import open_cluster

    with open_cluster(kubeconfig, context, request_timeout) as client, progress("backup list") as report:
        files = backup.list_backups(client, backup.Waiting(timeout=timeout, poll=poll_interval), report)
    if output == "json":
        import json

        rows = [
            {"name": f.name, "size": f.size, "modified": f.modified.strftime("%Y-%m-%dT%H:%M:%SZ")}
            for f in files
        ]
        typer.echo(json.dumps({"backups": rows}, indent=2))
    else:
        typer.echo(listing_text(files))
    return 0


@backup_app.command(
    "enable",
    epilog="Example: gitops-tool backup enable three-node-ha --schedule '30 1 * * *' --retention 30",
)
def enable(  # noqa: PLR0917 - Typer maps parameters to options
    overlay: options.OverlayArgument = None,
    all_overlays: options.AllOverlays = False,
    schedule: Annotated[
        str | None,
        typer.Option("--schedule", help="Cron expression in UTC (default of the component: '0 2 * * *')."),
    ] = None,
    retention: Annotated[
        int | None,
        typer.Option("--retention", help="Dumps kept on the volume (default of the component: 14)."),
    ] = None,
    no_commit: options.NoCommit = False,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """Add the backup component (nightly pg_dump CronJob to the NFS volume) to an overlay, validate
    the render and commit it; Argo CD then creates the CronJob."""
    from gitops_tool.core.backup_component import Settings
    from gitops_tool.services import backup_component

    result = backup_component.enable(
        Settings(schedule, retention),
        component_options(overlay, all_overlays, no_commit, kubernetes_version, kustomize),
    )
    report_change(result)
    for label, settings in sorted(result.settings.items()):
        typer.echo(f"  {label}: schedule {settings.schedule} (UTC), keeps {settings.retention} dumps")
    if result.commit:
        typer.echo("after Argo CD syncs: gitops-tool backup now (a backup at once), gitops-tool backup list")
    return 0


@backup_app.command("disable", epilog="Example: gitops-tool backup disable three-node-ha")
def disable(
    overlay: options.OverlayArgument = None,
    all_overlays: options.AllOverlays = False,
    no_commit: options.NoCommit = False,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """Remove the backup component (and its schedule/retention patch) from an overlay, validate and
    commit; the dumps stay on the NFS share (the claim's storage class retains them)."""
    from gitops_tool.services import backup_component

    result = backup_component.disable(
        component_options(overlay, all_overlays, no_commit, kubernetes_version, kustomize)
    )
    report_change(result)
    return 0


def restore(  # noqa: PLR0917 - Typer maps parameters to options
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A backup file name from `gitops-tool backup list`.")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Really replace the metadata DB with this backup.")
    ] = False,
    timeout: Timeout = 3600.0,
    lock_timeout: Annotated[
        int,
        typer.Option(
            "--lock-timeout",
            min=1,
            help="Seconds pg_restore may wait for each table lock before the restore fails and rolls back.",
        ),
    ] = 30,
    poll_interval: Poll = 2.0,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Restore the metadata DB from a backup: stops every database client, keeps a safety dump of
    the current DB, runs pg_restore in one transaction, then starts the clients again.

    In order: pauses Argo CD auto-sync, scales every Deployment that uses the database (webserver,
    schedulers, triggerer, ...) to 0 and deletes the task pods, ends the remaining sessions, writes
    the safety dump (pre-restore-TIME.dump, kept; the way back is printed), runs pg_restore with
    bounded lock waits, then starts what it stopped again, however the restore ends."""
    from gitops_tool.core.backup_jobs import check_backup_file

    if ctx.parent is not None and ctx.parent.parent is None:  # `gitops-tool restore`, the old spelling
        deprecation.warn("`gitops-tool restore`", "`gitops-tool backup restore`")
    check_backup_file(file)
    if not yes:
        raise UserError(
            f"restore replaces every table of the metadata DB with {file}; run again with --yes to do it"
        )
    from gitops_tool.cli.progress import progress
    from gitops_tool.services import backup
    from gitops_tool.services.cluster_access import open_cluster

    with open_cluster(kubeconfig, context, request_timeout) as client, progress("restore") as report:
        result = backup.restore(
            client,
            file,
            backup.Waiting(timeout=timeout, poll=poll_interval),
            report,
            lock_timeout_s=lock_timeout,
        )
    scaled = ", ".join(f"{name} ({count})" for name, count in sorted(result.scaled.items())) or "none"
    typer.echo(f"restored {file}; started again: {scaled}")
    if result.safety_dump:
        typer.echo(
            f"the database as it was is kept in {result.safety_dump}; "
            f"to go back: gitops-tool backup restore {result.safety_dump} --yes"
        )
    return 0
