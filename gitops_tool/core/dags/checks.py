"""Every ``.py`` of a DAG folder must compile before it is published.

A file that does not compile breaks parsing on every scheduler at once, so a push with one such
file publishes nothing. ``compile()`` runs with this tool's Python; ``--check-imports`` runs the
files in the user's own Airflow, whose Python may be older.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitops_tool.core.dags.bundle import SourceEntry


@dataclass(frozen=True)
class CompileProblem:
    path: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


def compile_problems(entries: Iterable[SourceEntry]) -> list[CompileProblem]:
    """One problem per Python file that does not compile, in path order."""
    problems: list[CompileProblem] = []
    for entry in sorted(entries, key=lambda e: e.path):
        if entry.kind != "file" or not entry.path.endswith(".py"):
            continue
        problem = compile_problem(entry.path, entry.data)
        if problem is not None:
            problems.append(problem)
    return problems


def compile_problem(path: str, source: bytes) -> CompileProblem | None:
    """Why ``source`` does not compile as module ``path``, or None when it does."""
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError included
        kind = type(exc).__name__
        reason = exc.msg or "invalid syntax"
        return CompileProblem(path, exc.lineno, exc.offset, f"{kind}: {reason}")
    except ValueError as exc:  # e.g. source holding NUL bytes
        return CompileProblem(path, None, None, f"cannot be compiled: {exc}")
    return None
