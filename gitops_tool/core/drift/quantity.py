"""Kubernetes resource quantities (``500m``, ``1Gi``, ``1e3``) as exact decimals.

Core code may not import the ``kubernetes`` package, so this is a small exact parser following
``k8s.io/apimachinery/pkg/api/resource``; tests cross-check it against
``kubernetes.utils.parse_quantity``.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from functools import lru_cache

_BINARY = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?\d+)|(?P<decimal>[numkMGTPE]?))$"
)
_BINARY_DESC = sorted(_BINARY.items(), key=lambda kv: -kv[1])
_DECIMAL_UP = (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3))
_DECIMAL_DOWN = (("m", 3), ("u", 6), ("n", 9))


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact value of a quantity; ``ValueError`` when it is not one."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a quantity")
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a quantity") from None
    if match.group("binary"):
        return number * _BINARY[match.group("binary")]
    if match.group("exponent") is not None:
        return number.scaleb(int(match.group("exponent")))
    return number.scaleb(_DECIMAL[match.group("decimal") or ""])


def canonical(value: Decimal) -> str:
    """One spelling per value, in the style of the API server (``1Gi``, ``500m``, ``2k``)."""
    if value == value.to_integral_value():
        number = int(value)
        if number and number % 1024 == 0:
            for suffix, base in _BINARY_DESC:
                if number % base == 0:
                    return f"{number // base}{suffix}"
        for suffix, exp in _DECIMAL_UP:
            if number and number % 10**exp == 0:
                return f"{number // 10**exp}{suffix}"
        return str(number)
    for suffix, exp in _DECIMAL_DOWN:
        scaled = value.scaleb(exp)
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{suffix}"
    # Finer than nano: the API server rounds up to a whole nano.
    return f"{int(value.scaleb(9).to_integral_value(rounding=ROUND_CEILING))}n"


def server_form(text: str | int | float) -> str:
    """How an API server stores a quantity it was sent: the suffix family is kept where it fits.

    ``1024Mi`` -> ``1Gi``, ``0.5`` -> ``500m``, ``2000`` -> ``2k``, ``1500`` -> ``1500``, ``512`` ->
    ``512``; binary input below 1Ki or fractional falls back to decimal, as the API server does.
    """
    value = parse_quantity(text)
    binary = isinstance(text, str) and bool(_QUANTITY.match(text.strip()) and text.strip()[-1:] == "i")
    if value == value.to_integral_value():
        number = int(value)
        if binary and abs(number) >= 1024:
            for suffix, base in _BINARY_DESC:
                if number % base == 0:
                    return f"{number // base}{suffix}"
        for suffix, exp in _DECIMAL_UP:
            if number and number % 10**exp == 0:
                return f"{number // 10**exp}{suffix}"
        return str(number)
    return canonical(value)


def normalise_quantity(value: object) -> object:
    """The canonical spelling when ``value`` is a quantity, else ``value`` unchanged."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return _canonical_or_same(value)
    return value


@lru_cache(maxsize=4096)  # the same few spellings ("500m", "1Gi") repeat across every object
def _canonical_or_same(value: str | int | float) -> str | int | float:
    try:
        return canonical(parse_quantity(value))
    except ValueError:
        return value
