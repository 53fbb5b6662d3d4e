"""``gitops-tool argocd``: Argo CD objects for this repository and its forks."""

from typing import Annotated

import typer

from gitops_tool.cli import options

argocd_app = typer.Typer(
    help="Argo CD objects for this repository and its forks.", no_args_is_help=True, rich_markup_mode=None
)


def register(app: typer.Typer) -> None:
    app.add_typer(argocd_app, name="argocd")


@argocd_app.command(
    "app",
    epilog="Example: gitops-tool argocd app three-node-ha --repo-url https://github.com/you/gitops-tool.git "
    "| kubectl apply -n argocd -f -",
)
def app_command(
    overlay: options.RequiredOverlay,
    *,
    repo_url: Annotated[
        str | None,
        typer.Option(
            "--repo-url",
            help="Git URL Argo CD clones (https://... or git@host:owner/repo.git); default: the one "
            "argocd/root.yaml names (`gitops-tool init --repo-url` sets it).",
        ),
    ] = None,
    revision: Annotated[str, typer.Option("--revision", help="Branch, tag or commit to sync.")] = "HEAD",
    name: Annotated[str, typer.Option("--name", help="Name of the Application.")] = "airflow",
    with_project: Annotated[
        bool,
        typer.Option(
            "--with-project", help="Also print the AppProject, accepting only --repo-url as source."
        ),
    ] = False,
    output: options.YamlOrJson = "yaml",
) -> int:
    """Print an Argo CD Application that syncs OVERLAY from a fork of this repository."""
    import json

    import yaml

    from gitops_tool.services.argocd import fork_application

    objects = fork_application(
        overlay, repo_url=repo_url, revision=revision, name=name, with_project=with_project
    )
    if output == "json":
        shown = objects[0] if len(objects) == 1 else {"apiVersion": "v1", "kind": "List", "items": objects}
        typer.echo(json.dumps(shown, indent=2))
    else:
        typer.echo(yaml.safe_dump_all(objects, sort_keys=False), nl=False)
    return 0
