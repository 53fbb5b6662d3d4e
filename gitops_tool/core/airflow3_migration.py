"""The configuration side of a 2 -> 3 upgrade, as text edits of the repository.

Airflow reads its configuration here from ``AIRFLOW__SECTION__OPTION`` environment variables: lines
of the env files behind the ``airflow-config`` ConfigMaps, and ``env:`` entries of containers. An
option Airflow 3 moved (``[webserver] secret_key`` -> ``[api] secret_key``) is renamed wherever its
variable appears; an option Airflow 3 removed is dropped from env files and refused elsewhere (a
container that sets it needs a decision, not a silent edit). The tables come from Airflow's own
``airflow config lint`` (core.airflow3_config_changes), plus the few options that release removed
without listing them.

Pure: text in, text and the list of changes out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitops_tool.core import airflow3_config_changes as changes
from gitops_tool.errors import UserError

# Removed in Airflow 3 without an entry in its lint table: the DAG processor is always standalone.
UNLISTED_REMOVED: frozenset[tuple[str, str]] = frozenset({("scheduler", "standalone_dag_processor")})

_NAME = re.compile(
    r"\bAIRFLOW__(?P<section>[A-Z0-9]+(?:_[A-Z0-9]+)*)__(?P<option>[A-Z0-9_]+?)(?P<cmd>_CMD|_SECRET)?\b"
)


def env_name(section: str, option: str) -> str:
    return f"AIRFLOW__{section.upper()}__{option.upper()}"


@dataclass(frozen=True, order=True)
class OptionChange:
    """One option of the repository that Airflow 3 moved (``new`` set) or removed (``new`` None)."""

    old: str  # AIRFLOW__WEBSERVER__SECRET_KEY
    new: str | None  # AIRFLOW__API__SECRET_KEY, or None when removed

    def describe(self) -> str:
        return f"{self.old} -> {self.new}" if self.new else f"{self.old} removed"


def change_for(section: str, option: str) -> OptionChange | None:
    key = (section.lower(), option.lower())
    old = env_name(*key)
    if key in changes.RENAMED:
        return OptionChange(old, env_name(*changes.RENAMED[key]))
    if key in changes.REMOVED or key in UNLISTED_REMOVED:
        return OptionChange(old, None)
    return None


def _rename(match: re.Match[str], found: set[OptionChange], removed_at: list[str]) -> str:
    change = change_for(match["section"], match["option"])
    if change is None:
        return match[0]
    found.add(change)
    if change.new is None:
        removed_at.append(match[0])
        return match[0]
    return change.new + (match["cmd"] or "")


def migrate_env_file(text: str) -> tuple[str, set[OptionChange]]:
    """An ``envs:`` file of a configMapGenerator: moved options renamed, removed ones' lines dropped."""
    found: set[OptionChange] = set()
    out = []
    for original in text.splitlines(keepends=True):
        line = original
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and "=" in stripped:
            name = stripped.split("=", 1)[0].strip()
            match = _NAME.fullmatch(name)
            if match is not None:
                change = change_for(match["section"], match["option"])
                if change is not None:
                    found.add(change)
                    if change.new is None:
                        continue
                    line = line.replace(name, change.new + (match["cmd"] or ""), 1)
        out.append(line)
    return "".join(out), found


def migrate_manifest_text(text: str, source: str) -> tuple[str, set[OptionChange]]:
    """A YAML manifest: every moved ``AIRFLOW__...`` name renamed; a removed one is refused."""
    found: set[OptionChange] = set()
    removed_at: list[str] = []
    result = _NAME.sub(lambda m: _rename(m, found, removed_at), text)
    if removed_at:
        raise UserError(
            f"{source} sets {', '.join(sorted(set(removed_at)))}, which Airflow 3 removed: "
            "delete it there first (nothing was changed)"
        )
    return result, found
