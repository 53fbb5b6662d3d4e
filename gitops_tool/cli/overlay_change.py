"""The committing commands that act on one overlay or all of them (components enable|disable, backup
enable|disable, logs retention set): their OVERLAY / --all / --no-commit / --kubernetes-version /
--kustomize options made into the service's ComponentOptions, and the change they made reported."""

from typing import TYPE_CHECKING

import typer

from gitops_tool.errors import UserError

if TYPE_CHECKING:
    from gitops_tool.services.components import ChangeResult, ComponentOptions


def component_options(
    overlay: str | None, all_overlays: bool, no_commit: bool, kubernetes_version: str, kustomize: str | None
) -> "ComponentOptions":
    from gitops_tool.services.components import ComponentOptions
    from gitops_tool.services.validation import normalise_version

    if overlay is not None and all_overlays:
        raise UserError("give an OVERLAY or --all, not both")
    if overlay is None and not all_overlays:
        raise UserError("give the OVERLAY Argo CD syncs (such as three-node-ha) or --all")
    return ComponentOptions(
        overlays=(overlay,) if overlay is not None else (),
        commit=not no_commit,
        kubernetes_version=normalise_version(kubernetes_version),
        kustomize=kustomize,
    )


def report_change(result: "ChangeResult") -> None:
    where = (
        f"commit {result.commit[:12]}: {result.message}" if result.commit else "not committed (--no-commit)"
    )
    typer.echo(where)
    for path in result.paths:
        typer.echo(f"  {path}")
    for label in result.skipped:
        typer.echo(f"note: {label} left as it was (already in that state)", err=True)
