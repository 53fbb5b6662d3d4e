"""What the git-sync component syncs (repo, ref, period, username), as data.

components/git-sync ships a ConfigMap generator ``airflow-git-sync`` with a placeholder repository.
An overlay cannot override it with a ``behavior: merge`` generator of its own: kustomize (5.8) runs
an overlay's generators before its components, so the merge finds nothing ("does not exist; cannot
merge or replace"). It overrides the values with a strategic-merge patch of that ConfigMap instead,
in its ``patches:``; kustomize computes the name's hash suffix after patches, so the suffix changes
and the Deployment rolls. This module checks wanted values, plans that patch entry as structural
edits, and reads the values back from a render. Pure: it reads parsed data and returns edits.

A sub-folder of the repository (``subdir``) is the same kind of patch, of the two settings
ConfigMaps base/config generates (``airflow-config``, ``airflow-worker-config``): the component's
own ``behavior: merge`` of ``AIRFLOW__CORE__DAGS_FOLDER`` runs after the overlay's generators and
would win over a merge entry there, while patches run after components.

URLs are never echoed in errors: the part that is wrong may be the secret (a token before ``@``, a
password, a query string).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from gitops_tool.core import components as cc
from gitops_tool.core.configmap_patches import upsert
from gitops_tool.core.objects import Manifest
from gitops_tool.core.scaffold.plan import Edit
from gitops_tool.errors import AlreadyInState, UserError

CONFIGMAP = "airflow-git-sync"
PATCHES_KEY = cc.PATCHES_KEY
PLACEHOLDER_REPO = "https://git.example.com/data-platform/airflow-dags.git"
KEYS = ("repo", "ref", "period", "username")
DAGS_FOLDER_KEY = "AIRFLOW__CORE__DAGS_FOLDER"
DAGS_ROOT = "/opt/airflow/dags/current"  # where git-sync publishes the checkout
SETTINGS_CONFIGMAPS = ("airflow-config", "airflow-worker-config")  # base/config's generators
MIN_PERIOD_S = 1.0  # git-sync v4 accepts 10ms; polling a remote faster than every second only hurts it

_GO_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")
_GO_MAX_DURATION_NS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
_SCP_LIKE = re.compile(r"(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?!/)(.+)")
_SUBDIR = re.compile(r"[A-Za-z0-9._/-]+")
_REF = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._/-]*")
_USERNAME = re.compile(r"[A-Za-z0-9._-]+")
_SECRET_HOME = "keep the token in Secret airflow-git-credentials and the user name in --username"  # noqa: S105 - advice, not a password


class NothingToChange(AlreadyInState):
    """The overlay already renders the values asked for."""


@dataclass(frozen=True)
class Source:
    """git-sync's settings; a ``None`` field is not given (wanted) or not rendered (read)."""

    repo: str | None = None
    ref: str | None = None
    period: str | None = None
    username: str | None = None
    subdir: str | None = None  # "" is the repository's root

    def given(self) -> dict[str, str]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


@dataclass(frozen=True)
class Rendered:
    configmap: str  # its name with kustomize's hash suffix
    source: Source
    dags_folders: tuple[str, ...] = ()  # AIRFLOW__CORE__DAGS_FOLDER of SETTINGS_CONFIGMAPS, in order

    @property
    def placeholder(self) -> bool:
        return self.source.repo == PLACEHOLDER_REPO


def git_sync_enabled(kustomization: Mapping[str, Any], overlay: str, file: str) -> bool:
    """Whether the overlay lists git-sync; raises with the command that enables it when not."""
    if not cc.is_enabled(kustomization, overlay, file, cc.known("git-sync")):
        name = overlay.rsplit("/", 1)[-1]
        raise UserError(
            f"{overlay} does not enable git-sync; enable it first: "
            f"gitops-tool components enable git-sync {name}"
        )
    return cc.is_enabled(kustomization, overlay, file, cc.known("git-sync-ssh"))


def check_wanted(wanted: Source, ssh: bool) -> Source:
    """``wanted`` with every given value checked and ``subdir`` normalised ("" for the root); raises
    UserError naming the option, never the URL."""
    if wanted.repo is None and (wanted.subdir is None or any((wanted.ref, wanted.period, wanted.username))):
        raise UserError("give the repository with --url URL")
    if wanted.subdir is not None:
        wanted = replace(wanted, subdir=check_subdir(wanted.subdir))
    if wanted.ref is not None:
        check_ref(wanted.ref)
    if wanted.period is not None:
        check_period(wanted.period)
    if wanted.username is not None and not _USERNAME.fullmatch(wanted.username):
        raise UserError("--username must be a plain user name (letters, digits, '.', '_', '-')")
    if wanted.repo is not None:
        check_repo(wanted.repo, ssh)
    return wanted


def check_subdir(subdir: str) -> str:
    """The folder inside the repository, normalised: "" (given as "" or ".") is the root."""
    if subdir in ("", "."):
        return ""
    if not _SUBDIR.fullmatch(subdir):
        raise UserError(f"--subdir {subdir!r} may only hold letters, digits, '.', '_', '-' and '/'")
    if subdir.startswith("/"):
        raise UserError(f"--subdir {subdir!r} must be relative to the repository's root")
    parts = subdir.removesuffix("/").split("/")
    if "" in parts or ".." in parts or "." in parts:
        raise UserError(f"--subdir {subdir!r} must not hold empty, '.' or '..' segments")
    return "/".join(parts)


def dags_folder(subdir: str) -> str:
    return f"{DAGS_ROOT}/{subdir}" if subdir else DAGS_ROOT


def check_repo(url: str, ssh: bool) -> None:
    if not url or any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in url):
        raise UserError("--url must be one URL without spaces or control characters")
    if "://" in url:
        _check_url(url, ssh)
        return
    if _SCP_LIKE.fullmatch(url):
        _needs_ssh(ssh)
        return
    raise UserError(
        "--url is not a URL git-sync is set up for: use https://HOST/PATH"
        " (or, with git-sync-ssh enabled, ssh://git@HOST/PATH or git@HOST:PATH)"
    )


def _check_url(url: str, ssh: bool) -> None:
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if "?" in rest or "#" in rest:
        raise UserError(
            f"--url must not carry a query string or fragment (tokens hide there); {_SECRET_HOME}"
        )
    authority, _, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if scheme == "https":
        if at:
            raise UserError(f"--url carries credentials before '@'; {_SECRET_HOME}")
    elif scheme == "ssh":
        _needs_ssh(ssh)
        if ":" in userinfo:
            raise UserError(
                "--url carries a password after the user name; "
                "SSH uses the key in Secret airflow-git-credentials"
            )
    elif scheme == "http":
        raise UserError("--url over plain http:// would send the token unencrypted; use https://")
    else:
        shown = scheme if re.fullmatch(r"[a-z][a-z0-9+.-]{0,15}", scheme) else "this"
        raise UserError(
            f"--url: {shown} URLs are not supported; use https:// (or ssh:// with git-sync-ssh enabled)"
        )
    if not _HOST.fullmatch(host) or not path.strip("/"):
        raise UserError("--url needs a host and a repository path, as in https://HOST/ORG/REPO.git")


def _needs_ssh(ssh: bool) -> None:
    if not ssh:
        raise UserError(
            "--url is an SSH URL but the overlay syncs over HTTPS; "
            "enable SSH first: gitops-tool components enable git-sync-ssh OVERLAY"
        )


def check_ref(ref: str) -> None:
    if not _REF.fullmatch(ref) or ".." in ref or ref.endswith((".", "/", ".lock")) or "//" in ref:
        raise UserError(f"--ref {ref!r} is not a branch, tag or commit name")


def check_period(period: str) -> None:
    """A duration git-sync accepts: Go's ``time.ParseDuration`` syntax, within its int64
    nanoseconds (about 2562047h), and not below ``MIN_PERIOD_S``."""
    from fractions import Fraction

    if not _GO_DURATION.fullmatch(period):
        raise UserError(f"--period {period!r} is not a duration such as 60s, 5m or 1m30s")
    parts = _DURATION_PART.findall(period)
    nanoseconds = sum(Fraction(n) * Fraction(_UNIT_S[u]).limit_denominator(10**9) * 10**9 for n, u in parts)
    if nanoseconds > _GO_MAX_DURATION_NS:
        raise UserError(
            f"--period {period!r} is longer than git-sync can read (Go durations end at about 2562047h)"
        )
    seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if seconds < MIN_PERIOD_S:
        raise UserError(
            f"--period {period!r} is below {MIN_PERIOD_S:g}s; the remote would be polled too often"
        )


def redact(url: str) -> str:
    """``url`` with anything before ``@`` in a ``scheme://`` authority hidden (hand-edited overlays)."""
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    authority, slash, path = rest.partition("/")
    if "@" not in authority or (scheme.lower() == "ssh" and ":" not in authority.rpartition("@")[0]):
        return url
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"


def _configmap(objects: list[Manifest], name: str = CONFIGMAP) -> Manifest | None:
    named = re.compile(rf"{re.escape(name)}(?:-[a-z0-9]+)?")
    for obj in objects:
        metadata = obj.get("metadata") or {}
        if obj.get("kind") == "ConfigMap" and named.fullmatch(str(metadata.get("name", ""))):
            return obj
    return None


def read_rendered(objects: list[Manifest], overlay: str) -> Rendered:
    obj = _configmap(objects)
    if obj is None:
        raise UserError(
            f"the render of {overlay} has no ConfigMap {CONFIGMAP}; is components/git-sync intact?"
        )
    data = obj.get("data") or {}
    values: dict[str, str] = {k: str(data[k]) for k in KEYS if k in data}
    folders = tuple(
        str(((_configmap(objects, name) or {}).get("data") or {}).get(DAGS_FOLDER_KEY, ""))
        for name in SETTINGS_CONFIGMAPS
    )
    # A sub-folder only when both settings agree on one under git-sync's tree (workers read the same).
    if len(set(folders)) == 1 and (folders[0] + "/").startswith(DAGS_ROOT + "/"):
        values["subdir"] = folders[0][len(DAGS_ROOT) + 1 :]
    return Rendered(str(obj["metadata"]["name"]), Source(**values), folders)


def plan_set(
    kustomization: Mapping[str, Any],
    file: str,
    overlay: str,
    wanted: Source,
    current: Source,
    *,
    literal: Callable[[str], Any] = str,
) -> list[Edit]:
    """Edits writing ``wanted`` into the overlay's patch of ``airflow-git-sync`` (created if absent;
    values it set before and does not change are kept) and, for ``subdir``, into its patches of
    SETTINGS_CONFIGMAPS (removed for the root). ``literal`` wraps the patch text the way the writer
    wants it (a literal block)."""
    changed = {k: v for k, v in wanted.given().items() if getattr(current, k) != v}
    if not changed:
        raise NothingToChange(f"{overlay} already syncs these values; nothing to change")
    # A copy, as the edits leave it, so every index is right when they are applied in order.
    entries = list(cc.kustomization_list(kustomization, PATCHES_KEY, file))
    source = {k: v for k, v in wanted.given().items() if k in KEYS}
    edits = upsert(entries, file, CONFIGMAP, KEYS, source, literal) if source else []
    if wanted.subdir is not None:
        folder = {DAGS_FOLDER_KEY: dags_folder(wanted.subdir)} if wanted.subdir else None
        for name in SETTINGS_CONFIGMAPS:
            edits += upsert(entries, file, name, (DAGS_FOLDER_KEY,), folder, literal)
    return edits


def placeholder_warning(objects: list[Manifest], overlay: str) -> str | None:
    """A warning when the overlay renders git-sync still pointed at the shipped placeholder."""
    obj = _configmap(objects)
    if obj is None or (obj.get("data") or {}).get("repo") != PLACEHOLDER_REPO:
        return None
    name = overlay.rsplit("/", 1)[-1]
    return (
        f"{overlay}: git-sync still syncs the placeholder {PLACEHOLDER_REPO}; "
        f"set yours: gitops-tool dags source set {name} --url URL"
    )
