"""``gitops-tool drift`` (the audit) and ``gitops-tool drift adopt`` (live changes into Git).

``drift`` is a group whose default command is the audit: ``drift OVERLAY [OPTIONS]`` is
``drift audit OVERLAY [OPTIONS]``; ``drift adopt ...`` runs the adoption.
"""

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from gitops_tool.cli import options
from gitops_tool.errors import EXIT_FINDINGS, EXIT_OK, ClusterError

_SUMMARY = "Compare the live cluster (or a snapshot) with Git: exit 0 in sync, 1 drift, 2 error."
_AUDIT = "audit"


class _DriftGroup(TyperGroup):
    """Arguments that do not start with a subcommand's name are the audit's (``drift --help`` too)."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        if not args or args[0] not in self.commands:
            return self.commands[_AUDIT].make_context(info_name, args, parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


drift_app = typer.Typer(cls=_DriftGroup, help=_SUMMARY)

_LiveFile = Annotated[
    str | None,
    typer.Option(
        "--live-file", help="Live objects as `kubectl get -o yaml|json` prints them, instead of a cluster."
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(drift_app, name="drift", help=_SUMMARY)


@drift_app.command(
    _AUDIT,
    epilog="Example: gitops-tool drift overlays/three-node-ha --live-file "
    "examples/live/three-node-ha.yaml   (then: gitops-tool drift adopt --help)",
)
def drift(  # noqa: PLR0917 - Typer reads the options from the signature
    overlay: options.Overlay = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Git revision to render the overlay at (default: HEAD).")
    ] = None,
    worktree: Annotated[
        bool, typer.Option("--worktree", help="Render the work tree, uncommitted changes included.")
    ] = False,
    desired_file: Annotated[
        str | None,
        typer.Option(
            "--desired-file", help="Rendered manifests (YAML, JSON or a List; - for stdin) as desired."
        ),
    ] = None,
    live_file: _LiveFile = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Namespace for objects without one; limits the audit to it."),
    ] = None,
    ignore_file: Annotated[
        str | None,
        typer.Option("--ignore-file", help="More ignoreDifferences rules (Argo CD format), YAML or JSON."),
    ] = None,
    output: options.TextJsonMarkdown = "text",
    show_in_sync: Annotated[bool, typer.Option("--show-in-sync", help="List in-sync resources too.")] = False,
    request_timeout: options.RequestTimeout = 30.0,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="Report kinds the auditor could not read (forbidden, unusable answers) as unknown "
            "instead of exit 2.",
        ),
    ] = False,
    applier: Annotated[
        list[str] | None,
        typer.Option("--applier", help="Field manager that applies Git (repeat; replaces the defaults)."),
    ] = None,
    imperative: Annotated[
        list[str] | None,
        typer.Option("--imperative-manager", help="Field manager glob counted as a manual change (repeat)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DURATION",
            help="Only differences whose live owner (managedFields) wrote within DURATION "
            "(30m, 12h, 7d, 1h30m).",
        ),
    ] = None,
    blame: Annotated[
        bool,
        typer.Option(
            "--blame",
            help="Also name the file, line and commit that produce each desired value (through the "
            "kustomization: resource, patch, component, replacement; 'generated' where none does).",
        ),
    ] = False,
    kustomize: options.Kustomize = None,
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            help="Also write the result as Prometheus metrics to FILE, atomically, a failed audit "
            "included (name it *.prom for the node-exporter textfile collector).",
        ),
    ] = None,
) -> int:
    """Compare the live cluster (or a snapshot) with Git: exit 0 in sync, 1 drift, 2 error.

    The default command of `drift`: `gitops-tool drift OVERLAY` and `gitops-tool drift audit OVERLAY`
    are the same.
    """
    from gitops_tool.core.drift import render
    from gitops_tool.core.drift.fieldsv1 import DEFAULT_APPLIERS, DEFAULT_IMPERATIVE
    from gitops_tool.core.drift.model import DriftReport
    from gitops_tool.services.drift import DriftRequest, run_drift

    request = DriftRequest(
        overlay=overlay,
        ref=ref,
        worktree=worktree,
        desired_file=desired_file,
        live_file=live_file,
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        ignore_file=ignore_file,
        request_timeout=request_timeout,
        kustomize=kustomize,
        appliers=tuple(applier) if applier else DEFAULT_APPLIERS,
        imperative=tuple(imperative) if imperative else DEFAULT_IMPERATIVE,
        since=since,
        blame=blame,
    )
    progress = _progress if output == "text" and sys.stderr.isatty() else _quiet

    def present(report: DriftReport) -> int:
        if output == "json":
            typer.echo(render.render_json(report, show_in_sync))
        elif output == "markdown":
            typer.echo(render.render_markdown(report, show_in_sync))
        else:
            colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
            typer.echo(render.render_text(report, show_in_sync, colour))
        for warning in report.warnings:
            typer.echo(f"gitops-tool: warning: {warning}", err=True)
        if report.has_unknown and not allow_partial:
            counts = report.summary()
            raise ClusterError(
                f"{counts['unknown']} resource(s) and {counts['unknown_scopes']} scope(s) could not be read "
                "(see `unknown` above): the audit is incomplete; grant the auditor read access, or pass "
                "--allow-partial to accept a partial report"
            )
        return EXIT_FINDINGS if report.has_drift else EXIT_OK

    if metrics_file is None:
        return present(run_drift(request, progress))
    from gitops_tool.services.drift_metrics import run_drift_with_metrics

    return run_drift_with_metrics(request, metrics_file, progress, present)


def _progress(message: str) -> None:
    sys.stderr.write(f"\r\033[K{message}")
    sys.stderr.flush()


def _quiet(_message: str) -> None:
    return None


@drift_app.command(
    "adopt",
    epilog="Example: gitops-tool drift adopt overlays/three-node-ha --context prod "
    "--only Deployment/airflow/airflow-scheduler-1 --dry-run   (then without --dry-run: one commit)",
)
def adopt(  # noqa: PLR0917 - Typer reads the options from the signature
    overlay: options.RequiredOverlay,
    live_file: _LiveFile = None,
    kubeconfig: options.Kubeconfig = None,
    context: options.Context = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="KIND/NAMESPACE/NAME",
            help="Adopt only this object's differences (repeat; KIND/NAME for cluster-scoped kinds).",
        ),
    ] = None,
    include_extra: Annotated[
        bool,
        typer.Option(
            "--include-extra", help="Also add extra objects (live, not in Git) as new resource files."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the patches as a unified diff; write nothing.")
    ] = False,
    no_commit: options.NoCommit = False,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Commit subject instead of the default.")
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace", "-n", help="Namespace for objects without one; limits the adoption to it."
        ),
    ] = None,
    request_timeout: options.RequestTimeout = 30.0,
    kubernetes_version: options.KubernetesVersion = "1.37",
    kustomize: options.Kustomize = None,
) -> int:
    """Write live differences into the overlay as patches (never base/), validate, one commit.

    Each drifted object gets one strategic-merge patch file, adopted/<kind>-<namespace>-<name>.yaml,
    listed under the overlay's patches; the commit message lists every adopted field with its live
    owner and time. Refused (exit 2, nothing written): Secret data, fields a controller owns, values
    a policy forbids, extra objects without --include-extra, a dirty work tree or detached HEAD, an
    overlay that does not render.
    """
    from gitops_tool.services.drift_adopt import AdoptRequest
    from gitops_tool.services.drift_adopt import adopt as run_adopt

    request = AdoptRequest(
        overlay=overlay,
        live_file=live_file,
        kubeconfig=kubeconfig,
        context=context,
        namespace=namespace,
        request_timeout=request_timeout,
        kustomize=kustomize,
        only=tuple(only or ()),
        include_extra=include_extra,
        dry_run=dry_run,
        commit=not no_commit,
        message=message,
        kubernetes_version=kubernetes_version,
    )
    progress = _progress if sys.stderr.isatty() else _quiet
    result = run_adopt(request, progress)
    for note in result.notes:
        typer.echo(f"gitops-tool: warning: {note}", err=True)
    if not result.adoptions:
        typer.echo(f"nothing to adopt: {result.overlay} has no live change to take into Git")
        return EXIT_OK
    if dry_run:
        typer.echo(result.diff, nl=False)
        return EXIT_OK
    fields = sum(max(len(x.differences), 1) for x in result.adoptions)
    where = f"commit {result.commit[:12]}" if result.commit else "not committed (--no-commit)"
    count = len(result.adoptions)
    typer.echo(f"adopted {fields} live change(s) of {count} object(s) into {result.overlay} ({where}):")
    for title, file in result.files.items():
        typer.echo(f"  {title} -> {file}")
    return EXIT_OK
