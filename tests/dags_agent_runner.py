"""Runs the agent pod's script for real (``/bin/sh``, GNU tar, coreutils) on a tmp folder.

Shared by the script tests and by the emulated kubelet of the cluster tests: the pod's env is
applied as given, with every path under a volume mount mapped to the tmp folder standing in
for that volume.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any


def run_pod(
    pod: dict[str, Any], volumes: dict[str, Path], configmaps: dict[str, dict[str, Any]]
) -> tuple[int, str]:
    """Run the pod's one container; ``volumes`` maps PVC claim names to folders. (exit code, log)."""
    spec = pod["spec"]
    container = spec["containers"][0]
    scratch = volumes["__scratch__"]
    mounts: dict[str, Path] = {}
    for volume in spec["volumes"]:
        mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
        if "persistentVolumeClaim" in volume:
            mounts[mount["mountPath"]] = volumes[volume["persistentVolumeClaim"]["claimName"]]
        else:
            source = configmaps[volume["configMap"]["name"]]
            folder = scratch / f"cm-{volume['name']}"
            folder.mkdir(parents=True, exist_ok=True)
            for key, value in (source.get("binaryData") or {}).items():
                (folder / key).write_bytes(base64.b64decode(value))
            for key, value in (source.get("data") or {}).items():
                (folder / key).write_text(value, encoding="utf-8")
            mounts[mount["mountPath"]] = folder
    env = {"PATH": "/usr/bin:/bin"}
    for item in container["env"]:
        value = str(item["value"])
        for mount_path, host in mounts.items():
            if value == mount_path or value.startswith(mount_path + "/"):
                value = str(host) + value[len(mount_path) :]
        env[item["name"]] = value
    command = container["command"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr
