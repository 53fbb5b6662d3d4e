"""The one way gitops-tool runs another program (kustomize, ruff, Airflow's Python).

``run_tool(args, summary, limits=...)`` runs an argument list (never a shell) in a new session and
returns its stdout, or raises ``ExternalToolError`` in one line. ``ProcessLimits`` bounds the child:

- ``memory_bytes``: its address space (``RLIMIT_AS``, set in the child before it executes), so a
  kustomization expanding without end (an alias bomb in ``base/``) fails fast instead of taking the
  machine's memory;
- ``timeout_s``: its whole run; on expiry the child's whole process group is killed.

A child killed by a signal, out of memory or out of time is one line naming the limit and how to
change it. ``kustomize_limits()`` reads the kustomize child's limits from the environment
(``GITOPS_TOOL_KUSTOMIZE_MEMORY_MB``, ``GITOPS_TOOL_KUSTOMIZE_TIMEOUT_S``).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_tool.errors import ExternalToolError, UserError

DEFAULT_TIMEOUT_S = 300.0
KUSTOMIZE_MEMORY_ENV = "GITOPS_TOOL_KUSTOMIZE_MEMORY_MB"
KUSTOMIZE_TIMEOUT_ENV = "GITOPS_TOOL_KUSTOMIZE_TIMEOUT_S"
DEFAULT_KUSTOMIZE_MEMORY_MB = 2048
_MIN_MEMORY_MB = 64
_OUT_OF_MEMORY = ("out of memory", "cannot allocate memory", "memoryerror", "failed to reserve")


@dataclass(frozen=True)
class ProcessLimits:
    """Bounds for one child: address space in bytes (None: unbounded) and wall time in seconds.
    ``memory_hint``/``timeout_hint`` name the setting that changes them, for messages."""

    memory_bytes: int | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_hint: str = ""
    timeout_hint: str = ""


def kustomize_limits() -> ProcessLimits:
    """The kustomize child's limits: 2048 MiB and 300 s unless the environment says otherwise."""
    memory_mb = _env_number(KUSTOMIZE_MEMORY_ENV, DEFAULT_KUSTOMIZE_MEMORY_MB, minimum=_MIN_MEMORY_MB)
    timeout_s = _env_number(KUSTOMIZE_TIMEOUT_ENV, DEFAULT_TIMEOUT_S, minimum=1)
    return ProcessLimits(int(memory_mb * 1024 * 1024), timeout_s, KUSTOMIZE_MEMORY_ENV, KUSTOMIZE_TIMEOUT_ENV)


def _env_number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < minimum:
        raise UserError(f"{name}={raw!r} is not a number of at least {minimum:g}")
    return value


def run_tool(
    args: Sequence[str],
    summary: str,
    cwd: Path | None = None,
    limits: ProcessLimits | None = None,
) -> str:
    """Run an argument list (never a shell), returning stdout or raising ``ExternalToolError``."""
    bounds = limits or ProcessLimits()
    try:
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: a timeout kills its children too
            preexec_fn=_address_space_limit(bounds.memory_bytes),  # noqa: PLW1509 - sets one rlimit
        )
    except FileNotFoundError:
        raise ExternalToolError(summary, args, None, f"{args[0]} not found") from None
    except PermissionError:
        raise ExternalToolError(summary, args, None, f"{args[0]} is not executable") from None
    try:
        stdout, stderr = proc.communicate(timeout=bounds.timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        hint = f" (set {bounds.timeout_hint})" if bounds.timeout_hint else ""
        raise ExternalToolError(summary, args, None, f"timed out after {bounds.timeout_s:g}s{hint}") from None
    except BaseException:  # Ctrl-C: the child must not outlive us
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        raise ExternalToolError(summary, args, proc.returncode, _cause(proc.returncode, stderr, bounds))
    return stdout


def _address_space_limit(memory_bytes: int | None) -> Callable[[], None] | None:
    if memory_bytes is None:
        return None

    def limit() -> None:  # runs in the child, between fork and exec
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return limit


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.communicate(timeout=5)


def _cause(returncode: int, stderr: str, bounds: ProcessLimits) -> str:
    """The child's stderr, or, when a limit ended it, one line naming the limit."""
    lowered = stderr.lower()
    if bounds.memory_bytes is not None and (
        any(marker in lowered for marker in _OUT_OF_MEMORY)
        or returncode in (-signal.SIGSEGV, -signal.SIGABRT)
    ):
        limit_mb = bounds.memory_bytes // (1024 * 1024)
        hint = f" (set {bounds.memory_hint})" if bounds.memory_hint else ""
        return f"ran out of memory at its {limit_mb} MiB limit{hint}"
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        return stderr.strip() or f"killed by signal {name}"
    return stderr
