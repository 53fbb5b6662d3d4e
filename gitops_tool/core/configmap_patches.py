"""An overlay's strategic-merge patch of one ConfigMap, in its ``patches:``, as structural edits.

Used where an overlay overrides a few keys of a ConfigMap it does not own (git-sync's source, the
DAG folder, the log retention): the entry is updated in place (keys it set before are kept), created
at the end when absent, removed when there is nothing left to set. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from gitops_tool.core import components as cc
from gitops_tool.core.conventions import NAMESPACE
from gitops_tool.core.documents import parse_documents
from gitops_tool.core.scaffold.plan import Edit, SequenceInsert, SequenceRemove

PATCHES_KEY = cc.PATCHES_KEY


def upsert(  # noqa: PLR0917 - one patch entry: where, which ConfigMap, which keys, what
    entries: list[Any],
    file: str,
    name: str,
    keys: tuple[str, ...],
    data: Mapping[str, str] | None,
    literal: Callable[[str], Any],
) -> list[Edit]:
    """Edits setting ``data`` in the overlay's patch of ConfigMap ``name`` (updated in place, keeping
    the ``keys`` it set before; created at the end if absent; removed when ``data`` is None).
    ``entries`` is updated to what the edits leave."""
    target = {"kind": "ConfigMap", "name": name}
    for index, existing in enumerate(entries):
        if isinstance(existing, Mapping) and existing.get("target") == target:
            edits: list[Edit] = [SequenceRemove(file, (PATCHES_KEY,), index)]
            del entries[index]
            if data is not None:
                merged = {**_patched_data(existing.get("patch"), file, name, keys), **data}
                entries.insert(index, _patch(name, keys, merged, literal))
                edits.append(SequenceInsert(file, (PATCHES_KEY,), index, entries[index]))
            return edits
    if data is None:
        return []
    entries.append(_patch(name, keys, data, literal))
    return [SequenceInsert(file, (PATCHES_KEY,), len(entries) - 1, entries[-1])]


def _patched_data(text: Any, file: str, name: str, keys: tuple[str, ...]) -> dict[str, str]:
    documents = parse_documents(text, f"{file}: patch of {name}") if isinstance(text, str) else []
    data = documents[0].get("data") if documents and isinstance(documents[0], dict) else None
    return {str(k): str(v) for k, v in data.items() if k in keys} if isinstance(data, dict) else {}


def _patch(
    name: str, keys: tuple[str, ...], data: Mapping[str, str], literal: Callable[[str], Any]
) -> dict[str, Any]:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}"]
    lines += [f"  namespace: {NAMESPACE}", "data:"]
    # JSON strings are YAML double-quoted scalars: every value stays a string (a ref of digits too).
    lines += [f"  {key}: {json.dumps(data[key])}" for key in keys if key in data]
    return {"target": {"kind": "ConfigMap", "name": name}, "patch": literal("\n".join(lines) + "\n")}
