"""``gitops-tool migrate plan|check``: legacy single-node layout -> three-node HA."""

from typing import TYPE_CHECKING, Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.core.conventions import DEFAULT_OVERLAY, LEGACY_OVERLAY
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK

if TYPE_CHECKING:
    from gitops_tool.core.migration import MigrationFacts

migrate_app = typer.Typer(
    name="migrate",
    help="Migrate from the single-node legacy layout to the three-node HA layout, step by step.",
    no_args_is_help=True,
)
# Two overlays, so named options rather than the OVERLAY argument: --from the legacy one --to HA.
Target = Annotated[
    str, typer.Option("--to", help="The HA overlay to migrate to.", autocompletion=options.complete_overlay)
]
Legacy = Annotated[
    str,
    typer.Option("--from", help="The legacy overlay running now.", autocompletion=options.complete_overlay),
]
MaxAge = Annotated[float, typer.Option("--max-backup-age", min=0.1, help="Hours a backup counts as recent.")]


def register(app: typer.Typer) -> None:
    app.add_typer(migrate_app, name="migrate")


def _facts(
    *,
    target: str,
    legacy: str,
    max_age: float,
    kubeconfig: str | None,
    context: str | None,
    request_timeout: float,
) -> "MigrationFacts":
    from datetime import timedelta

    from gitops_tool.services.cluster_access import open_cluster
    from gitops_tool.services.migration import gather

    with open_cluster(kubeconfig, context, request_timeout) as client:
        return gather(client, target, legacy, timedelta(hours=max_age))


@migrate_app.command("plan", epilog="Example: gitops-tool migrate plan --context prod")
def plan(  # noqa: PLR0917 - Typer maps parameters to options
    output: options.OutputFormat = "text",
    target: Target = DEFAULT_OVERLAY,
    legacy: Legacy = LEGACY_OVERLAY,
    max_backup_age: MaxAge = 24.0,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Print the ordered migration steps for this cluster, each marked done or to do, with its command."""
    from gitops_tool.core.migration import plan_steps, plan_text

    facts = _facts(
        target=target,
        legacy=legacy,
        max_age=max_backup_age,
        kubeconfig=kubeconfig,
        context=context,
        request_timeout=request_timeout,
    )
    steps = plan_steps(facts)
    if output == "json":
        import json
        from dataclasses import asdict

        typer.echo(json.dumps({"steps": [asdict(step) for step in steps]}, indent=2))
    else:
        typer.echo(plan_text(steps))
    return EXIT_OK


@migrate_app.command("check", epilog="Example: gitops-tool migrate check --context prod")
def check(  # noqa: PLR0917 - Typer maps parameters to options
    output: options.OutputFormat = "text",
    target: Target = DEFAULT_OVERLAY,
    legacy: Legacy = LEGACY_OVERLAY,
    max_backup_age: MaxAge = 24.0,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    request_timeout: options.RequestTimeout = 30.0,
) -> int:
    """Verify the preconditions for switching to HA (nodes, labels, recent backup, Application
    healthy); exit 1 listing what is missing."""
    from gitops_tool.core.doctor import Status, report_json, report_text
    from gitops_tool.core.migration import check_preconditions

    facts = _facts(
        target=target,
        legacy=legacy,
        max_age=max_backup_age,
        kubeconfig=kubeconfig,
        context=context,
        request_timeout=request_timeout,
    )
    results = check_preconditions(facts)
    if output == "json":
        import json

        typer.echo(json.dumps({"checks": report_json(results)}, indent=2))
    else:
        typer.echo(report_text(results))
    return EXIT_OK if all(r.status is Status.PASS for r in results) else EXIT_FINDINGS


@migrate_app.command(
    "switch", epilog="Example: gitops-tool migrate switch --to overlays/three-node-ha && git push"
)
def switch(
    target: Target = DEFAULT_OVERLAY,
    no_commit: Annotated[bool, typer.Option("--no-commit", help="Leave the change uncommitted.")] = False,
) -> int:
    """Step 3: commit the argocd/root.yaml change that points the Airflow Application at the target
    overlay (run `migrate check` first; push to let Argo CD sync it)."""
    from gitops_tool.services.migration import switch as do_switch

    result = do_switch(target, commit=not no_commit)
    typer.echo(
        f"{result.path}: the root app now selects applications/{result.after}.yaml (was {result.before})"
    )
    if result.commit:
        typer.echo(f"committed {result.commit[:12]}; push it, then watch: gitops-tool migrate plan")
    else:
        typer.echo("not committed (--no-commit): review with git diff, then commit and push")
    return EXIT_OK
