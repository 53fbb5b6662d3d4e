"""The kube client factory against the emulated API server, over real HTTP with the official client."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops_tool.adapters.kube.client import KubeClient, KubeSettings, api_path, connect
from gitops_tool.errors import ClusterApiError, ClusterError, UserError
from tests.kubeapi import KubeApiServer

TOKEN = "emulated-token"


def _cm(name: str, ns: str = "airflow", **labels: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "data": {"k": name},
    }


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    objects = [_cm(f"cm-{i}", tier="a" if i % 2 else "b") for i in range(7)] + [_cm("other", "default")]
    with KubeApiServer(objects, token=TOKEN) as server:
        yield server


def _client(api: KubeApiServer, tmp_path: Path, timeout: float = 5.0, **kw: object) -> KubeClient:
    settings = KubeSettings(
        kubeconfig=str(api.kubeconfig(tmp_path)),
        request_timeout=timeout,
        sleep=lambda _s: None,
        **kw,  # type: ignore[arg-type]
    )
    return connect(settings)


def test_list_follows_continue_pages_and_fills_kind(api: KubeApiServer, tmp_path: Path) -> None:
    client = _client(api, tmp_path)
    items = list(client.list(api_path("", "v1", "configmaps", "airflow"), page_size=3))
    assert sorted(i["metadata"]["name"] for i in items) == [f"cm-{i}" for i in range(7)]
    assert {(i["apiVersion"], i["kind"]) for i in items} == {("v1", "ConfigMap")}
    pages = [r for r in api.requests if r.path == "/api/v1/namespaces/airflow/configmaps"]
    assert len(pages) == 3
    assert all(r.query["limit"] == "3" for r in pages)
    assert "continue" not in pages[0].query and all("continue" in r.query for r in pages[1:])
    assert api.methods() == {"GET"}


def test_label_selector_and_get(api: KubeApiServer, tmp_path: Path) -> None:
    client = _client(api, tmp_path)
    names = {i["metadata"]["name"] for i in client.list("/api/v1/configmaps", label_selector="tier=a")}
    assert names == {"cm-1", "cm-3", "cm-5"}
    assert client.get(api_path("", "v1", "configmaps", "default", "other"))["data"] == {"k": "other"}
    assert client.get_or_none(api_path("", "v1", "configmaps", "default", "nope")) is None


def test_retries_429_and_5xx_with_backoff(api: KubeApiServer, tmp_path: Path) -> None:
    delays: list[float] = []
    settings = KubeSettings(kubeconfig=str(api.kubeconfig(tmp_path)), request_timeout=5, sleep=delays.append)
    client = connect(settings)
    api.fail(429, path="/api/v1/namespaces/default", retry_after=1)
    api.fail(500, path="/api/v1/namespaces/default")
    api.fail(503, path="/api/v1/namespaces/default")
    assert client.get(api_path("", "v1", "configmaps", "default", "other"))["metadata"]["name"] == "other"
    assert len([r for r in api.requests if r.path.endswith("/other")]) == 4
    assert delays[0] == 1.0 and len(delays) == 3
    assert delays[2] > delays[1] * 0.9  # exponential growth, jittered


def test_gives_up_after_retries_with_one_line(api: KubeApiServer, tmp_path: Path) -> None:
    client = _client(api, tmp_path, retries=2)
    api.fail(500, path="/api/v1", times=10)
    with pytest.raises(ClusterApiError) as err:
        client.get("/api/v1/namespaces/default/configmaps/other")
    assert err.value.status == 500
    where = f"cluster {api.url} (/api/v1/namespaces/default/configmaps/other)"
    assert str(err.value).startswith(f"{where}: HTTP 500")
    assert "\n" not in str(err.value)


def test_401_names_server_and_cause(api: KubeApiServer, tmp_path: Path) -> None:
    config = api.kubeconfig(tmp_path, token="s3cr3t-tok")
    settings = KubeSettings(kubeconfig=str(config), sleep=lambda _s: None)
    with pytest.raises(ClusterApiError) as err:
        connect(settings).get("/api/v1/namespaces")
    assert err.value.status == 401
    assert api.url in str(err.value) and "401 Unauthorized" in str(err.value)
    assert "s3cr3t-tok" not in str(err.value)  # never the token


def test_403_keeps_status_for_partial_reads(api: KubeApiServer, tmp_path: Path) -> None:
    api.forbid("secrets")
    with pytest.raises(ClusterApiError) as err:
        list(_client(api, tmp_path).list("/api/v1/namespaces/airflow/secrets"))
    assert err.value.status == 403
    assert "403 Forbidden" in str(err.value) and "cannot list" in str(err.value)


def test_silent_server_times_out(api: KubeApiServer, tmp_path: Path) -> None:
    client = _client(api, tmp_path, timeout=0.3, retries=1)
    api.silence()
    with pytest.raises(ClusterError) as err:
        client.get("/api/v1/namespaces")
    assert "no answer within 0.3s" in str(err.value) and api.url in str(err.value)
    assert len(api.requests) == 2  # one retry


def test_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with KubeApiServer() as api:
        config = api.kubeconfig(tmp_path, server=f"http://127.0.0.1:{port}")
    settings = KubeSettings(kubeconfig=str(config), request_timeout=2, retries=1, sleep=lambda _s: None)
    client = connect(settings)
    with pytest.raises(ClusterError) as err:
        client.get("/api/v1/namespaces")
    assert f"127.0.0.1:{port}" in str(err.value) and "unreachable (connection refused)" in str(err.value)


def test_tls_failure_is_one_line(api: KubeApiServer, tmp_path: Path) -> None:
    https = api.url.replace("http://", "https://")
    config = api.kubeconfig(tmp_path, server=https)
    client = connect(KubeSettings(kubeconfig=str(config), request_timeout=2, sleep=lambda _s: None))
    with pytest.raises(ClusterError) as err:
        client.get("/api/v1/namespaces")
    assert https in str(err.value) and "TLS handshake failed" in str(err.value)
    assert "\n" not in str(err.value)


def test_kubeconfig_errors(api: KubeApiServer, tmp_path: Path) -> None:
    config = api.kubeconfig(tmp_path)
    with pytest.raises(UserError, match="has no context 'prod' \\(contexts: emulated\\)"):
        connect(KubeSettings(kubeconfig=str(config), context="prod"))
    with pytest.raises(UserError, match="does not exist"):
        connect(KubeSettings(kubeconfig=str(tmp_path / "missing")))
    (tmp_path / "bad").write_text("- a\n- b\n")
    with pytest.raises(UserError, match="not a kubeconfig"):
        connect(KubeSettings(kubeconfig=str(tmp_path / "bad")))


def test_writes_are_stored_and_recorded(api: KubeApiServer, tmp_path: Path) -> None:
    client = _client(api, tmp_path)
    path = api_path("", "v1", "configmaps", "airflow")
    client.create(path, _cm("new"))
    with pytest.raises(ClusterApiError) as err:
        client.create(path, _cm("new"))
    assert err.value.status == 409
    client.patch(f"{path}/new", {"data": {"k": "patched", "x": "y"}})
    client.patch(f"{path}/new", [{"op": "remove", "path": "/data/x"}], "application/json-patch+json")
    assert (api.get_object("ConfigMap", "airflow", "new") or {})["data"] == {"k": "patched"}
    client.replace(f"{path}/new", {**_cm("new"), "data": {"k": "replaced"}})
    assert (api.get_object("ConfigMap", "airflow", "new") or {})["data"] == {"k": "replaced"}
    client.delete(f"{path}/new")
    assert api.get_object("ConfigMap", "airflow", "new") is None
    assert [r.method for r in api.requests] == ["POST", "POST", "PATCH", "PATCH", "PUT", "DELETE"]
    assert api.requests[0].query == {"fieldManager": "gitops-tool"}
    assert api.requests[0].body["metadata"]["name"] == "new"


def test_discovery_is_served(api: KubeApiServer, tmp_path: Path) -> None:
    client = _client(api, tmp_path)
    groups = {g["name"] for g in client.get("/apis")["groups"]}
    assert {"apps", "batch", "rbac.authorization.k8s.io"} <= groups
    kinds = {r["kind"]: r["name"] for r in client.get("/apis/apps/v1")["resources"]}
    assert kinds["Deployment"] == "deployments"
    assert client.get("/api")["versions"] == ["v1"]


def test_the_official_typed_api_works_too(api: KubeApiServer, tmp_path: Path) -> None:
    from kubernetes import client as k8s

    core = k8s.CoreV1Api(_client(api, tmp_path).api_client)
    listed = core.list_namespaced_config_map("airflow", limit=2, _request_timeout=5)
    assert len(listed.items) == 2
    assert listed.metadata is not None and listed.metadata._continue


def test_dry_run_create_stores_nothing_and_logs_read_as_text(api: KubeApiServer, tmp_path: Path) -> None:
    client = _client(api, tmp_path)
    pods = api_path("", "v1", "pods", "airflow")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}
    client.create(pods, pod, dry_run=True)
    assert api.get_object("Pod", "airflow", "p") is None
    assert api.requests[-1].query == {"fieldManager": "gitops-tool", "dryRun": "All"}
    seen: list[str] = []

    def kubelet(server: KubeApiServer, obj: dict[str, Any]) -> None:
        seen.append(obj["metadata"]["name"])
        server.set_log("airflow", "p", "line 1\n{not json\n")

    api.on_create("Pod", kubelet)
    client.create(pods, pod)
    assert seen == ["p"]
    assert client.get_text(api_path("", "v1", "pods", "airflow", "p") + "/log") == "line 1\n{not json\n"


def test_an_error_quoting_a_secret_patch_hides_its_values(api: KubeApiServer, tmp_path: Path) -> None:
    client = _client(api, tmp_path)
    api.fail(422, method="PATCH", path="/api/v1/namespaces/airflow/secrets", quote_body=True)
    patch = {"data": {"password": base64.b64encode(b"patched-secret-42").decode()}}
    with pytest.raises(ClusterApiError) as err:
        client.patch(api_path("", "v1", "secrets", "airflow", "s"), patch)
    message = str(err.value)
    assert "admission webhook denied the request" in message
    assert "patched-secret-42" not in message and patch["data"]["password"] not in message
