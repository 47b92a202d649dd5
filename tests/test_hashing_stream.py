"""Digests of pickled values: large buffers out of band, hashed in place; the streamed
form (parameter digests) equals the one-shot form; values without such buffers keep the
digest of their whole pickle."""

from __future__ import annotations

import array
import collections
import dataclasses
import pickle
import tracemalloc
from hashlib import blake2b

import numpy as np
import pytest

from crystallize.utils.hashing import content_hash, digest, pickle_digest


def whole_pickle_digest(obj: object) -> str:
    """blake2b of the whole ``pickle.dumps``: the digest of a value without buffers."""
    return blake2b(pickle.dumps(obj, protocol=5), digest_size=16).hexdigest()


def peak_bytes(action) -> int:
    """The most memory Python allocated (NumPy included) while ``action()`` ran."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def reference_digest(obj: object) -> str:
    """What the digest is defined as: the protocol-5 pickle with its buffers out of band,
    then each buffer after its length (8 bytes, little-endian)."""
    buffers: list[pickle.PickleBuffer] = []
    hasher = blake2b(pickle.dumps(obj, protocol=5, buffer_callback=buffers.append), digest_size=16)
    for buffer in buffers:
        raw = buffer.raw()
        hasher.update(raw.nbytes.to_bytes(8, "little") + bytes(raw))
    return hasher.hexdigest()


def has_buffers(obj: object) -> bool:
    buffers: list[pickle.PickleBuffer] = []
    pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return bool(buffers)


@dataclasses.dataclass
class Sample:
    """A user value holding a large array and a repeated reference."""

    weights: np.ndarray
    label: str
    again: object = None


def _values() -> list[object]:
    big = np.arange(200_000, dtype=np.float64)  # 1.6 MB: written past the pickle's frames
    shared = ["shared"] * 3
    return [
        big,
        big[::2],  # not contiguous: pickled in-band by NumPy
        np.zeros((3, 4), dtype=np.int32),
        Sample(big, "x", again=big),
        collections.OrderedDict(a=1, b=[1.5, None]),
        bytearray(b"q" * 100_000),
        array.array("d", range(50_000)),
        complex(1, 2),
        (shared, shared),
        {"k": big, "s": "t" * 200_000},
    ]


@pytest.mark.parametrize("value", _values(), ids=lambda v: type(v).__name__)
def test_streamed_and_one_shot_digests_agree_with_the_definition(value: object) -> None:
    assert digest(value) == pickle_digest(value) == reference_digest(value)
    if not has_buffers(value):  # as before buffers went out of band
        assert digest(value) == whole_pickle_digest(value)


def test_buffers_are_delimited_so_moving_bytes_between_them_changes_the_digest() -> None:
    one = [np.frombuffer(b"ab", dtype=np.uint8), np.frombuffer(b"c", dtype=np.uint8)]
    two = [np.frombuffer(b"a", dtype=np.uint8), np.frombuffer(b"bc", dtype=np.uint8)]
    assert digest(one) != digest(two)


def test_containers_of_large_arrays_are_not_copied_either() -> None:
    values = {"X": np.ones(2_000_000), "y": np.zeros(2_000_000)}  # 32 MB
    digest(values)
    peak = peak_bytes(lambda: digest(values))
    assert peak < 4_000_000


def test_digest_changes_with_the_content_of_a_large_array() -> None:
    values = np.arange(100_000, dtype=np.float64)
    before = digest(values)
    values[50_000] += 1.0
    assert digest(values) != before


def test_a_large_array_is_not_copied_to_hash_it() -> None:
    values = np.ones(4_000_000)  # 32 MB
    digest(values)  # warm up
    peak = peak_bytes(lambda: digest(values))
    assert peak < values.nbytes / 8


def test_pickle_digest_uses_the_given_pickler() -> None:
    class Tagging(pickle.Pickler):
        def reducer_override(self, obj: object) -> object:
            return (str, ("replaced",)) if isinstance(obj, Sample) else NotImplemented

    def tagging(file: object, buffer_callback: object) -> pickle.Pickler:
        return Tagging(file, protocol=5, buffer_callback=buffer_callback)

    one = Sample(np.zeros(2), "a")
    two = Sample(np.ones(2), "b")
    assert pickle_digest(one, tagging) == pickle_digest(two, tagging)
    assert pickle_digest(one) != pickle_digest(two)


def test_an_unpicklable_value_has_no_content_hash() -> None:
    import threading

    assert content_hash({"lock": threading.Lock()}) is None
    assert content_hash(Sample(np.zeros(1), "x", again=threading.Lock())) is None


def test_parameter_digests_of_plain_values_are_their_content_hashes_without_a_copy() -> None:
    from crystallize.fingerprint import param_digest

    values = np.ones(2_000_000)  # 16 MB
    assert param_digest(values) == digest(values)
    assert param_digest({"w": values, "n": 3}) == digest({"w": values, "n": 3})
    peak = peak_bytes(lambda: param_digest(values))
    assert peak < values.nbytes / 8
