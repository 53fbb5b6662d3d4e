"""Plans for adding and removing a scheduler instance of an overlay, from the overlay's current state.

A new ``schedulers/scheduler-N/`` is derived from the lowest-numbered existing scheduler folder: the
same files, keys, order, quoting and comments, with that scheduler's number replaced by N where the
files carry it. The comment block heading a file is not copied: in this repository it documents the
pattern once, in the first instance ("Scheduler instance N (here 1) ..."), and the other instances
are bare data. So a generated folder has exactly the shape of the hand-written ones, and removing a
scheduler then adding it back gives the same bytes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_tool.core.conventions import MANAGEMENT_ROLE
from gitops_tool.core.scaffold.plan import (
    Change,
    MappingDelete,
    MappingSet,
    NewFile,
    NewFolder,
    Plan,
    RemoveFolder,
    SequenceInsert,
    SequenceRemove,
)
from gitops_tool.core.scaffold.schedulers import (
    SCHEDULERS_DIR,
    Renumbering,
    check_node_name,
    listed_scheduler,
    map_strings,
    number_of,
    scheduler_name,
    scheduler_resource,
    strings_of,
)
from gitops_tool.errors import UserError

ROLES_KEY = "roles"


@dataclass(frozen=True)
class SchedulerFolder:
    """The files of one ``schedulers/scheduler-N/``: YAML documents (tuples) or text, by file name."""

    number: int
    files: Mapping[str, tuple[Any, ...] | str]


@dataclass(frozen=True)
class OverlayState:
    """What the planners need to know about one overlay, read from the repository."""

    overlay: str  # relative to the repository root, e.g. overlays/three-node-ha
    kustomization_file: str  # relative to the repository root
    resources: tuple[Any, ...]
    folders: Mapping[int, SchedulerFolder]
    node_roles_file: str  # relative to the repository root, whether it exists or not
    node_roles: Mapping[str, Any] | None  # role -> node name; None when the file does not exist
    legacy: bool = False

    def listed(self) -> list[int]:
        return [n for n in (listed_scheduler(r) for r in self.resources) if n is not None]

    def present(self) -> list[int]:
        """Every scheduler the overlay has: a folder, an entry under ``resources:``, or both."""
        return sorted({*self.folders, *self.listed()})

    def folder_path(self, number: int) -> str:
        return f"{self.overlay}/{SCHEDULERS_DIR}/{scheduler_name(number)}"


@dataclass(frozen=True)
class SchedulerInfo:
    number: int
    name: str
    role: str
    node: str | None
    folder: str
    has_folder: bool
    listed: bool
    notes: tuple[str, ...] = field(default=())


def refuse_legacy(state: OverlayState) -> None:
    if state.legacy:
        raise UserError(
            f"{state.overlay} is the single-node legacy layout, single-scheduler by design; "
            "schedulers are added to the HA overlay (overlays/three-node-ha)"
        )


def plan_add_scheduler(
    state: OverlayState, number: int, node: str | None = None, message: str | None = None
) -> Plan:
    refuse_legacy(state)
    name = scheduler_name(number)
    if number in state.present():
        raise UserError(f"{name} already exists in {state.overlay}")
    if not state.folders:
        raise UserError(
            f"{state.overlay} has no {SCHEDULERS_DIR}/{scheduler_name(1)}-like folder to derive {name} from"
        )
    changes: list[Change] = [_derive_folder(state, number)]
    listed = [listed_scheduler(r) for r in state.resources]
    changes.append(
        SequenceInsert(
            state.kustomization_file,
            ("resources",),
            _insert_position(listed, number),
            scheduler_resource(number),
        )
    )
    notes: list[str] = []
    if node is not None:
        changes.append(_map_role(state, name, check_node_name(node)))
    elif not (state.node_roles or {}).get(name):
        notes.append(
            f"role {name} is not mapped to a node yet: add it to {state.node_roles_file} "
            "(or pass --node next time), then label the node with `gitops-tool nodes apply`"
        )
    return Plan(message or f"{state.overlay}: add {name}", tuple(changes), tuple(notes))


def plan_remove_scheduler(state: OverlayState, number: int, message: str | None = None) -> Plan:
    refuse_legacy(state)
    name = scheduler_name(number)
    present = state.present()
    if number not in present:
        shown = ", ".join(scheduler_name(n) for n in present) or "none"
        raise UserError(f"{name} is not in {state.overlay} (schedulers: {shown})")
    if present == [number]:
        raise UserError(f"{name} is the last scheduler of {state.overlay}; an overlay needs at least one")
    changes: list[Change] = []
    if number in state.folders:
        changes.append(RemoveFolder(state.folder_path(number)))
    # Highest index first, so each removal leaves the indexes of the next ones valid.
    for index in reversed(range(len(state.resources))):
        if listed_scheduler(state.resources[index]) == number:
            changes.append(SequenceRemove(state.kustomization_file, ("resources",), index))
    if state.node_roles is not None and name in state.node_roles:
        changes.append(MappingDelete(state.node_roles_file, (ROLES_KEY,), name))
    return Plan(message or f"{state.overlay}: remove {name}", tuple(changes))


def scheduler_table(state: OverlayState) -> list[SchedulerInfo]:
    """Each scheduler of the overlay with its node role and mapped node (None when unmapped)."""
    roles = state.node_roles or {}
    listed = set(state.listed())
    table: list[SchedulerInfo] = []
    for number in state.present():
        name = scheduler_name(number)
        notes: list[str] = []
        if state.legacy:
            notes.append(
                "legacy layout: follows PostgreSQL onto the one node (podAffinity); no scheduler role"
            )
        if number not in state.folders:
            notes.append(f"listed in {state.kustomization_file} but its folder is missing")
        if number not in listed:
            notes.append(f"folder not listed under resources: of {state.kustomization_file}")
        node = roles.get(name)
        table.append(
            SchedulerInfo(
                number,
                f"airflow-{name}",
                name,
                str(node) if node else None,
                state.folder_path(number),
                number in state.folders,
                number in listed,
                tuple(notes),
            )
        )
    return table


def _derive_folder(state: OverlayState, number: int) -> NewFolder:
    source = state.folders[min(state.folders)]
    renumber = Renumbering(source.number, number)
    files: list[NewFile] = []
    for file_name, content in sorted(source.files.items()):
        texts = [content] if isinstance(content, str) else strings_of(list(content))
        if any(renumber.carries_new(text) for text in texts):
            raise UserError(
                f"cannot derive {scheduler_name(number)} from {scheduler_name(source.number)}: "
                f"its {file_name} already mentions {scheduler_name(number)} or -{number}"
            )
        new_name = renumber.text(file_name)
        origin = f"{state.folder_path(source.number)}/{file_name}"
        if isinstance(content, str):
            files.append(NewFile(new_name, text=renumber.text(content), source=origin))
        else:
            documents = tuple(map_strings(copy.deepcopy(doc), renumber.text) for doc in content)
            files.append(NewFile(new_name, documents, None, renumber.text, origin, keep_head_comment=False))
    return NewFolder(state.folder_path(number), tuple(files))


def _map_role(state: OverlayState, role: str, node: str) -> MappingSet:
    roles = state.node_roles
    if roles is None:
        raise UserError(f"cannot map {role} to node {node}: {state.node_roles_file} does not exist")
    for other, mapped in roles.items():
        if mapped == node and other != role:
            raise UserError(
                f"node {node} is already mapped to role {other} in {state.node_roles_file}; "
                "each scheduler needs a node of its own"
            )
    keys = list(roles)
    index = None if role in roles else _insert_position([_role_number(k) for k in keys], number_of(role) or 0)
    return MappingSet(state.node_roles_file, (ROLES_KEY,), role, node, index)


def _role_number(role: object) -> int | None:
    if role == MANAGEMENT_ROLE or not isinstance(role, str):
        return None
    return number_of(role)


def _insert_position(numbers: Sequence[int | None], number: int) -> int:
    """Where scheduler ``number`` goes among items carrying ``numbers`` (None: not a scheduler).

    Right after the last lower-numbered scheduler; else right before the first higher one; else at
    the end. That is where a person would put it, and it puts a removed scheduler back where it was.
    """
    lower = [i for i, n in enumerate(numbers) if n is not None and n < number]
    if lower:
        return lower[-1] + 1
    higher = [i for i, n in enumerate(numbers) if n is not None and n > number]
    return higher[0] if higher else len(numbers)
