"""Version names, the manifest stored with each published version, and manifest diffs.

A version is ``<UTC time to the millisecond>-<content digest>`` (``20261127T051500123Z-3f2a9c1b0d``):
names sort by push time (pushes are serialised by the agent pod's fixed name), so the pod keeps the
newest ones and ``rollback`` finds the one before; the digest says at a glance whether two versions
hold the same tree.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitops_tool.errors import ClusterError

MANIFEST_FORMAT = 1
VERSION_PATTERN = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{10}$")


def content_digest(files: Mapping[str, str]) -> str:
    """A digest of the whole tree: paths and per-file digests, independent of order."""
    text = "".join(f"{path}\0{files[path]}\n" for path in sorted(files))
    return hashlib.sha256(text.encode()).hexdigest()


def version_name(files: Mapping[str, str], when: datetime) -> str:
    moment = when.astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"
    return f"{stamp}-{content_digest(files)[:10]}"


def is_version_name(name: str) -> bool:
    return bool(VERSION_PATTERN.match(name))


@dataclass(frozen=True)
class Manifest:
    """What one published version holds; stored as ``manifest.json`` beside its ``dags/`` folder."""

    version: str
    created: str  # ISO 8601, UTC
    files: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the folder name it was pushed from (no absolute path: it names a machine)

    def to_json(self) -> str:
        body = {
            "format": MANIFEST_FORMAT,
            "version": self.version,
            "created": self.created,
            "source": self.source,
            "files": dict(sorted(self.files.items())),
        }
        return json.dumps(body, indent=1, sort_keys=False) + "\n"


def new_manifest(files: Mapping[str, str], when: datetime, source: str) -> Manifest:
    return Manifest(
        version=version_name(files, when),
        created=when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        files=dict(files),
        source=source,
    )


def parse_manifest(text: str, where: str) -> Manifest:
    """A manifest read back from the volume; ``ClusterError`` when it is not one of ours."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise ClusterError(f"{where}: the stored manifest is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ClusterError(f"{where}: the stored manifest has no files map")
    files = {str(k): str(v) for k, v in data["files"].items()}
    return Manifest(
        version=str(data.get("version", "")),
        created=str(data.get("created", "")),
        files=files,
        source=str(data.get("source", "")),
    )


@dataclass(frozen=True)
class TreeDiff:
    added: list[str]
    changed: list[str]
    removed: list[str]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.changed or self.removed)


def diff_files(before: Mapping[str, str], after: Mapping[str, str]) -> TreeDiff:
    """Files added, changed (other digest or link target) and removed between two manifests."""
    return TreeDiff(
        added=sorted(set(after) - set(before)),
        changed=sorted(p for p in set(after) & set(before) if after[p] != before[p]),
        removed=sorted(set(before) - set(after)),
    )
