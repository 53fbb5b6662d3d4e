"""How many days of Airflow logs the airflow-logs volume keeps, as data.

base/log-retention ships ConfigMap ``airflow-log-retention`` (key ``retention-days``, default 15) that
CronJob ``airflow-log-retention`` reads at each run. ``gitops-tool logs retention set DAYS`` writes an
overlay patch of that ConfigMap (core/configmap_patches.py), removed again when DAYS is the default.
Pure: it checks the wanted value, plans the edits and reads the value back from a render.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitops_tool.core import components as cc
from gitops_tool.core.configmap_patches import PATCHES_KEY, upsert
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit
from gitops_tool.errors import AlreadyInState, UserError

CONFIGMAP = "airflow-log-retention"
CRONJOB = "airflow-log-retention"
KEY = "retention-days"
DEFAULT_DAYS = 15
# Ten years: a bigger number is more likely a typo than a plan (and the volume would never be pruned).
MAX_DAYS = 3650


class NothingToChange(AlreadyInState):
    """The overlay already keeps logs for that many days."""


def check_days(text: str) -> int:
    """A whole number of days, 1..MAX_DAYS; one clear reason otherwise."""
    raw = text.strip()
    if not raw.isdigit() or not raw.isascii():
        raise UserError(f"log retention must be a whole number of days (1-{MAX_DAYS}), not {text!r}")
    days = int(raw)
    if not 1 <= days <= MAX_DAYS:
        raise UserError(f"log retention must be between 1 and {MAX_DAYS} days, not {days}")
    return days


def read_days(objects: list[Manifest], overlay: str) -> int:
    """The retention the overlay renders (its ConfigMap ``airflow-log-retention``)."""
    found = [o for o in objects if o.get("kind") == "ConfigMap" and o["metadata"].get("name") == CONFIGMAP]
    if len(found) != 1:
        raise UserError(f"{overlay} renders {len(found)} ConfigMap {CONFIGMAP} (expected one, from base)")
    value = str((found[0].get("data") or {}).get(KEY, ""))
    if not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise UserError(f"{overlay}: ConfigMap {CONFIGMAP} has {KEY} {value!r}, not a number of days")
    return int(value)


def plan_set(
    kustomization: Mapping[str, Any],
    file: str,
    overlay: str,
    days: int,
    current: int,
    *,
    literal: Callable[[str], Any] = str,
) -> list[Edit]:
    """Edits setting ``days`` in the overlay's patch of ``airflow-log-retention`` (the patch removed
    when ``days`` is the base's default)."""
    if days == current:
        raise NothingToChange(f"{overlay} already keeps logs for {days} day(s)")
    entries = list(cc.kustomization_list(kustomization, PATCHES_KEY, file))
    data = None if days == DEFAULT_DAYS else {KEY: str(days)}
    edits = upsert(entries, file, CONFIGMAP, (KEY,), data, literal)
    if not edits:  # the default, and no patch of ours to remove: something else sets the value
        raise UserError(
            f"{overlay} renders {current} day(s) but has no patch of ConfigMap {CONFIGMAP} in its "
            f"{PATCHES_KEY}: whatever sets it is not gitops-tool's; change it there"
        )
    return edits
