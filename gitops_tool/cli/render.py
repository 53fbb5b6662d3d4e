"""``gitops-tool render``."""

from typing import Annotated

import typer

from gitops_tool.cli import deprecation, options

_FORMATS = ("yaml", "json")


def register(app: typer.Typer) -> None:
    app.command(
        "render",
        epilog="Example: gitops-tool render three-node-ha --output-file three-node-ha.yaml",
    )(render)


def render(
    overlay: options.RequiredOverlay,
    output: Annotated[
        str | None, options.format_or_old_file(_FORMATS, "default yaml, the multi-document stream")
    ] = None,
    output_file: options.OutputFile = None,
    kustomize: options.Kustomize = None,
) -> int:
    """Render an overlay to multi-document YAML with the pinned kustomize."""
    import sys

    from gitops_tool.services.rendering import render_to

    target = deprecation.output_file(output, output_file, _FORMATS)
    render_to(overlay, target, kustomize, sys.stdout, as_json=output == "json")
    return 0
