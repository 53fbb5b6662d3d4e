"""Which field identifies an item of a list, so lists are matched by key and not by position.

From the Kubernetes API's ``patchMergeKey`` / ``x-kubernetes-list-map-keys`` (what
``kubectl apply``'s strategic merge patch and server-side apply use), with the API server's
defaults for key fields (a port's protocol is ``TCP`` when not given).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

KeySpec = tuple[tuple[str, Any], ...]  # (field, default when absent); default None = required

_NAME: KeySpec = (("name", None),)
MERGE_KEYS: dict[str, KeySpec] = {
    "containers": _NAME,
    "initContainers": _NAME,
    "ephemeralContainers": _NAME,
    "env": _NAME,
    "volumes": _NAME,
    "imagePullSecrets": _NAME,
    "resourceClaims": _NAME,
    "volumeMounts": (("mountPath", None),),
    "volumeDevices": (("devicePath", None),),
    "hostAliases": (("ip", None),),
    "readinessGates": (("conditionType", None),),
    "topologySpreadConstraints": (("topologyKey", None), ("whenUnsatisfiable", None)),
    # Atomic in the API; matched by what identifies a toleration so a changed value reads as changed.
    "tolerations": (("key", ""), ("operator", "Equal"), ("effect", "")),
    "conditions": (("type", None),),
    "remoteWrite": (("url", None),),
}
_CONTAINER_PORT: KeySpec = (("containerPort", None), ("protocol", "TCP"))
_SERVICE_PORT: KeySpec = (("port", None), ("protocol", "TCP"))

Key = tuple[Any, ...]
KeyFunction = Callable[[Mapping[str, Any]], Key | None]


def key_spec(field: str, sample: Mapping[str, Any]) -> KeySpec | None:
    """The key of list ``field`` (``sample`` tells container ports from Service ports)."""
    if field == "ports":
        if "containerPort" in sample:
            return _CONTAINER_PORT
        if "port" in sample:
            return _SERVICE_PORT
        return None
    return MERGE_KEYS.get(field)


def key_of(spec: KeySpec, item: Mapping[str, Any]) -> Key | None:
    """The key of ``item``; None when a required key field is missing (match by position then)."""
    values = []
    for name, default in spec:
        value = item.get(name, default)
        if value is None or isinstance(value, (dict, list)):
            return None  # absent or malformed: pair by position instead
        # 80 and "80" are one key: desired int-or-string values are normalised to strings.
        values.append(str(value) if isinstance(value, int) and not isinstance(value, bool) else value)
    return tuple(values)
