"""The ``gitops-tool`` command and its top-level error handler.

Command modules import their heavy dependencies (kubernetes, deepdiff, git, regopy, jsonschema)
inside the command functions, so ``gitops-tool --help`` stays as fast as importing Typer.
"""

import sys

import typer

# Typer >= 0.26 vendors click as typer._click; its usage errors are raised from there.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from gitops_tool import __version__
from gitops_tool.cli.entry import fail as _fail
from gitops_tool.errors import EXIT_ERROR, GitopsError

app = typer.Typer(
    name="gitops-tool",
    help="GitOps repository generator and drift auditor for Apache Airflow on Kubernetes (Argo CD).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain click help: rich's help renderer alone costs more start-up time than Typer itself.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gitops-tool {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """GitOps repository generator and drift auditor for Apache Airflow on Kubernetes (Argo CD)."""


def _register() -> None:
    from gitops_tool.cli import (
        argocd,
        backup,
        dags,
        doctor,
        drift,
        images,
        migrate,
        nodes,
        policy,
        render,
        schedulers,
        secrets,
        upgrade,
        validate,
    )

    for module in (
        render,
        validate,
        images,
        argocd,
        secrets,
        nodes,
        schedulers,
        backup,
        drift,
        dags,
        doctor,
        migrate,
        policy,
        upgrade,
    ):
        module.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning expected failures into one line on stderr."""
    try:
        code = app(args=argv, prog_name="gitops-tool", standalone_mode=False)
    except GitopsError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "gitops-tool"
        _fail(f"{exc.format_message()} (see '{command} --help')", EXIT_ERROR)
    except typer.TyperException as exc:
        _fail(exc.format_message(), EXIT_ERROR)
    except typer.Abort:
        _fail("aborted", 130)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)
    if code == 130:  # Typer turns Ctrl-C into a silent return of 130; no command returns it itself
        _fail("interrupted", 130)
    sys.exit(code if isinstance(code, int) else 0)
