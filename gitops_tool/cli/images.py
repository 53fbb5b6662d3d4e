"""``gitops-tool images``."""

import json

import typer

from gitops_tool.cli import options
from gitops_tool.core.conventions import DEFAULT_OVERLAY


def register(app: typer.Typer) -> None:
    app.command(
        "images",
        epilog="Example: gitops-tool images three-node-ha --output json",
    )(images)


def images(
    overlay: options.Overlay = None,
    output: options.OutputFormat = "text",
    kustomize: options.Kustomize = None,
) -> int:
    """List every image the overlay runs, with tag, digest and the workloads using it."""
    from gitops_tool.core.images import image_uses
    from gitops_tool.services.rendering import render_overlay

    overlay = overlay or DEFAULT_OVERLAY
    uses = image_uses(render_overlay(overlay, kustomize).objects())
    if output == "json":
        rows = [
            {
                "image": str(u.image),
                "repository": u.image.repository,
                "tag": u.image.tag or None,
                "digest": u.image.digest or None,
                "pinned": u.image.pinned,
                "workloads": u.workloads,
            }
            for u in uses
        ]
        typer.echo(json.dumps({"overlay": overlay, "images": rows}, indent=2))
        return 0
    for use in uses:
        digest = f" @{use.image.digest}" if use.image.digest else ""
        typer.echo(f"{use.image.repository}:{use.image.tag or '<none>'}{digest}")
        for workload in use.workloads:
            typer.echo(f"  {workload}")
    return 0
