"""An emulated Kubernetes API server for tests: real HTTP on 127.0.0.1, stdlib only.

The official ``kubernetes`` client talks to it exactly as to a real API server, so tests exercise the
real request path (URLs, query strings, auth header, JSON decoding, timeouts).

API::

    with KubeApiServer(objects, token="t0ken") as api:   # starts on a free port, stops on exit
        api.url                                           # "http://127.0.0.1:PORT"
        api.kubeconfig(tmp_path, context="emulated")      # writes a kubeconfig file, returns its Path
        api.add(obj) / api.add_all(objs)                  # seed (uid, resourceVersion, timestamps filled)
        api.get_object("Deployment", "airflow", "x")      # what is stored (a dict) or None
        api.objects(kind=None)                            # every stored object
        api.requests                                      # [Recorded(method, path, query, body)], in order
        api.methods()                                     # {"GET", ...}: what reached the server
        api.fail(status, method="GET", path="/apis/apps", times=1, retry_after=None, on_continue=False)
                                                          # answer the next `times` matching requests
                                                          # with `status` (429/500/...; path is a prefix;
                                                          # on_continue: only requests with a token)
        api.corrupt(mode, path="/apis/apps", times=1)     # answer matching GETs badly (CORRUPTIONS):
                                                          # an HTML page, a truncated or cut-off body,
                                                          # a JSON value of the wrong shape, a body
                                                          # trickled byte by byte, a reset connection
        api.forbid(plural, group="", namespace=None)      # 403 for that resource (all verbs)
        api.silence()                                     # stop answering (requests hang) until stop
        api.add_resource_type(ResourceType(...))          # serve a CRD kind too
        api.on_create("Pod", hook)                        # hook(api, stored) after each real create:
                                                          # an emulated kubelet sets status, logs
        api.set_log("airflow", "pod", text)               # what GET pods/NAME/log answers (text/plain)
        api.access_rule = lambda spec: True               # answers (Self)SubjectAccessReviews (not stored)
        api.on_request(hook)                              # hook(api, recorded) after each answer: a
                                                          # controller stand-in (e.g. advance a Job)

Served: discovery (``/version``, ``/api``, ``/apis``, ``/api/v1``, ``/apis/GROUP``,
``/apis/GROUP/VERSION``), GET object, LIST (cluster-wide and per namespace) with ``limit`` /
``continue`` pagination, ``labelSelector`` (``=``, ``==``, ``!=``, ``in``, ``notin``, exists,
``!key``) and ``fieldSelector`` (``a.b=v``, ``a.b!=v``). Like a real server, list items carry no
``apiVersion``/``kind`` and a ``continue`` token pages through a stable snapshot order.
Writes, for helpers of write commands: POST (create; 409 if it exists), PUT (replace; 404 if
missing), PATCH (``merge-patch``/``strategic-merge-patch`` as a JSON merge patch, ``json-patch``
add/replace/remove, ``apply-patch+yaml`` as create-or-merge), DELETE; ``dryRun=All`` on POST and
DELETE answers as the write would without storing it. Every request is recorded.
With ``service_cidr`` set, a Service create (dry run included) asking for a ``clusterIP`` outside it,
or one another stored Service holds, is refused with 422 Invalid and the API server's wording.
With ``token`` set, requests without ``Authorization: Bearer <token>`` get 401.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _t(gv: str, kind: str, plural: str, namespaced: bool = True) -> ResourceType:
    group, _, version = gv.rpartition("/")
    return ResourceType(group, version, kind, plural, namespaced)


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _t("v1", "Namespace", "namespaces", False),
    _t("v1", "Node", "nodes", False),
    _t("v1", "PersistentVolume", "persistentvolumes", False),
    _t("v1", "Pod", "pods"),
    _t("v1", "Service", "services"),
    _t("v1", "ConfigMap", "configmaps"),
    _t("v1", "Secret", "secrets"),
    _t("v1", "ServiceAccount", "serviceaccounts"),
    _t("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    _t("v1", "Endpoints", "endpoints"),
    _t("v1", "Event", "events"),
    _t("v1", "ResourceQuota", "resourcequotas"),
    _t("v1", "LimitRange", "limitranges"),
    _t("apps/v1", "Deployment", "deployments"),
    _t("apps/v1", "StatefulSet", "statefulsets"),
    _t("apps/v1", "DaemonSet", "daemonsets"),
    _t("apps/v1", "ReplicaSet", "replicasets"),
    _t("apps/v1", "ControllerRevision", "controllerrevisions"),
    _t("batch/v1", "Job", "jobs"),
    _t("batch/v1", "CronJob", "cronjobs"),
    _t("rbac.authorization.k8s.io/v1", "Role", "roles"),
    _t("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    _t("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    _t("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _t("networking.k8s.io/v1", "Ingress", "ingresses"),
    _t("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    _t("networking.k8s.io/v1", "IngressClass", "ingressclasses", False),
    _t("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    _t("storage.k8s.io/v1", "StorageClass", "storageclasses", False),
    _t("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    _t("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
    _t("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False),
    _t("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False),
    _t("coordination.k8s.io/v1", "Lease", "leases"),
    _t("authorization.k8s.io/v1", "SubjectAccessReview", "subjectaccessreviews", False),
    _t("authorization.k8s.io/v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False),
)
# Created and answered, never stored: like the real authorization API.
_REVIEW_PLURALS = frozenset({"subjectaccessreviews", "selfsubjectaccessreviews"})


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass
class _Fault:
    status: int
    method: str | None
    path: str
    times: int
    retry_after: float | None
    on_continue: bool = False
    quote_body: bool = False


# How ``corrupt`` spoils an answer (each seen from behind auth proxies, load balancers, or flaky links).
CORRUPTIONS = (
    "html",  # 200 text/html: a login page of an auth proxy
    "html-as-json",  # 200 with Content-Type application/json, body an HTML page
    "truncated",  # 200 JSON, the first half of the real document (Content-Length matches)
    "cut",  # 200 JSON announcing the whole length, half sent, connection closed
    "wrong-shape",  # 200 JSON: a JSON list instead of an object
    "not-a-list",  # 200 JSON: an object without kind ...List and items (for a list request)
    "trickle",  # the real answer, one byte every 50 ms
    "reset",  # the connection is reset without an answer
)


@dataclass
class _Corruption:
    mode: str
    path: str
    times: int


@dataclass
class _State:
    types: dict[tuple[str, str], ResourceType] = field(default_factory=dict)  # (group, plural)
    store: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    corruptions: list[_Corruption] = field(default_factory=list)
    forbidden: set[tuple[str, str, str | None]] = field(default_factory=set)
    revision: int = 1000
    token: str | None = None
    create_hooks: dict[str, list[Any]] = field(default_factory=dict)
    logs: dict[tuple[str, str], str] = field(default_factory=dict)
    request_hooks: list[Callable[[KubeApiServer, Recorded], None]] = field(default_factory=list)


class KubeApiServer:
    """A small real HTTP server speaking enough of the Kubernetes API for the client. See module doc."""

    def __init__(
        self,
        objects: Iterable[dict[str, Any]] = (),
        token: str | None = None,
        service_cidr: str | None = None,
    ) -> None:
        self.state = _State(token=token)
        self.service_cidr = service_cidr
        self.access_rule: Callable[[dict[str, Any]], bool] = lambda _spec: True
        self.lock = threading.RLock()
        self.silent = threading.Event()
        self.stopping = threading.Event()
        for rtype in BUILTIN_TYPES:
            self.add_resource_type(rtype)
        self.add_all(objects)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self.httpd = server
        self.thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> KubeApiServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kubeconfig(
        self, folder: Path, context: str = "emulated", token: str | None = None, server: str | None = None
    ) -> Path:
        """Write a kubeconfig for this server (token defaults to the server's) and return its path."""
        user: dict[str, Any] = {"token": token or self.state.token or "anonymous"}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulated", "cluster": {"server": server or self.url}}],
            "users": [{"name": "auditor", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": "emulated", "user": "auditor"}}],
            "current-context": context,
        }
        path = folder / f"kubeconfig-{context}.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    # --- seeding and inspection --------------------------------------------------------------

    def add_resource_type(self, rtype: ResourceType) -> None:
        self.state.types[(rtype.group, rtype.plural)] = rtype

    def type_of_kind(self, api_version: str, kind: str) -> ResourceType:
        group = api_version.rpartition("/")[0]
        for rtype in self.state.types.values():
            if rtype.group == group and rtype.kind == kind:
                return rtype
        raise KeyError(f"emulated server does not serve {api_version} {kind}")

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a copy of ``obj`` as-is, filling only uid, resourceVersion and creationTimestamp."""
        stored = copy.deepcopy(obj)
        rtype = self.type_of_kind(stored["apiVersion"], stored["kind"])
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", "2026-11-20T10:00:00Z")
        with self.lock:
            self.state.revision += 1
            meta.setdefault("resourceVersion", str(self.state.revision))
            namespace = meta.get("namespace", "") if rtype.namespaced else ""
            self.state.store[(rtype.group, rtype.plural, namespace, meta["name"])] = stored
        return stored

    def add_all(self, objects: Iterable[dict[str, Any]]) -> None:
        for obj in objects:
            self.add(obj)

    def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            for (_group, _plural, ns, obj_name), obj in self.state.store.items():
                if obj["kind"] == kind and ns == namespace and obj_name == name:
                    return copy.deepcopy(obj)
        return None

    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(o) for o in self.state.store.values() if kind in (None, o["kind"])]

    @property
    def requests(self) -> list[Recorded]:
        with self.lock:
            return list(self.state.requests)

    def methods(self) -> set[str]:
        return {r.method for r in self.requests}

    # --- faults ------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        method: str | None = "GET",
        path: str = "/",
        times: int = 1,
        retry_after: float | None = None,
        *,
        on_continue: bool = False,
        quote_body: bool = False,
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path`` with ``status``
        (with ``on_continue``, only list requests carrying a ``continue`` token; with
        ``quote_body``, the message quotes the request body, as admission webhooks' messages do)."""
        with self.lock:
            self.state.faults.append(
                _Fault(status, method, path, times, retry_after, on_continue, quote_body)
            )

    def corrupt(self, mode: str, path: str = "/", times: int = 1_000_000) -> None:
        """Spoil the next ``times`` GET answers whose path starts with ``path`` (see CORRUPTIONS)."""
        if mode not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {mode!r}")
        with self.lock:
            self.state.corruptions.append(_Corruption(mode, path, times))

    def forbid(self, plural: str, group: str = "", namespace: str | None = None) -> None:
        """403 for every request on that resource (in ``namespace`` only, when given)."""
        with self.lock:
            self.state.forbidden.add((group, plural, namespace))

    def on_create(self, kind: str, hook: Any) -> None:
        """Call ``hook(api, stored_object)`` after every (not dry-run) create of ``kind``."""
        with self.lock:
            self.state.create_hooks.setdefault(kind, []).append(hook)

    def on_request(self, hook: Callable[[KubeApiServer, Recorded], None]) -> None:
        """Call ``hook(api, recorded)`` after each request has been answered."""
        with self.lock:
            self.state.request_hooks.append(hook)

    def set_log(self, namespace: str, name: str, text: str) -> None:
        with self.lock:
            self.state.logs[(namespace, name)] = text

    def silence(self) -> None:
        """From now on, accept connections but never answer (until ``stop``)."""
        self.silent.set()


def _handler_for(api: KubeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as two writes: without this, Nagle plus delayed ACKs add ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = yaml.safe_load(raw.decode("utf-8"))
            with api.lock:
                api.state.requests.append(Recorded(method, parts.path, query, body))
            if api.silent.is_set():
                api.stopping.wait(120)
                self.close_connection = True
                return
            if api.state.token is not None:
                header = self.headers.get("Authorization", "")
                if header != f"Bearer {api.state.token}":
                    self._send(401, _status(401, "Unauthorized", "Unauthorized"))
                    return
            fault = _take_fault(api, method, parts.path, "continue" in query)
            if fault is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                message = f"injected {fault.status}"
                if fault.quote_body:
                    message = f"admission webhook denied the request: object {json.dumps(body)}"
                self._send(fault.status, _status(fault.status, "Injected", message), headers)
                return
            status, payload = _route(
                api, method, unquote(parts.path), query, body, self.headers.get("Content-Type", "")
            )
            corruption = _take_corruption(api, method, parts.path)
            if corruption is not None:
                self._send_corrupted(corruption, status, payload)
                return
            self._send(status, payload)
            for hook in list(api.state.request_hooks):
                hook(api, Recorded(method, parts.path, query, body))

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            text = isinstance(payload, str)  # pods/NAME/log answers plain text, as a real server does
            data = payload.encode() if text else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_corrupted(self, mode: str, status: int, payload: Any) -> None:
            self.close_connection = True
            real = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            if mode == "reset":
                # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            content_type = "application/json"
            if mode in ("html", "html-as-json"):
                data = b"<!DOCTYPE html><html><body><form>Sign in to continue</form></body></html>"
                content_type = "text/html" if mode == "html" else content_type
            elif mode == "truncated":
                data = real[: len(real) // 2]
            elif mode == "wrong-shape":
                data = b"[1, 2, 3]"
            elif mode == "not-a-list":
                data = b'{"apiVersion": "v1", "metadata": {}}'
            else:  # cut, trickle
                data = real
            self.send_response(200 if mode != "trickle" else status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if mode == "cut":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                return
            if mode == "trickle":
                for offset in range(len(data)):
                    if api.stopping.is_set():
                        return
                    try:
                        self.wfile.write(data[offset : offset + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.05)
                return
            self.wfile.write(data)

    return Handler


def _take_fault(api: KubeApiServer, method: str, path: str, has_continue: bool) -> _Fault | None:
    with api.lock:
        for fault in api.state.faults:
            if (
                fault.times > 0
                and fault.method in (None, method)
                and path.startswith(fault.path)
                and (has_continue or not fault.on_continue)
            ):
                fault.times -= 1
                return fault
    return None


def _take_corruption(api: KubeApiServer, method: str, path: str) -> str | None:
    if method != "GET":
        return None
    with api.lock:
        for corruption in api.state.corruptions:
            if corruption.times > 0 and path.startswith(corruption.path):
                corruption.times -= 1
                return corruption.mode
    return None


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _route(  # noqa: PLR0917
    api: KubeApiServer,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    content_type: str,
) -> tuple[int, Any]:
    segments = [s for s in path.split("/") if s]
    if segments == ["version"]:
        return 200, {"major": "1", "minor": "33", "gitVersion": "v1.33.1", "platform": "linux/amd64"}
    if segments == ["api"]:
        return 200, {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": api.url}],
        }
    if segments == ["apis"]:
        return 200, _group_list(api)
    if segments[:1] == ["api"] and len(segments) >= 2:
        group, version, rest = "", segments[1], segments[2:]
    elif segments[:1] == ["apis"] and len(segments) >= 2:
        if len(segments) == 2:
            found = [g for g in _group_list(api)["groups"] if g["name"] == segments[1]]
            return (
                (200, {"kind": "APIGroup", "apiVersion": "v1", **found[0]})
                if found
                else (404, _status(404, "NotFound", "the server could not find the requested resource"))
            )
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return 404, _status(404, "NotFound", "the server could not find the requested resource")
    if not rest:
        return _resource_list(api, group, version)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    plural, name = rest[0], (rest[1] if len(rest) > 1 else "")
    if rest[0] == "pods" and rest[2:] == ["log"] and method == "GET" and group == "":
        with api.lock:
            if ("", "pods", namespace, name) not in api.state.store:
                return 404, _status(404, "NotFound", f'pods "{name}" not found')
            return 200, api.state.logs.get((namespace, name), "")
    if len(rest) > 2:
        return 404, _status(404, "NotFound", "subresources are not emulated")
    rtype = api.state.types.get((group, plural))
    if rtype is None or rtype.version != version:
        return 404, _status(404, "NotFound", "the server could not find the requested resource")
    for fgroup, fplural, fns in api.state.forbidden:
        if (fgroup, fplural) == (group, plural) and fns in (None, namespace or None):
            verb = {
                "GET": "get" if name else "list",
                "POST": "create",
                "PUT": "update",
                "PATCH": "patch",
                "DELETE": "delete",
            }[method]
            scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            who = 'User "system:serviceaccount:airflow:auditor"'
            where = f"{plural}.{group}" if group else plural
            return 403, _status(
                403,
                "Forbidden",
                f"{where} is forbidden: {who} cannot {verb} resource "
                f'"{plural}" in API group "{group}"{scope}',
            )
    if plural in _REVIEW_PLURALS and group == "authorization.k8s.io":
        if method != "POST":
            return 405, _status(405, "MethodNotAllowed", "reviews can only be created")
        review = copy.deepcopy(body)
        review["status"] = {"allowed": bool(api.access_rule(review.get("spec") or {}))}
        return 201, review
    if method == "GET":
        return _get_or_list(api, rtype, namespace, name, query)
    return _write(api, rtype, method, namespace, name, body, content_type, query.get("dryRun") == "All")


def _group_list(api: KubeApiServer) -> dict[str, Any]:
    groups: dict[str, list[str]] = {}
    for rtype in api.state.types.values():
        if rtype.group:
            versions = groups.setdefault(rtype.group, [])
            if rtype.version not in versions:
                versions.append(rtype.version)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": g,
                "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
            }
            for g, vs in sorted(groups.items())
        ],
    }


def _resource_list(api: KubeApiServer, group: str, version: str) -> tuple[int, Any]:
    types = [t for t in api.state.types.values() if t.group == group and t.version == version]
    if not types:
        return 404, _status(404, "NotFound", "the server could not find the requested resource")
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    return 200, {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": types[0].group_version,
        "resources": [
            {
                "name": t.plural,
                "singularName": t.kind.lower(),
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": verbs,
                "shortNames": list(t.short_names),
            }
            for t in types
        ],
    }


def _get_or_list(
    api: KubeApiServer, rtype: ResourceType, namespace: str, name: str, query: dict[str, str]
) -> tuple[int, Any]:
    with api.lock:
        if name:
            obj = api.state.store.get((rtype.group, rtype.plural, namespace, name))
            if obj is None:
                return 404, _status(404, "NotFound", f'{rtype.plural} "{name}" not found')
            return 200, obj
        items = sorted(
            (
                o
                for (g, p, ns, _), o in api.state.store.items()
                if (g, p) == (rtype.group, rtype.plural) and (not namespace or ns == namespace)
            ),
            key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
        )
        revision = str(api.state.revision)
    items = [
        o
        for o in items
        if _labels_match(o, query.get("labelSelector", ""))
        and _fields_match(o, query.get("fieldSelector", ""))
    ]
    offset = 0
    if query.get("continue"):
        try:
            offset = int(json.loads(base64.b64decode(query["continue"]))["start"])
        except (ValueError, KeyError):
            return 400, _status(400, "BadRequest", "invalid continue token")
    limit = int(query.get("limit") or 0)
    page = items[offset : offset + limit] if limit else items[offset:]
    meta: dict[str, Any] = {"resourceVersion": revision}
    if limit and offset + limit < len(items):
        meta["continue"] = base64.b64encode(json.dumps({"start": offset + limit}).encode()).decode()
        meta["remainingItemCount"] = len(items) - offset - limit
    listed = []
    for obj in page:
        item = copy.deepcopy(obj)
        item.pop("apiVersion", None)  # a real server leaves these out of list items
        item.pop("kind", None)
        listed.append(item)
    return 200, {
        "kind": f"{rtype.kind}List",
        "apiVersion": rtype.group_version,
        "metadata": meta,
        "items": listed,
    }


_SELECTOR = re.compile(
    r"\s*(?:(?P<key>[^\s,!=()]+)\s*(?P<op>notin|in)\s*\((?P<values>[^)]*)\)"
    r"|(?P<k2>[^\s,!=()]+)\s*(?P<op2>==|=|!=)\s*(?P<v2>[^\s,]*)"
    r"|(?P<neg>!)?\s*(?P<k3>[^\s,!=()]+))\s*(?:,|$)"
)


def _labels_match(obj: dict[str, Any], selector: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for match in _SELECTOR.finditer(selector.strip()):
        if not match.group(0).strip():
            continue
        if match.group("key"):
            values = {v.strip() for v in match.group("values").split(",")}
            present = labels.get(match.group("key"))
            ok = present in values if match.group("op") == "in" else present not in values
        elif match.group("k2"):
            present = labels.get(match.group("k2"))
            equal = present == match.group("v2")
            ok = equal if match.group("op2") in ("=", "==") else not equal
        else:
            has = match.group("k3") in labels
            ok = not has if match.group("neg") else has
        if not ok:
            return False
    return True


def _fields_match(obj: dict[str, Any], selector: str) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        negate = "!=" in term
        path, _, wanted = term.partition("!=" if negate else "=")
        value: Any = obj
        for part in path.lstrip("=").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        equal = str(value if value is not None else "") == wanted.lstrip("=")
        if equal == negate:
            return False
    return True


def _write(  # noqa: PLR0917
    api: KubeApiServer,
    rtype: ResourceType,
    method: str,
    namespace: str,
    name: str,
    body: Any,
    content_type: str,
    dry_run: bool = False,
) -> tuple[int, Any]:
    hooks: list[Any] = []
    with api.lock:
        if method == "POST":
            obj_name = (body.get("metadata") or {}).get("name", "")
            key = (rtype.group, rtype.plural, namespace, obj_name)
            if key in api.state.store:
                return 409, _status(409, "AlreadyExists", f'{rtype.plural} "{obj_name}" already exists')
            refused = _service_ip_refusal(api, rtype, obj_name, body)
            if refused is not None:
                return 422, _status(422, "Invalid", refused)
            if dry_run:
                return 201, copy.deepcopy(body)
            created = _stored(api, rtype, namespace, body)
            hooks = list(api.state.create_hooks.get(rtype.kind, []))
        else:
            created = None
    if created is not None:
        for hook in hooks:  # outside the lock: a hook may call back into the api
            hook(api, copy.deepcopy(created))
        return 201, created
    with api.lock:
        key = (rtype.group, rtype.plural, namespace, name)
        current = api.state.store.get(key)
        if method == "DELETE":
            if current is None:
                return 404, _status(404, "NotFound", f'{rtype.plural} "{name}" not found')
            if dry_run:
                return 200, current
            del api.state.store[key]
            api.state.logs.pop((namespace, name), None)
            return 200, current
        if method == "PUT":
            if current is None:
                return 404, _status(404, "NotFound", f'{rtype.plural} "{name}" not found')
            replaced = copy.deepcopy(body)
            replaced.setdefault("metadata", {})["uid"] = current["metadata"]["uid"]
            return 200, _stored(api, rtype, namespace, replaced)
        # PATCH
        if current is None:
            if "apply-patch" not in content_type:
                return 404, _status(404, "NotFound", f'{rtype.plural} "{name}" not found')
            return 201, _stored(api, rtype, namespace, body)
        if "json-patch" in content_type:
            patched = _json_patch(copy.deepcopy(current), body)
        else:
            patched = _merge_patch(copy.deepcopy(current), body)
        return 200, _stored(api, rtype, namespace, patched)


def _service_ip_refusal(api: KubeApiServer, rtype: ResourceType, name: str, body: Any) -> str | None:
    """The kube-apiserver's refusal of a Service's clusterIP outside its range, or already held."""
    if api.service_cidr is None or rtype.kind != "Service":
        return None
    import ipaddress

    wanted = ((body.get("spec") or {}) if isinstance(body, dict) else {}).get("clusterIP")
    if not wanted or wanted == "None":
        return None
    prefix = f'Service "{name}" is invalid: spec.clusterIPs: Invalid value: []string{{"{wanted}"}}: '
    if ipaddress.ip_address(wanted) not in ipaddress.ip_network(api.service_cidr):
        return (
            f"{prefix}failed to allocate IP {wanted}: provided IP is not in the valid range. "
            f"The range of valid IPs is {api.service_cidr}"
        )
    held = [o for o in api.objects("Service") if (o.get("spec") or {}).get("clusterIP") == wanted]
    return f"{prefix}failed to allocate IP {wanted}: provided IP is already allocated" if held else None


def _stored(api: KubeApiServer, rtype: ResourceType, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(body)
    obj.setdefault("apiVersion", rtype.group_version)
    obj.setdefault("kind", rtype.kind)
    meta = obj.setdefault("metadata", {})
    if rtype.namespaced:
        meta["namespace"] = namespace or meta.get("namespace", "default")
    meta.pop("resourceVersion", None)
    return api.add(obj)


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _json_patch(target: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent: Any = target
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op["op"] == "remove":
                parent.pop(index)
            elif op["op"] == "add":
                parent.insert(index, op["value"])
            else:
                parent[index] = op["value"]
        elif op["op"] == "remove":
            parent.pop(last, None)
        else:
            parent[last] = op["value"]
    return target
