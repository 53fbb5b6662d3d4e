"""``gitops-tool nodes check|apply``."""

import json

import typer

from gitops_tool.cli import deprecation, options
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK

nodes_app = typer.Typer(
    name="nodes",
    help="Check and apply the node role labels (node-role.kubernetes.io/airflow) of an overlay's mapping.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(nodes_app, name="nodes")


@nodes_app.command(
    "check", epilog="Example: gitops-tool nodes check three-node-ha --context prod --output json"
)
def check(  # noqa: PLR0917 - Typer maps parameters to options
    overlay: options.Overlay = None,
    old_overlay: options.OldOverlay = None,
    output: options.OutputFormat = "text",
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Compare live node labels with the overlay's node-roles.yaml; exit 1 listing mismatches."""
    from gitops_tool.services import nodes
    from gitops_tool.services.cluster_access import open_cluster

    loaded = nodes.load_mapping(deprecation.overlay_from(overlay, old_overlay) or DEFAULT_OVERLAY)
    assert loaded is not None  # noqa: S101 - required=True raises instead
    with open_cluster(kubeconfig, context, request_timeout) as client:
        plan = nodes.plan(client, loaded.mapping)
    if output == "json":
        document = {
            "overlay": loaded.overlay,
            "roles": loaded.mapping.roles,
            "in_sync": plan.in_sync,
            "problems": plan.problems(),
            "unmapped_roles": plan.unmapped_roles,
        }
        typer.echo(json.dumps(document, indent=2))
        return EXIT_OK if plan.in_sync else EXIT_FINDINGS
    for node, role in sorted(plan.unmapped_roles.items()):
        typer.echo(f"note: {node} carries role {role}, which {loaded.overlay} does not map (left alone)")
    if plan.in_sync:
        typer.echo(
            f"node labels match {loaded.overlay}/node-roles.yaml ({len(loaded.mapping.roles)} role(s))"
        )
        return EXIT_OK
    typer.echo(f"{len(plan.problems())} node label mismatch(es) against {loaded.overlay}/node-roles.yaml:")
    for line in plan.problems():
        typer.echo(f"  {line}")
    return EXIT_FINDINGS


@nodes_app.command("apply", epilog="Example: gitops-tool nodes apply three-node-ha --yes")
def apply(  # noqa: PLR0917 - Typer maps parameters to options
    overlay: options.Overlay = None,
    old_overlay: options.OldOverlay = None,
    yes: options.Yes = False,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Label the mapped nodes (dry run by default: prints the plan; --yes to act)."""
    from gitops_tool.errors import UserError
    from gitops_tool.services import nodes
    from gitops_tool.services.cluster_access import open_cluster

    loaded = nodes.load_mapping(deprecation.overlay_from(overlay, old_overlay) or DEFAULT_OVERLAY)
    assert loaded is not None  # noqa: S101 - required=True raises instead
    with open_cluster(kubeconfig, context, request_timeout) as client:
        plan = nodes.plan(client, loaded.mapping)
        if plan.missing_nodes:
            missing = ", ".join(f"{node} ({role})" for role, node in sorted(plan.missing_nodes.items()))
            raise UserError(
                f"mapped node(s) not in the cluster: {missing}; fix {loaded.overlay}/node-roles.yaml"
            )
        if not plan.changes:
            typer.echo(f"nothing to do: node labels match {loaded.overlay}/node-roles.yaml")
            return EXIT_OK
        if not yes:
            typer.echo(f"dry run: {len(plan.changes)} change(s) planned (run again with --yes to apply):")
            for change in plan.changes:
                typer.echo(f"  {change.describe()}")
            return EXIT_OK
        for line in nodes.apply_changes(client, plan.changes):
            typer.echo(f"labelled {line}")
    return EXIT_OK
