"""The short-lived pod that writes the DAG volume: its script, its objects, and what it reports.

Transport: the archive travels as ``binaryData`` of one ConfigMap mounted into the pod (plain REST
calls, testable against any API server; see docs/tasks/deliver-dags.md). The pod runs a POSIX shell
script (given here as data) with the Airflow image, as the Airflow user (uid 50000, gid 0):

- ``publish`` unpacks into ``.dags-push/.<version>.tmp``, renames it to ``.dags-push/<version>``,
  then switches the published link atomically (``ln -s`` a new link, ``mv -T`` it over the old
  one: one ``rename(2)``), and only then prunes versions beyond the newest ``KEEP`` older ones;
- ``rollback`` switches the link to an older version (the one before the current by default);
- ``status`` only reads: the link, its version and the stored manifest.

Nothing is deleted before the switch. The script reports through ``gitops-tool:key=value`` lines
and ``begin=``/``end=`` blocks holding manifests, which ``parse_report`` reads back.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gitops_tool.core import conventions
from gitops_tool.core.dags.versions import Manifest
from gitops_tool.errors import ClusterError

Action = Literal["publish", "rollback", "status"]

AGENT_IMAGE = "apache/airflow:2.11.0-python3.9"  # the seed's image: already on every Airflow node
PUSH_POD = "airflow-dags-push"  # one name: a second concurrent push gets 409 AlreadyExists
BUNDLE_CONFIGMAP = "airflow-dags-push"
STATUS_POD_PREFIX = "airflow-dags-status-"
VOLUME_MOUNT = "/dags"
BUNDLE_MOUNT = "/bundle"
ARCHIVE_KEY = "dags.tar.gz"
MANIFEST_KEY = "manifest.json"
AGENT_LABELS = {
    "app.kubernetes.io/name": "airflow-dags-agent",
    # Not part-of/managed-by: a transient object, never desired state, never drift's "extra".
    "app.kubernetes.io/created-by": "gitops-tool",
}
# The API server caps a ConfigMap's data at 1 MiB (1048576 bytes).
CONFIGMAP_LIMIT_BYTES = 1024 * 1024
DEFAULT_KEEP = 5
MARK = "gitops-tool:"

SCRIPT = r"""
set -eu
umask 022
say() { printf 'gitops-tool:%s=%s\n' "$1" "$2"; }
fail() { say error "$*"; exit 1; }
cd "$DAGS_ROOT"

link_text() { readlink "$LINK" 2>/dev/null || true; }
is_version() {
  case "$1" in
    [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]Z-*) return 0 ;;
    *) return 1 ;;
  esac
}
version_of() {
  case "$1" in
    "$STORE"/*/dags) v=${1#"$STORE"/}; v=${v%/dags}; if is_version "$v"; then printf '%s' "$v"; fi ;;
  esac
}
show_manifest() {
  if [ -n "$2" ] && [ -f "$STORE/$2/manifest.json" ]; then
    echo "gitops-tool:begin=$1"
    cat "$STORE/$2/manifest.json"
    echo
    echo "gitops-tool:end=$1"
  fi
}
require_link_or_nothing() {
  if [ -e "$LINK" ] && [ ! -L "$LINK" ]; then
    fail "$LINK on the volume is a real file or folder, not a published link; move it away first"
  fi
}
switch_to() {
  tmp_link=".$LINK.$1.tmp"
  ln -sfn "$STORE/$1/dags" "$tmp_link"
  mv -T "$tmp_link" "$LINK"
  say published "$1"
}
report_previous() {
  prev_link=$(link_text)
  prev=$(version_of "$prev_link")
  say previous-link "$prev_link"
  say previous "$prev"
  show_manifest previous-manifest "$prev"
}
prune() {
  kept=0
  for name in $(ls -1 "$STORE" | sort -r); do
    if ! is_version "$name" || [ "$name" = "$1" ]; then continue; fi
    kept=$((kept + 1))
    if [ "$kept" -gt "$KEEP" ]; then remove "$STORE/$name"; fi
  done
  for leftover in "$STORE"/.*.tmp; do
    if [ -d "$leftover" ]; then remove "$leftover"; fi
  done
}
# After the switch nothing may fail the run: the new version is published whatever happens here.
remove() {
  if rm -rf "$1"; then say pruned "${1##*/}"; else say prune-failed "${1##*/}"; fi
}

publish() {
  require_link_or_nothing
  mkdir -p "$STORE"
  report_previous
  if [ -e "$STORE/$VERSION" ]; then fail "version $VERSION already exists on the volume"; fi
  work="$STORE/.$VERSION.tmp"
  mkdir "$work" "$work/dags"
  tar -xzf "$ARCHIVE" -m --no-same-owner --no-same-permissions -C "$work/dags"
  cp "$MANIFEST" "$work/manifest.json"
  mv "$work" "$STORE/$VERSION"
  say unpacked "$VERSION"
  switch_to "$VERSION"
  prune "$VERSION"
}

rollback() {
  require_link_or_nothing
  report_previous
  to=${TARGET:-}
  if [ -z "$to" ]; then
    for name in $(ls -1 "$STORE" 2>/dev/null | sort); do
      if ! is_version "$name"; then continue; fi
      if [ "$name" = "$prev" ]; then break; fi
      to=$name
    done
    if [ -z "$to" ]; then fail "no earlier version on the volume to roll back to"; fi
  fi
  if ! is_version "$to" || [ ! -d "$STORE/$to/dags" ]; then
    fail "no version $to on the volume (see gitops-tool dags status)"
  fi
  show_manifest published-manifest "$to"
  switch_to "$to"
}

status() {
  current=$(link_text)
  say link "$current"
  v=$(version_of "$current")
  if [ -z "$current" ]; then
    say kind none
  elif [ -n "$v" ]; then
    say kind push
    say version "$v"
    show_manifest published-manifest "$v"
  else
    case "$current" in
      */.worktrees/*) say kind git-sync ;;
      *) say kind other ;;
    esac
    say version "${current##*/}"
    say modified "$(stat -L -c %Y "$LINK" 2>/dev/null || true)"
  fi
  say versions "$(ls -1 "$STORE" 2>/dev/null | sort | tr '\n' ' ')"
}

case "$ACTION" in
  publish) publish ;;
  rollback) rollback ;;
  status) status ;;
  *) fail "unknown action $ACTION" ;;
esac
say done "$ACTION"
""".lstrip()


def bundle_configmap(namespace: str, archive: bytes, manifest: Manifest) -> dict[str, Any]:
    """The ConfigMap carrying one push: the archive (binaryData) and its manifest."""
    manifest_text = manifest.to_json()
    size = len(archive) + len(manifest_text.encode())
    if size > CONFIGMAP_LIMIT_BYTES:
        raise ValueError(f"bundle of {size} bytes exceeds the ConfigMap limit of {CONFIGMAP_LIMIT_BYTES}")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": BUNDLE_CONFIGMAP,
            "namespace": namespace,
            "labels": {**AGENT_LABELS, "app.kubernetes.io/component": "dags-push"},
            "annotations": {"gitops-tool.io/dags-version": manifest.version},
        },
        "immutable": True,
        "binaryData": {ARCHIVE_KEY: base64.b64encode(archive).decode("ascii")},
        "data": {MANIFEST_KEY: manifest_text},
    }


@dataclass(frozen=True)
class AgentSpec:
    """One run of the agent pod."""

    name: str
    namespace: str
    action: Action
    image: str = AGENT_IMAGE
    version: str = ""  # publish: the new version; rollback: the target ("" = the one before)
    keep: int = DEFAULT_KEEP
    node_name: str = ""  # status: run beside one scheduler, to see the volume as its node does
    deadline_s: int = 600
    extra_labels: Mapping[str, str] = field(default_factory=dict)


def agent_pod(spec: AgentSpec) -> dict[str, Any]:
    """The pod object for ``spec``: non-root, read-only root filesystem, no API token."""
    writes = spec.action != "status"
    env = [
        {"name": "ACTION", "value": spec.action},
        {"name": "DAGS_ROOT", "value": VOLUME_MOUNT},
        {"name": "LINK", "value": conventions.DAGS_LINK},
        {"name": "STORE", "value": conventions.DAGS_PUSH_STORE},
        {"name": "KEEP", "value": str(spec.keep)},
    ]
    mounts: list[dict[str, Any]] = [{"name": "dags", "mountPath": VOLUME_MOUNT, "readOnly": not writes}]
    volumes: list[dict[str, Any]] = [
        {"name": "dags", "persistentVolumeClaim": {"claimName": conventions.DAGS_PVC, "readOnly": not writes}}
    ]
    if spec.action == "publish":
        env += [
            {"name": "VERSION", "value": spec.version},
            {"name": "ARCHIVE", "value": f"{BUNDLE_MOUNT}/{ARCHIVE_KEY}"},
            {"name": "MANIFEST", "value": f"{BUNDLE_MOUNT}/{MANIFEST_KEY}"},
        ]
        mounts.append({"name": "bundle", "mountPath": BUNDLE_MOUNT, "readOnly": True})
        volumes.append({"name": "bundle", "configMap": {"name": BUNDLE_CONFIGMAP, "defaultMode": 0o444}})
    elif spec.action == "rollback":
        env.append({"name": "TARGET", "value": spec.version})
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "activeDeadlineSeconds": spec.deadline_s,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 5,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 50000,
            "runAsGroup": 0,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "agent",
                "image": spec.image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["/bin/sh", "-c", SCRIPT],
                "env": env,
                "resources": {
                    "requests": {"cpu": "50m", "memory": "64Mi"},
                    "limits": {"cpu": "500m", "memory": "256Mi"},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }
    if spec.node_name:
        pod_spec["nodeName"] = spec.node_name
    component = "dags-status" if spec.action == "status" else "dags-push"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": {**AGENT_LABELS, "app.kubernetes.io/component": component, **spec.extra_labels},
        },
        "spec": pod_spec,
    }


@dataclass(frozen=True)
class AgentReport:
    """What the agent printed: ``key=value`` facts (last one wins) and named blocks."""

    facts: dict[str, str]
    blocks: dict[str, str]
    lines: list[str]

    def fact(self, key: str) -> str:
        return self.facts.get(key, "")

    @property
    def error(self) -> str:
        return self.fact("error")

    def tail(self, count: int = 3) -> str:
        """The last lines of output, for error messages when the script failed before saying why."""
        shown = [line for line in self.lines if line.strip()][-count:]
        return " | ".join(shown)


def parse_report(log: str) -> AgentReport:
    facts: dict[str, str] = {}
    blocks: dict[str, str] = {}
    lines = log.splitlines()
    open_block = ""
    body: list[str] = []
    for line in lines:
        if open_block:
            if line == f"{MARK}end={open_block}":
                blocks[open_block] = "\n".join(body)
                open_block, body = "", []
            else:
                body.append(line)
            continue
        if not line.startswith(MARK) or "=" not in line:
            continue
        key, _, value = line[len(MARK) :].partition("=")
        if key == "begin":
            open_block = value
        else:
            facts[key] = value
    return AgentReport(facts, blocks, lines)


def require_done(report: AgentReport, action: Action, pod: str) -> None:
    """``ClusterError`` unless the script ran to its end."""
    if report.fact("done") == action:
        return
    reason = report.error or report.tail() or "no output"
    raise ClusterError(f"dags {action} failed in pod {pod}: {reason}")
