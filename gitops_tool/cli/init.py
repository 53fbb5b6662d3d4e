"""``gitops-tool init``: make a fresh clone your own (Argo CD source, Service CIDR, nodes, ranges)."""

import sys
from typing import Annotated

import typer

from gitops_tool.cli import options
from gitops_tool.errors import UserError

_EXAMPLE = (
    "Example: gitops-tool init --repo-url https://git.example.com/team/airflow-gitops.git "
    "--service-cidr 10.43.0.0/16 --node management=m1 --node scheduler-1=s1 --node scheduler-2=s2 "
    "--lb-source-range 203.0.113.0/24"
)


def register(app: typer.Typer) -> None:
    app.command("init", epilog=_EXAMPLE)(init)


def init(  # noqa: PLR0917 - Typer maps parameters to options
    overlay: options.Overlay = None,
    repo_url: Annotated[
        str | None,
        typer.Option(
            "--repo-url",
            help="Git URL Argo CD clones this repository from (https://... or git@HOST:PATH), written "
            "into every Application and AppProject of argocd/. Asked for on a terminal.",
        ),
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="Branch, tag or commit the Applications sync.")
    ] = None,
    service_cidr: Annotated[
        str | None,
        typer.Option(
            "--service-cidr",
            help="The cluster's Service CIDR (kubeadm 10.96.0.0/12, k3s 10.43.0.0/16, EKS 10.100.0.0/16 "
            "or 172.20.0.0/16): the NFS Service's fixed ClusterIP is chosen inside it.",
        ),
    ] = None,
    nfs_cluster_ip: Annotated[
        str | None,
        typer.Option("--nfs-cluster-ip", help="The NFS Service's ClusterIP (default: chosen in the CIDR)."),
    ] = None,
    node: Annotated[
        list[str] | None,
        typer.Option("--node", help="ROLE=NODE for the overlay's node-roles.yaml (repeat)."),
    ] = None,
    lb_source_range: Annotated[
        list[str] | None,
        typer.Option(
            "--lb-source-range",
            help="Client range admitted by the LoadBalancers (repeat; the overlay's lb-source-ranges.yaml).",
        ),
    ] = None,
    dag_repo: Annotated[
        str | None,
        typer.Option("--dag-repo", help="The Git repository git-sync syncs DAGs from (https://HOST/PATH)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the change as a unified diff; write nothing.")
    ] = False,
    repo: options.Repo = None,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """Make a fresh clone your own in one validated commit: the Git URL Argo CD syncs, the Service
    CIDR, the node of each role, the load balancer source ranges and the DAG repository."""
    from gitops_tool.core.conventions import DEFAULT_OVERLAY
    from gitops_tool.services.init import InitRequest
    from gitops_tool.services.init import init as run
    from gitops_tool.services.validation import normalise_version

    if repo_url is None:
        if not sys.stdin.isatty():
            raise UserError("give --repo-url URL (the Git URL Argo CD clones this repository from)")
        repo_url, revision, service_cidr, node, lb_source_range, dag_repo = _ask(
            revision, service_cidr, node, lb_source_range, dag_repo
        )
    request = InitRequest(
        repo_url=repo_url,
        overlay=overlay or DEFAULT_OVERLAY,
        revision=revision,
        service_cidr=service_cidr,
        nfs_cluster_ip=nfs_cluster_ip,
        nodes=tuple(node or ()),
        lb_source_ranges=tuple(lb_source_range or ()),
        dag_repo=dag_repo or None,
        dry_run=dry_run,
        kubernetes_version=normalise_version(kubernetes_version),
        kustomize=kustomize,
    )
    result = run(request, repo)
    if dry_run:
        typer.echo(result.diff, nl=False)
        typer.echo(f"dry run: nothing written; would commit: {result.message}", err=True)
        return 0
    typer.echo(f"commit {(result.commit or '')[:12]}: {result.message}")
    for path in result.paths:
        typer.echo(f"  {path}")
    if result.nfs_cluster_ip:
        typer.echo(f"NFS Service ClusterIP: {result.nfs_cluster_ip} (check it live: gitops-tool doctor)")
    typer.echo("next: git push, then bootstrap Argo CD (docs/tasks/make-it-yours.md)")
    return 0


def _ask(
    revision: str | None,
    service_cidr: str | None,
    nodes: list[str] | None,
    ranges: list[str] | None,
    dag_repo: str | None,
) -> tuple[str, str | None, str | None, list[str] | None, list[str] | None, str | None]:
    """The values not given as flags, asked for on the terminal (Enter keeps what the clone has)."""
    url = typer.prompt("Git URL Argo CD clones this repository from (no credentials)")
    revision = revision or typer.prompt("Revision to sync", default="HEAD")
    service_cidr = service_cidr or typer.prompt("The cluster's Service CIDR", default="10.96.0.0/12")
    if not nodes:
        answer = typer.prompt("Nodes as ROLE=NODE, separated by spaces (Enter: keep)", default="")
        nodes = answer.split() or None
    if not ranges:
        answer = typer.prompt("LoadBalancer source ranges, separated by spaces (Enter: keep)", default="")
        ranges = answer.split() or None
    if dag_repo is None:
        dag_repo = typer.prompt("Git URL of the DAG repository (Enter: keep)", default="") or None
    return url, revision, service_cidr, nodes, ranges, dag_repo
