"""Both sides of a comparison in one comparable form.

``normalise_desired`` cleans what Git holds: drops identity, status and server metadata, turns a
Secret's ``stringData`` into base64 ``data``, spells quantities and int-or-string values one way,
and drops empty values (``""``, ``null``, ``{}``, ``[]`` equal a missing field).

``project_live`` reads a live object *through* the desired one. Fields the desired object sets are
kept (normalised the same way); list items are paired by merge key and put in the desired order.
A field present only live is kept (and so becomes drift) only when someone who speaks for the
desired state set it:

- the GitOps applier set it earlier and Git no longer does: it is in
  ``kubectl.kubernetes.io/last-applied-configuration`` or in an applier's managedFields;
- an imperative manager (``kubectl edit``/``set``/``patch``/``label``/``scale``...) owns it.

Everything else only live - server defaults, admission plugins, controllers - is dropped. Only the
parts of the live object that the walk reaches are touched, so ``status`` and ``managedFields``
cost nothing beyond what parsing them already cost.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gitops_tool.core import conventions as c
from gitops_tool.core.drift.fieldsv1 import NO_OWNERS, FieldsNode, Owners, item_child
from gitops_tool.core.drift.mergekeys import key_of, key_spec
from gitops_tool.core.drift.quantity import normalise_quantity

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Metadata the applier injects itself: never compared, on either side.
INJECTED_ANNOTATIONS = frozenset({LAST_APPLIED, c.ARGOCD_TRACKING_ID})
# Argo CD's label tracking adds this live; it is drift only when Git sets it (then it is compared).
INJECTED_LABELS = frozenset({"app.kubernetes.io/instance"})
COMPARED_METADATA = ("labels", "annotations", "finalizers")

# Maps whose values are resource quantities, and single fields that are quantities.
_QUANTITY_MAPS = frozenset(
    {
        "limits",
        "requests",
        "hard",
        "capacity",
        "allocatable",
        "overhead",
        "default",
        "defaultRequest",
        "max",
        "min",
        "maxLimitRequestRatio",
    }
)
_QUANTITY_FIELDS = frozenset({"sizeLimit"})
# IntOrString fields: 80 and "80" are the same value there.
_INT_OR_STRING = frozenset({"targetPort", "maxSurge", "maxUnavailable", "minAvailable"})
_PROBE_HANDLERS = frozenset({"httpGet", "tcpSocket", "grpc"})
_SPECIAL_SCALARS = _QUANTITY_FIELDS | _INT_OR_STRING | {"port"}


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, dict, list)) and not value)


def normalise_value(value: Any, key: str = "", parent: str = "") -> Any:
    """A normalised copy: empties dropped from mappings, quantities and int-or-strings canonical."""
    cls = value.__class__
    if cls is dict:
        out = {}
        for k, v in value.items():
            vcls = v.__class__
            if vcls is dict or vcls is list:
                n = normalise_value(v, k, key)
                if n:
                    out[k] = n
            elif v is None or v == "":
                continue
            elif key in _QUANTITY_MAPS or k in _SPECIAL_SCALARS:
                out[k] = normalise_scalar(v, k, key)
            else:
                out[k] = v
        return out
    if cls is list:
        return [normalise_value(v, key, parent) for v in value]
    return normalise_scalar(value, key, parent)


def normalise_scalar(value: Any, key: str, parent: str) -> Any:
    if parent in _QUANTITY_MAPS or key in _QUANTITY_FIELDS:
        return normalise_quantity(value)
    if (key in _INT_OR_STRING or (key == "port" and parent in _PROBE_HANDLERS)) and type(value) is int:
        return str(value)
    return value


def string_data_as_data(data: Any, string_data: Any) -> dict[str, Any]:
    """A Secret's ``data`` with its ``stringData`` merged in, base64-encoded, as the API server
    stores it (``stringData`` wins)."""
    merged = dict(data) if isinstance(data, Mapping) else {}
    for k, v in (string_data if isinstance(string_data, Mapping) else {}).items():
        if not is_empty(v):
            merged[k] = base64.b64encode(str(v).encode()).decode()
    return merged


def live_secret_as_stored(obj: dict[str, Any]) -> dict[str, Any]:
    """A live Secret written with ``stringData`` (a hand-made snapshot) as the server stores it."""
    if obj.get("kind") != "Secret" or not obj.get("stringData"):
        return obj
    stored = {k: v for k, v in obj.items() if k != "stringData"}
    stored["data"] = string_data_as_data(obj.get("data"), obj.get("stringData"))
    return stored


def normalise_desired(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What of ``obj`` is compared, in canonical form (see module doc)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status", "metadata"):
            continue
        n = normalise_value(value, key)
        if not is_empty(n):
            out[key] = n
    if obj.get("kind") == "Secret" and obj.get("stringData"):
        data = string_data_as_data(out.get("data"), obj.get("stringData"))
        out.pop("stringData", None)
        if data:
            out["data"] = data
    meta = _compared_metadata(obj.get("metadata") or {})
    if meta:
        out["metadata"] = meta
    return out


def _compared_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in COMPARED_METADATA:
        value = meta.get(key)
        if key == "annotations" and value:
            value = {k: v for k, v in value.items() if k not in INJECTED_ANNOTATIONS}
        n = normalise_value(value, key)
        if not is_empty(n):
            out[key] = n
    return out


@dataclass
class Explanation:
    """Why live-only fields were kept, by path in the projected object (filled on request)."""

    reasons: dict[tuple[Any, ...], str] = field(default_factory=dict)


def last_applied_of(live: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class _Watch(NamedTuple):
    """Who may have set the fields under the current node: last-applied and managedFields subtrees."""

    la: Any
    app: tuple[FieldsNode, ...]
    imp: tuple[tuple[str, FieldsNode], ...]

    def field(self, k: str) -> _Watch:
        la = self.la.get(k) if self.la.__class__ is dict else None
        fk = "f:" + k
        if len(self.app) == 1:  # the usual case: one applier entry
            only = self.app[0].get(fk)
            app: tuple[FieldsNode, ...] = () if only is None else (only,)
        else:
            app = tuple(n for n in (a.get(fk) for a in self.app) if n is not None)
        imp = (
            tuple((m, n) for m, n in ((m, i.get(fk)) for m, i in self.imp) if n is not None)
            if self.imp
            else ()
        )
        if la is None and not app and not imp:
            return _NOTHING
        return _Watch(la, app, imp)

    def item(self, item: Mapping[str, Any], la_item: Any) -> _Watch:
        app = tuple(n for n in (item_child(a, item) for a in self.app) if n is not None) if self.app else ()
        imp = (
            tuple((m, n) for m, n in ((m, item_child(x, item)) for m, x in self.imp) if n is not None)
            if self.imp
            else ()
        )
        if la_item is None and not app and not imp:
            return _NOTHING
        return _Watch(la_item, app, imp)

    def whole(self) -> str | None:
        """Why the whole value here counts: last applied as a plain value, or owned as a leaf."""
        la = self.la
        list_of_objects = isinstance(la, list) and bool(la) and isinstance(la[0], dict)
        if la is not None and not isinstance(la, dict) and not is_empty(la) and not list_of_objects:
            return _APPLIED_BEFORE
        if any(not a for a in self.app):
            return _APPLIED_BEFORE
        for manager, node in self.imp:
            if not node:
                return _imperative(manager)
        return None

    def why_item(self, item: Mapping[str, Any], in_last_applied: bool) -> str | None:
        if in_last_applied or any(item_child(a, item) is not None for a in self.app):
            return _APPLIED_BEFORE
        for manager, node in self.imp:
            if item_child(node, item) is not None:
                return _imperative(manager)
        return None


_NOTHING = _Watch(None, (), ())


def _root_watch(live: Mapping[str, Any], owners: Owners) -> _Watch:
    """What the object's last-applied configuration and field managers say about its top level."""
    la = last_applied_of(live)
    return _Watch(la, owners.applier, owners.imperative) if la or owners is not NO_OWNERS else _NOTHING


def _applied_by_key(spec: Any, applied: Any) -> dict[Any, Any]:
    """A keyed list's last-applied items by their merge key (items without one are not indexed)."""
    by_key: dict[Any, Any] = {}
    if isinstance(applied, list):
        for item in applied:
            k = key_of(spec, item) if isinstance(item, dict) else None
            if k is not None:
                by_key[k] = item
    return by_key


_ABSENT = object()
_APPLIED_BEFORE = "applied from Git earlier, no longer in Git, still live"


def _imperative(manager: str) -> str:
    return f"set live by {manager} (imperative change)"


Path = tuple[Any, ...]


class _Projector:
    def __init__(self, explain: Explanation | None) -> None:
        self.explain = explain

    def _note(self, path: Path | None, why: str) -> None:
        if path is not None and self.explain is not None:
            self.explain.reasons[path] = why

    def dict_(
        self, d: Mapping[str, Any], live: Mapping[str, Any], watch: _Watch, key: str, path: Path | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        watched = watch is not _NOTHING
        for k, lv in live.items():
            dv = d.get(k, _ABSENT)
            if dv is _ABSENT:
                if not watched or is_empty(lv):
                    continue
                sub_path = (*path, k) if path is not None else None
                kept, why = self.live_only(lv, watch.field(k), k, key, sub_path)
                if kept is not _ABSENT:
                    out[k] = kept
                    if why is not None:
                        self._note(sub_path, why)
                continue
            cls = lv.__class__
            if cls is not dict and cls is not list:
                # Scalars need no ownership context; most need no normalising either.
                special = key in _QUANTITY_MAPS or k in _SPECIAL_SCALARS
                out[k] = normalise_scalar(lv, k, key) if special else lv
                continue
            sub = watch.field(k) if watched else _NOTHING
            out[k] = self.value(dv, lv, sub, k, key, (*path, k) if path is not None else None)
        return out

    def live_only(
        self, lv: Any, watch: _Watch, key: str, parent: str, path: Path | None
    ) -> tuple[Any, str | None]:
        """The parts of a value only live that someone speaking for Git set, and why."""
        if watch is _NOTHING or is_empty(lv):
            return _ABSENT, None
        whole = watch.whole()
        if whole is not None:
            value = normalise_value(lv, key, parent)
            return (_ABSENT, None) if is_empty(value) else (value, whole)
        first: str | None = None
        if isinstance(lv, dict):
            out: dict[str, Any] = {}
            for k, v in lv.items():
                kept, why = self.live_only(
                    v, watch.field(k), k, key, (*path, k) if path is not None else None
                )
                if kept is not _ABSENT:
                    out[k] = kept
                    first = first or why
            return (out, first) if out else (_ABSENT, None)
        if isinstance(lv, list) and isinstance(lv[0], dict):
            spec = key_spec(key, lv[0])
            la_keys = set()
            if spec is not None and isinstance(watch.la, list):
                la_keys = {key_of(spec, i) for i in watch.la if isinstance(i, dict)}
            items = []
            for item in lv:
                if not isinstance(item, dict):
                    continue
                why = watch.why_item(item, spec is not None and key_of(spec, item) in la_keys)
                if why is not None:
                    items.append(normalise_value(item, key))
                    first = first or why
            return (items, first) if items else (_ABSENT, None)
        return _ABSENT, None

    def value(  # noqa: PLR0917 - hot path: positional calls are measurably cheaper
        self, dv: Any, lv: Any, watch: _Watch, key: str, parent: str, path: Path | None
    ) -> Any:
        if isinstance(dv, dict) and isinstance(lv, dict):
            return self.dict_(dv, lv, watch, key, path)
        if isinstance(dv, list) and isinstance(lv, list):
            return self.list_(dv, lv, watch, key, path)
        return normalise_value(lv, key, parent)

    def list_(self, d: list[Any], live: list[Any], watch: _Watch, key: str, path: Path | None) -> list[Any]:
        if not (d and live and isinstance(d[0], dict) and isinstance(live[0], dict)):
            return [normalise_value(v, key) for v in live]
        spec = key_spec(key, d[0])
        if spec is not None:
            live_keys = [key_of(spec, item) if isinstance(item, dict) else None for item in live]
            desired_keys = [key_of(spec, item) if isinstance(item, dict) else None for item in d]
            if None not in live_keys and None not in desired_keys and len(set(live_keys)) == len(live_keys):
                return self._by_key(
                    d, desired_keys, dict(zip(live_keys, live, strict=True)), spec, watch, key, path
                )
        # Atomic lists of objects (volumeClaimTemplates, rules...): pair by position.
        la = watch.la if isinstance(watch.la, list) else []
        out: list[Any] = []
        for i, lv in enumerate(live):
            if i < len(d):
                sub = _Watch(la[i], (), ()) if i < len(la) else _NOTHING
                out.append(self.value(d[i], lv, sub, key, key, (*path, i) if path is not None else None))
            else:
                out.append(normalise_value(lv, key))
        out.extend([None] * (len(d) - len(live)))
        return out

    def _by_key(  # noqa: PLR0917 - hot path: positional calls are measurably cheaper
        self,
        d: list[Any],
        desired_keys: list[Any],
        by_key: dict[Any, Any],
        spec: Any,
        watch: _Watch,
        key: str,
        path: Path | None,
    ) -> list[Any]:
        la_by_key = _applied_by_key(spec, watch.la)
        watched = watch is not _NOTHING
        out: list[Any] = []
        for i, (dk, ditem) in enumerate(zip(desired_keys, d, strict=True)):
            litem = by_key.pop(dk, None)
            if litem is None:
                out.append(None)  # keeps desired positions; reported as "in Git, not live"
                continue
            sub = watch.item(litem, la_by_key.get(dk)) if watched else _NOTHING
            out.append(self.dict_(ditem, litem, sub, key, (*path, i) if path is not None else None))
        if not watched:
            return out
        for lk, litem in by_key.items():  # live-only items, in live order, after the desired ones
            why = watch.why_item(litem, lk in la_by_key)
            if why is None:
                continue
            self._note((*path, len(out)) if path is not None else None, why)
            out.append(normalise_value(litem, key))
        return out


def project_live(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    owners: Owners = NO_OWNERS,
    explain: Explanation | None = None,
) -> dict[str, Any]:
    """``live`` seen through normalised ``desired`` (see module doc)."""
    projector = _Projector(explain)
    root = _root_watch(live, owners)
    trimmed = {k: v for k, v in live.items() if k not in ("apiVersion", "kind", "status", "metadata")}
    out = projector.dict_(desired, trimmed, root, "", () if explain is not None else None)
    meta = _project_metadata(
        desired.get("metadata") or {},
        live.get("metadata") or {},
        root,
        projector,
        ("metadata",) if explain is not None else None,
    )
    if meta:
        out["metadata"] = meta
    return out


def _project_metadata(
    d: Mapping[str, Any], live: Mapping[str, Any], root: _Watch, projector: _Projector, path: Path | None
) -> dict[str, Any]:
    trimmed: dict[str, Any] = {}
    for key in COMPARED_METADATA:
        value = live.get(key)
        if is_empty(value):
            continue
        if key == "annotations" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in INJECTED_ANNOTATIONS}
        elif key == "labels" and isinstance(value, dict) and not INJECTED_LABELS.isdisjoint(value):
            wanted = d.get("labels") or {}
            value = {k: v for k, v in value.items() if k not in INJECTED_LABELS or k in wanted}
        trimmed[key] = value
    watch = root.field("metadata") if root is not _NOTHING else _NOTHING
    out = projector.dict_(d, trimmed, watch, "metadata", path)
    return {k: v for k, v in out.items() if not is_empty(v)}


class _Checker:
    """``project_live(d, live) == d`` without building the projection: stops at the first difference.

    The fast path of every comparison (nearly all objects are in sync); it must agree exactly with
    ``project_live``, which tests check on realistic objects.
    """

    def __init__(self) -> None:
        self.projector = _Projector(None)

    def dict_(self, d: Mapping[str, Any], live: Mapping[str, Any], watch: _Watch, key: str) -> bool:
        watched = watch is not _NOTHING
        seen = 0
        for k, lv in live.items():
            dv = d.get(k, _ABSENT)
            if dv is _ABSENT:
                if watched and not is_empty(lv):
                    kept, _ = self.projector.live_only(lv, watch.field(k), k, key, None)
                    if kept is not _ABSENT:
                        return False
                continue
            seen += 1
            cls = lv.__class__
            if cls is dict:
                if dv.__class__ is not dict:
                    return bool(normalise_value(lv, k, key) == dv)
                if not self.dict_(dv, lv, watch.field(k) if watched else _NOTHING, k):
                    return False
            elif cls is list:
                if dv.__class__ is not list:
                    return bool(normalise_value(lv, k, key) == dv)
                if not self.list_(dv, lv, watch.field(k) if watched else _NOTHING, k):
                    return False
            else:
                special = key in _QUANTITY_MAPS or k in _SPECIAL_SCALARS
                if (normalise_scalar(lv, k, key) if special else lv) != dv:
                    return False
        return seen == len(d)

    def list_(self, d: list[Any], live: list[Any], watch: _Watch, key: str) -> bool:
        if not (d and live and isinstance(d[0], dict) and isinstance(live[0], dict)):
            return bool([normalise_value(v, key) for v in live] == d)
        spec = key_spec(key, d[0])
        if spec is not None:
            live_keys = [key_of(spec, item) if isinstance(item, dict) else None for item in live]
            desired_keys = [key_of(spec, item) if isinstance(item, dict) else None for item in d]
            unique = len(set(live_keys)) == len(live_keys)
            if None not in live_keys and None not in desired_keys and unique:
                by_key = dict(zip(live_keys, live, strict=True))
                return self._by_key(d, desired_keys, by_key, spec, watch, key)
        # Paired by position, as project_live does; a different length always differs there.
        if len(live) != len(d):
            return False
        la = watch.la if isinstance(watch.la, list) else []
        for i, lv in enumerate(live):
            sub = _Watch(la[i], (), ()) if i < len(la) else _NOTHING
            dv = d[i]
            if isinstance(dv, dict) and isinstance(lv, dict):
                if not self.dict_(dv, lv, sub, key):
                    return False
            elif isinstance(dv, list) and isinstance(lv, list):
                if not self.list_(dv, lv, sub, key):
                    return False
            elif normalise_value(lv, key, key) != dv:
                return False
        return True

    def _by_key(  # noqa: PLR0917 - hot path
        self,
        d: list[Any],
        desired_keys: list[Any],
        by_key: dict[Any, Any],
        spec: Any,
        watch: _Watch,
        key: str,
    ) -> bool:
        la_by_key = _applied_by_key(spec, watch.la)
        watched = watch is not _NOTHING
        for dk, ditem in zip(desired_keys, d, strict=True):
            litem = by_key.pop(dk, None)
            if litem is None:
                return False
            sub = watch.item(litem, la_by_key.get(dk)) if watched else _NOTHING
            if not self.dict_(ditem, litem, sub, key):
                return False
        if watched:
            for lk, litem in by_key.items():
                if watch.why_item(litem, lk in la_by_key) is not None:
                    return False
        return True


def live_matches(desired: Mapping[str, Any], live: Mapping[str, Any], owners: Owners = NO_OWNERS) -> bool:
    """Whether ``project_live(desired, live, owners) == desired``, computed without the projection."""
    root = _root_watch(live, owners)
    checker = _Checker()
    trimmed = {k: v for k, v in live.items() if k not in ("apiVersion", "kind", "status", "metadata")}
    wanted = {k: v for k, v in desired.items() if k != "metadata"}
    if not checker.dict_(wanted, trimmed, root, ""):
        return False
    desired_meta = desired.get("metadata") or {}
    meta = _project_metadata(desired_meta, live.get("metadata") or {}, root, checker.projector, None)
    return meta == desired_meta
