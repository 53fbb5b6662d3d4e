"""The repository's optional Kustomize components (components/*) in an overlay, as data.

An overlay turns a component on by listing it under its kustomization's ``components:``. Some need
another (drift-cronjob binds the drift-auditor ClusterRole; git-sync-ssh patches git-sync's
Deployment), and kustomize applies components in the order listed, so a requirement is listed
before what needs it. ``plan_enable`` adds a component with whatever it requires, in that order;
``plan_disable`` removes exactly the one named and refuses while another listed one needs it, so
enable then disable (of each component added) gives back the same bytes.

Pure: it reads parsed kustomizations and returns structural edits.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitops_tool.core.scaffold.plan import Edit, MappingDelete, MappingSet, SequenceInsert, SequenceRemove
from gitops_tool.errors import AlreadyInState, UserError

COMPONENTS_KEY = "components"
PATCHES_KEY = "patches"
COMPONENTS_FOLDER = "components"


@dataclass(frozen=True)
class Component:
    name: str
    summary: str  # one line for `components list`
    requires: tuple[str, ...] = ()  # listed before this one in the overlay
    switched_by: str = ""  # the command that lists it instead of `components enable|disable`

    def check_switchable(self) -> None:
        if self.switched_by:
            raise UserError(
                f"{self.name} is not switched on its own: `{self.switched_by}` lists it together with "
                "the changes it needs"
            )

    @property
    def folder(self) -> str:
        return f"{COMPONENTS_FOLDER}/{self.name}"


REGISTRY: tuple[Component, ...] = (
    Component(
        "airflow-3",
        "Airflow 3 layout: api-server, DAG processor, Task Execution API (docs/airflow-3.md).",
        switched_by="gitops-tool upgrade-airflow 3.3.2 --major",
    ),
    Component("backup", "Nightly pg_dump of the metadata DB to the NFS volume airflow-backups."),
    Component("drift-auditor", "Read-only ClusterRole gitops-drift-auditor that `gitops-tool drift` needs."),
    Component(
        "drift-cronjob",
        "`gitops-tool drift` as an in-cluster CronJob; node-exporter publishes its metrics.",
        requires=("drift-auditor",),
    ),
    Component("git-sync", "One git-sync Deployment writes the DAG volume from a Git repository."),
    Component(
        "git-sync-ssh",
        "git-sync over SSH (key and known_hosts) instead of an HTTPS token.",
        requires=("git-sync",),
    ),
)


def known(name: str) -> Component:
    for component in REGISTRY:
        if component.name == name:
            return component
    raise UserError(f"unknown component {name!r}; known components: {', '.join(c.name for c in REGISTRY)}")


def with_requirements(name: str) -> list[Component]:
    """``name`` and everything it requires, each requirement before what needs it."""
    ordered: list[Component] = []

    def visit(component: Component) -> None:
        for required in component.requires:
            visit(known(required))
        if component not in ordered:
            ordered.append(component)

    visit(known(name))
    return ordered


def entry(component: Component, overlay: str) -> str:
    """How ``overlay`` (repository-relative) names the component in its ``components:``."""
    return posixpath.relpath(component.folder, overlay)


def names(value: Any, overlay: str, component: Component) -> bool:
    return isinstance(value, str) and posixpath.normpath(posixpath.join(overlay, value)) == component.folder


def kustomization_list(kustomization: Mapping[str, Any], key: str, source: str) -> list[Any]:
    """A list field of a kustomization (``components:``, ``patches:``), empty when absent."""
    value = kustomization.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError(f"{source}: {key} is not a list")
    return value


def listed(kustomization: Mapping[str, Any], source: str) -> list[Any]:
    return kustomization_list(kustomization, COMPONENTS_KEY, source)


def is_enabled(kustomization: Mapping[str, Any], overlay: str, source: str, component: Component) -> bool:
    return any(names(e, overlay, component) for e in listed(kustomization, source))


def enabled(kustomization: Mapping[str, Any], overlay: str, source: str) -> list[str]:
    """The known components the overlay lists, in the registry's order."""
    return [c.name for c in REGISTRY if is_enabled(kustomization, overlay, source, c)]


def plan_enable(kustomization: Mapping[str, Any], file: str, overlay: str, name: str) -> list[Component]:
    """The components ``enable name`` adds to the overlay (requirements first); refuses when ``name``
    is listed already."""
    component = known(name)
    if is_enabled(kustomization, overlay, file, component):
        raise AlreadyInState(
            f"{name} is already enabled in {overlay} (its components: list {component.folder})"
        )
    return [c for c in with_requirements(name) if not is_enabled(kustomization, overlay, file, c)]


def enable_edits(
    kustomization: Mapping[str, Any], file: str, overlay: str, adding: list[Component]
) -> list[Edit]:
    """Insert ``adding`` (in that order) into ``components:``: each before the first listed component
    that requires it, else at the end; the key is created when missing."""
    if COMPONENTS_KEY not in kustomization and adding:
        # A new components: key goes before resources:, where the readers of a kustomization look.
        keys = list(kustomization)
        entries = [entry(c, overlay) for c in adding]
        return [
            MappingSet(
                file, (), COMPONENTS_KEY, entries, keys.index("resources") if "resources" in keys else None
            )
        ]
    edits: list[Edit] = []
    current = list(listed(kustomization, file))
    for component in adding:
        index = next(
            (
                i
                for i, value in enumerate(current)
                if any(names(value, overlay, c) and component in with_requirements(c.name) for c in REGISTRY)
            ),
            len(current),
        )
        value = entry(component, overlay)
        edits.append(SequenceInsert(file, (COMPONENTS_KEY,), index, value))
        current.insert(index, value)
    return edits


def plan_disable(kustomization: Mapping[str, Any], file: str, overlay: str, name: str) -> list[Edit]:
    """Remove ``name`` from the overlay's ``components:`` (the key too when nothing else is listed);
    refuses while a listed component requires it."""
    component = known(name)
    if not is_enabled(kustomization, overlay, file, component):
        raise AlreadyInState(
            f"{name} is not enabled in {overlay} (its components: does not list {component.folder})"
        )
    needing = [
        other
        for other in enabled(kustomization, overlay, file)
        if other != name and component in with_requirements(other)
    ]
    if needing:
        raise UserError(
            f"{name} stays enabled in {overlay}: {', '.join(needing)} requires it "
            f"(disable {', '.join(needing)} first)"
        )
    current = listed(kustomization, file)
    if all(names(e, overlay, component) for e in current):
        return [MappingDelete(file, (), COMPONENTS_KEY)]
    # From the end, so earlier indexes stay valid.
    return [
        SequenceRemove(file, (COMPONENTS_KEY,), i)
        for i in reversed(range(len(current)))
        if names(current[i], overlay, component)
    ]
