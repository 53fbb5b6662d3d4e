"""Generated Secret values: strong, complete, Fernet-valid; rotation keeps old Fernet keys."""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit

import pytest

from gitops_tool.core import conventions as c
from gitops_tool.core.secret_values import (
    CREATED_BY_LABEL,
    decode_data,
    generate_values,
    is_fernet_key,
    rotate_values,
    secret_manifest,
    sql_alchemy_conn,
)
from gitops_tool.errors import UserError


def test_every_key_is_generated_and_values_differ() -> None:
    values = generate_values()
    assert tuple(values) == c.SECRET_KEYS
    assert len(set(values.values())) == len(values)
    for key in (
        c.SECRET_KEY_POSTGRES_PASSWORD,
        c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD,
        c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD,
    ):
        assert len(values[key]) >= 32
        assert values[key] != "admin"
    assert values != generate_values()


def test_fernet_key_has_the_fernet_format() -> None:
    key = generate_values()[c.SECRET_KEY_FERNET]
    assert is_fernet_key(key)
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert not is_fernet_key(key[:-2])
    assert not is_fernet_key("not-a-key" * 5)
    assert not is_fernet_key(base64.urlsafe_b64encode(b"x" * 31).decode() + "=")


def test_connection_url_carries_the_generated_password() -> None:
    values = generate_values()
    url = urlsplit(values[c.SECRET_KEY_SQL_ALCHEMY_CONN])
    assert url.scheme == "postgresql+psycopg2"
    assert (url.hostname, url.port, url.path) == ("postgres", 5432, f"/{c.POSTGRES_DB}")
    assert url.username == c.POSTGRES_USER
    assert unquote(url.password or "") == values[c.SECRET_KEY_POSTGRES_PASSWORD]
    assert "%2F" in sql_alchemy_conn("a/b")


def test_manifest_is_base64_and_not_owned_by_the_repo() -> None:
    values = generate_values()
    manifest = secret_manifest(values)
    labels = manifest["metadata"]["labels"]
    assert c.MANAGED_BY_LABEL not in labels
    assert labels[CREATED_BY_LABEL] == "gitops-tool-secrets-init"
    assert (manifest["metadata"]["name"], manifest["metadata"]["namespace"]) == (c.SECRET_NAME, c.NAMESPACE)
    assert decode_data(manifest["data"]) == values


def test_rotation_prepends_a_fernet_key_and_keeps_database_passwords() -> None:
    current = generate_values()
    rotated = rotate_values(current)
    keys = rotated[c.SECRET_KEY_FERNET].split(",")
    assert keys[1] == current[c.SECRET_KEY_FERNET]
    assert is_fernet_key(keys[0]) and keys[0] != keys[1]
    assert rotated[c.SECRET_KEY_WEBSERVER] != current[c.SECRET_KEY_WEBSERVER]
    assert rotated[c.SECRET_KEY_POSTGRES_PASSWORD] == current[c.SECRET_KEY_POSTGRES_PASSWORD]
    assert rotated[c.SECRET_KEY_SQL_ALCHEMY_CONN] == current[c.SECRET_KEY_SQL_ALCHEMY_CONN]
    # Only the newest keys are kept: old enough keys age out after a few rotations.
    for _ in range(5):
        rotated = rotate_values(rotated)
    assert len(rotated[c.SECRET_KEY_FERNET].split(",")) == 3


def test_rotation_refuses_an_incomplete_or_broken_secret() -> None:
    values = generate_values()
    del values[c.SECRET_KEY_WEBSERVER]
    with pytest.raises(UserError, match="lacks keys webserver-secret-key"):
        rotate_values(values)
    broken = generate_values()
    broken[c.SECRET_KEY_FERNET] = "CANARY-not-fernet"
    with pytest.raises(UserError) as err:
        rotate_values(broken)
    assert "CANARY" not in str(err.value)


def test_undecodable_data_names_the_key_only() -> None:
    with pytest.raises(UserError, match="key fernet-key is not base64") as err:
        decode_data({"fernet-key": "CANARY%%%"})
    assert "CANARY" not in str(err.value)
