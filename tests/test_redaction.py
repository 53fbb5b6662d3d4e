"""No credential from a URL and no Secret value from a schema or API message reaches any output."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gitops_tool.core.redact import mask_url, redact, redact_values, secret_values_of
from tests.cluster_support import CANARY_TOKEN, kube_args, namespace
from tests.conftest import REPO_ROOT, RunCli
from tests.kubeapi import KubeApiServer


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://user:pw@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("https://github.com/o/r.git?access_token=abc#frag", "https://github.com/o/r.git?***#***"),
        ("ssh://git:hunter2@host:22/o/r", "ssh://***@host:22/o/r"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert redact(f"cannot clone {url}: denied") == f"cannot clone {masked}: denied"


def test_redact_masks_bearer_tokens_and_scp_passwords() -> None:
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
    assert redact("clone git:pw123@github.com:o/r.git") == "clone git:***@github.com:o/r.git"


def test_secret_values_are_found_as_sent_decoded_and_encoded() -> None:
    secret = {
        "kind": "Secret",
        "data": {"a": base64.b64encode(b"plain-value").decode()},
        "stringData": {"b": "sd-v"},
    }
    values = secret_values_of(secret)
    assert {"plain-value", base64.b64encode(b"plain-value").decode(), "sd-v"} <= values
    assert secret_values_of({"kind": "ConfigMap", "data": {"a": "visible"}}) == set()
    assert redact_values("x plain-value y plain-values", values) == "x *** y plain-values"


SECRETS_LEAKS = [
    "https://github.com/o/r.git?access_token=TOKEN-1a2b3c",
    "ssh://git:PASSWORD-4d5e6f@github.com/o/r.git",
    "https://github.com/o/r.git#TOKEN-frag-77",
    "https://bob:PASSWORD-889@example.com/o/r.git",
]


@pytest.mark.parametrize("url", SECRETS_LEAKS)
def test_argocd_app_never_echoes_a_rejected_urls_credentials(run_cli: RunCli, url: str) -> None:
    result = run_cli("argocd", "app", "three-node-ha", "--repo-url", url, cwd=REPO_ROOT)
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.out == ""
    for secret in ("TOKEN-1a2b3c", "PASSWORD-4d5e6f", "TOKEN-frag-77", "PASSWORD-889"):
        assert secret not in result.err


WRONGLY_TYPED_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: typed
  namespace: airflow
type: Opaque
stringData:
  pin: 73519284
  list:
    - hunter2-in-a-list
  ok: fine-string-value
"""


def test_validate_never_prints_a_wrongly_typed_secret_value(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "overlays" / "typed"
    folder.mkdir(parents=True)
    (folder / "secret.yaml").write_text(WRONGLY_TYPED_SECRET)
    (folder / "kustomization.yaml").write_text("resources:\n  - secret.yaml\n")
    text = run_cli("validate", "overlays/typed", "--no-policies", cwd=tmp_path)
    as_json = run_cli("validate", "overlays/typed", "--no-policies", "-o", "json", cwd=tmp_path)
    assert text.code == 1 and as_json.code == 1, text.out + text.err
    assert "stringData.pin" in text.out and "value hidden" in text.out
    violations = json.loads(as_json.out)["overlays"][0]["violations"]
    assert {v["path"] for v in violations} >= {"stringData.pin", "stringData.list"}
    for output in (text.out + text.err, as_json.out + as_json.err):
        assert "73519284" not in output and "hunter2-in-a-list" not in output


def test_secrets_init_does_not_pass_on_an_api_message_quoting_the_secret(
    tmp_path: Path, run_cli: RunCli
) -> None:
    with KubeApiServer([namespace()], token=CANARY_TOKEN) as api:
        api.fail(422, method="POST", path="/api/v1/namespaces/airflow/secrets", quote_body=True)
        result = run_cli("secrets", "init", *kube_args(api, tmp_path))
        sent = next(r.body for r in api.requests if r.method == "POST")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "admission webhook denied the request" in result.err
    for encoded in sent["data"].values():
        assert encoded not in result.out + result.err
        assert base64.b64decode(encoded).decode() not in result.out + result.err
    assert CANARY_TOKEN not in result.out + result.err
