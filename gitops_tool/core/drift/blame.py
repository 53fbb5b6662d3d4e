"""``drift --blame``: which file of the repository, at which line, produces a desired value.

The overlay's kustomization is walked as kustomize applies it: each kustomization's resources (files
and folders, recursively), then its components, then its own patches (strategic-merge and JSON6902)
and replacements. A value is traced to the last of these that sets it, found by its path (list items
by their merge key, as the engine pairs them). A value no file sets, or a generator's output (a
ConfigMap or Secret with a content-hash name, or a value carrying such a name), is "generated".
A field in Git but only set live is traced to the nearest enclosing line (the container, say).

Pure: the files come in as a mapping of repository-relative paths to text (the adapter reads them
from the commit and blames the lines it names).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from gitops_tool.core.drift.adopt import generated
from gitops_tool.core.drift.engine import pointer
from gitops_tool.core.drift.mergekeys import key_of, key_spec
from gitops_tool.core.objects import ObjectRef

GENERATED = "generated"
_KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_HASHED = re.compile(r"-[bcdfghkmt2456789]{10}$")

ReadFile = Callable[[str], str | None]  # repository-relative path -> text, None when absent


@dataclass(frozen=True)
class Source:
    file: str  # repository-relative
    line: int  # 1-based, the value's first line
    end: int = 0  # its last line (a list or map spans several); 0: just ``line``

    @property
    def lines(self) -> range:
        return range(self.line, max(self.end, self.line) + 1)


@dataclass(frozen=True)
class _Layer:
    """One file that contributes to the render, in the order kustomize applies them."""

    file: str
    kind: str  # "resource", "patch", "json6902", "replacement"
    node: Any  # a yaml node (document) or, for json6902/replacement, the parsed op/rule node
    target: Mapping[str, Any] | None = None  # a patch's target selector
    line: int = 0  # for an inline patch: its line in the kustomization
    chain: tuple[str, ...] = ()  # the kustomization folders from the overlay down to this file's
    name: str = ""  # a resource's name as rendered (namePrefix/nameSuffix on the way applied)


class Tracer:
    """The layers of one overlay, read once; ``trace`` answers per difference."""

    def __init__(self, overlay: str, read: ReadFile) -> None:
        self.read = read
        self.layers: list[_Layer] = []
        self._affixes: dict[str, tuple[str, str]] = {}
        self._walk(overlay.strip("/"), ())

    # --- the kustomization tree ---------------------------------------------------------------------

    def _kustomization(self, folder: str) -> tuple[str, Mapping[str, Any]] | None:
        for name in _KUSTOMIZATION_NAMES:
            path = posixpath.join(folder, name) if folder else name
            text = self.read(path)
            if text is not None:
                try:
                    data = yaml.safe_load(text)
                except yaml.YAMLError:
                    return None
                return path, data if isinstance(data, Mapping) else {}
        return None

    def _walk(self, folder: str, chain: tuple[str, ...]) -> None:
        if folder in chain:
            return  # a cycle; kustomize refuses it too
        found = self._kustomization(folder)
        if found is None:
            return
        chain = (*chain, folder)
        kfile, data = found
        self._affixes[folder] = (str(data.get("namePrefix") or ""), str(data.get("nameSuffix") or ""))
        for entry in [*(data.get("resources") or []), *(data.get("components") or [])]:
            self._entry(folder, str(entry), chain)
        for entry in data.get("patchesStrategicMerge") or []:
            self._patch_file(folder, str(entry), None, chain)
        for entry in [*(data.get("patches") or []), *(data.get("patchesJson6902") or [])]:
            if isinstance(entry, Mapping) and entry.get("path"):
                self._patch_file(folder, str(entry["path"]), entry.get("target"), chain)
        self._inline_patches(kfile, chain)
        self._replacements(folder, kfile, chain)

    def _entry(self, folder: str, entry: str, chain: tuple[str, ...]) -> None:
        if "://" in entry or entry.startswith("git@"):
            return  # a remote base: not in this repository
        path = posixpath.normpath(posixpath.join(folder, entry))
        if self._kustomization(path) is not None:
            self._walk(path, chain)
            return
        for document in _documents(self.read(path)):
            name = _meta(document, "name")
            rendered = str(name) if isinstance(name, str) else ""
            for scope in reversed(chain):  # the innermost kustomization renames first
                prefix, suffix = self._affixes.get(scope, ("", ""))
                rendered = prefix + rendered + suffix
            self.layers.append(_Layer(path, "resource", document, chain=chain, name=rendered))

    def _patch_file(self, folder: str, entry: str, target: Any, chain: tuple[str, ...]) -> None:
        path = posixpath.normpath(posixpath.join(folder, entry))
        selector = target if isinstance(target, Mapping) else None
        for document in _documents(self.read(path)):
            kind = "json6902" if isinstance(document, yaml.SequenceNode) else "patch"
            self.layers.append(_Layer(path, kind, document, selector, chain=chain))

    def _inline_patches(self, kfile: str, chain: tuple[str, ...]) -> None:
        """A ``patch:`` written in the kustomization: traced to that entry's line."""
        root = _documents(self.read(kfile))
        entries = _child(root[0], "patches") if root else None
        for entry in entries.value if isinstance(entries, yaml.SequenceNode) else []:
            text = _scalar(_child(entry, "patch"))
            if not isinstance(text, str):
                continue
            target = (
                yaml.safe_load(yaml.serialize(_child(entry, "target"))) if _child(entry, "target") else None
            )
            for document in _documents(text):
                kind = "json6902" if isinstance(document, yaml.SequenceNode) else "patch"
                selector = target if isinstance(target, Mapping) else None
                line = int(entry.start_mark.line) + 1
                self.layers.append(_Layer(kfile, f"inline-{kind}", document, selector, line, chain))

    def _replacements(self, folder: str, kfile: str, chain: tuple[str, ...]) -> None:
        root = _documents(self.read(kfile))
        if not root or not isinstance(root[0], yaml.MappingNode):
            return
        rules = _child(root[0], "replacements")
        if not isinstance(rules, yaml.SequenceNode):
            return
        for rule in rules.value:
            if isinstance(rule, yaml.MappingNode) and _child(rule, "path") is not None:
                path = posixpath.normpath(posixpath.join(folder, str(_scalar(_child(rule, "path")))))
                for document in _documents(self.read(path)):
                    for item in document.value if isinstance(document, yaml.SequenceNode) else [document]:
                        self.layers.append(_Layer(path, "replacement", item, chain=chain))
            else:
                self.layers.append(_Layer(kfile, "replacement", rule, chain=chain))

    # --- tracing ------------------------------------------------------------------------------------

    def trace(self, ref: ObjectRef, path: Sequence[Any], desired: Mapping[str, Any]) -> Source | str:
        """Where the desired value at ``path`` of object ``ref`` (normalised ``desired``) is written."""
        if generated(ref) and path and path[0] in ("data", "binaryData"):
            return GENERATED
        value = _at(desired, path)
        if isinstance(value, str) and _HASHED.search(value):
            return GENERATED  # a generated object's name, written by kustomize
        # The kustomizations that produce this object: only their patches and replacements apply.
        scopes = {
            folder
            for layer in self.layers
            if layer.kind == "resource"
            and layer.name == ref.name
            and _scalar(_child(layer.node, "kind")) == ref.kind
            for folder in layer.chain
        }
        if not scopes:
            return GENERATED  # no file of the repository renders this object (a generator does)
        best: tuple[int, Source] | None = None
        for layer in reversed(self.layers):
            if layer.chain and layer.chain[-1] not in scopes:
                continue
            if layer.kind == "replacement":
                line = _replacement_line(layer.node, ref, path)
                if line:
                    return Source(layer.file, line)
                continue
            if not _applies(layer, ref):
                continue
            inline = layer.kind.startswith("inline-")
            if layer.kind.endswith("json6902"):
                line = _json6902_line(layer.node, path)
                if line:
                    return Source(layer.file, layer.line if inline else line)
                continue
            depth, (first, last) = _deepest(layer.node, path, desired)
            found = Source(layer.file, layer.line, layer.line) if inline else Source(layer.file, first, last)
            if depth == len(path):
                return found
            if depth > 0 and (best is None or depth > best[0]):
                best = (depth, Source(found.file, found.line))  # the enclosing line, not all of it
        return best[1] if best is not None else GENERATED


def _documents(text: str | None) -> list[Any]:
    if not text:
        return []
    try:
        return [d for d in yaml.compose_all(text, Loader=yaml.SafeLoader) if d is not None]
    except yaml.YAMLError:
        return []


def _child(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _scalar(node: Any) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _meta(node: Any, key: str) -> Any:
    return _scalar(_child(_child(node, "metadata"), key))


def _applies(layer: _Layer, ref: ObjectRef) -> bool:
    """Whether a resource or patch document is (or targets) object ``ref``."""
    if layer.target is not None:
        kind = layer.target.get("kind")
        name = layer.target.get("name")
        if kind and kind != ref.kind:
            return False
        if name:
            try:
                return re.fullmatch(str(name), ref.name) is not None
            except re.error:
                return str(name) == ref.name
        if layer.kind.endswith("json6902") or _meta(layer.node, "name") is None:
            return True
    kind = _scalar(_child(layer.node, "kind"))
    name = _meta(layer.node, "name")
    if kind != ref.kind or not isinstance(name, str):
        return False
    if layer.kind == "resource" and layer.name:
        return layer.name == ref.name
    # nameSuffix / namePrefix of a kustomization on the way (scheduler-1 is the base's scheduler + "-1")
    return name == ref.name or ref.name.startswith(name + "-") or ref.name.endswith("-" + name)


def _span(node: Any) -> tuple[int, int]:
    """The first and last line (1-based) of a node's text."""
    end = node.end_mark.line + (0 if node.end_mark.column == 0 else 1)
    return node.start_mark.line + 1, max(end, node.start_mark.line + 1)


def _deepest(document: Any, path: Sequence[Any], desired: Mapping[str, Any]) -> tuple[int, tuple[int, int]]:
    """How many steps of ``path`` the document holds, and the lines (1-based) of the last one."""
    node = document
    line = _span(document)
    d: Any = desired
    parent = ""
    for depth, part in enumerate(path):
        if isinstance(part, int):
            if not isinstance(node, yaml.SequenceNode):
                return depth, line
            item = _item_node(node, d, part, parent)
            if item is None:
                return depth, line
            node = item
            d = d[part] if isinstance(d, list) and part < len(d) else None
        else:
            child = _child(node, str(part))
            if child is None:
                return depth, line
            node = child
            d = d.get(part) if isinstance(d, Mapping) else None
            parent = str(part)
        line = _span(node)
    return len(path), line


def _item_node(sequence: Any, desired_list: Any, index: int, key: str) -> Any:
    wanted = desired_list[index] if isinstance(desired_list, list) and index < len(desired_list) else None
    if isinstance(wanted, Mapping):
        spec = key_spec(key, wanted)
        identity = key_of(spec, wanted) if spec is not None else None
        if spec is not None and identity is not None:
            for item in sequence.value:
                if isinstance(item, yaml.MappingNode):
                    plain = {n: _scalar(_child(item, n)) for n, _ in spec}
                    values = {k: v for k, v in plain.items() if v is not None}
                    if key_of(spec, _typed(values)) == identity:
                        return item
            return None
    return sequence.value[index] if index < len(sequence.value) else None


def _typed(values: Mapping[str, Any]) -> dict[str, Any]:
    """Scalar node text as YAML would load it (ports are ints)."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        loaded = yaml.safe_load(v) if isinstance(v, str) else v
        out[k] = loaded if isinstance(loaded, (int, str)) else v
    return out


def _json6902_line(ops: Any, path: Sequence[Any]) -> int:
    wanted = pointer(path)
    for op in ops.value:
        target = _scalar(_child(op, "path"))
        kind = _scalar(_child(op, "op"))
        writes = kind in ("add", "replace", "copy", "move") and isinstance(target, str)
        if writes and (wanted == target or wanted.startswith(str(target).rstrip("-").rstrip("/") + "/")):
            value = _child(op, "value") or op
            return int(value.start_mark.line) + 1
    return 0


def _replacement_line(rule: Any, ref: ObjectRef, path: Sequence[Any]) -> int:
    targets = _child(rule, "targets")
    if not isinstance(targets, yaml.SequenceNode):
        return 0
    for target in targets.value:
        select = _child(target, "select")
        kind = _scalar(_child(select, "kind"))
        name = _scalar(_child(select, "name"))
        if (kind and kind != ref.kind) or (name and name != ref.name):
            continue
        field_paths = _child(target, "fieldPaths")
        for field in field_paths.value if isinstance(field_paths, yaml.SequenceNode) else []:
            parts = _field_path(str(_scalar(field)))
            if list(path[: len(parts)]) == parts or parts[: len(path)] == list(path):
                return int(field.start_mark.line) + 1
    return 0


def _field_path(text: str) -> list[Any]:
    """``spec.template.x\\.y.0`` as path parts (escaped dots kept, numbers as list indexes)."""
    parts = [p.replace("\0", ".") for p in text.replace("\\.", "\0").split(".")]
    return [int(p) if p.isdigit() else p for p in parts]


def _at(obj: Any, path: Sequence[Any]) -> Any:
    for part in path:
        if not _has(obj, part):
            return None
        obj = obj[part]
    return obj


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, Mapping):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and part < len(container)


def path_of(json_pointer: str, desired: Any) -> list[Any]:
    """A difference's JSON Pointer as path parts, list indexes as ints (read against ``desired``)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in json_pointer.split("/")[1:]]
    out: list[Any] = []
    node: Any = desired
    for part in parts:
        if isinstance(node, Mapping):
            out.append(part)
            node = node.get(part)
        elif part.isdigit():
            index = int(part)
            out.append(index)
            node = node[index] if isinstance(node, list) and index < len(node) else None
        else:
            out.append(part)
            node = None
    return out
