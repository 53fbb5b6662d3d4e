"""Old spellings kept for one release: they still work and say on stderr what replaces them.

Every hidden command or option of the CLI is one of these, and its help starts with
``DEPRECATED`` (tests/test_cli_grammar.py holds every command to that).
"""

import typer

DEPRECATED = "Deprecated:"


def warn(old: str, new: str) -> None:
    """One line on stderr: ``old`` still works this release; ``new`` is the spelling to use."""
    typer.echo(
        f"gitops-tool: warning: {old} is deprecated and will be removed in the next release; use {new}",
        err=True,
    )


def overlay_from(argument: str | None, option: str | None) -> str | None:
    """The overlay given as the OVERLAY argument, or by the old ``--overlay`` option (with a warning)."""
    if option is None:
        return argument
    if argument is not None:
        from gitops_tool.errors import UserError

        raise UserError("give the overlay once, as the OVERLAY argument (--overlay is its old spelling)")
    warn("--overlay OVERLAY", "the OVERLAY argument")
    return option


def output_file(output: str | None, output_file: str | None, formats: tuple[str, ...]) -> str | None:
    """The file of ``--output-file``, or of the old ``-o/--output FILE`` (a value that is no format)."""
    if output is None or output in formats:
        return output_file
    if output_file is not None:
        from gitops_tool.errors import UserError

        raise UserError("give the file once, as --output-file FILE (-o FILE is its old spelling)")
    warn("-o/--output FILE", "--output-file FILE (-o/--output is the output format)")
    return output
