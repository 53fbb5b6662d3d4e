"""Keeping credentials and Secret values out of messages (pure).

- ``mask_url``: a URL with its userinfo, query and fragment replaced by ``***``
  (``https://***@host/path?***#***``): tokens travel in all three (``ssh://user:password@``,
  ``?access_token=``, ``#token``).
- ``redact``: every URL in a message masked, and ``Bearer`` tokens; the one printing point applies
  it to every error line.
- ``secret_values_of`` / ``redact_values``: the values of a Secret (``data`` as sent, base64, and
  decoded; ``stringData``) masked wherever a message quotes them, e.g. an API server's error about
  the Secret it was sent.
- ``redact_instance``: the value a schema message quotes, when it belongs to a Secret's data.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

# scheme://... up to whitespace or a quote/bracket, not counting punctuation that ends a sentence.
_URL = re.compile(r"""\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^\s'"<>`]*[^\s'"<>`:,.;)\]])""")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
# scp-like git address with a password: user:password@host:path
_SCP_PASSWORD = re.compile(r"(?<![/\w])([\w.-]+):([^\s@/:'\"]+)@([\w.-]+):")
_WORD_CHARS = "A-Za-z0-9+/=_-"
_SECRET_KINDS = frozenset({"Secret"})
_MIN_VALUE_LENGTH = 3


def mask_url(url: str) -> str:
    """``url`` with userinfo, query and fragment masked; the scheme, host and path kept."""
    match = _URL.fullmatch(url.strip())
    if match is None:
        return _mask_tail(url)
    return _masked(match)


def _masked(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), match.group(2)
    rest = _mask_tail(rest)
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = f"{MASK}@{authority.rsplit('@', 1)[1]}"
    return f"{scheme}://{authority}{slash}{path}"


def _mask_tail(text: str) -> str:
    base, hash_mark, _fragment = text.partition("#")
    path, question, _query = base.partition("?")
    return path + (f"?{MASK}" if question else "") + (f"#{MASK}" if hash_mark else "")


def redact(text: str) -> str:
    """``text`` with every URL masked (``mask_url``), ``Bearer`` tokens and scp-style passwords."""
    text = _URL.sub(_masked, text)
    text = _SCP_PASSWORD.sub(lambda m: f"{m.group(1)}:{MASK}@{m.group(3)}:", text)
    return _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)


def secret_values_of(body: Any) -> set[str]:
    """The values a request body carries in a Secret's ``data``/``stringData`` (also inside a
    ``List``), as sent and, for ``data``, decoded from base64."""
    values: set[str] = set()
    for obj in _objects(body):
        for key in ("data", "stringData"):
            field = obj.get(key)
            if not isinstance(field, dict):
                continue
            for value in field.values():
                values.update(_forms(value, decode=key == "data"))
    return {v for v in values if len(v) >= _MIN_VALUE_LENGTH}


def _objects(body: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("items"), list):
        return [i for i in body["items"] if isinstance(i, dict) and i.get("kind") in _SECRET_KINDS]
    return [body] if body.get("kind") in _SECRET_KINDS else []


def _forms(value: Any, decode: bool) -> set[str]:
    if value is None or isinstance(value, (dict, list)):
        return {str(v) for v in (value.values() if isinstance(value, dict) else value or [])}
    text = str(value)
    forms = {text, base64.b64encode(text.encode()).decode()}
    if decode:
        with contextlib.suppress(binascii.Error, ValueError):
            forms.add(base64.b64decode(text, validate=True).decode("utf-8"))
    return forms


def redact_values(text: str, values: Iterable[str]) -> str:
    """``text`` with each of ``values`` masked where it stands as a whole token."""
    for value in sorted(set(values), key=len, reverse=True):
        if not value:
            continue
        pattern = rf"(?<![{_WORD_CHARS}]){re.escape(value)}(?![{_WORD_CHARS}])"
        text = re.sub(pattern, MASK, text)
    return text


def is_secret_value_path(obj: Any, path: Iterable[Any]) -> bool:
    """Whether ``path`` (as a schema error gives it) leads into a core Secret's data/stringData."""
    if not isinstance(obj, dict) or obj.get("kind") not in _SECRET_KINDS:
        return False
    first = next(iter(path), None)
    return first in ("data", "stringData")
