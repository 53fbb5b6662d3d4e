"""The root ``gitops-tool`` command: its Typer app, the top-level error handling, and a one-line
summary of every command.

``gitops-tool --help`` lists the commands from ``SUMMARIES`` on an app without them (``help_app``),
so it imports none of the command modules and builds none of their parameters; entry.py takes that
path. tests/test_cli_help.py checks that ``SUMMARIES`` is what the registered commands say and that
both paths print the same bytes.
"""

from typing import Any

import typer

# Typer >= 0.26 (the lower bound in pyproject.toml) vendors click as typer._click: usage errors come
# from there.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from gitops_tool import __version__
from gitops_tool.errors import EXIT_ERROR, EXIT_INTERRUPTED, Interrupted, UserError

# typer.TyperException exists from 0.28 on; with older releases UsageError (caught first) stands in.
_TYPER_ERROR: type[UsageError] = getattr(typer, "TyperException", UsageError)

HELP = "GitOps repository generator and drift auditor for Apache Airflow on Kubernetes (Argo CD)."

# Every visible top-level command and group, in the order `gitops-tool --help` lists them, with the
# first paragraph of its help. A command registered in app.py `_register()` needs its line here.
SUMMARIES: tuple[tuple[str, str], ...] = (
    (
        "init",
        "Make a fresh clone your own in one validated commit: the Git URL Argo CD syncs, the Service "
        "CIDR, the node of each role, the load balancer source ranges and the DAG repository.",
    ),
    ("render", "Render an overlay to multi-document YAML with the pinned kustomize."),
    (
        "validate",
        "Render overlays; validate every object offline against the Kubernetes schemas (strict) and the "
        "repository's policies (policies/*.rego).",
    ),
    ("images", "List every image the overlay runs, with tag, digest and the workloads using it."),
    ("add-scheduler", "Scaffold schedulers/scheduler-N in an overlay, validate it and commit it."),
    (
        "remove-scheduler",
        "Remove schedulers/scheduler-N from an overlay (never the last one), validate and commit.",
    ),
    (
        "doctor",
        "The reference architecture's troubleshooting steps as checks: pending pods, node labels, NFS, "
        "PVCs, schedulers, triggerers, executor RBAC, recent warning events, backups, the Airflow layout. "
        "Exit 1 when a check fails.",
    ),
    (
        "upgrade-airflow",
        "Set the Airflow image tag everywhere it occurs, in one validated Git commit (refuses downgrades, "
        "malformed tags and a tag already in place).",
    ),
    ("argocd", "Argo CD objects for this repository and its forks."),
    ("secrets", "Create and rotate the Secret airflow-secrets (values are never printed)."),
    (
        "nodes",
        "Check and apply the node role labels (node-role.kubernetes.io/airflow) of an overlay's mapping.",
    ),
    ("schedulers", "The schedulers of an overlay: add, remove and list them."),
    (
        "backup",
        "Metadata DB backups: enable the pg_dump CronJob in Git, run and list backups on the NFS volume.",
    ),
    (
        "components",
        "Optional Kustomize components (components/*): list them, enable or disable one in overlays.",
    ),
    ("drift", "Compare the live cluster (or a snapshot) with Git: exit 0 in sync, 1 drift, 2 error."),
    ("logs", "Airflow's logs on the airflow-logs volume: how many days CronJob airflow-log-retention keeps."),
    ("dags", "Publish DAG folders atomically to the airflow-dags volume (clusters without git-sync)."),
    ("migrate", "Migrate from the single-node legacy layout to the three-node HA layout, step by step."),
    ("policy", "The repository's Rego policies (policies/*.rego)."),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gitops-tool {__version__}")
        raise typer.Exit(0)


def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Log everything to stderr, and print the traceback of an internal error (exit 3) there "
        "too. Before the command: gitops-tool --debug COMMAND.",
    ),
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="Log progress to stderr (-vv: debug detail). Off by default."
    ),
) -> None:
    """GitOps repository generator and drift auditor for Apache Airflow on Kubernetes (Argo CD)."""
    # cli/entry.py reads these before the command runs (it needs --debug before Typer has loaded)
    # and configures logging; here they are declared so that help lists them and parsing accepts them.


def new_app() -> typer.Typer:
    """The root app with its options and no command yet."""
    app = typer.Typer(
        name="gitops-tool",
        help=HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        # Plain click help: rich's help renderer alone costs more start-up time than Typer itself.
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    return app


def _summary_only() -> None:
    """Never run: help_app only lists the commands."""


def help_app() -> typer.Typer:
    """The root app listing every command by its summary, for the root help only."""
    app = new_app()
    for name, summary in SUMMARIES:
        app.command(name, help=summary)(_summary_only)
    return app


def run(app: typer.Typer, argv: list[str] | None) -> int:
    """Run ``app``; returns its exit code. Usage errors become ``UserError``; everything else is
    left to the one handler in cli/entry.py."""
    try:
        code: Any = app(args=argv, prog_name="gitops-tool", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except NoArgsIsHelpError as exc:
        exc.show()
        return EXIT_ERROR
    except UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "gitops-tool"
        raise UserError(f"{exc.format_message()} (see '{command} --help')") from None
    except _TYPER_ERROR as exc:
        raise UserError(exc.format_message()) from None
    except typer.Abort:
        raise Interrupted("aborted") from None
    if code == EXIT_INTERRUPTED:  # Typer turns Ctrl-C into a silent return of 130; no command returns it
        raise Interrupted("interrupted")
    return code if isinstance(code, int) else 0
