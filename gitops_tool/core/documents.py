"""Parsing manifests from text: multi-document YAML, JSON, and ``List`` objects.

Loading is bounded, because live snapshots and manifests come from outside: a document too
large, too deeply nested or expanding through aliases (a "billion laughs") is refused. A mapping
that repeats a key is refused with the line of the repeat (YAML) or the key (JSON): with "last one
wins", a second ``replicas:`` would silently hide the first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from gitops_tool.core.objects import Manifest
from gitops_tool.errors import ValidationInputError


@dataclass(frozen=True)
class LoadLimits:
    max_bytes: int = 256 * 1024 * 1024
    max_depth: int = 64
    # Nodes counted as if every alias were expanded: catches alias bombs without expanding them.
    max_nodes: int = 20_000_000


DEFAULT_LIMITS = LoadLimits()

try:  # The C loader reads large snapshots several times faster than the pure-Python one.
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """The safe loader, refusing a mapping that repeats a key (merge keys ``<<`` excepted)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateJsonKey(key)
        result[key] = value
    return result


class _DuplicateJsonKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_documents(text: str, source: str, limits: LoadLimits = DEFAULT_LIMITS) -> list[Any]:
    """Every non-empty document in ``text`` (YAML stream or a JSON value), bounded by ``limits``."""
    if len(text) > limits.max_bytes:
        raise ValidationInputError(f"{source}: larger than {limits.max_bytes} bytes; refusing to load it")
    stripped = text.lstrip()
    try:
        if stripped.startswith(("{", "[")):
            # JSON has no aliases and json.loads stops deep nesting with RecursionError.
            return [json.loads(text, object_pairs_hook=_refuse_duplicate_keys)]
        docs = [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except _DuplicateJsonKey as exc:
        raise ValidationInputError(f"{source}: invalid JSON: duplicate key {exc.key!r}") from None
    except json.JSONDecodeError as exc:
        raise ValidationInputError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except yaml.YAMLError as exc:
        raise ValidationInputError(f"{source}: invalid YAML: {_yaml_reason(exc)}") from None
    except RecursionError:
        raise ValidationInputError(f"{source}: nested too deeply; refusing to load it") from None
    check_shape(docs, source, limits)
    return docs


def parse_manifests(text: str, source: str, limits: LoadLimits = DEFAULT_LIMITS) -> list[Manifest]:
    """Kubernetes objects in ``text``; ``List`` objects are flattened into their items."""
    objects: list[Manifest] = []
    for doc in parse_documents(text, source, limits):
        objects.extend(_flatten(doc, source))
    for index, obj in enumerate(objects, start=1):
        _require_identity(obj, source, index)
    return objects


def _flatten(doc: Any, source: str) -> Iterator[Manifest]:
    if isinstance(doc, list):
        items: Any = doc
    elif isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and "items" in doc:
        items = doc.get("items") or []
    else:
        items = None
    if items is None:
        if not isinstance(doc, dict):
            raise ValidationInputError(
                f"{source}: a document is a {type(doc).__name__}, not a Kubernetes object"
            )
        yield doc
        return
    if not isinstance(items, list):
        raise ValidationInputError(f"{source}: a List's items is not a list")
    for item in items:
        if not isinstance(item, dict):
            raise ValidationInputError(
                f"{source}: a List holds a {type(item).__name__}, not a Kubernetes object"
            )
        yield item


def _require_identity(obj: Manifest, source: str, index: int) -> None:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ValidationInputError(f"{source}: object #{index} has no kind")
    if not isinstance(obj.get("apiVersion"), str) or not obj.get("apiVersion"):
        raise ValidationInputError(f"{source}: object #{index} ({kind}) has no apiVersion")
    if not isinstance(name, str) or not name:
        raise ValidationInputError(f"{source}: object #{index} ({kind}) has no metadata.name")


def check_shape(docs: list[Any], source: str, limits: LoadLimits = DEFAULT_LIMITS) -> None:
    """Refuse trees too deep, or too large once aliases are expanded, without expanding them.

    The expanded size of each container is memoised by identity, so a "billion laughs" document
    costs as many steps as it has distinct nodes.
    """
    sizes: dict[int, int] = {}
    total = 0
    for doc in docs:
        total += _expanded_size(doc, sizes, source, limits)
        if total > limits.max_nodes:
            raise _too_large(source, limits)


def _expanded_size(root: Any, sizes: dict[int, int], source: str, limits: LoadLimits) -> int:
    if not isinstance(root, (dict, list)):
        return 1
    # Iterative post-order walk: (container, depth, children visited?).
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        if id(node) in sizes:
            continue
        children = list(node.values()) if isinstance(node, dict) else node
        if expanded:
            size = 1 + sum(sizes.get(id(c), 1) if isinstance(c, (dict, list)) else 1 for c in children)
            if size > limits.max_nodes:
                raise _too_large(source, limits)
            sizes[id(node)] = size
            continue
        if depth > limits.max_depth:
            raise ValidationInputError(
                f"{source}: nested deeper than {limits.max_depth} levels; refusing to load it"
            )
        stack.append((node, depth, True))
        stack.extend(
            (c, depth + 1, False) for c in children if isinstance(c, (dict, list)) and id(c) not in sizes
        )
    return sizes[id(root)]


def _too_large(source: str, limits: LoadLimits) -> ValidationInputError:
    return ValidationInputError(
        f"{source}: expands to more than {limits.max_nodes} nodes (alias bomb?); refusing to load it"
    )


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)
