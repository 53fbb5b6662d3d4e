"""The console entry point: a fast path for plain ``render``, everything else through Typer.

``gitops-tool render OVERLAY`` runs in CI loops and editor hooks; importing Typer (and its click)
costs more than kustomize itself on a small overlay. The exact, simple forms of ``render`` are
dispatched here without Typer; any other argument list (help, unknown options, other commands)
goes to the full application, so behaviour and messages stay those of ``gitops_tool.cli.app``.
"""

import sys

from gitops_tool.errors import GitopsError

_OPTION_NAMES = {"--output": "output", "-o": "output", "--kustomize": "kustomize"}


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
