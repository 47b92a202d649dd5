"""StepCache, hash_value and make_key."""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass

import numpy as np
import pytest

from crystallize.exceptions import StoreError
from crystallize.store import StepCache, hash_value, make_key
from crystallize.store import cache as cache_module


@dataclass
class Point:
    x: int
    y: float


def entry_files(cache: StepCache) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(d, f), cache.root)
        for d, _, fs in os.walk(cache.root)
        for f in fs
    )


@pytest.fixture
def cache(tmp_path):
    return StepCache(tmp_path)


def test_miss_then_hit_with_layout(cache, tmp_path):
    key = make_key(step="s", params={"a": 1})
    assert cache.get(key) == (False, None)
    value = {"arr": np.arange(6).reshape(2, 3), "p": Point(1, 2.5), "none": None}
    cache.put(key, value)
    hit, back = cache.get(key)
    assert hit
    assert (
        np.array_equal(back["arr"], value["arr"])
        and back["p"] == Point(1, 2.5)
        and back["none"] is None
    )
    assert (tmp_path / ".cache" / key[:2] / f"{key}.pkl").is_file()
    assert entry_files(cache) == [f"{key[:2]}/{key}.pkl"]


def test_none_value_is_a_hit(cache):
    cache.put("abc", None)
    assert cache.get("abc") == (True, None)


def test_put_replaces_existing_entry(cache):
    cache.put("abc", 1)
    cache.put("abc", [2])
    assert cache.get("abc") == (True, [2])
    assert entry_files(cache) == ["ab/abc.pkl"]


def corrupt_cases():
    def flip(data: bytes) -> bytes:
        return data[:-3] + bytes([data[-3] ^ 0xFF]) + data[-2:]

    return {
        "flipped": flip,
        "truncated": lambda d: d[:-10],
        "header-only": lambda d: d[:20],
        "empty": lambda d: b"",
        "bad-magic": lambda d: b"X" + d[1:],
        "appended": lambda d: d + b"junk",
    }


@pytest.mark.parametrize("case", sorted(corrupt_cases()))
def test_damaged_entry_is_a_miss_and_deleted(cache, caplog, case):
    key = make_key(step="s", n=1)
    cache.put(key, {"big": list(range(1000))})
    path = cache.path_for(key)
    path.write_bytes(corrupt_cases()[case](path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="crystallize.cache"):
        assert cache.get(key) == (False, None)
    assert not path.exists()
    assert any(
        r.name == "crystallize.cache" and str(path) in r.getMessage() for r in caplog.records
    )
    cache.put(key, "recomputed")
    assert cache.get(key) == (True, "recomputed")


def test_valid_hash_but_unloadable_pickle_is_a_miss(cache, caplog):
    payload = b"definitely not a pickle"
    header = cache_module._HEADER.pack(
        cache_module._MAGIC, len(payload), cache_module._payload_digest(payload)
    )
    path = cache.path_for("abcdef")
    path.parent.mkdir(parents=True)
    path.write_bytes(header + payload)
    assert cache.get("abcdef") == (False, None)
    assert not path.exists() and "unpickled" in caplog.text


def test_failed_write_keeps_old_entry_and_leaves_no_temp_file(cache, monkeypatch):
    cache.put("abc", "old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.os, "replace", boom)
    with pytest.raises(StoreError, match="disk full"):
        cache.put("abc", "new")
    monkeypatch.undo()
    assert cache.get("abc") == (True, "old")
    assert entry_files(cache) == ["ab/abc.pkl"]


def test_readers_never_see_partial_entries(cache):
    big = [bytes(50_000) + bytes([i]) for i in range(4)]
    stop = threading.Event()
    seen: list[object] = []

    def read():
        while not stop.is_set():
            hit, value = cache.get("race")
            if hit:
                seen.append(value)

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(60):
        cache.put("race", big[i % 4])
    stop.set()
    reader.join()
    assert all(v in big for v in seen)
    assert cache.path_for("race").exists()  # never deleted as "corrupt"


def test_unpicklable_value_raises_type_error_and_writes_nothing(cache):
    with pytest.raises(TypeError, match="cannot be pickled"):
        cache.put("abc", threading.Lock())
    with pytest.raises(TypeError, match="cannot be pickled"):
        cache.put("abc", lambda: 1)
    assert entry_files(cache) == []


@pytest.mark.parametrize("key", ["", "ab", "../etc/passwd", "a/bcd", "abc.pkl", "x" * 129, 123])
def test_invalid_keys_are_rejected(cache, key):
    with pytest.raises(ValueError, match="Invalid cache key"):
        cache.get(key)


def test_delete_and_clear(cache):
    cache.put("abc", 1)
    assert cache.delete("abc") and not cache.delete("abc")
    cache.put("abd", 1, step="s", parts={"a": 1})
    cache.clear()
    assert cache.get("abd") == (False, None) and not cache.root.exists()


def test_hash_value():
    h = hash_value({"a": [1, 2.0]})
    assert len(h) == 32 and int(h, 16) >= 0
    assert h == hash_value({"a": [1, 2.0]})
    assert h != hash_value({"a": [1, 2]})
    assert hash_value(np.arange(3, dtype=np.int32)) != hash_value(np.arange(3, dtype=np.int64))
    with pytest.raises(TypeError, match="Cannot hash a function.*cannot be pickled"):
        hash_value(lambda: 0)
    with pytest.raises(TypeError, match="lock"):
        hash_value({"inner": threading.Lock()})


def test_make_key_is_order_independent_and_type_sensitive():
    base = make_key(step="s", params={"a": 1, "b": [1, 2]}, input="h")
    assert base == make_key(input="h", params={"b": [1, 2], "a": 1}, step="s")
    assert len(base) == 32
    assert base != make_key(step="s", params={"a": 1.0, "b": [1, 2]}, input="h")
    assert base != make_key(step="s", params={"a": 1, "b": (1, 2)}, input="h")
    assert base != make_key(step="s", params={"a": 1, "b": [2, 1]}, input="h")
    assert base != make_key(step="s", params={"a": 1, "b": [1, 2]}, input="h", extra=None)
    assert make_key(v={"x", "y", "z"}) == make_key(v={"z", "y", "x"})
    assert make_key(v=np.float64(0.5)) == make_key(v=0.5)
    assert make_key(v=float("nan")) == make_key(v=float("nan"))
    assert make_key(v=True) != make_key(v=1)
    assert make_key(v=np.arange(3)) != make_key(v=np.arange(4))
    assert make_key(v={"1": 0}) != make_key(v={1: 0})
    with pytest.raises(TypeError):
        make_key(fn=lambda: 0)


STABILITY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from test_store_cache import Point
    from crystallize.store import hash_value, make_key
    values = [{"a": [1, 2.5, None], "b": "text"}, np.linspace(0, 1, 7), Point(3, 0.25), ("t", 1)]
    print(json.dumps({
        "hash": [hash_value(v) for v in values],
        "key": make_key(step="s", params={"lr": 0.1, "tags": {"x", "y", "zz", "w"}},
                        data=np.arange(5), point=Point(1, 2.0)),
    }))
    """
)


def test_hashes_and_keys_are_stable_across_processes():
    here = os.path.dirname(__file__)
    results = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", STABILITY_SCRIPT, here],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results.append(json.loads(out))
    assert results[0] == results[1] == results[2]
    assert results[0]["hash"][0] == hash_value({"a": [1, 2.5, None], "b": "text"})
    assert results[0]["hash"][1] == hash_value(np.linspace(0, 1, 7))
    assert results[0]["key"] == make_key(
        params={"tags": {"w", "zz", "y", "x"}, "lr": 0.1},
        data=np.arange(5),
        point=Point(1, 2.0),
        step="s",
    )


def test_hash_value_is_blake2b_of_protocol_5_pickle():
    import hashlib

    obj = {"k": [1, 2, 3]}
    assert (
        hash_value(obj)
        == hashlib.blake2b(pickle.dumps(obj, protocol=5), digest_size=16).hexdigest()
    )


def test_closest_entry_explains_a_miss(cache):
    def put(step, **parts):
        key = make_key(step=step, **parts)
        cache.put(key, "v", step=step, parts={"step": step, **parts})
        return key

    assert cache.closest_entry("fit", {"params": 1}) is None
    k1 = put("fit", params={"lr": 0.1}, input="h1", version=1)
    k2 = put("fit", params={"lr": 0.2}, input="h2", version=1)
    put("other", params={"lr": 0.1}, input="h1", version=1)

    query = {"step": "fit", "params": {"lr": 0.1}, "input": "h9", "version": 1}
    assert cache.closest_entry("fit", query) == (k1, ["input"])
    query = {"step": "fit", "params": {"lr": 0.3}, "input": "h3", "version": 1}
    assert cache.closest_entry("fit", query) == (k2, ["input", "params"])  # tie: most recent
    query = {"step": "fit", "params": {"lr": 0.2}, "input": "h2", "version": 2, "seed": 5}
    assert cache.closest_entry("fit", query) == (k2, ["seed", "version"])

    cache.delete(k2)  # entries that are gone are not suggested
    assert cache.closest_entry("fit", query)[0] == k1

    index = next((cache.root / "_index").iterdir())
    with index.open("a") as fh:
        fh.write('{"torn line')  # a crash mid-append is tolerated
    assert cache.closest_entry("fit", query)[0] == k1
    assert cache.closest_entry("nothing", query) is None
