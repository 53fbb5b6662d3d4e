"""``gitops-tool drift``."""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK, ClusterError, UserError

_FORMATS = ("text", "json", "markdown")


def register(app: typer.Typer) -> None:
    app.command(
        "drift",
        epilog="Example: gitops-tool drift overlays/three-node-ha --live-file "
        "examples/live/three-node-ha.yaml",
    )(drift)


def drift(  # noqa: PLR0917 - Typer reads the options from the signature
    overlay: Annotated[
        str | None, typer.Argument(help="Overlay folder (default: overlays/three-node-ha).")
    ] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Git revision to render the overlay at (default: HEAD).")
    ] = None,
    worktree: Annotated[
        bool, typer.Option("--worktree", help="Render the work tree, uncommitted changes included.")
    ] = False,
    desired_file: Annotated[
        str | None,
        typer.Option(
            "--desired-file", help="Rendered manifests (YAML, JSON or a List; - for stdin) as desired."
        ),
    ] = None,
    live_file: Annotated[
        str | None,
        typer.Option(
            "--live-file",
            help="Live objects as `kubectl get -o yaml|json` prints them, instead of a cluster.",
        ),
    ] = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Namespace for objects without one; limits the audit to it."),
    ] = None,
    ignore_file: Annotated[
        str | None,
        typer.Option("--ignore-file", help="More ignoreDifferences rules (Argo CD format), YAML or JSON."),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="text, json or markdown.")] = "text",
    show_in_sync: Annotated[bool, typer.Option("--show-in-sync", help="List in-sync resources too.")] = False,
    request_timeout: options.RequestTimeout = 30.0,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="Report kinds the auditor could not read (forbidden, unusable answers) as unknown "
            "instead of exit 2.",
        ),
    ] = False,
    applier: Annotated[
        list[str] | None,
        typer.Option("--applier", help="Field manager that applies Git (repeat; replaces the defaults)."),
    ] = None,
    imperative: Annotated[
        list[str] | None,
        typer.Option("--imperative-manager", help="Field manager glob counted as a manual change (repeat)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DURATION",
            help="Only differences whose live owner (managedFields) wrote within DURATION "
            "(30m, 12h, 7d, 1h30m).",
        ),
    ] = None,
    kustomize: options.Kustomize = None,
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            help="Also write the result as Prometheus metrics to FILE, atomically, a failed audit "
            "included (name it *.prom for the node-exporter textfile collector).",
        ),
    ] = None,
) -> int:
    """Compare the live cluster (or a snapshot) with Git: exit 0 in sync, 1 drift, 2 error."""
    from gitops_tool.core.drift import render
    from gitops_tool.core.drift.fieldsv1 import DEFAULT_APPLIERS, DEFAULT_IMPERATIVE
    from gitops_tool.core.drift.model import DriftReport
    from gitops_tool.services.drift import DriftRequest, run_drift

    if output not in _FORMATS:
        raise UserError(f"unknown --output {output!r}: use text, json or markdown")
    request = DriftRequest(
        overlay=overlay,
        ref=ref,
        worktree=worktree,
        desired_file=desired_file,
        live_file=live_file,
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        ignore_file=ignore_file,
        request_timeout=request_timeout,
        kustomize=kustomize,
        appliers=tuple(applier) if applier else DEFAULT_APPLIERS,
        imperative=tuple(imperative) if imperative else DEFAULT_IMPERATIVE,
        since=since,
    )
    progress = _progress if output == "text" and sys.stderr.isatty() else _quiet

    def present(report: DriftReport) -> int:
        if output == "json":
            typer.echo(render.render_json(report, show_in_sync))
        elif output == "markdown":
            typer.echo(render.render_markdown(report, show_in_sync))
        else:
            colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
            typer.echo(render.render_text(report, show_in_sync, colour))
        for warning in report.warnings:
            typer.echo(f"gitops-tool: warning: {warning}", err=True)
        if report.has_unknown and not allow_partial:
            counts = report.summary()
            raise ClusterError(
                f"{counts['unknown']} resource(s) and {counts['unknown_scopes']} scope(s) could not be read "
                "(see `unknown` above): the audit is incomplete; grant the auditor read access, or pass "
                "--allow-partial to accept a partial report"
            )
        return EXIT_FINDINGS if report.has_drift else EXIT_OK

    if metrics_file is None:
        return present(run_drift(request, progress))
    from gitops_tool.services.drift_metrics import run_drift_with_metrics

    return run_drift_with_metrics(request, metrics_file, progress, present)


def _progress(message: str) -> None:
    sys.stderr.write(f"\r\033[K{message}")
    sys.stderr.flush()


def _quiet(_message: str) -> None:
    return None
