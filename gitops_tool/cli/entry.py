"""The console entry point and the one handler that turns every outcome into an exit code.

Every way in (the fast ``render`` path, the root help, the full Typer application, shell completion)
runs inside ``main``'s handler, which holds the exit-code contract (docs/reference/exit-codes.md):

- 0 clean, 1 findings: what the command returned;
- 2 user or input error: a ``GitopsError`` (its one line on stderr), a usage error, or a file the
  user's environment refuses to let us write (read-only checkout, permission, full disk);
- 3 internal error: any other exception is a bug; its traceback goes to a crash file under the
  user's cache folder and one stderr line names it (``--debug`` prints the traceback too);
- 130 interrupted: Ctrl-C (or SIGTERM during a committing command) at any moment, imports included.

This module imports nothing but the standard library's already-loaded modules at import time, so a
Ctrl-C in the first moments (while Typer, kubernetes and the command modules load) lands inside the
handler. ``gitops-tool render OVERLAY`` runs in CI loops and editor hooks, where importing Typer
costs more than kustomize itself: its exact simple forms are dispatched here without Typer, and so is
the root help (from the commands' summaries in cli/root.py). Any other argument list goes to the full
application, so behaviour and messages stay those of ``gitops_tool.cli.app``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, NoReturn


def _interrupted_before_main(signum: int, frame: object) -> NoReturn:
    """Ctrl-C between this module's import and ``main`` (the console script's own lines)."""
    print("gitops-tool: error: interrupted", file=sys.stderr)
    raise SystemExit(130)


# Installed as the console script imports this module (not when a test or a program imports it);
# ``main`` puts Python's own handler back.
if (
    os.path.basename(sys.argv[0]) == "gitops-tool"  # noqa: PTH119 - pathlib is not loaded yet
    and signal.getsignal(signal.SIGINT) is signal.default_int_handler
):
    signal.signal(signal.SIGINT, _interrupted_before_main)

# A small module with no imports of its own.
from gitops_tool.errors import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK  # noqa: E402

if TYPE_CHECKING:
    from pathlib import Path

_OPTION_NAMES = {"--output-file": "output", "--kustomize": "kustomize"}
_FORMAT_OPTIONS = ("--output", "-o")
_ROOT_HELP: tuple[list[str], ...] = ([], ["--help"], ["-h"])
# Set by the shell when it asks for completions, which need the whole command tree.
_COMPLETION_VARIABLE = "_GITOPS_TOOL_COMPLETE"
# Root options the handler itself reads (they precede the command): see cli/root.py _root.
_DEBUG_FLAGS = ("--debug",)
_VERBOSE_FLAGS = ("-v", "-vv", "-vvv", "--verbose")
DEBUG_ENV = "GITOPS_TOOL_DEBUG"
_LOG_HANDLER = "gitops-tool"
# errno values that mean the environment refuses a write the user asked for: not a bug (exit 2).
_REFUSED_WRITES = ("EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT")


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
        if name in _FORMAT_OPTIONS:  # -o yaml is what render prints anyway; others need Typer
            if not has_value:
                value = rest.pop(0) if rest else ""
            if value != "yaml":
                return None
        elif name in _OPTION_NAMES:
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


def root_flags(argv: list[str]) -> tuple[bool, int]:
    """``(--debug given, -v count)`` from the root options, which come before the command."""
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    verbose = 0
    for arg in argv:
        if not arg.startswith("-") or arg == "--":
            break
        if arg in _DEBUG_FLAGS:
            debug = True
        elif arg in _VERBOSE_FLAGS:
            verbose += arg.count("v") if arg.startswith("-v") else 1
    return debug, verbose


def print_error(message: str) -> None:
    """The one printing point of every error line (URL credentials and tokens masked)."""
    from gitops_tool.core.redact import redact

    print(f"gitops-tool: error: {redact(message)}", file=sys.stderr)


def fail(message: str, code: int) -> None:
    """Print ``message`` as the one error line and exit with ``code``."""
    print_error(message)
    sys.exit(code)


def main(argv: list[str] | None = None, fast_paths: bool = True) -> None:
    """Console entry point: run the command inside the one handler, then exit with its code.

    ``fast_paths=False`` always takes the full Typer application (cli/app.py ``main``).
    """
    if signal.getsignal(signal.SIGINT) is _interrupted_before_main:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = _signal_handlers()
    try:
        args = sys.argv[1:] if argv is None else argv
        code = handle(args, fast_paths)
    except KeyboardInterrupt:  # between the handler's own steps: still an interruption, never a traceback
        code = EXIT_INTERRUPTED
    finally:
        _restore_signal_handlers(previous)
        reset_logging()
    sys.exit(code)


def handle(args: list[str], fast_paths: bool = True) -> int:
    """Run ``args`` and map whatever happens to the exit-code contract; returns the code."""
    debug, verbose = root_flags(args)
    try:
        configure_logging(debug, verbose)
        return _dispatch(args, fast_paths)
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        return _exit_code(exc.code)
    except BrokenPipeError:
        _silence_stdout()  # the reader went away (`| head`): not an error
        return EXIT_OK
    except Exception as exc:
        return _exception_code(exc, debug)


def _dispatch(args: list[str], fast_paths: bool) -> int:
    if fast_paths and is_root_help(args):
        from gitops_tool.cli.root import help_app, run

        return run(help_app(), args)
    fast = parse_fast_render(args) if fast_paths else None
    if fast is None:
        from gitops_tool.cli.app import app
        from gitops_tool.cli.root import run

        return run(app, args)
    from gitops_tool.services.rendering import render_to

    render_to(str(fast["overlay"]), fast["output"], fast["kustomize"], sys.stdout)
    sys.stdout.flush()
    return EXIT_OK


def _exception_code(exc: Exception, debug: bool) -> int:
    from gitops_tool.errors import GitopsError

    if isinstance(exc, GitopsError):
        print_error(str(exc))
        return exc.exit_code
    refused = _refused_write(exc)
    if refused is not None:
        print_error(refused)
        return EXIT_ERROR
    return crash(exc, debug)


def _refused_write(exc: Exception) -> str | None:
    """One line for an OSError that the user's environment causes (read-only checkout, full disk)."""
    import errno

    if not isinstance(exc, OSError) or exc.errno is None:
        return None
    if exc.errno not in {getattr(errno, name, -1) for name in _REFUSED_WRITES}:
        return None
    where = exc.filename if exc.filename is not None else "a file"
    reason = (exc.strerror or errno.errorcode.get(exc.errno, "refused")).lower()
    return f"cannot write {where}: {reason}; nothing was changed by this command"


def crash(exc: BaseException, debug: bool) -> int:
    """An unexpected exception: its traceback to a crash file (and stderr with --debug), one line."""
    import traceback

    text = "".join(traceback.format_exception(exc))
    if debug:
        print(text, end="", file=sys.stderr)
    saved = _save_crash(text)
    kind = type(exc).__name__
    if saved is not None:
        where = f"the traceback is in {saved}"
    else:
        where = "the traceback could not be saved; run again with --debug to see it"
    print_error(f"internal error ({kind}), a bug in gitops-tool: {where}; please report it")
    return EXIT_INTERNAL


def crash_folder() -> Path:
    """The user's cache folder for gitops-tool ($XDG_CACHE_HOME/gitops-tool, ~/.cache/gitops-tool)."""
    from pathlib import Path

    base = os.environ.get("XDG_CACHE_HOME") or Path("~/.cache").expanduser()
    return Path(base) / "gitops-tool"


def _save_crash(text: str) -> Path | None:
    import tempfile
    import time
    from pathlib import Path

    from gitops_tool import __version__

    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    # No argv: an argument may be a token or a URL with credentials.
    header = f"gitops-tool {__version__}, Python {sys.version.split()[0]}\n\n"
    for folder in (crash_folder(), Path(tempfile.gettempdir()) / f"gitops-tool-{os.getuid()}"):
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.txt"
            # 0600: a traceback can still quote paths and values.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(header + text)
            return path
        except OSError:
            continue
    return None


def configure_logging(debug: bool, verbose: int) -> None:
    """Standard-library logging: off unless -v (INFO), -vv or --debug (DEBUG), always to stderr.

    Off means off for every library too: the root logger gets a handler that drops everything, so
    a library's ``logging.error(...)`` (the kubernetes client's ``ERROR:root:`` lines) never reaches
    the terminal through logging's implicit set-up or its last-resort handler.
    """
    import logging

    reset_logging()
    root = logging.getLogger()
    handler: logging.Handler
    if not debug and verbose == 0:
        handler = logging.NullHandler()
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("gitops-tool: %(levelname)s: %(name)s: %(message)s"))
        root.setLevel(logging.DEBUG if debug or verbose > 1 else logging.INFO)
    handler.set_name(_LOG_HANDLER)
    root.addHandler(handler)


def reset_logging() -> None:
    """Remove the handler ``configure_logging`` added (the process may run more than one command)."""
    if "logging" not in sys.modules:
        return
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _LOG_HANDLER:
            root.removeHandler(handler)


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print_error(str(code))
    return EXIT_ERROR


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


_Handlers = dict[int, Any]


def _signal_handlers() -> _Handlers:
    saved: _Handlers = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):
            saved[signum] = signal.getsignal(signum)
    return saved


def _restore_signal_handlers(saved: _Handlers) -> None:
    """A committing command ignores Ctrl-C once its commit is made (cli/committed); put them back."""
    for signum, handler in saved.items():
        try:
            if signal.getsignal(signum) is not handler and handler is not None:
                signal.signal(signum, handler)
        except (ValueError, TypeError):
            pass
