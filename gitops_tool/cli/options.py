"""Options several commands share, so they read and behave the same everywhere."""

from __future__ import annotations

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
