"""Exact, stable text forms of immutable plain values (numbers of any type, strings,
bytes, enum members, dates, tuples and sets of them): what code digests write for the
constants and defaults code uses, and the fingerprint for the members of a set. The
same in every process: a set's members are sorted, no text holds an address."""

from __future__ import annotations

import functools
import sys
from enum import Enum
from numbers import Number
from typing import Any

from crystallize.user_code import is_user_class, qualified_name
from crystallize.utils.hashing import content_hash


def plain_token(value: Any) -> str | None:
    """An exact, stable text form of an immutable plain value, ``None`` for anything else.

    Plain values are numbers of any type (``numbers.Number``: NumPy scalars, ``Decimal``,
    ``Fraction`` too, by type and repr), strings, bytes, ``None``, enum members (by
    class, name and value), NumPy scalars that are no numbers (``numpy.datetime64``),
    dates, times and UUIDs, and tuples and frozensets of those. Mutable
    containers are left out on purpose: a module-level list or dict a step appends to
    (a log, a memo) would change the digest on every call.
    """
    kind = type(value)
    if kind is int and not fits_decimal(value):
        return f"int:#{content_hash(value)}"
    if kind in _SCALARS:
        return f"{kind.__name__}:{value!r}"
    if kind is tuple:
        tokens = [plain_token(v) for v in value]
        return None if None in tokens else f"tuple({','.join(tokens)})"  # type: ignore[arg-type]
    if kind is frozenset:
        return set_token("frozenset", value)
    return _immutable_token(value)


def _immutable_token(value: Any) -> str | None:
    """:func:`plain_token` of a value of a type other than the built-in scalars and
    containers: an enum member, a number of another type, a value of one of the
    :data:`_IMMUTABLE` types (not of a class of the user's: its repr may not be exact)."""
    kind = type(value)
    if isinstance(value, Enum):  # before numbers: an IntEnum member is more than its int
        inner = plain_token(value.value)
        return f"enum:{qualified_name(kind)}.{value.name}" + (f"={inner}" if inner is not None else "")
    if is_user_class(kind):
        return None
    if isinstance(value, Number) or _of_immutable_type(value):
        numpy = sys.modules.get("numpy")
        if numpy is not None and isinstance(value, numpy.void):  # a structured record: a view
            return None
        text = repr(value)
        if f"0x{id(value):x}" in text:  # a default repr: the address, not the value
            return None
        return f"{qualified_name(kind)}:{text}"
    return None


#: ``(module, type)`` of immutable values whose repr tells them apart exactly (looked up
#: in ``sys.modules``: a module not imported holds no value to check).
_IMMUTABLE = (
    ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"), ("datetime", "tzinfo"),
    ("uuid", "UUID"), ("numpy", "generic"),
)  # not paths: one made from __file__ would tie a folder experiment's digests to its place


def _of_immutable_type(value: Any) -> bool:
    """Whether ``value`` is of one of the :data:`_IMMUTABLE` types."""
    for module_name, name in _IMMUTABLE:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(value, getattr(module, name)):
            return True
    return False


def set_token(name: str, members: Any) -> str | None:
    """``name(token,...)`` of a set's members in sorted order (a set's order varies
    between processes), ``None`` unless all are immutable plain values."""
    tokens = [plain_token(v) for v in members]
    if None in tokens:
        return None
    return f"{name}({','.join(sorted(tokens))})"  # type: ignore[arg-type]


_SCALARS = frozenset({int, float, bool, str, bytes, complex, type(None)})


DECIMAL_DIGITS = 4300  # CPython's default limit of int -> decimal text


def fits_decimal(value: int) -> bool:
    """Whether ``value`` has at most 4300 digits, and no more than this interpreter turns
    into decimal text (``sys.set_int_max_str_digits`` may have lowered it)."""
    if value.bit_length() < 2_000:  # at most 603 digits: below any limit Python allows (640+)
        return True
    bound = decimal_bound(min(sys.get_int_max_str_digits() or DECIMAL_DIGITS, DECIMAL_DIGITS))
    return -bound < value < bound


@functools.cache
def decimal_bound(digits: int) -> int:
    """``10 ** digits``, computed once per ``digits`` (a large power is slow to build)."""
    return 10**digits


__all__ = ["DECIMAL_DIGITS", "decimal_bound", "fits_decimal", "plain_token", "set_token"]
