"""``gitops-tool dags push|rollback|status`` and ``dags source show|set``."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gitops_tool.cli import deprecation, options
from gitops_tool.core.conventions import DEFAULT_OVERLAY, NAMESPACE
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK, UserError

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
    from gitops_tool.core.dags.agent import AGENT_IMAGE
    from gitops_tool.services.dags import DagsTarget, KubeSettings

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


@dags_app.command("status", epilog="Example: gitops-tool dags status --context prod --output json")
def status(  # noqa: PLR0917 - Typer passes every option positionally
    output: options.OutputFormat = "text",
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
    if output == "json":
        from dataclasses import asdict

        document = {
            "consistent": outcome.consistent,
            "schedulers_found": outcome.schedulers_found,
            "views": [asdict(view) for view in outcome.views],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(format_status(outcome))
    return EXIT_OK if outcome.consistent else EXIT_FINDINGS


source_app = typer.Typer(
    name="source",
    help="The Git repository git-sync syncs DAGs from (overlays with components/git-sync).",
    no_args_is_help=True,
)
dags_app.add_typer(source_app, name="source")

SourceOverlay = options.Overlay


@source_app.command("show", epilog="Example: gitops-tool dags source show three-node-ha --output json")
def source_show(
    overlay: SourceOverlay = None,
    output: options.OutputFormat = "text",
    kustomize: options.Kustomize = None,
) -> int:
    """Print repo, ref, period, username and the DAG sub-folder as the overlay renders them (marks the
    placeholder)."""
    from gitops_tool.core.dags.git_source import SETTINGS_CONFIGMAPS, redact
    from gitops_tool.services.dags_source import show

    shown = show(overlay or DEFAULT_OVERLAY, kustomize=kustomize)
    values = shown.rendered.source.given()
    if "repo" in values:
        values["repo"] = redact(values["repo"])
    if output == "json":
        document = {
            "overlay": shown.overlay,
            "configmap": shown.rendered.configmap,
            **values,
            "dags_folders": dict(zip(SETTINGS_CONFIGMAPS, shown.rendered.dags_folders, strict=True)),
            "placeholder": shown.rendered.placeholder,
        }
        typer.echo(json.dumps(document, indent=2))
        return EXIT_OK
    typer.echo(f"{shown.overlay} (ConfigMap {shown.rendered.configmap})")
    for key, value in values.items():
        mark = "   (placeholder: set yours with `gitops-tool dags source set --url`)"
        text = value or ("(the repository's root)" if key == "subdir" else value)
        typer.echo(f"  {key + ':':<10}{text}{mark if key == 'repo' and shown.rendered.placeholder else ''}")
    for name, folder in zip(SETTINGS_CONFIGMAPS, shown.rendered.dags_folders, strict=True):
        typer.echo(f"  dags folder ({name}): {folder or '(not set)'}")
    return EXIT_OK


@source_app.command(
    "set",
    epilog="Example: gitops-tool dags source set three-node-ha --url https://github.com/acme/dags.git",
)
def source_set(  # noqa: PLR0917 - Typer maps parameters to options
    overlay: SourceOverlay = None,
    url: Annotated[
        str, typer.Option("--url", help="https://HOST/PATH (ssh:// or git@HOST:PATH with git-sync-ssh).")
    ] = "",
    old_url: Annotated[
        str | None,
        typer.Option(
            "--repo",
            hidden=True,
            help=f"{deprecation.DEPRECATED} use --url (--repo is the local repository everywhere).",
        ),
    ] = None,
    ref: Annotated[str | None, typer.Option("--ref", help="Branch, tag or commit.")] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Time between syncs, e.g. 60s or 5m.")
    ] = None,
    username: Annotated[str | None, typer.Option("--username", help="User name for the HTTPS token.")] = None,
    subdir: Annotated[
        str | None,
        typer.Option(
            "--subdir",
            help="The DAG folder inside the repository, e.g. dags/prod ('' or '.': the root). "
            "Sets AIRFLOW__CORE__DAGS_FOLDER in airflow-config and airflow-worker-config.",
        ),
    ] = None,
    no_commit: options.NoCommit = False,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """Write the overlay's patch of ConfigMap airflow-git-sync (and, for --subdir, of the Airflow settings
    ConfigMaps), render, validate and commit (hash suffixes change, so the pods restart with the new
    values)."""
    from gitops_tool.core.dags.git_source import Source
    from gitops_tool.services.components import ComponentOptions
    from gitops_tool.services.dags_source import set_source
    from gitops_tool.services.validation import normalise_version

    if old_url is not None:
        if url:
            raise UserError("give the DAG repository once, as --url (--repo is its old spelling)")
        deprecation.warn("`dags source set --repo URL`", "--url URL")
        url = old_url
    target = overlay or DEFAULT_OVERLAY
    opts = ComponentOptions((target,), not no_commit, normalise_version(kubernetes_version), kustomize)
    result = set_source(Source(url or None, ref, period, username, subdir), opts)
    change = result.change
    typer.echo(
        f"commit {change.commit[:12]}: {change.message}" if change.commit else "not committed (--no-commit)"
    )
    for path in change.paths:
        typer.echo(f"  {path}")
    if result.before.configmap != result.after.configmap:
        typer.echo(
            f"ConfigMap {result.before.configmap} -> {result.after.configmap} (git-sync restarts when synced)"
        )
    if subdir is not None:
        typer.echo(f"DAGs folder: {result.after.dags_folders[0]} (Airflow restarts when synced)")
    return EXIT_OK
