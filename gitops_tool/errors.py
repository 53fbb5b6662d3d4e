"""The one error tree of gitops-tool.

Every failure a user can cause or meet is a ``GitopsError``: the one top-level handler
(cli/entry.py ``main``) prints its message as one line on stderr and exits with ``exit_code`` (2 for
errors). Findings such as drift or policy violations are results, not errors, and exit 1 through the
commands themselves. Any other exception is a bug: exit 3, its traceback in a crash file. Ctrl-C
exits 130. docs/reference/exit-codes.md is the contract. Messages must never carry a Secret value,
token or password.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


class GitopsError(Exception):
    """Base of every expected failure; ``str(err)`` is the one line shown to the user."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(GitopsError):
    """Bad input: a wrong path, option or file the user can fix."""


class Interrupted(GitopsError):
    """The user stopped the command (Ctrl-C at a prompt); nothing it had not finished was kept."""

    exit_code = EXIT_INTERRUPTED


class RepositoryError(UserError):
    """The Git repository is not in a state the command can work with."""


class ExternalToolError(GitopsError):
    """An external program (kustomize, git) failed; carries command, exit code and stderr."""

    def __init__(self, summary: str, command: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr.strip()
        detail = _first_meaningful_line(self.stderr)
        shown = " ".join(self.command)
        code = "not run" if returncode is None else f"exit {returncode}"
        message = f"{summary}: `{shown}` ({code})"
        if detail:
            message += f": {detail}"
        super().__init__(message)


class ClusterError(GitopsError):
    """The Kubernetes API could not be read or written as needed."""


class ValidationInputError(UserError):
    """Manifests that cannot even be parsed or identified."""


def _first_meaningful_line(text: str) -> str:
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            return line.removeprefix("Error: ").strip()
    return ""


class ScaffoldInvalid(GitopsError):
    """A scaffolded change would leave an overlay that does not validate; nothing was changed."""

    exit_code = EXIT_FINDINGS
