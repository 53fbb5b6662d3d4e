"""Options several commands share, so they read and behave the same everywhere."""

from typing import Annotated

import typer

from gitops_tool.adapters.kustomize import KUSTOMIZE_ENV

Kustomize = Annotated[
    str | None,
    typer.Option(
        "--kustomize",
        help="A kustomize binary to render with instead of the pinned `kubectl kustomize` "
        f"(match your Argo CD's kustomize version); default from ${KUSTOMIZE_ENV}.",
    ),
]

OutputFormat = Annotated[str, typer.Option("--output", "-o", help="Output format: text or json.")]

# Cluster access, the same for every command that reads or changes the cluster.
Kubeconfig = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)."
    ),
]
Context = Annotated[
    str | None, typer.Option("--context", help="kubeconfig context (default: its current-context).")
]


def _finite_timeout(value: float) -> float:
    import math

    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number of seconds")
    return value


RequestTimeout = Annotated[
    float,
    typer.Option(
        "--request-timeout",
        min=0.1,
        max=86400,
        callback=_finite_timeout,
        help="Seconds each API request may take as a whole, body included (retried on 429/5xx).",
    ),
]
Overlay = Annotated[str, typer.Option("--overlay", help="Overlay folder, e.g. overlays/three-node-ha.")]
Yes = Annotated[
    bool, typer.Option("--yes", "-y", help="Act; without it the command only prints what it would do.")
]

# The committing commands that act on one overlay or all of them (components, backup, dags source).
OverlayArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[OVERLAY]", help="The overlay Argo CD syncs, e.g. three-node-ha (or give --all)."
    ),
]
AllOverlays = Annotated[bool, typer.Option("--all", help="Every overlay under overlays/.")]
NoCommit = Annotated[bool, typer.Option("--no-commit", help="Write and validate, but leave it uncommitted.")]
KubernetesVersion = Annotated[
    str, typer.Option("--kubernetes-version", "-k", help="Kubernetes minor version to validate against.")
]
