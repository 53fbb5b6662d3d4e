"""``gitops-tool dags push|rollback|status``."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.core.conventions import NAMESPACE
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK

if TYPE_CHECKING:
    from gitops_tool.services.dags import DagsTarget

dags_app = typer.Typer(
    name="dags",
    help="Publish DAG folders atomically to the airflow-dags volume (clusters without git-sync).",
    no_args_is_help=True,
)

Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Namespace of Airflow.")]
Timeout = Annotated[
    float, typer.Option("--timeout", min=1.0, help="Seconds to wait for the agent pod to finish.")
]
Image = Annotated[
    str | None,
    typer.Option(
        "--image", help="Image of the agent pod (default: the Airflow image, already on the nodes)."
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(dags_app, name="dags")


def _target(  # noqa: PLR0917 - the shared options, passed through as given
    kubeconfig: str | None,
    context: str | None,
    request_timeout: float,
    namespace: str,
    timeout: float,
    image: str | None,
) -> "DagsTarget":
    from gitops_tool.adapters.kube.client import KubeSettings
    from gitops_tool.core.dags.agent import AGENT_IMAGE
    from gitops_tool.services.dags import DagsTarget

    kube = KubeSettings(kubeconfig=kubeconfig, context=context, request_timeout=request_timeout)
    return DagsTarget(kube, namespace=namespace, image=image or AGENT_IMAGE, timeout_s=timeout)


@dags_app.command(
    "push",
    epilog="Example: gitops-tool dags push ./dags --context prod --keep 5  (try --dry-run first)",
)
def push(  # noqa: PLR0917 - Typer passes every option positionally
    path: Annotated[Path, typer.Argument(help="The local DAG folder to publish.")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Validate and pack; let the API server check the objects; change nothing."
        ),
    ] = False,
    check_imports: Annotated[
        bool,
        typer.Option(
            "--check-imports", help="Also import every DAG file in the local Airflow (if installed)."
        ),
    ] = False,
    keep: Annotated[int, typer.Option("--keep", help="How many previous versions to keep for rollback.")] = 5,
    namespace: Namespace = NAMESPACE,
    timeout: Timeout = 300.0,
    image: Image = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Check that every .py compiles, pack the folder and publish it as a new version atomically."""
    from gitops_tool.core.dags.report import format_push
    from gitops_tool.services import dags

    target = _target(kubeconfig, context, request_timeout, namespace, timeout, image)
    outcome = dags.push(path, target, keep=keep, dry_run=dry_run, check_imports=check_imports)
    typer.echo(format_push(outcome))
    return EXIT_FINDINGS if outcome.problems else EXIT_OK


@dags_app.command(
    "rollback",
    epilog="Example: gitops-tool dags rollback --context prod  (or --to 20261127T051500123Z-3f2a9c1b0d)",
)
def rollback(  # noqa: PLR0917 - Typer passes every option positionally
    to: Annotated[
        str,
        typer.Option("--to", help="The version to publish again (default: the one before the current)."),
    ] = "",
    namespace: Namespace = NAMESPACE,
    timeout: Timeout = 300.0,
    image: Image = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Switch the published DAGs back to an earlier version kept on the volume (atomically)."""
    from gitops_tool.core.dags.report import format_rollback
    from gitops_tool.services import dags

    target = _target(kubeconfig, context, request_timeout, namespace, timeout, image)
    typer.echo(format_rollback(dags.rollback(target, to)))
    return EXIT_OK


@dags_app.command("status", epilog="Example: gitops-tool dags status --context prod")
def status(  # noqa: PLR0917 - Typer passes every option positionally
    namespace: Namespace = NAMESPACE,
    timeout: Timeout = 300.0,
    image: Image = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Show the published version and whether every scheduler's node sees the same one (exit 1 if not)."""
    from gitops_tool.core.dags.report import format_status
    from gitops_tool.services import dags

    target = _target(kubeconfig, context, request_timeout, namespace, timeout, image)
    outcome = dags.status(target)
    typer.echo(format_status(outcome))
    return EXIT_OK if outcome.consistent else EXIT_FINDINGS
