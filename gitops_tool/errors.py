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
from typing import ClassVar

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


class ClusterApiError(ClusterError):
    """The API server answered with an HTTP error after retries; ``status`` is the HTTP status.

    Built with ``ClusterApiError.of(...)``, which picks the subclass of the status a caller can catch
    by name (``ApiNotFound``, ``ApiConflict``, ...) instead of comparing numbers.
    """

    STATUS: ClassVar[int | None] = None

    def __init__(self, message: str, status: int, path: str, is_status_object: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.path = path
        # Whether the body was a Kubernetes ``Status`` (a 404 page of a proxy is not "no such object").
        self.is_status_object = is_status_object

    @staticmethod
    def of(message: str, status: int, path: str, is_status_object: bool = True) -> ClusterApiError:
        kind = next((c for c in _API_STATUS_ERRORS if status == c.STATUS), ClusterApiError)
        return kind(message, status, path, is_status_object)


class ApiUnauthorized(ClusterApiError):
    """401: the credentials were rejected; nothing at all can be read."""

    STATUS = 401


class ApiForbidden(ClusterApiError):
    """403: the identity may not do this (RBAC)."""

    STATUS = 403


class ApiNotFound(ClusterApiError):
    """404: no such object or resource type (``is_status_object`` tells a proxy's page apart)."""

    STATUS = 404

    @property
    def no_such_object(self) -> bool:
        """The API server itself said so (a Kubernetes ``Status``), not a proxy's 404 page."""
        return self.is_status_object


class ApiConflict(ClusterApiError):
    """409: it already exists, or it changed since it was read (resourceVersion)."""

    STATUS = 409


class ApiGone(ClusterApiError):
    """410: a list's ``continue`` token or a watch's resourceVersion expired."""

    STATUS = 410


class ApiUnprocessable(ClusterApiError):
    """422: the API server refused the object as invalid."""

    STATUS = 422


_API_STATUS_ERRORS: tuple[type[ClusterApiError], ...] = (
    ApiUnauthorized,
    ApiForbidden,
    ApiNotFound,
    ApiConflict,
    ApiGone,
    ApiUnprocessable,
)


class ClusterAnswerError(ClusterError):
    """The server answered, but not with what the request asks for: not JSON, not an object, not a
    list, cut off. ``reason`` says which, without the rest of the message."""

    def __init__(self, message: str, reason: str, path: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.path = path


class ValidationInputError(UserError):
    """Manifests that cannot even be parsed or identified."""


class PolicyError(UserError):
    """The policies cannot be compiled or evaluated (a broken .rego file, an engine failure)."""


class AlreadyInState(UserError):
    """The overlay already has (or already lacks) the component: nothing to change there."""


class RuffReportError(GitopsError):
    """ruff answered with something that is not its JSON report."""


def _first_meaningful_line(text: str) -> str:
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            return line.removeprefix("Error: ").strip()
    return ""


class ScaffoldInvalid(GitopsError):
    """A scaffolded change would leave an overlay that does not validate; nothing was changed."""

    exit_code = EXIT_FINDINGS
