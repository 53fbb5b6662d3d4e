"""The Rego engine: the repository's ``policies/*.rego`` compiled once, queried per input.

The only module that imports regopy (rego-cpp). Known defects of regopy 1.5.2 this module and the
policies work around, measured here:

- a rule evaluated under ``with input as ...`` that calls ``sprintf`` or a helper segfaults: inputs
  are always set from Python, never with ``with``;
- ``sprintf`` ignores ``%q`` and wraps strings coming from builtins or function arguments in raw
  quotes: the policies build messages with ``concat``;
- its output serialiser does not escape ``"``, ``\\`` or control characters in strings that came
  from the input, and then fails to parse its own output: input strings are made safe first
  (``"`` -> ``'``, ``\\`` -> ``/``, see ``_safe``); no policy decision depends on those characters,
  and embedded YAML keeps its meaning (a double-quoted scalar becomes a single-quoted one);
- rego-cpp prints compile errors and ``yaml.unmarshal`` errors on file descriptor 1: both are
  captured, so JSON output stays clean.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_tool.errors import PolicyError

POLICIES_DIR = "policies"
_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)\s*$", re.M)
_DENY = re.compile(r"^deny\s+contains\b", re.M)
_RULES = re.compile(r"^rules\s*:=", re.M)
# Newlines and tabs stay: embedded YAML (worker pod templates) must still parse in the policies.
_UNSAFE = re.compile(r'["\\\x00-\x08\x0b-\x1f\x7f]')
_UNSAFE_MAP = {'"': "'", "\\": "/"}


@dataclass(frozen=True)
class Evaluation:
    """Findings per package (``{rule, object, path, msg}`` dicts) of one input."""

    findings: dict[str, list[dict[str, Any]]]


class PolicyEngine:
    """All ``deny`` packages of a policies folder in one compiled bundle."""

    def __init__(self, folder: Path) -> None:
        from regopy import Interpreter

        self.folder = folder
        files = sorted(folder.glob("*.rego"))
        if not files:
            raise PolicyError(f"no policies: {folder} holds no .rego file")
        sources = {path: path.read_text(encoding="utf-8") for path in files}
        self.packages = _deny_packages(sources)
        builder = Interpreter()
        with _captured_stdout() as captured:
            try:
                for path, text in sources.items():
                    builder.add_module(path.name, text)
                query = "; ".join(
                    f"d{i} := data.{pkg}.deny; r{i} := data.{pkg}.rules"
                    for i, pkg in enumerate(self.packages)
                )
                self._bundle = builder.build(query)
            except Exception as exc:  # regopy raises RegoError and prints the readable part
                raise PolicyError(
                    f"policies in {folder} do not compile: {_first_error(sources, captured, exc)}"
                ) from None
        if not self._bundle.ok():
            raise PolicyError(f"policies in {folder} do not compile: {_first_error(sources, captured, None)}")
        self._runtime = Interpreter()
        self.rules = self._rules()

    def _rules(self) -> dict[str, frozenset[str]]:
        """Rule ids per package (each package's ``rules`` set); an id must be unique across packages."""
        result = self._query({"objects": []})
        rules: dict[str, frozenset[str]] = {}
        owner: dict[str, str] = {}
        for i, pkg in enumerate(self.packages):
            ids = result.get(f"r{i}")
            if not isinstance(ids, list) or not all(isinstance(r, str) for r in ids):
                raise PolicyError(
                    f"package {pkg} in {self.folder} must define rules := {{...}} (its rule ids)"
                )
            for rule in ids:
                if rule in owner:
                    raise PolicyError(f"rule id {rule} is defined by both {owner[rule]} and {pkg}")
                owner[rule] = pkg
            rules[pkg] = frozenset(ids)
        return rules

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(r for ids in self.rules.values() for r in ids)

    def evaluate(self, document: Mapping[str, Any]) -> Evaluation:
        result = self._query(document)
        findings: dict[str, list[dict[str, Any]]] = {}
        for i, pkg in enumerate(self.packages):
            items = result.get(f"d{i}") or []
            findings[pkg] = [item for item in items if isinstance(item, dict)]
        return Evaluation(findings)

    def _query(self, document: Mapping[str, Any]) -> dict[str, Any]:
        from regopy import Input

        self._runtime.set_input(Input(_safe(document)))
        try:
            with _captured_stdout():
                output = self._runtime.query_bundle(self._bundle)
        except json.JSONDecodeError:
            raise PolicyError("the policy engine returned output it cannot read back") from None
        except Exception as exc:
            raise PolicyError(f"policy evaluation failed: {_one_line(str(exc))}") from None
        if not output.ok():
            # rego-cpp gives no readable reason at run time; the usual one is a conflict.
            raise PolicyError(
                f"policy evaluation failed in {self.folder}: a rule or function produced conflicting "
                "values for one input (run `gitops-tool policy test` to find which case breaks)"
            )
        if str(output) == "undefined":
            # Any undefined binding makes the whole query undefined (and reading a binding then aborts).
            raise PolicyError(
                f"policy evaluation gave no result: every package in {self.folder} must define deny and rules"
            )
        return {name: json.loads(output.binding(name).json()) for name in _names(len(self.packages))}


def _names(count: int) -> Iterator[str]:
    for i in range(count):
        yield f"d{i}"
        yield f"r{i}"


def _deny_packages(sources: Mapping[Path, str]) -> list[str]:
    """Packages that declare ``deny`` rules, in file order; helper packages (lib) have none."""
    packages: list[str] = []
    for path, text in sources.items():
        match = _PACKAGE.search(text)
        if match is None:
            raise PolicyError(f"{path} has no package line")
        if _DENY.search(text) and match.group(1) not in packages:
            if not _RULES.search(text):
                raise PolicyError(
                    f"package {match.group(1)} ({path.name}) must define rules := {{...}} (its rule ids)"
                )
            packages.append(match.group(1))
    return packages


def _safe(value: Any) -> Any:
    """``value`` as plain JSON data regopy 1.5.2 can read and serialise back (see module doc): the
    characters it cannot escape are replaced, keys become strings, and YAML's other scalars (dates,
    timestamps, bytes) become their text, as the API server would see them."""
    if isinstance(value, str):
        return (
            _UNSAFE.sub(lambda m: _UNSAFE_MAP.get(m.group(0), " "), value) if _UNSAFE.search(value) else value
        )
    if isinstance(value, Mapping):
        return {_safe(str(k)): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes):
        return _safe(value.decode("utf-8", "replace"))
    if isinstance(value, datetime.date):
        return value.isoformat()
    return _safe(str(value))


@contextlib.contextmanager
def _captured_stdout() -> Iterator[list[str]]:
    """rego-cpp prints compile errors on file descriptor 1; keep them for the error message instead."""
    import sys

    sys.stdout.flush()
    captured: list[str] = []
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield captured
        finally:
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


def _flush_c_stdio() -> None:
    """rego-cpp writes through C stdio, which buffers when fd 1 is a file: flush while redirected."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


_REGO_ERROR = re.compile(r"\(error \d+:([^|\s]+)\|(\d+)\|\d+\s+\(errormsg \d+:([^)]*)\)")


def _first_error(sources: Mapping[Path, str], captured: list[str], exc: BaseException | None) -> str:
    """``Invalid collection at scheduling.rego:12:5``: from rego-cpp's error tree (file, byte offset,
    message), else from its printed report, else the exception's first line."""
    match = _REGO_ERROR.search(str(exc)) if exc is not None else None
    if match:
        name, offset, message = match.group(1), int(match.group(2)), match.group(3).strip()
        text = next((t for p, t in sources.items() if p.name == name), None)
        if text is not None:
            before = text.encode()[:offset].decode("utf-8", "replace")
            line = before.count("\n") + 1
            column = len(before) - (before.rfind("\n") + 1) + 1
            return f"{message} at {name}:{line}:{column}"
        return f"{message} in {name}"
    lines = [line.strip() for line in "".join(captured).splitlines() if line.strip()]
    if lines and lines[0].startswith("Errors:") and len(lines) > 2:
        return f"{lines[1]} at {lines[2].removeprefix('-- ').strip()}"
    return _one_line(str(exc)) if exc is not None else "unknown error"


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:300] if lines else "unknown error"


def find_policies(root: Path) -> Path | None:
    """The repository's policies folder, if it has one."""
    folder = root / POLICIES_DIR
    return folder if folder.is_dir() else None
