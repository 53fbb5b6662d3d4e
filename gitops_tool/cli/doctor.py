"""``gitops-tool doctor``."""

import json

import typer

from gitops_tool.cli import options
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK, UserError


def register(app: typer.Typer) -> None:
    app.command(
        "doctor", epilog="Example: gitops-tool doctor --context prod --overlay overlays/three-node-ha"
    )(doctor)


def doctor(
    overlay: options.Overlay = DEFAULT_OVERLAY,
    output: options.OutputFormat = "text",
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """The reference architecture's troubleshooting steps as checks: pending pods, node labels, NFS,
    PVCs, schedulers, executor RBAC, recent warning events. Exit 1 when a check fails."""
    from gitops_tool.core.doctor import Status, report_json, report_text
    from gitops_tool.services.cluster_access import open_cluster
    from gitops_tool.services.doctor import diagnose

    if output not in ("text", "json"):
        raise UserError(f"unknown --output {output!r}: use text or json")
    with open_cluster(kubeconfig, context, request_timeout) as client:
        results = diagnose(client, overlay)
    if output == "json":
        typer.echo(json.dumps({"checks": report_json(results)}, indent=2))
    else:
        typer.echo(report_text(results))
    return EXIT_FINDINGS if any(r.status is Status.FAIL for r in results) else EXIT_OK
