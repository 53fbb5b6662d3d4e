"""Run the real console entry point in a subprocess with an exception injected into the first call
of a chosen kind: a bug gitops-tool did not expect, without changing its code. A trace function's
exception propagates into the traced frame."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_SCRIPT = """
import sys

WHERE = {where!r}

def _tracer(frame, event, arg):
    if event != "call":
        return None
    code = frame.f_code
    caller = frame.f_back
    if WHERE:
        path, _, function = WHERE.partition(":")
        hit = code.co_filename.endswith(path) and code.co_name == function
    else:  # the command: the first gitops_tool function Typer calls after the root callback, or a service
        hit = "/gitops_tool/services/" in code.co_filename or (
            "/gitops_tool/" in code.co_filename
            and code.co_name != "_root"
            and caller is not None
            and "/typer/" in caller.f_code.co_filename
        )
    if hit:
        sys.settrace(None)
        raise RuntimeError("injected failure")
    return None

sys.settrace(_tracer)
from gitops_tool.cli.entry import main
main(sys.argv[1:])
"""


def run_with_injected_error(
    argv: list[str], cwd: Path, env: dict[str, str], where: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``gitops-tool ARGV`` raising RuntimeError in the first call of ``where`` ("path/file.py:function",
    the path a suffix of the file's) or, by default, of the command's own body."""
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(where=where), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
