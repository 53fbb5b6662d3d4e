"""Values of the out-of-band Secret ``airflow-secrets``: generation, rotation and its manifest.

Randomness comes from ``secrets`` (the OS CSPRNG). Nothing here returns or formats a value for
display: callers get the values only to send them to the API server or to a 0600 file.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Mapping
from urllib.parse import quote

from gitops_tool.core import conventions as c
from gitops_tool.core.objects import Manifest
from gitops_tool.errors import UserError

# Marks who created the Secret without the repo's ownership label: drift must not call it "extra".
CREATED_BY_LABEL = "app.kubernetes.io/created-by"
CREATED_BY_VALUE = "gitops-tool-secrets-init"
ROTATED_AT_ANNOTATION = "gitops-tool.io/secrets-rotated-at"
POSTGRES_HOST = "postgres"
POSTGRES_PORT = 5432
FERNET_KEY_BYTES = 32
# Airflow accepts a comma-separated list of Fernet keys: the first encrypts, all decrypt.
MAX_FERNET_KEYS = 3
_PASSWORD_BYTES = 24

TokenBytes = Callable[[int], bytes]


def new_fernet_key(token_bytes: TokenBytes = secrets.token_bytes) -> str:
    """32 random bytes, url-safe base64: exactly what ``Fernet.generate_key()`` returns."""
    return base64.urlsafe_b64encode(token_bytes(FERNET_KEY_BYTES)).decode("ascii")


def is_fernet_key(key: str) -> bool:
    """True for a single valid Fernet key (44 url-safe base64 characters decoding to 32 bytes)."""
    if len(key) != 44:
        return False
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return len(raw) == FERNET_KEY_BYTES and base64.urlsafe_b64encode(raw).decode("ascii") == key


def _password(token_bytes: TokenBytes) -> str:
    # url-safe alphabet: no quoting trouble in env vars, shells or the connection URL.
    return base64.urlsafe_b64encode(token_bytes(_PASSWORD_BYTES)).decode("ascii").rstrip("=")


def sql_alchemy_conn(password: str) -> str:
    """The metadata DB URL Airflow reads, built from the PostgreSQL password."""
    user, db = quote(c.POSTGRES_USER, safe=""), quote(c.POSTGRES_DB, safe="")
    secret = quote(password, safe="")
    return f"postgresql+psycopg2://{user}:{secret}@{POSTGRES_HOST}:{POSTGRES_PORT}/{db}"


def generate_values(token_bytes: TokenBytes = secrets.token_bytes) -> dict[str, str]:
    """A fresh value for every key in ``SECRET_KEYS``."""
    postgres_password = _password(token_bytes)
    values = {
        c.SECRET_KEY_FERNET: new_fernet_key(token_bytes),
        c.SECRET_KEY_WEBSERVER: _password(token_bytes) + _password(token_bytes),
        c.SECRET_KEY_POSTGRES_PASSWORD: postgres_password,
        c.SECRET_KEY_SQL_ALCHEMY_CONN: sql_alchemy_conn(postgres_password),
        c.SECRET_KEY_AIRFLOW_ADMIN_PASSWORD: _password(token_bytes),
        c.SECRET_KEY_GRAFANA_ADMIN_PASSWORD: _password(token_bytes),
        c.SECRET_KEY_JWT: _password(token_bytes) + _password(token_bytes),
    }
    assert tuple(values) == c.SECRET_KEYS  # noqa: S101 - conventions and generator must agree
    return values


# Keys a rotation regenerates by itself. The database and admin passwords are read by their servers
# only when they initialise their data (PostgreSQL's POSTGRES_PASSWORD, the admin-user Job, a new
# Grafana database): changing them in the Secret alone would lock Airflow out of its database or
# leave a Secret that lies, so they change only through core.password_jobs, server first.
ROTATABLE_KEYS = (c.SECRET_KEY_FERNET, c.SECRET_KEY_WEBSERVER, c.SECRET_KEY_JWT)


def rotate_values(
    current: Mapping[str, str], token_bytes: TokenBytes = secrets.token_bytes
) -> dict[str, str]:
    """New values for ``ROTATABLE_KEYS``; the new Fernet key goes first, older keys still decrypt."""
    # jwt-secret, which a Secret made before Airflow 3 lacks, is simply created by a rotation.
    missing = [key for key in c.SECRET_KEYS if key not in current and key != c.SECRET_KEY_JWT]
    if missing:
        raise UserError(
            f"Secret {c.NAMESPACE}/{c.SECRET_NAME} lacks keys {', '.join(missing)}: "
            "run `gitops-tool secrets init --force` instead of rotating"
        )
    old_keys = [k.strip() for k in current[c.SECRET_KEY_FERNET].split(",") if k.strip()]
    if not old_keys or not all(is_fernet_key(k) for k in old_keys):
        raise UserError(
            f"Secret {c.NAMESPACE}/{c.SECRET_NAME}: {c.SECRET_KEY_FERNET} is not a valid Fernet key list"
        )
    rotated = dict(current)
    fernet_keys = [new_fernet_key(token_bytes), *old_keys][:MAX_FERNET_KEYS]
    rotated[c.SECRET_KEY_FERNET] = ",".join(fernet_keys)
    rotated[c.SECRET_KEY_WEBSERVER] = _password(token_bytes) + _password(token_bytes)
    rotated[c.SECRET_KEY_JWT] = _password(token_bytes) + _password(token_bytes)
    return rotated


def encode_data(values: Mapping[str, str]) -> dict[str, str]:
    """``data`` of a Secret: every value base64-encoded, keys in a stable order."""
    return {key: base64.b64encode(values[key].encode()).decode("ascii") for key in sorted(values)}


def decode_data(data: Mapping[str, str] | None) -> dict[str, str]:
    """The values of a live Secret's ``data``; a key that is not base64 UTF-8 is an error naming the key."""
    values: dict[str, str] = {}
    for key, encoded in (data or {}).items():
        try:
            values[key] = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise UserError(
                f"Secret {c.NAMESPACE}/{c.SECRET_NAME}: key {key} is not base64 UTF-8 text"
            ) from None
    return values


def secret_manifest(values: Mapping[str, str], annotations: Mapping[str, str] | None = None) -> Manifest:
    """The Secret every workload reads; labelled so drift sees it as created out of band."""
    metadata: dict[str, object] = {
        "name": c.SECRET_NAME,
        "namespace": c.NAMESPACE,
        "labels": {CREATED_BY_LABEL: CREATED_BY_VALUE},
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": encode_data(values),
    }


def new_password(token_bytes: TokenBytes = secrets.token_bytes) -> str:
    return _password(token_bytes)


def with_database_password(values: Mapping[str, str], password: str) -> dict[str, str]:
    """``values`` with the PostgreSQL password and the connection URL built from it replaced."""
    changed = dict(values)
    changed[c.SECRET_KEY_POSTGRES_PASSWORD] = password
    changed[c.SECRET_KEY_SQL_ALCHEMY_CONN] = sql_alchemy_conn(password)
    return changed


def with_password(values: Mapping[str, str], key: str, password: str) -> dict[str, str]:
    """``values`` with the password under ``key`` replaced (and what is derived from it)."""
    if key == c.SECRET_KEY_POSTGRES_PASSWORD:
        return with_database_password(values, password)
    return {**values, key: password}


def keys_derived_from(key: str) -> tuple[str, ...]:
    """The Secret keys that change with the password under ``key``."""
    if key == c.SECRET_KEY_POSTGRES_PASSWORD:
        return (key, c.SECRET_KEY_SQL_ALCHEMY_CONN)
    return (key,)
