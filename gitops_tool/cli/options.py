"""Options several commands share, so they read and behave the same everywhere.

The grammar (docs/concepts/cli-grammar.md; tests/test_cli_grammar.py enforces it): the overlay is the
positional OVERLAY argument of every command that acts on one; ``-o/--output`` is always the output
format, a choice; files are ``--output-file``; ``--repo`` is the local gitops repository.
"""

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer._types import TyperChoice

from gitops_tool.cli.deprecation import DEPRECATED
from gitops_tool.core.conventions import DEFAULT_OVERLAY
from gitops_tool.services.rendering import KUSTOMIZE_ENV


def complete_overlay(incomplete: str) -> list[str]:
    """Shell completion: the overlays of the repository under the current folder."""
    from gitops_tool.services.completion import overlay_names

    return [name for name in overlay_names() if name.startswith(incomplete)]


def _overlay_so_far(ctx: typer.Context) -> str | None:
    params = ctx.params
    value = params.get("overlay") or params.get("old_overlay")
    return value if isinstance(value, str) else None


def complete_scheduler(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion: the schedulers the overlay has."""
    from gitops_tool.services.completion import scheduler_numbers

    numbers = scheduler_numbers(_overlay_so_far(ctx), existing=True)
    return [n for n in numbers if n.startswith(incomplete)]


def complete_new_scheduler(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion: the next scheduler number free in the overlay."""
    from gitops_tool.services.completion import scheduler_numbers

    numbers = scheduler_numbers(_overlay_so_far(ctx), existing=False)
    return [n for n in numbers if n.startswith(incomplete)]


class FormatOrOldFile(TyperChoice[str]):
    """An output format; any other value is the old ``-o FILE`` spelling, passed through for one
    release (deprecation.output_file says so on stderr)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str) and value not in self.choices:
            return value
        return super().convert(value, param, ctx)


Kustomize = Annotated[
    str | None,
    typer.Option(
        "--kustomize",
        help="A kustomize binary to render with instead of the pinned `kubectl kustomize` "
        f"(match your Argo CD's kustomize version); default from ${KUSTOMIZE_ENV}.",
    ),
]

# -o/--output: always the output format, a choice of what the command prints.
_FORMAT_HELP = "Output format."
OutputFormat = Annotated[Literal["text", "json"], typer.Option("--output", "-o", help=_FORMAT_HELP)]
TextJsonMarkdown = Annotated[
    Literal["text", "json", "markdown"], typer.Option("--output", "-o", help=_FORMAT_HELP)
]
YamlOrJson = Annotated[Literal["yaml", "json"], typer.Option("--output", "-o", help=_FORMAT_HELP)]
OutputFile = Annotated[
    str | None, typer.Option("--output-file", help="Write to FILE (atomically) instead of stdout.")
]

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
# The overlay: the positional OVERLAY everywhere; --overlay is its old spelling, kept one release.
_OVERLAY_HELP = "Overlay name or folder, e.g. three-node-ha or overlays/three-node-ha"


def overlay_argument(help: str, *, metavar: str = "[OVERLAY]", show_default: bool = True) -> Any:
    """The positional OVERLAY, completed from the repository's overlays."""
    return typer.Argument(
        metavar=metavar, help=help, autocompletion=complete_overlay, show_default=show_default
    )


Overlay = Annotated[
    str | None, overlay_argument(f"{_OVERLAY_HELP} (default: {DEFAULT_OVERLAY}).", show_default=False)
]
OldOverlay = Annotated[
    str | None,
    typer.Option(
        "--overlay",
        hidden=True,
        help=f"{DEPRECATED} give the overlay as the OVERLAY argument.",
        autocompletion=complete_overlay,
    ),
]
# Commands that need an overlay and have no default.
RequiredOverlay = Annotated[str, overlay_argument(f"{_OVERLAY_HELP}.", metavar="OVERLAY")]


def format_or_old_file(formats: tuple[str, ...], default_help: str) -> Any:
    """``-o/--output`` of a command that wrote ``-o FILE`` before ``--output-file`` existed."""
    return typer.Option(
        "--output",
        "-o",
        click_type=FormatOrOldFile(formats),
        help=f"Output format: {' or '.join(formats)} ({default_help}).",
    )


Repo = Annotated[
    Path | None,
    typer.Option("--repo", help="The gitops repository (any folder inside it); default: the current folder."),
]
Yes = Annotated[
    bool, typer.Option("--yes", "-y", help="Act; without it the command only prints what it would do.")
]

# The committing commands that act on one overlay or all of them (components, backup, dags source).
OverlayArgument = Annotated[
    str | None, overlay_argument(f"{_OVERLAY_HELP}: the one Argo CD syncs (or give --all).")
]
AllOverlays = Annotated[bool, typer.Option("--all", help="Every overlay under overlays/.")]
NoCommit = Annotated[bool, typer.Option("--no-commit", help="Write and validate, but leave it uncommitted.")]
KubernetesVersion = Annotated[
    str, typer.Option("--kubernetes-version", "-k", help="Kubernetes minor version to validate against.")
]
