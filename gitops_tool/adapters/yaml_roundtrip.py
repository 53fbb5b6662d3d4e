"""Round-trip YAML (ruamel.yaml): edit files people maintain without losing their comments,
key order, quoting or indentation, and write new files in the style of the files they copy.

A comment in ruamel.yaml hangs on the item before it: the comment lines between two list items
belong to the first. Inserting or removing an item therefore moves those lines, so that a comment
stays above the item (or key) it was written above.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gitops_tool.core.scaffold.plan import (
    Edit,
    KeyPath,
    MappingDelete,
    MappingSet,
    SequenceInsert,
    SequenceRemove,
)
from gitops_tool.errors import UserError

_WIDTH = 4096  # never fold long strings: folding would rewrite lines nobody edited
_SEQ_SLOT = 0  # where ruamel keeps the comment after a list item
_MAP_SLOT = 2  # where ruamel keeps the comment after a mapping value


@dataclass(frozen=True)
class Style:
    mapping: int = 2
    sequence: int = 4
    offset: int = 2
    explicit_start: bool = False


@dataclass
class YamlFile:
    """The documents of one file, loaded round-trip, and the style to write them back in."""

    documents: list[Any]
    style: Style


def _yaml(style: Style) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _WIDTH
    yaml.indent(mapping=style.mapping, sequence=style.sequence, offset=style.offset)
    yaml.explicit_start = style.explicit_start
    return yaml


def guess_style(text: str) -> Style:
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        _, indent, block_seq_indent = load_yaml_guess_indent(text)
    except Exception:  # a multi-document file: guess from its lines instead
        indent, block_seq_indent = _guess_from_lines(text)
    offset = block_seq_indent or 0
    sequence = indent if indent else offset + 2
    mapping = sequence - offset if sequence - offset > 0 else 2
    explicit = text.lstrip().startswith("---")
    return Style(mapping, sequence, offset, explicit)


def _guess_from_lines(text: str) -> tuple[int, int]:
    previous = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("- ") and previous is not None and previous.rstrip().endswith(":"):
            offset = (len(line) - len(stripped)) - (len(previous) - len(previous.lstrip()))
            return offset + 2, offset
        previous = line if stripped and not stripped.startswith("#") else previous
    return 4, 2


def load(text: str, source: str) -> YamlFile:
    """The documents of ``text``, bounded like every YAML the tool reads (size, depth, alias
    expansion: ``plain`` would expand an alias bomb) and without repeated keys."""
    from gitops_tool.core.documents import DEFAULT_LIMITS, check_shape

    if len(text) > DEFAULT_LIMITS.max_bytes:
        raise UserError(f"{source}: larger than {DEFAULT_LIMITS.max_bytes} bytes; refusing to load it")
    style = guess_style(text)
    try:
        documents = [d for d in _yaml(style).load_all(text) if d is not None]
    except RecursionError:
        raise UserError(f"{source}: nested too deeply; refusing to load it") from None
    except Exception as exc:  # ruamel raises many unrelated classes
        raise UserError(f"{source}: invalid YAML: {_reason(exc)}") from None
    check_shape(documents, source)
    return YamlFile(documents, style)


def _reason(exc: Exception) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem and mark is not None:
        problem = " ".join(str(problem).split())
        if "duplicate key" in problem:
            problem = problem.split(" with value", 1)[0]
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def dump(documents: list[Any], style: Style) -> str:
    out = io.StringIO()
    yaml = _yaml(style)
    if len(documents) == 1:
        yaml.dump(documents[0], out)
    else:
        yaml.dump_all(documents, out)
    return out.getvalue()


def plain(tree: Any) -> Any:
    """Round-trip data as plain dicts, lists and scalars (for the pure core)."""
    if isinstance(tree, dict):
        return {plain(k): plain(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [plain(item) for item in tree]
    if isinstance(tree, str):
        return str(tree)
    if isinstance(tree, bool):
        return bool(tree)
    if isinstance(tree, int):
        return int(tree)
    return tree


def drop_head_comment(document: Any) -> None:
    """Remove the comment lines above the first key of ``document``."""
    ca = getattr(document, "ca", None)
    if ca is not None and ca.comment is not None and len(ca.comment) > 1:
        ca.comment[1] = None
        if all(slot is None for slot in ca.comment):
            ca.comment = None


def rewrite_comments(tree: Any, change: Callable[[str], str]) -> None:
    """Apply ``change`` to every comment in ``tree``."""
    for token in _comment_tokens(tree):
        token.value = change(token.value)


def _comment_tokens(tree: Any) -> Iterator[Any]:
    ca = getattr(tree, "ca", None)
    if ca is not None:
        yield from _tokens_in(ca.comment)
        yield from _tokens_in(getattr(ca, "end", None))
        for slots in ca.items.values():
            yield from _tokens_in(slots)
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _comment_tokens(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from _comment_tokens(item)


def _tokens_in(slot: Any) -> Iterator[Any]:
    from ruamel.yaml.tokens import CommentToken

    if isinstance(slot, CommentToken):
        yield slot
    elif isinstance(slot, list):
        for item in slot:
            yield from _tokens_in(item)


def apply_edit(file: YamlFile, edit: Edit, source: str) -> None:
    """Apply one structural edit to the first document of ``file``, keeping comments in place."""
    if not file.documents:
        raise UserError(f"{source}: empty file; expected a YAML mapping")
    root = file.documents[0]
    if isinstance(edit, SequenceInsert):
        seq = _container(root, edit.key_path, source, list, create=True)
        _insert_item(seq, edit.index, edit.value)
    elif isinstance(edit, SequenceRemove):
        seq = _container(root, edit.key_path, source, list)
        _remove_item(seq, edit.index)
    elif isinstance(edit, MappingSet):
        mapping = _container(root, edit.key_path, source, dict, create=True)
        current = mapping.get(edit.key)
        if isinstance(current, list) and current and isinstance(edit.value, list) and edit.value:
            _replace_items(current, edit.value)
        elif edit.key in mapping or edit.index is None:
            mapping[edit.key] = edit.value
        else:
            _insert_key(mapping, edit.index, edit.key, edit.value)
    elif isinstance(edit, MappingDelete):
        mapping = _container(root, edit.key_path, source, dict)
        _delete_key(mapping, edit.key)


def _container(root: Any, key_path: KeyPath, source: str, kind: type, create: bool = False) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    node = root
    for depth, key in enumerate(key_path):
        if not isinstance(node, dict):
            raise UserError(f"{source}: {'.'.join(key_path[:depth]) or 'the document'} is not a mapping")
        if key not in node or node[key] is None:
            if not create:
                raise UserError(f"{source}: has no {'.'.join(key_path[: depth + 1])}")
            last = depth == len(key_path) - 1
            node[key] = (CommentedSeq() if kind is list else CommentedMap()) if last else CommentedMap()
        node = node[key]
    if not isinstance(node, kind):
        raise UserError(f"{source}: {'.'.join(key_path)} is not a {'list' if kind is list else 'mapping'}")
    return node


def _split(token: Any) -> tuple[str, str]:
    """A trailing comment token as (the end-of-line comment with its newline, the lines after it)."""
    value: str = token.value
    cut = value.find("\n")
    if cut < 0:
        return value, ""
    return value[: cut + 1], value[cut + 1 :]


def _token(value: str, like: Any) -> Any:
    from ruamel.yaml.tokens import CommentToken

    return CommentToken(value, getattr(like, "start_mark", None), None, getattr(like, "column", None))


def _post(container: Any, key: Any, slot: int) -> Any:
    slots = container.ca.items.get(key)
    return slots[slot] if slots and len(slots) > slot else None


def _set_post(container: Any, key: Any, slot: int, token: Any) -> None:
    slots = container.ca.items.setdefault(key, [None, None, None, None])
    slots[slot] = token
    if all(s is None for s in slots):
        del container.ca.items[key]


def _move_following_lines(container: Any, from_key: Any, to_key: Any, slot: int) -> None:
    """Lines of comment after ``from_key``'s item now follow ``to_key``'s (inserted after it)."""
    token = _post(container, from_key, slot)
    if token is None:
        return
    eol, rest = _split(token)
    if not rest:
        return
    _set_post(container, from_key, slot, _token(eol, token) if eol.strip() else None)
    _set_post(container, to_key, slot, _token("\n" + rest, token))


def _keep_following_lines(container: Any, removed_key: Any, previous_key: Any, slot: int) -> None:
    """Lines of comment after a removed item stay, now after the item before it."""
    token = _post(container, removed_key, slot)
    if token is None or previous_key is None:
        return
    _, rest = _split(token)
    if not rest:
        return
    before = _post(container, previous_key, slot)
    _set_post(
        container, previous_key, slot, _token((before.value if before else "\n") + rest, before or token)
    )


def _insert_item(seq: Any, index: int, value: Any) -> None:
    index = max(0, min(index, len(seq)))
    seq.insert(index, value)  # ruamel shifts the comments of later items
    if index > 0:
        _move_following_lines(seq, index - 1, index, _SEQ_SLOT)


def _remove_item(seq: Any, index: int) -> None:
    if index > 0:
        _keep_following_lines(seq, index, index - 1, _SEQ_SLOT)
    seq.ca.items.pop(index, None)
    del seq[index]  # ruamel shifts the comments of later items back


def _replace_items(seq: Any, values: list[Any]) -> None:
    """``seq`` now holds ``values``; the comment lines after its last item stay after the new last."""
    trailing = _post(seq, len(seq) - 1, _SEQ_SLOT)
    seq.ca.items.clear()
    seq[:] = values
    if trailing is not None:
        _set_post(seq, len(seq) - 1, _SEQ_SLOT, trailing)


def _insert_key(mapping: Any, index: int, key: str, value: Any) -> None:
    keys = list(mapping)
    index = max(0, min(index, len(keys)))
    mapping.insert(index, key, value)
    if index > 0:
        _move_following_lines(mapping, keys[index - 1], key, _MAP_SLOT)


def _delete_key(mapping: Any, key: str) -> None:
    keys = list(mapping)
    if key not in mapping:
        return
    position = keys.index(key)
    _keep_following_lines(mapping, key, keys[position - 1] if position > 0 else None, _MAP_SLOT)
    mapping.ca.items.pop(key, None)
    del mapping[key]
