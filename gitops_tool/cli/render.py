"""``gitops-tool render``."""

from pathlib import Path
from typing import Annotated

import typer

from gitops_tool.cli import options


def register(app: typer.Typer) -> None:
    app.command(
        "render",
        epilog="Example: gitops-tool render overlays/three-node-ha --output three-node-ha.yaml",
    )(render)


def render(
    overlay: Annotated[str, typer.Argument(help="Overlay folder, e.g. overlays/three-node-ha.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the manifests to FILE (atomically) instead of stdout."),
    ] = None,
    kustomize: options.Kustomize = None,
) -> int:
    """Render an overlay to multi-document YAML with the pinned kustomize."""
    import sys

    from gitops_tool.services.rendering import render_to

    render_to(overlay, str(output) if output else None, kustomize, sys.stdout)
    return 0
