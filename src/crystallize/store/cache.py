"""Content-addressed cache of step outputs, with integrity checks and miss explanations.

Layout under ``<root_dir>/.cache/``:

* ``<key[:2]>/<key>.pkl`` — one entry: a header (magic, payload length, blake2b digest
  of the payload) followed by the pickled value (protocol 5). Entries are written to a
  temporary file in the same directory and moved into place with :func:`os.replace`,
  so readers see a whole entry or none. An entry whose length or digest does not match
  (truncated, corrupted, unreadable) is deleted, logged on the ``crystallize.cache``
  logger and reported as a miss — never returned.
* ``_index/<hash of step name>.jsonl`` — one line per :meth:`StepCache.put` that named
  its step: the key, a digest of each key part, and the time. Used by
  :meth:`StepCache.closest_entry` to explain a miss ("``params`` changed").

Keys come from :func:`make_key`: callers pass everything the output depends on (step
name, its parameters, the hash of its input, code version…) as keyword parts.
Invalidation is by construction: change any part and the key changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import re
import shutil
import struct
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crystallize.exceptions import StoreError
from crystallize.store.artifacts import atomic_write_bytes
from crystallize.store.cache_index import IndexTail
from crystallize.utils.hashing import digest
from crystallize.utils.text import exception_summary

logger = logging.getLogger("crystallize.cache")

_DIGEST_SIZE = 16  # hex digests of 32 characters
_MAGIC = b"CRYCACHE\x01"
_HEADER = struct.Struct(f">{len(_MAGIC)}sQ32s")  # magic, payload length, blake2b-256 digest
_KEY_RE = re.compile(r"[A-Za-z0-9_-]{3,128}")
_PICKLE_ERRORS = (pickle.PicklingError, TypeError, AttributeError, RecursionError)


def _payload_digest(payload: bytes | memoryview) -> bytes:
    return hashlib.blake2b(payload, digest_size=32).digest()


def hash_value(obj: Any) -> str:
    """Return a content hash of ``obj`` (:func:`crystallize.utils.hashing.digest`).

    Scalars are hashed from a tagged exact text form, anything else from its protocol-5
    pickle (blake2b, 32 hex characters). The same value built the same way hashes the
    same in every process and run; sets count by their sorted members (see
    :func:`~crystallize.utils.hashing.digest` for the limits). Equal
    values may still hash differently when their pickles differ (e.g. dicts with a
    different insertion order, or a set of strings deep inside a large value across
    processes with different ``PYTHONHASHSEED``); that costs a cache miss, never a
    wrong hit. Matches
    :func:`crystallize.utils.hashing.content_hash` for picklable values.

    Raises:
        TypeError: If ``obj`` cannot be pickled (lambdas, locks, open files…).
    """
    try:
        return digest(obj)
    except _PICKLE_ERRORS as exc:
        raise TypeError(
            f"Cannot hash a {type(obj).__name__}: it cannot be pickled ({exc}). Cached and "
            "hashed values must be picklable (define functions at module level, drop open "
            "handles)."
        ) from exc


def _canonical(obj: Any) -> Any:
    """Map ``obj`` to a JSON structure that is equal exactly when the values are.

    Containers are tagged (so a list and a tuple differ), dict items and set members
    are sorted (so order does not matter), numpy scalars become Python numbers (one with
    no Python equivalent, ``np.longdouble``, the one it equals, else its exact value:
    see :func:`_beyond_python`), and any other object is represented by :func:`hash_value`.
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return int(obj)  # IntEnum and friends: their value
    if isinstance(obj, float):
        return float(obj)  # numpy float64 is a float subclass
    if isinstance(obj, list):
        return {"l": [_canonical(x) for x in obj]}
    if isinstance(obj, tuple):
        return {"t": [_canonical(x) for x in obj]}
    if isinstance(obj, Mapping):
        items = [(_canonical(k), _canonical(v)) for k, v in obj.items()]
        items.sort(key=lambda kv: _dump(kv[0]))
        return {"d": [list(kv) for kv in items]}
    if isinstance(obj, set | frozenset):
        return {"s": sorted((_canonical(x) for x in obj), key=_dump)}
    if getattr(obj, "shape", None) == () and callable(getattr(obj, "item", None)):
        value = obj.item()  # numpy scalar
        if type(value) is not type(obj):
            return _canonical(value)
        return _beyond_python(obj)  # np.longdouble, np.clongdouble: item() gives them back
    return {"p": hash_value(obj)}


def _beyond_python(obj: Any) -> Any:
    """:func:`_canonical` of a numpy scalar with no Python equivalent (``np.longdouble``,
    ``np.clongdouble``): the Python ``float``/``complex`` it equals when it equals one
    (``np.longdouble(0.5)`` is ``0.5``'s key), else its exact value tagged (``"q"``, a
    ratio of ints; ``"c"``, a complex's two parts), so that values ``float()`` would
    round alike keep distinct keys. Any other such object by :func:`hash_value`."""
    kind = getattr(getattr(obj, "dtype", None), "kind", None)
    if kind == "f":
        return _exact_real(obj)
    if kind == "c":
        real, imag = _exact_real(obj.real), _exact_real(obj.imag)
        if type(real) is float and type(imag) is float:
            return _canonical(complex(real, imag))
        return {"c": [real, imag]}
    return {"p": hash_value(obj)}


def _exact_real(obj: Any) -> Any:
    """A real numpy float as the ``float`` it equals (NaN and ±inf included), else as
    ``{"q": [numerator, denominator]}`` (in hexadecimal text), its exact value."""
    try:
        numerator, denominator = obj.as_integer_ratio()
    except (ValueError, OverflowError):  # NaN, ±inf: floats hold them
        return float(obj)
    exact = {"q": [hex(numerator), hex(denominator)]}  # hex: no limit on digits
    try:
        number = numerator / denominator  # correctly rounded; no numpy overflow warning
    except OverflowError:  # beyond float range
        return exact
    if number.as_integer_ratio() != (numerator, denominator):
        return exact
    return number if number else float(obj)  # float(obj): -0.0 keeps its sign


def _dump(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True, separators=(",", ":"))


def _digest(obj: Any) -> str:
    return hashlib.blake2b(_dump(_canonical(obj)).encode(), digest_size=_DIGEST_SIZE).hexdigest()


def make_key(**parts: Any) -> str:
    """Return a stable cache key (32 hex chars) for a set of named parts.

    The order of the keyword arguments and of dict items does not matter; the types of
    numbers and containers do (``1`` vs ``1.0``, list vs tuple). Values that are not
    plain data (numpy arrays, dataclasses, …) are represented by :func:`hash_value`.

    Example::

        key = make_key(step="normalize", params={"scale": 2}, input=input_hash, version=1)

    Raises:
        TypeError: If a part is not plain data and cannot be pickled.
    """
    return _digest(parts)


def part_digests(parts: Mapping[str, Any]) -> dict[str, str]:
    """Return a short digest of each part, as stored in the cache index."""
    return {str(name): _digest(value) for name, value in parts.items()}


#: How many of a step's newest index entries :meth:`StepCache.closest_entry` examines.
CLOSEST_SCAN = 256


class StepCache:
    """Step outputs stored as files under ``<root_dir>/.cache``.

    Safe to share between threads and processes: writes are atomic renames, and
    concurrent writers of one key simply leave one complete entry.

    Args:
        root_dir: Data directory; the cache lives in its ``.cache`` subdirectory.
        fsync: Flush entries to disk before they become visible (slower; protects
            against power loss, not needed against process crashes).
    """

    def __init__(self, root_dir: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.root = Path(root_dir) / ".cache"
        self.fsync = fsync
        self._tails: dict[str, IndexTail] = {}  # per step: its index's newest entries
        self._tails_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root, "fsync": self.fsync}  # a worker reads the indexes anew

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root, self.fsync = state["root"], state["fsync"]
        self._tails, self._tails_lock = {}, threading.Lock()

    def __repr__(self) -> str:
        return f"StepCache({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """Return the file of entry ``key``.

        Raises:
            ValueError: If ``key`` is not 3-128 characters of ``[A-Za-z0-9_-]``.
        """
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise ValueError(
                f"Invalid cache key {key!r}: use 3-128 characters from A-Z, a-z, 0-9, '_' "
                "and '-' (make_key() returns such keys)."
            )
        return self.root / key[:2] / f"{key}.pkl"

    def get(self, key: str) -> tuple[bool, Any]:
        """Look up ``key``.

        Returns:
            ``(True, value)`` on a hit, ``(False, None)`` on a miss. A damaged entry is
            deleted, logged as a warning and reported as a miss.
        """
        path = self.path_for(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return False, None
        except OSError as exc:
            self._discard(path, f"cannot be read ({exc})")
            return False, None
        if len(data) < _HEADER.size:
            self._discard(path, "is truncated (no complete header)")
            return False, None
        magic, length, digest = _HEADER.unpack_from(data)
        payload = memoryview(data)[_HEADER.size :]
        if magic != _MAGIC:
            self._discard(path, "is not a Crystallize cache entry")
        elif len(payload) != length:
            self._discard(path, f"is truncated ({len(payload)} of {length} payload bytes)")
        elif _payload_digest(payload) != digest:
            self._discard(path, "is corrupt (content hash mismatch)")
        else:
            try:
                return True, pickle.loads(payload)
            except Exception as exc:  # e.g. the class it holds no longer exists
                self._discard(path, f"cannot be unpickled ({exception_summary(exc)})")
        return False, None

    def put(
        self,
        key: str,
        value: Any,
        *,
        step: str | None = None,
        parts: Mapping[str, Any] | None = None,
    ) -> None:
        """Store ``value`` under ``key`` atomically (an existing entry is replaced).

        Args:
            key: The entry key (see :func:`make_key`).
            value: Any picklable value.
            step: Step name; with ``parts``, records the entry for :meth:`closest_entry`.
            parts: The parts the key was made from.

        Raises:
            TypeError: If ``value`` cannot be pickled (nothing is written).
            StoreError: If the file cannot be written.
        """
        path = self.path_for(key)
        try:
            payload = pickle.dumps(value, protocol=5)
        except _PICKLE_ERRORS as exc:
            raise TypeError(
                f"Cannot cache a {type(value).__name__} under {key}: it cannot be pickled ({exc})."
            ) from exc
        header = _HEADER.pack(_MAGIC, len(payload), _payload_digest(payload))
        try:
            atomic_write_bytes(path, (header, payload), fsync=self.fsync)
            if step is not None and parts is not None:
                self._index(step, key, parts)
        except OSError as exc:
            raise StoreError(f"Cannot write cache entry {path}: {exc}") from exc

    def delete(self, key: str) -> bool:
        """Delete entry ``key``; return True if it existed."""
        try:
            self.path_for(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def clear(self) -> None:
        """Delete every entry and the index."""
        shutil.rmtree(self.root, ignore_errors=True)

    def closest_entry(
        self, step_name: str, parts: Mapping[str, Any]
    ) -> tuple[str, list[str]] | None:
        """Find the stored entry of ``step_name`` most similar to ``parts``.

        Used to explain a cache miss. Only entries put with ``step=`` and ``parts=`` and
        still present are considered, newest :data:`CLOSEST_SCAN` first (so a miss costs
        the same however many entries the step has: the index is read from its end, and
        later only what was appended to it, see :class:`~crystallize.store.cache_index.IndexTail`).
        The closest entry has the fewest differing parts; among equally close ones the
        most recent wins.

        Args:
            step_name: The step's name as passed to :meth:`put`.
            parts: The parts of the key that missed.

        Returns:
            ``(key, names of the parts that differ, sorted)`` — a part present on only
            one side counts as differing — or ``None`` if the step has no entries.
        """
        with self._tails_lock:
            tail = self._tails.get(step_name)
            if tail is None:
                tail = self._tails[step_name] = IndexTail(self._index_path(step_name), step_name, CLOSEST_SCAN)
            entries = tail.entries()
        if entries is None:  # missing or unreadable: no explanation, still a miss
            return None
        wanted = frozenset(part_digests(parts).items())
        best: tuple[int, str, set[str]] | None = None
        seen: set[str] = set()
        for key, stored in reversed(entries):  # newest first
            if key in seen:
                continue
            seen.add(key)
            # A part that differs, or that only one side has: its pair is on one side only.
            differing = {name for name, _ in stored ^ wanted}
            if (best is None or len(differing) < best[0]) and self.path_for(key).exists():
                best = (len(differing), key, differing)
                if not differing:
                    break
        return None if best is None else (best[1], sorted(best[2]))

    # -- internals ----------------------------------------------------------------------

    def _index_path(self, step_name: str) -> Path:
        name = hashlib.blake2b(step_name.encode(), digest_size=8).hexdigest()
        return self.root / "_index" / f"{name}.jsonl"

    def _index(self, step: str, key: str, parts: Mapping[str, Any]) -> None:
        line = json.dumps(
            {"step": step, "key": key, "parts": part_digests(parts), "time": time.time()}
        )
        index = self._index_path(step)
        index.parent.mkdir(parents=True, exist_ok=True)
        # One O_APPEND write per line: concurrent writers never interleave inside a line.
        fd = os.open(index, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # less the umask
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def _discard(self, path: Path, reason: str) -> None:
        logger.warning("Cache entry %s %s; deleting it and recomputing.", path, reason)
        with contextlib.suppress(OSError):
            path.unlink()


__all__ = ["StepCache", "hash_value", "make_key", "part_digests"]
