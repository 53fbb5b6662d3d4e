"""The console entry point: fast paths for plain ``render`` and the root help, everything else
through the full Typer application.

``gitops-tool render OVERLAY`` runs in CI loops and editor hooks; importing Typer (and its click)
costs more than kustomize itself on a small overlay. The exact, simple forms of ``render`` are
dispatched here without Typer. ``gitops-tool``, ``--help`` and ``-h`` print the root help from the
commands' summaries (cli/root.py) without loading the command modules. Any other argument list
(other help, unknown options, other commands, shell completion) goes to the full application, so
behaviour and messages stay those of ``gitops_tool.cli.app``.
"""

import os
import sys

from gitops_tool.errors import GitopsError

_OPTION_NAMES = {"--output": "output", "-o": "output", "--kustomize": "kustomize"}
_ROOT_HELP: tuple[list[str], ...] = ([], ["--help"], ["-h"])
# Set by the shell when it asks for completions, which need the whole command tree.
_COMPLETION_VARIABLE = "_GITOPS_TOOL_COMPLETE"


def is_root_help(argv: list[str]) -> bool:
    """Whether ``argv`` asks only for the root help, which the commands' summaries can print."""
    return argv in _ROOT_HELP and _COMPLETION_VARIABLE not in os.environ


def parse_fast_render(argv: list[str]) -> dict[str, str | None] | None:
    """The arguments of a plain ``render`` invocation, or None when Typer must handle ``argv``."""
    if len(argv) < 2 or argv[0] != "render":
        return None
    parsed: dict[str, str | None] = {"overlay": None, "output": None, "kustomize": None}
    rest = argv[1:]
    while rest:
        token = rest.pop(0)
        name, has_value, value = token.partition("=")
        if name in _OPTION_NAMES:
            if not has_value:
                if not rest or rest[0].startswith("-"):
                    return None
                value = rest.pop(0)
            key = _OPTION_NAMES[name]
            if parsed[key] is not None or not value:
                return None
            parsed[key] = value
        elif token.startswith("-") or parsed["overlay"] is not None:
            return None
        else:
            parsed["overlay"] = token
    return parsed if parsed["overlay"] else None


def fail(message: str, code: int) -> None:
    print(f"gitops-tool: error: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if is_root_help(args):
        from gitops_tool.cli.root import help_app, run

        run(help_app(), args)
        return
    fast = parse_fast_render(args)
    if fast is None:
        from gitops_tool.cli.app import main as full_main

        full_main(args)
        return
    from gitops_tool.services.rendering import render_to

    try:
        render_to(str(fast["overlay"]), fast["output"], fast["kustomize"], sys.stdout)
    except GitopsError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(0)
