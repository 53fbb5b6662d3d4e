"""``gitops-tool migrate plan|check``: gather the facts the migration core judges. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gitops_tool.adapters.kube.client import KubeClient, api_path
from gitops_tool.core import backup_jobs as bj
from gitops_tool.core.conventions import ARGOCD_DIR, COMPONENT_LABEL, NAMESPACE, SCHEDULER_COMPONENT
from gitops_tool.core.migration import MigrationFacts, application_states
from gitops_tool.core.node_roles import plan_labels
from gitops_tool.errors import ApiNotFound, UserError
from gitops_tool.services import nodes
from gitops_tool.services.backup import APPLICATIONS


def _applications(client: KubeClient) -> list[dict[str, Any]]:
    try:
        return list(client.list(APPLICATIONS))
    except ApiNotFound:  # Argo CD is not installed: the check says so
        return []


def _ready_schedulers(client: KubeClient) -> dict[str, str]:
    ready = {}
    selector = f"{COMPONENT_LABEL}={SCHEDULER_COMPONENT}"
    for pod in client.list(api_path("", "v1", "pods", NAMESPACE), label_selector=selector):
        conditions = (pod.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            ready[str(pod["metadata"]["name"])] = str((pod.get("spec") or {}).get("nodeName", ""))
    return ready


def gather(
    client: KubeClient, target: str, legacy: str, max_backup_age: timedelta, now: datetime | None = None
) -> MigrationFacts:
    loaded = nodes.load_mapping(target)
    assert loaded is not None  # noqa: S101 - required=True raises instead
    legacy_label = nodes.load_mapping(legacy, required=False)
    labels = nodes.live_node_labels(client)
    cronjob = client.get_or_none(api_path("batch", "v1", "cronjobs", NAMESPACE, bj.BACKUP_CRONJOB))
    jobs = list(client.list(api_path("batch", "v1", "jobs", NAMESPACE))) if cronjob is not None else []
    return MigrationFacts(
        now=now or datetime.now(UTC),
        mapping=loaded.mapping,
        label_plan=plan_labels(loaded.mapping, labels),
        node_names=sorted(labels),
        applications=application_states(_applications(client)),
        last_backup=bj.latest_success(jobs, cronjob),
        backup_component=cronjob is not None,
        scheduler_nodes=_ready_schedulers(client),
        max_backup_age=max_backup_age,
        target=loaded.overlay,
        legacy=legacy_label.overlay if legacy_label is not None else legacy,
        target_backups=_enables_backups(target),
    )


def _enables_backups(overlay: str) -> bool | None:
    """Whether the overlay's kustomization (in the work tree) lists components/backup."""
    from gitops_tool.adapters import yaml_roundtrip
    from gitops_tool.adapters.files import read_text
    from gitops_tool.adapters.project import display_path, kustomization_file, resolve_overlay
    from gitops_tool.core.backup_component import is_enabled

    folder = resolve_overlay(overlay)
    file = kustomization_file(folder)
    if file is None:
        return None
    label = display_path(folder)
    loaded = yaml_roundtrip.load(read_text(file, "kustomization"), f"{label}/{file.name}")
    kustomization = yaml_roundtrip.plain(loaded.documents[0]) if loaded.documents else {}
    return isinstance(kustomization, dict) and is_enabled(kustomization, label, file.name)


@dataclass
class SwitchResult:
    path: str
    before: str
    after: str
    commit: str | None = None


def switch(target: str, commit: bool = True, start: Path | None = None) -> SwitchResult:
    """Commit the one-line change of ``argocd/root.yaml`` that repoints the Airflow Application."""
    from gitops_tool.adapters.files import read_text
    from gitops_tool.adapters.project import display_path, resolve_overlay
    from gitops_tool.adapters.transaction import FileTransaction
    from gitops_tool.core.migration import switch_root_include
    from gitops_tool.services.committed_change import commit_change, locked_repository, refuse_dirty

    with locked_repository(start or Path.cwd(), "migrate switch") as (root, git):
        overlay = resolve_overlay(target, root)
        name = overlay.name
        root_file = root / ARGOCD_DIR / "root.yaml"
        if not (root / ARGOCD_DIR / "applications" / f"{name}.yaml").is_file():
            raise UserError(
                f"no Argo CD Application for {display_path(overlay, root)}: "
                f"{ARGOCD_DIR}/applications/{name}.yaml"
            )
        relative = git.relative(root_file)
        refuse_dirty(git, root, [relative])
        after_text, before = switch_root_include(read_text(root_file, "Argo CD root app"), name, relative)
        result = SwitchResult(relative, before, name)

        def apply(files: FileTransaction) -> list[str]:
            files.write_file(root_file.relative_to(root).as_posix(), after_text)
            return [relative]

        result.commit = commit_change(
            root,
            git,
            verb="migrate switch",
            message=f"argocd: switch the Airflow layout from {before} to {name}",
            paths=[relative],
            apply=apply,
            commit=commit,
        )
    return result
