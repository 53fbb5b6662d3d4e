"""The one way gitops-tool commands reach a Kubernetes API server.

``connect(KubeSettings(...))`` loads credentials like kubectl does (``--kubeconfig``, ``KUBECONFIG``,
``~/.kube/config``, ``--context``; or the in-cluster service account) and returns a ``KubeClient``
built on the official ``kubernetes`` package's ``ApiClient``. Every request it sends:

- carries ``_request_timeout`` (the client otherwise waits forever on a silent server);
- is retried with exponential backoff on 429, 5xx and dropped connections (reads always; writes
  only on 429/503 and refused connections, where the server cannot have acted on them);
- ends, when it fails for good, in one ``ClusterError`` line naming the server and the cause
  (401, 403, TLS, unreachable, timeout). ``ClusterApiError.status`` keeps the HTTP status, so a
  caller can treat one forbidden kind as partial knowledge rather than a failure;
- is bounded as a whole by ``--request-timeout``: connecting, the headers and the body (a server
  trickling its body byte by byte is cut off at the deadline);
- is checked before it is believed: a 2xx answer must be JSON (``Content-Type`` and body), a JSON
  object, and a list page must be a ``...List`` with ``items`` a list of objects. Anything else (an
  auth proxy's HTML page, a truncated document) raises ``ClusterAnswerError``, never an empty list;
- never sends a request with credentials the kubeconfig names but cannot provide (a context naming
  a missing user or cluster, an exec plugin that is missing or fails): ``connect`` raises first.

Objects travel as plain JSON dicts exactly as the server sends them (no model classes), because
every command compares or stores them as manifests.

Reuse it: ``client.get(path)``, ``client.list(path, label_selector=...)`` (follows ``continue``
pages; a 410 Gone on a ``continue`` token restarts the list once), ``client.discover(group_version)``,
``client.create/replace/patch/delete`` for write commands.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gitops_tool.core.redact import redact_values, secret_values_of
from gitops_tool.errors import (
    ApiGone,
    ApiNotFound,
    ClusterAnswerError,
    ClusterApiError,
    ClusterError,
    UserError,
)

DEFAULT_REQUEST_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 4
DEFAULT_PAGE_SIZE = 500
MAX_ANSWER_BYTES = 512 * 1024 * 1024
_READ_CHUNK = 1024 * 1024
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A write may have taken effect on other 5xx answers or a reset mid-request: retry only when not.
_WRITE_RETRY_STATUSES = frozenset({429, 503})
_MAX_BACKOFF_S = 8.0

Sleep = Callable[[float], None]
Items = list[dict[str, Any]]  # (``KubeClient.list`` hides the builtin inside the class)


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


def check_request_timeout(value: float) -> float:
    """``value`` if it is a usable number of seconds, else ``UserError`` (nan, inf, <= 0)."""
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"--request-timeout must be a positive number of seconds, not {value}")
    return value


def connect(settings: KubeSettings) -> KubeClient:
    """A client for the cluster ``settings`` names; ``UserError`` for a bad kubeconfig or context,
    or credentials it names but cannot provide. Nothing is sent to the server here."""
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    check_request_timeout(settings.request_timeout)
    quiet_client_logging()
    configuration = k8s_client.Configuration()
    if _use_in_cluster(settings):
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except k8s_config.ConfigException as exc:
            raise UserError(f"cannot use the in-cluster service account: {exc}") from None
    else:
        path = _kubeconfig_path(settings.kubeconfig)
        user = _require_context(path, settings.context)
        with _library_errors() as logged:
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
        _require_credentials(path, user, configuration, logged)
    # Retries are ours (with backoff and error mapping); urllib3 must raise at once.
    configuration.retries = False
    api_client = k8s_client.ApiClient(configuration)
    return KubeClient(api_client, settings)


def quiet_client_logging() -> None:
    """Keep the libraries' log records (``ERROR:root:...`` from the kubernetes client, urllib3's
    warnings) off the terminal: a root logger without handlers makes ``logging.error`` install a
    stderr handler, and Python's last-resort handler prints warnings."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(_one_line(record.getMessage()))


@contextmanager
def _library_errors() -> Iterator[list[str]]:
    """What the kubernetes client logs while loading a kubeconfig (it logs exec plugin failures
    instead of raising them), collected instead of printed."""
    handler = _Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.messages
    finally:
        root.removeHandler(handler)


def _require_credentials(path: str, user: dict[str, Any], configuration: Any, logged: list[str]) -> None:
    """The user's exec plugin must have produced credentials; anonymous requests are never sent in
    their place."""
    if "exec" not in user:
        return
    command = str((user.get("exec") or {}).get("command") or "?")
    keys = configuration.api_key or {}
    has_token = bool(keys.get("BearerToken") or keys.get("authorization"))
    has_cert = bool(configuration.cert_file)
    if has_token or has_cert:
        return
    cause = logged[0] if logged else "it produced no token and no client certificate"
    if "No such file" in cause or "not found" in cause.lower():
        cause = "the command was not found"
    raise UserError(
        f"kubeconfig {path}: the exec credential plugin {command!r} failed: {cause[:200]}; "
        "nothing was sent to the cluster"
    )


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


def _require_context(path: str, context: str | None) -> dict[str, Any]:
    """Check the context the kubeconfig would use, and the user and cluster it names; return the
    user's entry (empty for a context without a user: anonymous on purpose)."""
    from gitops_tool.adapters.files import read_text
    from gitops_tool.core.documents import parse_documents

    docs = parse_documents(read_text(path, "kubeconfig"), f"kubeconfig {path}")
    data = docs[0] if len(docs) == 1 else None
    if not isinstance(data, dict):
        raise UserError(f"kubeconfig {path} is not a kubeconfig (no mapping at the top)")
    contexts = {str(c.get("name")): c.get("context") for c in _named(data, "contexts")}
    wanted = context or data.get("current-context")
    if not wanted:
        raise UserError(f"kubeconfig {path} has no current-context; pass --context")
    if wanted not in contexts:
        known = ", ".join(contexts) or "none"
        raise UserError(f"kubeconfig {path} has no context {wanted!r} (contexts: {known})")
    found = contexts[wanted]
    entry: dict[str, Any] = found if isinstance(found, dict) else {}
    cluster = entry.get("cluster")
    clusters = {str(c.get("name")) for c in _named(data, "clusters")}
    if not cluster or str(cluster) not in clusters:
        raise UserError(
            f"kubeconfig {path}: context {wanted!r} names cluster {cluster!r}, which it does not define"
        )
    user_name = entry.get("user")
    if not user_name:
        return {}
    users = {str(u.get("name")): u.get("user") for u in _named(data, "users")}
    if str(user_name) not in users:
        raise UserError(
            f"kubeconfig {path}: context {wanted!r} names user {user_name!r}, which it does not define; "
            "nothing was sent to the cluster"
        )
    user = users[str(user_name)]
    return user if isinstance(user, dict) else {}


def _named(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = data.get(key) or []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


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
        """Like ``get`` but ``None`` on 404 (a Kubernetes ``Status`` answer, not any 404 page)."""
        try:
            return self.get(path)
        except ApiNotFound as exc:
            if exc.no_such_object:
                return None
            raise

    def discover(self, group: str, version: str) -> Items | None:
        """The resources one group-version serves (its ``APIResourceList``), None when the server
        says it does not serve it (404). A malformed document raises ``ClusterAnswerError``."""
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            document = self.get(path)
        except ApiNotFound as exc:
            if exc.no_such_object:
                return None
            raise
        resources = document.get("resources")
        if document.get("kind") != "APIResourceList" or not isinstance(resources, list):
            raise self._bad_answer(path, "not an APIResourceList (kind and resources expected)")
        if not all(isinstance(r, dict) and isinstance(r.get("name"), str) for r in resources):
            raise self._bad_answer(path, "an APIResourceList entry is not a named resource")
        return resources

    def list(
        self,
        path: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Items:
        """Every item of the collection at ``path``, page by page (``limit``/``continue``).

        Items get the ``apiVersion`` and ``kind`` the server leaves out of list items. Every page
        must be a ``...List`` with ``items`` a list of objects (else ``ClusterAnswerError``). A 410
        Gone on a ``continue`` token (the snapshot expired) restarts the list from the start, once.
        """
        restarted = False
        while True:
            try:
                return self._list_pages(path, label_selector, field_selector, page_size)
            except _ContinueExpired:
                if restarted:
                    raise ClusterApiError.of(
                        f"{self._where(path)}: 410 Gone: the list changed faster than it could be paged "
                        "twice; try again",
                        410,
                        path,
                    ) from None
                restarted = True

    def _list_pages(
        self, path: str, label_selector: str | None, field_selector: str | None, page_size: int
    ) -> Items:
        items: Items = []
        token = ""
        while True:
            query = {"limit": str(page_size)}
            if label_selector:
                query["labelSelector"] = label_selector
            if field_selector:
                query["fieldSelector"] = field_selector
            if token:
                query["continue"] = token
            try:
                page = self.request("GET", path, query)
            except ApiGone:
                if token:
                    raise _ContinueExpired from None
                raise
            page_items = page.get("items")
            kind = page.get("kind")
            if not isinstance(kind, str) or not kind.endswith("List") or not isinstance(page_items, list):
                raise self._bad_answer(path, "not a Kubernetes list (kind ...List with items expected)")
            if not all(isinstance(item, dict) for item in page_items):
                raise self._bad_answer(path, "a list item is not an object")
            metadata = page.get("metadata") or {}
            if not isinstance(metadata, dict) or not isinstance(metadata.get("continue") or "", str):
                raise self._bad_answer(path, "the list's metadata is not an object")
            api_version = str(page.get("apiVersion", ""))
            for item in page_items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind.removesuffix("List"))
            items.extend(page_items)
            token = str(metadata.get("continue") or "")
            if not token:
                return items

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
        """One API call with timeout, retries and one-line errors; returns the decoded JSON body.

        A 2xx answer to a JSON request that is not a JSON object raises ``ClusterAnswerError``."""
        attempt = 0
        while True:
            try:
                answer = self._send(method, path, query, body, content_type, accept=accept)
            except _Transient as exc:
                may_retry = method == "GET" or exc.before_sending
                if exc.fatal or not may_retry or attempt >= self.settings.retries:
                    if exc.cut_off:  # the server answered, the answer is unusable: one scope's problem
                        where = self._where(path)
                        raise ClusterAnswerError(f"{where}: {exc.cause}", exc.cause, path) from None
                    raise ClusterError(f"{self._where(path)}: {exc.cause}") from None
            else:
                if 200 <= answer.status < 300:
                    if accept == "application/json":
                        return self._json_object(answer, path)
                    return {}
                retryable = _RETRY_STATUSES if method == "GET" else _WRITE_RETRY_STATUSES
                if answer.status not in retryable or attempt >= self.settings.retries:
                    payload = _error_payload(answer.raw)
                    message = self._http_message(answer.status, payload, path)
                    raise ClusterApiError.of(
                        redact_values(message, _sent_secret_values(path, body)),
                        answer.status,
                        path,
                        is_status_object=payload.get("kind") == "Status",
                    )
                if answer.retry_after is not None:
                    self.settings.sleep(min(answer.retry_after, _MAX_BACKOFF_S))
                    attempt += 1
                    continue
            self.settings.sleep(self._backoff(attempt))
            attempt += 1

    def _json_object(self, answer: _Answer, path: str) -> dict[str, Any]:
        content_type = answer.content_type.split(";", 1)[0].strip().lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            shown = content_type or "none"
            raise self._bad_answer(path, f"the answer is not JSON (Content-Type {shown})")
        try:
            decoded = json.loads(answer.raw)
        except (ValueError, RecursionError):
            reason = f"the JSON answer does not decode ({len(answer.raw)} bytes; cut off?)"
            raise self._bad_answer(path, reason) from None
        if not isinstance(decoded, dict):
            raise self._bad_answer(path, f"the answer is a JSON {type(decoded).__name__}, not an object")
        return decoded

    def _bad_answer(self, path: str, reason: str) -> ClusterAnswerError:
        return ClusterAnswerError(f"{self._where(path)}: unusable answer: {reason}", reason, path)

    def _send(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None,
        body: Any,
        content_type: str,
        *,
        accept: str = "application/json",
    ) -> _Answer:
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
        timeout = self.settings.request_timeout
        deadline = time.monotonic() + timeout
        waited = f"no answer within {timeout:g}s (--request-timeout)"
        try:
            response = self.api_client.call_api(*request, _request_timeout=timeout)
            raw = _read_body(response.response, deadline)
            self._last_raw = raw
        except ApiException as exc:  # the client wraps TLS failures this way
            raise _Transient(_tls_cause(str(exc.reason)), before_sending=True, fatal=True) from None
        except urllib3.exceptions.SSLError as exc:
            raise _Transient(_tls_cause(str(exc)), before_sending=True, fatal=True) from None
        except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: it subclasses it
            raise _Transient(f"unreachable ({_connection_cause(exc)})", before_sending=True) from None
        except (urllib3.exceptions.TimeoutError, _Deadline, TimeoutError):
            raise _Transient(waited, before_sending=False) from None
        except _TooLarge:
            raise _Transient(
                f"the answer is larger than {MAX_ANSWER_BYTES} bytes", before_sending=False, cut_off=True
            ) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, ConnectionError) as exc:
            # Headers came, the body broke off (IncompleteRead, reset): the answer is cut off.
            cut_off = "IncompleteRead" in repr(exc) or "reset" in str(exc).lower()
            cause = f"connection failed ({_connection_cause(exc)})"
            raise _Transient(cause, before_sending=False, cut_off=cut_off) from None
        status = int(response.status)
        retry_after = _retry_after(response.headers.get("Retry-After")) if status == 429 else None
        return _Answer(status, raw, str(response.headers.get("Content-Type") or ""), retry_after)

    def _backoff(self, attempt: int) -> float:
        delay: float = min(self.settings.backoff_base * (2**attempt), _MAX_BACKOFF_S)
        return delay * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security

    def _where(self, path: str) -> str:
        return f"cluster {self.server} ({path.split('?', maxsplit=1)[0]})"

    def _http_message(self, status: int, payload: dict[str, Any], path: str) -> str:
        reason = _one_line(str(payload.get("message") or payload.get("reason") or ""))[:300]
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


@dataclass(frozen=True)
class _Answer:
    status: int
    raw: bytes
    content_type: str
    retry_after: float | None


class _ContinueExpired(Exception):
    """410 Gone on a ``continue`` token."""


class _Deadline(Exception):
    """The whole-request deadline passed while the body was still arriving."""


class _TooLarge(Exception):
    """The body exceeded ``MAX_ANSWER_BYTES``."""


def _read_body(response: Any, deadline: float) -> bytes:
    """The whole body of a not-preloaded urllib3 response, by ``deadline`` (monotonic) or
    ``_Deadline``: each socket read waits at most the time left, so a trickling server cannot
    stretch one request beyond ``--request-timeout``."""
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Deadline
            _limit_socket_wait(response, left)
            chunk = response.read1(_READ_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise _TooLarge
            chunks.append(chunk)
    except (_Deadline, _TooLarge):
        response.close()
        raise
    finally:
        response.release_conn()


def _limit_socket_wait(response: Any, seconds: float) -> None:
    connection = getattr(response, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def _sent_secret_values(path: str, body: Any) -> set[str]:
    """The Secret values a request body carries: a Secret (or List of them), or a patch of one
    (``.../secrets/NAME``), which need not name its kind."""
    if isinstance(body, dict) and "/secrets" in path and "kind" not in body:
        body = {**body, "kind": "Secret"}
    return secret_values_of(body)


def _error_payload(raw: bytes) -> dict[str, Any]:
    """The JSON ``Status`` of an error answer, or its first bytes as the message."""
    if not raw:
        return {}
    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):
        return {"message": raw[:200].decode("utf-8", "replace")}
    return decoded if isinstance(decoded, dict) else {}


class _Transient(Exception):
    # ``fatal``: TLS failures do not heal by retrying. ``cut_off``: the server answered, but the
    # body broke off (or was too large): the request's scope is unreadable, the server reachable.
    def __init__(self, cause: str, before_sending: bool, fatal: bool = False, cut_off: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.before_sending = before_sending
        self.fatal = fatal
        self.cut_off = cut_off


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
