"""Content hashes for provenance and cache keys."""

from __future__ import annotations

import pickle
from hashlib import blake2b
from typing import Any

_DIGEST_SIZE = 16  # 32 hex characters
# Exact scalar types hashed from a tagged text form instead of a pickle (cheaper; these
# are most step inputs and outputs). The tag keeps 1, 1.0, True and "1" apart.
_SCALAR_TAGS: dict[type, bytes] = {int: b"i:", float: b"f:", bool: b"b:", type(None): b"n:"}
#: Types whose values cannot change after creation: a value of one of these that a step
#: returns unchanged (the same object) still has its input's digest.
IMMUTABLE_TYPES: frozenset[type] = frozenset({*_SCALAR_TAGS, str, bytes})


def digest(obj: Any) -> str:
    """Return a hex digest of ``obj``'s content (blake2b, 32 hex characters).

    Scalars (``int``, ``float``, ``bool``, ``None``, ``str``, ``bytes``) are hashed from
    a type-tagged exact text form; everything else from its protocol-5 pickle, so equal
    values built the same way hash equal across processes and runs.

    Raises:
        Whatever :func:`pickle.dumps` raises for a value it cannot pickle.
    """
    kind = type(obj)
    if kind is str:
        payload = b"s:" + obj.encode("utf-8", "surrogatepass")
    elif kind is bytes:
        payload = b"y:" + obj
    else:
        tag = _SCALAR_TAGS.get(kind)
        try:
            payload = tag + repr(obj).encode() if tag is not None else pickle.dumps(obj, protocol=5)
        except ValueError:  # an int too long for repr(): hash its pickle
            payload = pickle.dumps(obj, protocol=5)
    return blake2b(payload, digest_size=_DIGEST_SIZE).hexdigest()


def content_hash(obj: Any) -> str | None:
    """Return :func:`digest` of ``obj``, or ``None`` if it cannot be hashed (not picklable).

    Used for step input/output provenance.
    """
    try:
        return digest(obj)
    except Exception:
        return None


__all__ = ["IMMUTABLE_TYPES", "content_hash", "digest"]
