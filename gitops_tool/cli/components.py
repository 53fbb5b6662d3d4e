"""``gitops-tool components list|enable|disable``: the optional components of components/."""

import json
from dataclasses import asdict
from typing import Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.cli.overlay_change import component_options, report_change
from gitops_tool.errors import EXIT_OK

components_app = typer.Typer(
    name="components",
    help="Optional Kustomize components (components/*): list them, enable or disable one in overlays.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(metavar="NAME", help="The component, e.g. drift-cronjob.")]


def register(app: typer.Typer) -> None:
    app.add_typer(components_app, name="components")


@components_app.command("list", epilog="Example: gitops-tool components list three-node-ha --output json")
def list_(
    overlay: Annotated[
        str | None, options.overlay_argument("Overlay name or folder (default: every overlay).")
    ] = None,
    output: options.OutputFormat = "text",
) -> int:
    """Each component with what it does and whether each overlay enables it."""
    from gitops_tool.services.components import list_states

    states = list_states(overlay)
    if output == "json":
        typer.echo(json.dumps({"components": [asdict(s) for s in states]}, indent=2))
        return EXIT_OK
    overlays = list(states[0].enabled) if states else []
    width = max([len("COMPONENT"), *(len(s.name) for s in states)])
    heads = [o.rsplit("/", 1)[-1] for o in overlays]
    typer.echo("  ".join([f"{'COMPONENT':<{width}}", *(h.upper() for h in heads), "DESCRIPTION"]))
    for state in states:
        cells = [
            f"{('on' if state.enabled[o] else 'off'):<{len(h)}}" for o, h in zip(overlays, heads, strict=True)
        ]
        needs = f" (requires {', '.join(state.requires)})" if state.requires else ""
        typer.echo("  ".join([f"{state.name:<{width}}", *cells, state.summary + needs]))
    return EXIT_OK


@components_app.command("enable", epilog="Example: gitops-tool components enable drift-cronjob three-node-ha")
def enable(  # noqa: PLR0917 - Typer maps parameters to options
    name: Name,
    overlay: options.OverlayArgument = None,
    all_overlays: options.AllOverlays = False,
    no_commit: options.NoCommit = False,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """List a component (and what it requires, before it) in an overlay's components:, let the Argo
    CD project admit what it renders, validate and commit."""
    from gitops_tool.services import components

    result = components.enable(
        name, component_options(overlay, all_overlays, no_commit, kubernetes_version, kustomize)
    )
    report_change(result)
    return EXIT_OK


@components_app.command("disable", epilog="Example: gitops-tool components disable git-sync-ssh --all")
def disable(  # noqa: PLR0917 - Typer maps parameters to options
    name: Name,
    overlay: options.OverlayArgument = None,
    all_overlays: options.AllOverlays = False,
    no_commit: options.NoCommit = False,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """Remove a component from an overlay's components: (refused while another one requires it), drop
    what no overlay renders any more from the Argo CD project, validate and commit."""
    from gitops_tool.services import components

    result = components.disable(
        name, component_options(overlay, all_overlays, no_commit, kubernetes_version, kustomize)
    )
    report_change(result)
    return EXIT_OK
