"""Every row of the seed's architecture traces to files: docs/repository-layout.md is checked here.

Each row names the seed component, its node role, the rendered objects and the files defining them.
A file defines an object when it holds it, when it is the data file a generator of that name reads,
or when it is a scheduler instance folder whose nameSuffix turns the template's object into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_tool.core.images import pod_spec
from gitops_tool.core.objects import describe
from tests.conftest import REPO_ROOT
from tests.manifests_support import (
    HA,
    find,
    node_labels,
    node_roles,
    placement,
    preferred_nodes,
    rendered,
    worker_templates,
)

# The seed's table and shared components (../shared/seed, DESIGN.md "The seed in one table").
SEED_COMPONENTS = [
    "Namespace",
    "Airflow configuration",
    "NFS server (`nfs-server:2049`)",
    "NFS client provisioner",
    "StorageClass `nfs-client`",
    "PVC `airflow-dags` 5Gi RWX",
    "PVC `airflow-logs` 10Gi RWX",
    "test-nfs-pod",
    "RBAC for worker pods",
    "PostgreSQL (`postgres:5432`, RWO local storage)",
    "Airflow webserver (LoadBalancer 8080)",
    "Airflow scheduler #1",
    "Airflow scheduler #2",
    "Worker pods of scheduler #1 (preferred node)",
    "Worker pods of scheduler #2 (preferred node)",
    "Scheduler anti-affinity and disruption budget",
    "node-exporter",
    "Prometheus (`prometheus:9090`, annotation-based scraping)",
    "Grafana (LoadBalancer 3000)",
    'Dashboard "Airflow Kubernetes Metrics"',
    'Dashboard "Airflow Advanced Kubernetes Metrics"',
    "Node labels `node-role.kubernetes.io/airflow`",
    "Node minimums (management 2 CPU / 4 GB, schedulers 1 CPU / 2 GB)",
]


@dataclass(frozen=True)
class Row:
    component: str
    role: str
    objects: tuple[tuple[str, str], ...]
    files: tuple[str, ...]


def _rows() -> list[Row]:
    section = (REPO_ROOT / "docs" / "repository-layout.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("Reference component", "---"):
            continue
        objects = tuple(
            (o.split("/", 1)[0], o.split("/", 1)[1]) for o in re.findall(r"`(\w+/[\w.-]+)`", cells[2])
        )
        files = tuple(re.findall(r"`([\w./-]+\.(?:yaml|yml|json|env|py))`", cells[3]))
        rows.append(Row(cells[0], cells[1], objects, files))
    return rows


ROWS = _rows()


def test_docs_list_every_seed_component_once() -> None:
    components = [r.component for r in ROWS]
    assert len(set(components)) == len(components)
    assert [c for c in components if c in SEED_COMPONENTS] == SEED_COMPONENTS


def _kustomization(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    return data


def _holds(path: Path, kind: str, name: str) -> bool:
    if path.suffix not in (".yaml", ".yml") or path.name == "kustomization.yaml":
        return False
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
    return any(d.get("kind") == kind and (d.get("metadata") or {}).get("name") == name for d in docs)


def _generates(path: Path, kind: str, name: str) -> bool:
    """``path`` is a kustomization generating ConfigMap ``name``, or a file such a generator reads."""
    folder = next((f for f in path.parents if (f / "kustomization.yaml").is_file()), None)
    if kind != "ConfigMap" or folder is None:
        return False
    for generator in _kustomization(folder).get("configMapGenerator") or []:
        sources = (generator.get("files") or []) + (generator.get("envs") or [])
        read = {s.split("=", 1)[-1] for s in sources}
        if generator["name"] == name and (
            path.name == "kustomization.yaml" or str(path.relative_to(folder)) in read
        ):
            return True
    return False


def _instantiates(path: Path, kind: str, name: str) -> bool:
    if path.name != "kustomization.yaml":
        return False
    data = _kustomization(path.parent)
    suffix = data.get("nameSuffix", "")
    if not suffix or not name.endswith(suffix):
        return False
    for resource in data.get("resources") or []:
        folder = (path.parent / resource).resolve()
        if folder.is_dir() and any(_holds(f, kind, name.removesuffix(suffix)) for f in folder.glob("*.y*ml")):
            return True
    return False


def defines(path: Path, kind: str, name: str) -> bool:
    return _holds(path, kind, name) or _generates(path, kind, name) or _instantiates(path, kind, name)


@pytest.mark.parametrize("row", ROWS, ids=[r.component for r in ROWS])
def test_row_traces_to_files_that_define_its_objects(row: Row) -> None:
    assert row.files, "every row names at least one file"
    for file in row.files:
        assert (REPO_ROOT / file).is_file(), file
    for kind, name in row.objects:
        assert any(defines(REPO_ROOT / f, kind, name) for f in row.files), (
            f"no file of the row defines {kind}/{name}"
        )
        find(rendered(HA), kind, name)


@pytest.mark.parametrize("row", [r for r in ROWS if r.role != "-"], ids=lambda r: r.component)
def test_row_runs_on_the_seeds_node_role(row: Row) -> None:
    objects = rendered(HA)
    nodes = node_labels(HA)
    roles = node_roles(HA)
    placed = placement(objects, nodes)
    expected = set(nodes) if row.role == "every node" else {roles[row.role]}
    templates = worker_templates(objects)
    checked = 0
    for kind, name in row.objects:
        obj = find(objects, kind, name)
        if pod_spec(obj) is not None:
            assert placed[describe(obj)] == expected, f"{kind}/{name}"
            checked += 1
        elif obj["metadata"]["name"] in templates:
            assert preferred_nodes(templates[obj["metadata"]["name"]]["spec"], nodes) == expected
            checked += 1
    if row.component.startswith("Node labels"):
        assert set(roles.values()) == expected
        checked += 1
    if row.component.startswith("Node minimums"):
        checked += 1  # tests/test_manifests_resources.py checks them per role
    assert checked or all(pod_spec(find(objects, k, n)) is None for k, n in row.objects)
