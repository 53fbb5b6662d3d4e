"""``gitops-tool validate``."""

import json
from typing import Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK


def register(app: typer.Typer) -> None:
    app.command(
        "validate",
        epilog="Example: gitops-tool validate overlays/three-node-ha --kubernetes-version 1.33",
    )(validate)


def validate(
    overlays: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[OVERLAY]...",
            help="Overlay names or folders (default: every overlay under overlays/).",
            autocompletion=options.complete_overlay,
            show_default=False,
        ),
    ] = None,
    kubernetes_version: Annotated[
        str,
        typer.Option("--kubernetes-version", "-k", help="Kubernetes minor version (1.30-1.37)."),
    ] = "1.37",
    output: options.OutputFormat = "text",
    kustomize: options.Kustomize = None,
    no_policies: Annotated[
        bool,
        typer.Option("--no-policies", help="Check the Kubernetes schemas only, not policies/*.rego."),
    ] = False,
) -> int:
    """Render overlays; validate every object offline against the Kubernetes schemas (strict) and
    the repository's policies (policies/*.rego)."""
    from gitops_tool.core.validation import reports_to_json, reports_to_text
    from gitops_tool.services.validation import normalise_version, validate_overlays

    version = normalise_version(kubernetes_version)
    reports = validate_overlays(list(overlays or []), version, kustomize, policies=not no_policies)
    for warning in (w for r in reports for w in r.warnings):
        typer.echo(f"warning: {warning}", err=True)
    if output == "json":
        typer.echo(json.dumps(reports_to_json(reports, version), indent=2))
    else:
        typer.echo(reports_to_text(reports, version))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FINDINGS
