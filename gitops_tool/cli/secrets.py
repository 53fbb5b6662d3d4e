"""``gitops-tool secrets init|rotate``."""

from pathlib import Path
from typing import Annotated

import typer

from gitops_tool.cli import deprecation, options
from gitops_tool.cli.backup import Poll
from gitops_tool.core.conventions import SECRET_KEY_AIRFLOW_ADMIN_PASSWORD, SECRET_KEY_GRAFANA_ADMIN_PASSWORD
from gitops_tool.errors import UserError

JobTimeout = Annotated[
    float, typer.Option("--timeout", min=1, help="Seconds to wait for each password Job to finish.")
]

_FORMATS = ("text", "json")

secrets_app = typer.Typer(
    name="secrets",
    help="Create and rotate the Secret airflow-secrets (values are never printed).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")


@secrets_app.command(
    "init",
    epilog="Example: gitops-tool secrets init --context prod  (or: --output-file ~/airflow-secrets.yaml)",
)
def init(  # noqa: PLR0917 - Typer maps parameters to options
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output-file",
            help="Write a Secret manifest (mode 0600) to FILE outside the work tree instead.",
        ),
    ] = None,
    output: Annotated[str | None, options.format_or_old_file(_FORMATS, "default text")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing Secret or file.")] = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Generate strong random values (Fernet key, passwords, DB URL) and create the Secret."""
    from gitops_tool.services import secrets

    file = deprecation.output_file(output, str(output_file) if output_file else None, _FORMATS)
    if file is not None and (kubeconfig or context):
        raise UserError("--output-file writes a file and talks to no cluster: drop --kubeconfig/--context")
    if file is not None:
        result = secrets.init_to_file(Path(file), force)
    else:
        from gitops_tool.services.cluster_access import open_cluster

        with open_cluster(kubeconfig, context, request_timeout) as client:
            result = secrets.init_in_cluster(client, force)
    if output == "json":
        import json

        document = {"action": result.action, "where": result.where, "keys": list(result.keys)}
        typer.echo(json.dumps({**document, "notes": list(result.notes)}, indent=2))
        return 0
    typer.echo(f"{result.action} {result.where} with keys: {', '.join(result.keys)} (values not shown)")
    for note in result.notes:
        typer.echo(f"note: {note}")
    return 0


@secrets_app.command("rotate", epilog="Example: gitops-tool secrets rotate --admin-passwords --context prod")
def rotate(  # noqa: PLR0917 - Typer maps parameters to options
    restart: Annotated[
        bool, typer.Option("--restart/--no-restart", help="Roll the workloads reading the Secret.")
    ] = True,
    database_password: Annotated[
        bool,
        typer.Option(
            "--database-password",
            help="Also change the PostgreSQL password (a Job runs ALTER USER first) and the DB URL.",
        ),
    ] = False,
    admin_passwords: Annotated[
        bool,
        typer.Option(
            "--admin-passwords",
            help="Also change the Airflow and Grafana admin passwords (Jobs set them in the servers first).",
        ),
    ] = False,
    timeout: JobTimeout = 900.0,
    poll_interval: Poll = 2.0,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """New Fernet key first (old ones kept to decrypt), new webserver key; with --admin-passwords and
    --database-password, new stored passwords, each set in its server before the Secret records it;
    restarts the readers."""
    from gitops_tool.cli.progress import progress
    from gitops_tool.services import secrets
    from gitops_tool.services.backup import Waiting
    from gitops_tool.services.cluster_access import open_cluster

    with open_cluster(kubeconfig, context, request_timeout) as client, progress("rotate") as report:
        result = secrets.rotate(
            client,
            restart,
            database_password=database_password,
            admin_passwords=admin_passwords,
            waiting=Waiting(timeout=timeout, poll=poll_interval),
            report=report,
        )
    typer.echo(
        f"rotated {', '.join(result.rotated)} in Secret airflow/airflow-secrets "
        f"({result.fernet_keys} Fernet key(s) now, newest first; values not shown)"
    )
    for name in result.restarted:
        typer.echo(f"restarted {name}")
    if not restart:
        typer.echo("note: pods keep the old values until they restart")
    if admin_passwords:
        typer.echo(
            "note: the admins now log in with the new passwords, kept only in the Secret "
            f"(keys {SECRET_KEY_AIRFLOW_ADMIN_PASSWORD}, {SECRET_KEY_GRAFANA_ADMIN_PASSWORD})"
        )
    return 0
