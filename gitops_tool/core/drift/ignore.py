"""Argo CD ``ignoreDifferences`` rules: which fields of which resources are not compared.

Schema as in an Argo CD Application's ``spec.ignoreDifferences``: ``group``, ``kind``, ``name``,
``namespace`` (``*`` globs allowed), ``jsonPointers`` (RFC 6901), ``jqPathExpressions`` and
``managedFieldsManagers``. jq is supported for the forms people write in these rules - a path of
``.field``, ``["field"]``, ``[]`` and ``[N]`` steps, optionally followed by
``| select(.path == literal)`` (or ``!=``); other jq expressions are reported as unsupported and
skipped, never silently half-applied.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gitops_tool.core.drift.fieldsv1 import managers_fields, remove_owned
from gitops_tool.core.objects import ObjectRef
from gitops_tool.errors import UserError


@dataclass(frozen=True)
class IgnoreRule:
    kind: str
    group: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    def matches(self, ref: ObjectRef) -> bool:
        return (
            fnmatch.fnmatchcase(ref.kind, self.kind)
            and fnmatch.fnmatchcase(ref.group, self.group or "")
            and (not self.name or fnmatch.fnmatchcase(ref.name, self.name))
            and (not self.namespace or fnmatch.fnmatchcase(ref.namespace, self.namespace))
        )


def parse_rules(data: Any, source: str) -> list[IgnoreRule]:
    """Rules from a list, or from a mapping holding ``ignoreDifferences`` (or an Application)."""
    if isinstance(data, Mapping):
        spec = data.get("spec") if data.get("kind") == "Application" else data
        data = (spec or {}).get("ignoreDifferences") or []
    if not isinstance(data, list):
        raise UserError(f"{source}: ignoreDifferences must be a list of rules")
    rules = []
    for index, raw in enumerate(data, start=1):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("kind"), str) or not raw.get("kind"):
            raise UserError(f"{source}: ignore rule #{index} needs a kind")
        rules.append(
            IgnoreRule(
                kind=str(raw["kind"]),
                group=str(raw.get("group") or ""),
                name=str(raw.get("name") or ""),
                namespace=str(raw.get("namespace") or ""),
                json_pointers=_strings(raw.get("jsonPointers"), source, index, "jsonPointers"),
                jq_path_expressions=_strings(
                    raw.get("jqPathExpressions"), source, index, "jqPathExpressions"
                ),
                managed_fields_managers=_strings(
                    raw.get("managedFieldsManagers"), source, index, "managedFieldsManagers"
                ),
            )
        )
    return rules


def _strings(value: Any, source: str, index: int, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{source}: ignore rule #{index}: {name} must be a list of strings")
    return tuple(value)


def apply_rules(
    rules: Iterable[IgnoreRule],
    ref: ObjectRef,
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    warnings: list[str],
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """``desired`` and ``live`` without the ignored fields (copies; the inputs are not changed)."""
    matching = [rule for rule in rules if rule.matches(ref)]
    if not matching:
        return desired, live
    d = copy.deepcopy(dict(desired))
    lv = copy.deepcopy(dict(live))
    for rule in matching:
        for pointer in rule.json_pointers:
            for obj in (d, lv):
                remove_pointer(obj, pointer)
        for expression in rule.jq_path_expressions:
            try:
                program = parse_jq(expression)
            except ValueError as exc:
                message = f"ignoreDifferences jqPathExpression {expression!r} skipped: {exc}"
                if message not in warnings:
                    warnings.append(message)
                continue
            for obj in (d, lv):
                remove_paths(obj, list(program.paths(obj)))
        if rule.managed_fields_managers:
            owned = managers_fields(
                (live.get("metadata") or {}).get("managedFields"), rule.managed_fields_managers
            )
            for fields in owned:
                for obj in (d, lv):
                    remove_owned(obj, fields)
    return d, lv


def parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise UserError(f"jsonPointer {pointer!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def remove_pointer(obj: Any, pointer: str) -> None:
    parts = parse_pointer(pointer)
    if not parts:
        return
    parent = obj
    for part in parts[:-1]:
        parent = _step(parent, part)
        if parent is None:
            return
    last = parts[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]


def _step(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    if isinstance(value, list) and part.isdigit() and int(part) < len(value):
        return value[int(part)]
    return None


Path = tuple[str | int, ...]


def remove_paths(obj: Any, paths: list[Path]) -> None:
    # Deepest and highest index first, so earlier removals do not shift later ones.
    def order(path: Path) -> tuple[int, tuple[tuple[int, str], ...]]:
        return len(path), tuple((x, "") if isinstance(x, int) else (-1, x) for x in path)

    for path in sorted(paths, key=order, reverse=True):
        parent = obj
        for part in path[:-1]:
            parent = _step(parent, str(part))
            if parent is None:
                break
        else:
            last = path[-1]
            if isinstance(parent, dict) and isinstance(last, str):
                parent.pop(last, None)
            elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
                del parent[last]


_STEP = re.compile(r'\.([A-Za-z_][\w-]*)|\.?\["((?:[^"\\]|\\.)*)"\]|\.?\[(\d*)\]|\.("(?:[^"\\]|\\.)*")')
_SELECT = re.compile(r"^select\(\s*(?P<path>\.[^=!]*?)\s*(?P<op>==|!=)\s*(?P<literal>.+?)\s*\)$")


@dataclass(frozen=True)
class JqProgram:
    steps: tuple[str | int | None, ...]  # None = every item ([])
    selects: tuple[tuple[tuple[str | int | None, ...], str, Any], ...]

    def paths(self, obj: Any) -> Iterator[Path]:
        for path, value in _walk(obj, self.steps, ()):
            if all(_selected(value, steps, op, literal) for steps, op, literal in self.selects):
                yield path


def parse_jq(expression: str) -> JqProgram:
    """The supported jq subset (module doc); ``ValueError`` naming what is not supported."""
    head, *filters = [part.strip() for part in expression.split("|")]
    steps = _parse_steps(head)
    selects = []
    for text in filters:
        match = _SELECT.match(text)
        if not match:
            raise ValueError(f"only `| select(.path == literal)` filters are supported, not {text!r}")
        try:
            literal = json.loads(match.group("literal"))
        except ValueError:
            raise ValueError(f"{match.group('literal')!r} is not a JSON literal") from None
        selects.append((_parse_steps(match.group("path")), match.group("op"), literal))
    return JqProgram(steps, tuple(selects))


def _parse_steps(text: str) -> tuple[str | int | None, ...]:
    if text == ".":
        return ()
    steps: list[str | int | None] = []
    pos = 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if not match:
            raise ValueError(f"unsupported jq path syntax at {text[pos:]!r}")
        if match.group(1) is not None:
            steps.append(match.group(1))
        elif match.group(2) is not None:
            steps.append(json.loads(f'"{match.group(2)}"'))
        elif match.group(4) is not None:
            steps.append(json.loads(match.group(4)))
        else:
            steps.append(int(match.group(3)) if match.group(3) else None)
        pos = match.end()
    if not text.startswith("."):
        raise ValueError(f"a jq path starts with '.', not {text!r}")
    return tuple(steps)


def _walk(value: Any, steps: tuple[str | int | None, ...], path: Path) -> Iterator[tuple[Path, Any]]:
    if not steps:
        yield path, value
        return
    step, rest = steps[0], steps[1:]
    if step is None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _walk(item, rest, (*path, i))
    elif isinstance(step, int):
        if isinstance(value, list) and step < len(value):
            yield from _walk(value[step], rest, (*path, step))
    elif isinstance(value, dict) and step in value:
        yield from _walk(value[step], rest, (*path, step))


def _selected(value: Any, steps: tuple[str | int | None, ...], op: str, literal: Any) -> bool:
    found = [v for _, v in _walk(value, steps, ())]
    current = found[0] if found else None
    return bool(current == literal) if op == "==" else bool(current != literal)
