"""``gitops-tool doctor``."""

import json

import typer

from gitops_tool.cli import deprecation, options
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK


def register(app: typer.Typer) -> None:
    app.command("doctor", epilog="Example: gitops-tool doctor three-node-ha --context prod")(doctor)


def doctor(  # noqa: PLR0917 - Typer maps parameters to options
    overlay: options.Overlay = None,
    old_overlay: options.OldOverlay = None,
    output: options.OutputFormat = "text",
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """The reference architecture's troubleshooting steps as checks: pending pods, node labels, NFS,
    PVCs, schedulers, triggerers, executor RBAC, recent warning events, backups, the Airflow layout.
    Exit 1 when a check fails."""
    from gitops_tool.core.doctor import Status, report_json, report_text
    from gitops_tool.services.cluster_access import open_cluster
    from gitops_tool.services.doctor import diagnose

    chosen = deprecation.overlay_from(overlay, old_overlay) or DEFAULT_OVERLAY
    with open_cluster(kubeconfig, context, request_timeout) as client:
        results = diagnose(client, chosen)
    if output == "json":
        typer.echo(json.dumps({"checks": report_json(results)}, indent=2))
    else:
        typer.echo(report_text(results))
    return EXIT_FINDINGS if any(r.status is Status.FAIL for r in results) else EXIT_OK
