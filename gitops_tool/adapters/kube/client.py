"""The one way gitops-tool commands reach a Kubernetes API server.

``connect(KubeSettings(...))`` loads credentials like kubectl does (``--kubeconfig``, ``KUBECONFIG``,
``~/.kube/config``, ``--context``; or the in-cluster service account) and returns a ``KubeClient``
built on the official ``kubernetes`` package's ``ApiClient``. Every request it sends:

- carries ``_request_timeout`` (the client otherwise waits forever on a silent server);
- is retried with exponential backoff on 429, 5xx and dropped connections (reads always; writes
  only on 429/503 and refused connections, where the server cannot have acted on them);
- ends, when it fails for good, in one ``ClusterError`` line naming the server and the cause
  (401, 403, TLS, unreachable, timeout). ``ClusterApiError.status`` keeps the HTTP status, so a
  caller can treat one forbidden kind as partial knowledge rather than a failure.

Objects travel as plain JSON dicts exactly as the server sends them (no model classes), because
every command compares or stores them as manifests.

Reuse it: ``client.get(path)``, ``client.list(path, label_selector=...)`` (follows ``continue``
pages), ``client.create/replace/patch/delete`` for write commands.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gitops_tool.errors import ClusterError, UserError

DEFAULT_REQUEST_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 4
DEFAULT_PAGE_SIZE = 500
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A write may have taken effect on other 5xx answers or a reset mid-request: retry only when not.
_WRITE_RETRY_STATUSES = frozenset({429, 503})
_MAX_BACKOFF_S = 8.0

Sleep = Callable[[float], None]


class ClusterApiError(ClusterError):
    """The API server answered with an HTTP error after retries; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int, path: str) -> None:
        super().__init__(message)
        self.status = status
        self.path = path


@dataclass(frozen=True)
class KubeSettings:
    """Where and how to connect. ``in_cluster`` None means: in-cluster when no kubeconfig exists."""

    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    backoff_base: float = 0.25
    sleep: Sleep = field(default=time.sleep, compare=False, repr=False)


def connect(settings: KubeSettings) -> KubeClient:
    """A client for the cluster ``settings`` names; ``UserError`` for a bad kubeconfig or context."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    configuration = k8s_client.Configuration()
    if _use_in_cluster(settings):
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except k8s_config.ConfigException as exc:
            raise UserError(f"cannot use the in-cluster service account: {exc}") from None
    else:
        path = _kubeconfig_path(settings.kubeconfig)
        _require_context(path, settings.context)
        try:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path,
                context=settings.context,
                client_configuration=configuration,
                persist_config=False,
            )
        except k8s_config.ConfigException as exc:
            raise UserError(f"kubeconfig {path}: {_one_line(str(exc))}") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"kubeconfig {path} cannot be used: {_one_line(str(exc))}") from None
    # Retries are ours (with backoff and error mapping); urllib3 must raise at once.
    configuration.retries = False
    api_client = k8s_client.ApiClient(configuration)
    return KubeClient(api_client, settings)


def _use_in_cluster(settings: KubeSettings) -> bool:
    if settings.in_cluster is not None:
        return settings.in_cluster
    if settings.kubeconfig or settings.context or os.environ.get("KUBECONFIG"):
        return False
    default = Path("~/.kube/config").expanduser()
    return not default.is_file() and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def _kubeconfig_path(explicit: str | None) -> str:
    if explicit:
        chosen = explicit
    else:
        env = os.environ.get("KUBECONFIG", "")
        # kubectl merges a KUBECONFIG path list; the first existing file is the common case.
        chosen = next((p for p in env.split(os.pathsep) if p and Path(p).is_file()), "")
        chosen = chosen or str(Path("~/.kube/config").expanduser())
    if not Path(chosen).is_file():
        raise UserError(f"kubeconfig {chosen} does not exist (use --kubeconfig, KUBECONFIG or in-cluster)")
    return chosen


def _require_context(path: str, context: str | None) -> None:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"kubeconfig {path} cannot be read: {exc}") from None
    except yaml.YAMLError:
        raise UserError(f"kubeconfig {path} is not valid YAML") from None
    if not isinstance(data, dict):
        raise UserError(f"kubeconfig {path} is not a kubeconfig (no mapping at the top)")
    names = [c.get("name") for c in data.get("contexts") or [] if isinstance(c, dict)]
    wanted = context or data.get("current-context")
    if not wanted:
        raise UserError(f"kubeconfig {path} has no current-context; pass --context")
    if wanted not in names:
        known = ", ".join(str(n) for n in names) or "none"
        raise UserError(f"kubeconfig {path} has no context {wanted!r} (contexts: {known})")


class KubeClient:
    """GET/LIST (and, for write commands, create/replace/patch/delete) with timeouts and retries."""

    def __init__(self, api_client: Any, settings: KubeSettings) -> None:
        self.api_client = api_client
        self.settings = settings
        self.server = str(api_client.configuration.host)
        self._last_raw = b""  # the body of the last response, for get_text

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reads -------------------------------------------------------------------------------

    def get(self, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
        """The JSON object at ``path`` (e.g. ``/api/v1/namespaces/airflow/configmaps/x``)."""
        return self.request("GET", path, query)

    def get_or_none(self, path: str) -> dict[str, Any] | None:
        """Like ``get`` but ``None`` on 404."""
        try:
            return self.get(path)
        except ClusterApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self,
        path: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every item of the collection at ``path``, page by page (``limit``/``continue``).

        Items get the ``apiVersion`` and ``kind`` the server leaves out of list items.
        """
        token = ""
        while True:
            query = {"limit": str(page_size)}
            if label_selector:
                query["labelSelector"] = label_selector
            if field_selector:
                query["fieldSelector"] = field_selector
            if token:
                query["continue"] = token
            page = self.request("GET", path, query)
            api_version = str(page.get("apiVersion", ""))
            kind = str(page.get("kind", "")).removesuffix("List")
            for item in page.get("items") or []:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                yield item
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return

    # --- writes (for commands that change the cluster) ---------------------------------------

    def create(
        self, path: str, body: dict[str, Any], field_manager: str = "gitops-tool", dry_run: bool = False
    ) -> dict[str, Any]:
        """POST ``body``; ``dry_run`` asks the server to validate and admit it without storing it."""
        query = {"fieldManager": field_manager}
        if dry_run:
            query["dryRun"] = "All"
        return self.request("POST", path, query, body)

    def replace(self, path: str, body: dict[str, Any], field_manager: str = "gitops-tool") -> dict[str, Any]:
        return self.request("PUT", path, {"fieldManager": field_manager}, body)

    def patch(
        self,
        path: str,
        body: Any,
        content_type: str = "application/merge-patch+json",
        field_manager: str = "gitops-tool",
    ) -> dict[str, Any]:
        return self.request("PATCH", path, {"fieldManager": field_manager}, body, content_type)

    def delete(self, path: str) -> dict[str, Any]:
        return self.request("DELETE", path)

    def get_text(self, path: str, query: dict[str, str] | None = None) -> str:
        """A plain-text read, such as ``pods/NAME/log``, with the same timeout, retries and errors."""
        self._last_raw = b""
        self.request("GET", path, query, accept="*/*")
        return self._last_raw.decode("utf-8", "replace")

    # --- the chokepoint ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        *,
        accept: str = "application/json",
    ) -> dict[str, Any]:
        """One API call with timeout, retries and one-line errors; returns the decoded JSON body."""
        attempt = 0
        while True:
            try:
                status, payload, retry_after = self._send(
                    method, path, query, body, content_type, accept=accept
                )
            except _Transient as exc:
                may_retry = method == "GET" or exc.before_sending
                if exc.fatal or not may_retry or attempt >= self.settings.retries:
                    raise ClusterError(f"{self._where(path)}: {exc.cause}") from None
            else:
                if 200 <= status < 300:
                    return payload
                retryable = _RETRY_STATUSES if method == "GET" else _WRITE_RETRY_STATUSES
                if status not in retryable or attempt >= self.settings.retries:
                    raise ClusterApiError(self._http_message(status, payload, path), status, path)
                if retry_after is not None:
                    self.settings.sleep(min(retry_after, _MAX_BACKOFF_S))
                    attempt += 1
                    continue
            self.settings.sleep(self._backoff(attempt))
            attempt += 1

    def _send(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None,
        body: Any,
        content_type: str,
        *,
        accept: str = "application/json",
    ) -> tuple[int, dict[str, Any], float | None]:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        encoded = "&".join(f"{k}={quote(v, safe='')}" for k, v in (query or {}).items())
        url_path = f"{path}?{encoded}" if encoded else path
        request = self.api_client.param_serialize(
            method=method,
            resource_path=url_path,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api_client.call_api(*request, _request_timeout=self.settings.request_timeout)
            raw = response.read()
            self._last_raw = raw
        except ApiException as exc:  # the client wraps TLS failures this way
            raise _Transient(_tls_cause(str(exc.reason)), before_sending=True, fatal=True) from None
        except urllib3.exceptions.SSLError as exc:
            raise _Transient(_tls_cause(str(exc)), before_sending=True, fatal=True) from None
        except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: it subclasses it
            raise _Transient(f"unreachable ({_connection_cause(exc)})", before_sending=True) from None
        except urllib3.exceptions.TimeoutError:
            waited = f"no answer within {self.settings.request_timeout:g}s (--request-timeout)"
            raise _Transient(waited, before_sending=False) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, ConnectionError) as exc:
            raise _Transient(f"connection failed ({_connection_cause(exc)})", before_sending=False) from None
        status = int(response.status)
        payload: dict[str, Any] = {}
        if raw:
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = {"message": raw[:200].decode("utf-8", "replace")}
            payload = decoded if isinstance(decoded, dict) else {"items": decoded}
        retry_after = _retry_after(response.headers.get("Retry-After")) if status == 429 else None
        return status, payload, retry_after

    def _backoff(self, attempt: int) -> float:
        delay: float = min(self.settings.backoff_base * (2**attempt), _MAX_BACKOFF_S)
        return delay * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security

    def _where(self, path: str) -> str:
        return f"cluster {self.server} ({path.split('?', maxsplit=1)[0]})"

    def _http_message(self, status: int, payload: dict[str, Any], path: str) -> str:
        reason = _one_line(str(payload.get("message") or payload.get("reason") or ""))
        if status == 401:
            cause = "401 Unauthorized: the credentials were rejected (expired token or wrong user?)"
        elif status == 403:
            cause = f"403 Forbidden: {reason or 'the user may not do this'}"
        elif status == 404:
            cause = f"404 Not Found: {reason or 'no such object or resource type'}"
        elif status == 429:
            cause = "429 Too Many Requests: still throttled after retries"
        else:
            cause = f"HTTP {status}: {reason or 'server error'}"
        return f"{self._where(path)}: {cause}"


class _Transient(Exception):
    # ``fatal``: TLS failures do not heal by retrying.
    def __init__(self, cause: str, before_sending: bool, fatal: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.before_sending = before_sending
        self.fatal = fatal


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _tls_cause(text: str) -> str:
    lowered = text.lower()
    if "certificate verify failed" in lowered:
        detail = "certificate verify failed"
    elif "wrong version number" in lowered or "record layer failure" in lowered:
        detail = "the server does not speak TLS on this port"
    elif "hostname" in lowered:
        detail = "the certificate does not match the host name"
    else:
        detail = _one_line(text.rsplit("\n", maxsplit=1)[-1])[:160]
    return f"TLS handshake failed ({detail})"


def _connection_cause(exc: BaseException) -> str:
    text = str(exc)
    markers = (
        "Connection refused",
        "Name or service not known",
        "No route to host",
        "Connection reset",
        "timed out",
        "Temporary failure in name resolution",
        "Remote end closed connection",
    )
    for marker in markers:
        if marker.lower() in text.lower():
            return marker.lower()
    return _one_line(text)[:160]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def api_path(group: str, version: str, plural: str, namespace: str = "", name: str = "") -> str:
    """The REST path of a collection or object: ``/api/v1/...`` for the core group, else ``/apis/...``."""
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    where = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
    tail = f"/{quote(name, safe='')}" if name else ""
    return f"{prefix}{where}/{plural}{tail}"
