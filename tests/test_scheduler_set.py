"""Which files know the set of schedulers: only those add-scheduler / remove-scheduler edit.

Anti-affinity, the PodDisruptionBudget, dashboards, alerts and policies must select schedulers by
their common label; a file that names scheduler-2 itself would go stale when a scheduler is added.
This scans the data (not the comments) of every manifest, dashboard and policy of the repository.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO_ROOT

# airflow-scheduler-2, scheduler-2, worker-pod-template-2 (2 being a shipped instance, not the template's 0).
_NAMES_AN_INSTANCE = re.compile(r"(?:scheduler|worker-pod-template)-[1-9][0-9]*(?![0-9])")
_EDITED_BY_THE_COMMANDS = re.compile(r"^overlays/[^/]+/(kustomization\.yaml|node-roles\.yaml|schedulers/.*)$")


def _strings(tree: Any) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, dict):
        return [s for k, v in tree.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(tree, list):
        return [s for item in tree for s in _strings(item)]
    return []


def _data_strings(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        return _strings([d for d in yaml.safe_load_all(text) if d is not None])
    if path.suffix == ".json":
        return _strings(json.loads(text))
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


def test_only_the_scaffolded_files_enumerate_schedulers() -> None:
    offenders: dict[str, list[str]] = {}
    for folder in ("base", "overlays", "policies", "argocd", "components"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if not path.is_file() or path.suffix not in (".yaml", ".yml", ".json", ".rego"):
                continue
            if _EDITED_BY_THE_COMMANDS.match(relative) or "/tests/" in relative or "_test." in path.name:
                continue
            hits = sorted({m for s in _data_strings(path) for m in _NAMES_AN_INSTANCE.findall(s)})
            if hits:
                offenders[relative] = hits
    assert offenders == {}, (
        "these files name scheduler instances and would go stale on add-scheduler: select schedulers by "
        "the label app.kubernetes.io/component=scheduler instead, or teach add-scheduler to edit them"
    )
