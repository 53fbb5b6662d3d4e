"""Scheduler instances: their numbers, names, node roles, and how a number is carried in files."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping, MutableSequence
from dataclasses import dataclass
from typing import Any

from gitops_tool.core.conventions import SCHEDULER_ROLE_PREFIX
from gitops_tool.core.node_roles import is_node_name
from gitops_tool.errors import UserError

# Upper bound on a scheduler's number. Every Airflow scheduler holds its own metadata-DB connection
# pool (SQL_ALCHEMY_POOL_SIZE plus overflow), so PostgreSQL's default max_connections=100 is spent
# long before 64 schedulers; a bigger number is far more likely a typo than a plan.
MAX_SCHEDULER_NUMBER = 64
SCHEDULERS_DIR = "schedulers"

_NUMBER_RE = re.compile(r"^[1-9][0-9]*$")
_FOLDER_RE = re.compile(rf"^{re.escape(SCHEDULER_ROLE_PREFIX)}([1-9][0-9]*)$")


def parse_scheduler_number(text: str) -> int:
    """``"3"`` -> 3; anything but a plain positive integer within the bound is a user error."""
    raw = text.strip()
    if not _NUMBER_RE.match(raw):
        raise UserError(
            f"scheduler number must be a positive integer (1-{MAX_SCHEDULER_NUMBER}), not {text!r}"
        )
    number = int(raw)
    if number > MAX_SCHEDULER_NUMBER:
        raise UserError(
            f"scheduler number {number} is above the limit of {MAX_SCHEDULER_NUMBER} "
            "(each scheduler holds its own metadata-DB connection pool)"
        )
    return number


def scheduler_name(number: int) -> str:
    """3 -> ``scheduler-3``: the folder name and the node role."""
    return f"{SCHEDULER_ROLE_PREFIX}{number}"


def scheduler_resource(number: int) -> str:
    """The entry listing scheduler ``number`` under ``resources:`` of the overlay's kustomization."""
    return f"{SCHEDULERS_DIR}/{scheduler_name(number)}"


def number_of(name: str) -> int | None:
    """``scheduler-3`` or ``schedulers/scheduler-3`` (trailing slash allowed) -> 3; else None."""
    last = name.strip().rstrip("/").rsplit("/", 1)[-1]
    match = _FOLDER_RE.match(last)
    return int(match.group(1)) if match else None


def listed_scheduler(entry: object) -> int | None:
    """The number of a ``resources:`` entry naming a scheduler folder of the overlay, else None."""
    if not isinstance(entry, str):
        return None
    path = entry.strip().removeprefix("./").rstrip("/")
    parent, _, last = path.rpartition("/")
    return number_of(last) if parent == SCHEDULERS_DIR else None


def check_node_name(node: str) -> str:
    """A Kubernetes node name must be a DNS-1123 subdomain (lower case, at most 253 characters)."""
    if not is_node_name(node):
        raise UserError(
            f"invalid node name {node!r}: a Kubernetes node name is a DNS-1123 subdomain "
            "(lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, "
            "at most 253 characters)"
        )
    return node


@dataclass(frozen=True)
class Renumbering:
    """Moves the files of scheduler ``old`` to scheduler ``new``.

    The number is carried where it follows ``-``, ``_`` or ``#`` and is not followed by another digit
    (``-1`` as a name suffix, ``scheduler-1`` as a node role, ``worker-pod-template-1``,
    ``scheduler #1`` in comments), or follows the word "scheduler" and a space. Nothing else changes:
    integers, quantities such as ``1Gi`` and API versions such as ``v1`` stay as they are.
    """

    old: int
    new: int

    def _pattern(self, number: int) -> re.Pattern[str]:
        return re.compile(rf"(?:(?<=[-_#])|(?<=[Ss]cheduler ))(?<![0-9][-_#]){number}(?![0-9])")

    def text(self, value: str) -> str:
        return self._pattern(self.old).sub(str(self.new), value)

    def reversed(self) -> Renumbering:
        return Renumbering(self.new, self.old)

    def carries_new(self, value: str) -> bool:
        """Whether ``value`` already carries the target number (deriving would be ambiguous)."""
        return bool(self._pattern(self.new).search(value))


def map_strings(tree: Any, change: Callable[[str], str]) -> Any:
    """``tree`` with ``change`` applied to every string key and value, in place; str subclasses kept.

    Editing in place keeps whatever the containers carry beside their items (the comments and
    formatting of a round-trip YAML document), so callers pass a copy they own.
    """
    if isinstance(tree, str):
        new = change(tree)
        return tree if new == tree else _same_type(tree, new)
    if isinstance(tree, MutableMapping):
        renamed = any(isinstance(k, str) and change(k) != k for k in tree)
        if renamed:
            items = [(map_strings(k, change), map_strings(v, change)) for k, v in tree.items()]
            tree.clear()
            tree.update(items)
        else:
            for key in list(tree):
                tree[key] = map_strings(tree[key], change)
        return tree
    if isinstance(tree, MutableSequence):
        for index, item in enumerate(tree):
            tree[index] = map_strings(item, change)
        return tree
    return tree


def strings_of(tree: Any) -> list[str]:
    """Every string key and value in ``tree``."""
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, Mapping):
        return [s for k, v in tree.items() for s in (*strings_of(k), *strings_of(v))]
    if isinstance(tree, list | tuple):
        return [s for item in tree for s in strings_of(item)]
    return []


def _same_type(original: str, new: str) -> str:
    if type(original) is str:
        return new
    try:
        return type(original)(new)
    except TypeError:
        return new
