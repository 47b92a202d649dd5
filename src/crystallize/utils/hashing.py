"""Content hashes for provenance and cache keys."""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from hashlib import blake2b
from typing import Any

_DIGEST_SIZE = 16  # 32 hex characters
# Exact scalar types hashed from a tagged text form instead of a pickle (cheaper; these
# are most step inputs and outputs). The tag keeps 1, 1.0, True and "1" apart.
_SCALAR_TAGS: dict[type, bytes] = {int: b"i:", float: b"f:", bool: b"b:", type(None): b"n:"}
#: Types whose values cannot change after creation: a value of one of these that a step
#: returns unchanged (the same object) still has its input's digest.
IMMUTABLE_TYPES: frozenset[type] = frozenset({*_SCALAR_TAGS, str, bytes})
_SET_TYPES = frozenset({set, frozenset})
# A protocol-5 pickle writes every set as the opcode EMPTY_SET and every frozenset as
# FROZENSET, each followed by MEMOIZE. A pickle holding neither opcode's byte holds no
# set (`in` with an int is the fastest test), nor does one holding neither pair (a regex
# finds a pair far faster than `in`). Other bytes (floats, ints, memo indices) hold such
# pairs too; a pickle that does is pickled again with the set-aware pickler, which for
# a value without sets writes the very same bytes, so its digest does not change.
_EMPTY_SET = pickle.EMPTY_SET[0]
_FROZENSET = pickle.FROZENSET[0]
_SET_OPCODES = (
    re.compile(re.escape(pickle.EMPTY_SET + pickle.MEMOIZE)),
    re.compile(re.escape(pickle.FROZENSET + pickle.MEMOIZE)),
)
#: Pickles (without their out-of-band buffers) up to this many bytes are searched for
#: sets. In larger ones, float and int bytes hold the opcode pairs almost surely, and
#: pickling them again with a Python hook per object would cost several times the
#: digest itself: such a value is hashed from its plain pickle unless it is itself a set.
SET_SEARCH_LIMIT = 64 * 1024


class _HashSink:
    """A write-only file whose ``write`` is a hash's ``update``: a pickler writing to it
    feeds the hash as it goes, never holding the whole pickle in memory."""

    __slots__ = ("write",)


def _protocol5(file: _HashSink, buffer_callback: Callable[[pickle.PickleBuffer], Any]) -> pickle.Pickler:
    return pickle.Pickler(file, protocol=5, buffer_callback=buffer_callback)


def _add_buffers(hasher: Any, buffers: list[pickle.PickleBuffer]) -> None:
    """Feed the out-of-band buffers of a pickle to ``hasher``, each after its length (so
    where one ends and the next begins is part of the digest), without copying them."""
    for buffer in buffers:
        view = buffer.raw()
        hasher.update(view.nbytes.to_bytes(8, "little"))
        hasher.update(view)


class _SetsByMembers(pickle.Pickler):
    """A protocol-5 pickler writing each set and frozenset as its type and its members'
    digests in sorted order (see :func:`_set_id`); everything else as pickle does."""

    def __init__(self, file: Any, buffer_callback: Any = None) -> None:
        super().__init__(file, protocol=5, buffer_callback=buffer_callback)
        # The only hook that sees exact sets: called for every object pickled, so this
        # pickler is used only for values that hold a set.
        self.persistent_id = _set_id


def _set_id(obj: Any) -> tuple[str, tuple[str, ...]] | None:
    """``("builtins.set", sorted member digests)`` for a set (``builtins.frozenset`` for a
    frozenset): the same in every process, whatever order ``PYTHONHASHSEED`` gives its
    members. ``None`` for any other value (pickled as usual)."""
    kind = type(obj)
    if kind not in _SET_TYPES:
        return None
    return f"builtins.{kind.__name__}", tuple(sorted(digest(member) for member in obj))


def pickle_digest(obj: Any, pickler: Callable[..., pickle.Pickler] = _protocol5) -> str:
    """The digest :func:`digest` gives a value that is not a scalar and holds no set,
    with the pickler ``pickler(file, buffer_callback)`` builds (default: protocol 5):
    its pickle streams into the hash, and large buffers (NumPy arrays, DataFrame
    columns, bytearrays) go out of band, hashed where they are, never copied.

    Raises:
        Whatever the pickler raises for a value it cannot pickle.
    """
    hasher = blake2b(digest_size=_DIGEST_SIZE)
    buffers: list[pickle.PickleBuffer] = []
    sink = _HashSink()
    sink.write = hasher.update
    pickler(sink, buffers.append).dump(obj)
    _add_buffers(hasher, buffers)
    return hasher.hexdigest()


def digest(obj: Any) -> str:
    """Return a hex digest of ``obj``'s content (blake2b, 32 hex characters).

    Scalars (``int``, ``float``, ``bool``, ``None``, ``str``, ``bytes``) are hashed from
    a type-tagged exact text form; everything else from its protocol-5 pickle, so equal
    values built the same way hash equal across processes and runs. The buffers of
    NumPy arrays, DataFrame columns and bytearrays are pickled out of band and hashed in
    place (each after its length), so a large array is never copied to be hashed. Sets
    and frozensets, wherever they are in the value (in dicts, lists, tuples, objects,
    as dict keys, in other sets), are pickled as their members' digests in sorted order,
    so their digest does not depend on ``PYTHONHASHSEED`` or on their iteration order —
    in a value whose pickle, out-of-band buffers aside, is at most
    :data:`SET_SEARCH_LIMIT` bytes, and in a value that is itself a set or frozenset
    (sets of subclasses of ``set`` count by their iteration order).

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
        if tag is None:
            buffers: list[pickle.PickleBuffer] = []
            payload = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
            if kind in _SET_TYPES or (
                len(payload) <= SET_SEARCH_LIMIT
                and (_EMPTY_SET in payload or _FROZENSET in payload)
                and any(opcodes.search(payload) for opcodes in _SET_OPCODES)
            ):
                return pickle_digest(obj, _SetsByMembers)
            if buffers:  # NumPy arrays, DataFrame columns...: hashed in place, not copied
                hasher = blake2b(payload, digest_size=_DIGEST_SIZE)
                _add_buffers(hasher, buffers)
                return hasher.hexdigest()
        else:
            try:
                payload = tag + repr(obj).encode()
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


__all__ = ["IMMUTABLE_TYPES", "SET_SEARCH_LIMIT", "content_hash", "digest", "pickle_digest"]
