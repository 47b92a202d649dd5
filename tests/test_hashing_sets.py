"""Values holding sets hash the same in every process, whatever ``PYTHONHASHSEED`` is:
a set counts by its members' digests in sorted order, not by its iteration order."""

from __future__ import annotations

import json
import os
import pickle
import random
import struct
import subprocess
import sys
import textwrap
from hashlib import blake2b

import numpy as np

from crystallize.utils.hashing import content_hash, digest

WORDS = [f"word{i}" for i in range(40)]

# Defines VALUES: every way a set can sit inside step data.
VALUES_SOURCE = textwrap.dedent(
    """
    import types
    import numpy as np

    WORDS = [f"word{i}" for i in range(40)]
    VALUES = {
        "set of strings": set(WORDS),
        "small set": {"a", "b", "c", "d"},
        "frozenset": frozenset(WORDS),
        "set of bytes": {w.encode() for w in WORDS},
        "set of tuples": {(w, w.upper()) for w in WORDS},
        "mixed members": {1, 2.5, "x", b"y", None, ("t", 1)} | set(WORDS[:10]),
        "in a dict": {"labels": set(WORDS), "x": [1.0, 2.0]},
        "in a list and a tuple": [set(WORDS[:10]), (frozenset(WORDS[10:20]), 3)],
        "nested": {frozenset(WORDS[:5]), frozenset(WORDS[5:10]), frozenset(WORDS[10:15])},
        "frozenset keys": {frozenset(WORDS[:4]): 1, frozenset(WORDS[4:8]): 2},
        "in an object": types.SimpleNamespace(tags=set(WORDS), n=3),
        "beside an array": {"w": np.arange(1000.0), "tags": set(WORDS)},
        "empty": [set(), frozenset()],
    }
    """
)
PRINT_DIGESTS = VALUES_SOURCE + textwrap.dedent(
    """
    import json
    from crystallize.utils.hashing import content_hash
    print(json.dumps({name: content_hash(value) for name, value in VALUES.items()}))
    """
)


def _python(code: str, hash_seed: int, cwd: str | None = None) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_values_holding_sets_hash_the_same_under_any_hash_seed():
    first = json.loads(_python(PRINT_DIGESTS, 0))
    second = json.loads(_python(PRINT_DIGESTS, 1))
    assert None not in first.values()
    assert first == second
    here: dict = {}
    exec(VALUES_SOURCE, here)
    assert {name: content_hash(value) for name, value in here["VALUES"].items()} == first


def test_equal_sets_with_different_iteration_orders_hash_equal():
    big = set(WORDS * 20 + [f"other{i}" for i in range(2000)])
    shrunk = set(big)  # a large table: members sit in other slots than in a fresh set
    for member in big - set(WORDS):
        shrunk.discard(member)
    fresh = set(reversed(WORDS))
    assert list(shrunk) != list(fresh)  # the point of the test: iteration orders differ
    assert digest(shrunk) == digest(fresh)
    assert digest({"k": shrunk}) == digest({"k": fresh})


def test_different_sets_and_containers_still_hash_apart():
    values = [
        {"a"}, frozenset({"a"}), ["a"], ("a",), {"b"}, {"a", "b"}, {1}, {"1"}, {1.0}, {True},
        set(), frozenset(), [set()], {frozenset({"a"}): 1}, {frozenset({"b"}): 1},
        {frozenset({"a"})}, {("a",)}, [{"a"}, {"b"}], [{"b"}, {"a"}],
    ]
    digests = [digest(v) for v in values]
    assert len(set(digests)) == len(values)


def test_values_without_sets_keep_their_digests():
    """No cache entry goes stale for data without sets, even data whose pickle happens to
    hold the bytes of a set's opcodes (random floats)."""
    rng = random.Random(0)
    floats = [rng.random() for _ in range(20_000)]
    for value in (floats, {"x": floats, "n": 3}, ["word", b"\x8f\x94\x91"], np.arange(10.0)[::2]):
        buffers: list[pickle.PickleBuffer] = []
        hasher = blake2b(pickle.dumps(value, protocol=5, buffer_callback=buffers.append), digest_size=16)
        for buffer in buffers:
            raw = buffer.raw()
            hasher.update(raw.nbytes.to_bytes(8, "little") + bytes(raw))
        assert digest(value) == hasher.hexdigest()


def test_large_set_free_pickles_are_not_pickled_again(monkeypatch):
    """Past SET_SEARCH_LIMIT, float bytes hold a set's opcode pair almost surely; such a
    value is hashed from its one plain pickle, not pickled again object by object."""
    from crystallize.utils import hashing

    again = []
    def counted(file, buffer_callback=None):
        again.append(1)
        return pickle.Pickler(file, protocol=5, buffer_callback=buffer_callback)

    monkeypatch.setattr(hashing, "_SetsByMembers", counted)
    rng = random.Random(0)
    records = [{"id": i, "score": rng.random()} for i in range(20_000)]
    payload = pickle.dumps(records, protocol=5)
    assert len(payload) > hashing.SET_SEARCH_LIMIT
    assert any(opcodes.search(payload) for opcodes in hashing._SET_OPCODES)  # a false alarm
    digest(records)
    assert again == []
    # A small value is searched: a false alarm (a float whose bytes hold EMPTY_SET
    # MEMOIZE) costs one more pickle, which writes the same bytes: the same digest.
    (alarm,) = struct.unpack(">d", b"\x3f\xf0\x00" + pickle.EMPTY_SET + pickle.MEMOIZE + b"\x00\x00\x01")
    small = [{"id": 1, "score": alarm}]
    assert any(opcodes.search(pickle.dumps(small, protocol=5)) for opcodes in hashing._SET_OPCODES)
    assert digest(small) == blake2b(pickle.dumps(small, protocol=5), digest_size=16).hexdigest()
    assert again == [1]


def test_a_large_set_is_hashed_by_its_members():
    words = [f"token{i}" for i in range(20_000)]
    assert len(pickle.dumps(set(words), protocol=5)) > 64 * 1024
    assert digest(set(words)) == digest(set(reversed(words)))
    code = "from crystallize.utils.hashing import digest; print(digest({f'token{i}' for i in range(20_000)}))"
    assert _python(code, 1) == _python(code, 2)


def test_plain_values_with_sets_have_the_same_digest_as_parameters():
    from crystallize.fingerprint import param_digest

    for value in ({"labels": set(WORDS)}, [frozenset(WORDS), {("a", 1)}], {frozenset({"k"}): {"v"}}):
        assert content_hash(value) == param_digest(value)


def test_a_set_with_an_unpicklable_member_has_no_content_hash():
    assert content_hash({"a", lambda: 1}) is None
    assert content_hash({"tags": frozenset({lambda: 1})}) is None


CACHED_EXPERIMENT = textwrap.dedent(
    """
    import json
    from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step

    @data_source
    def src(ctx):
        return {"x": [1.0, 2.0, 3.0], "labels": {"cat", "dog", "bird", "fish", "emu", "owl"}}

    @pipeline_step(cacheable=True)
    def featurize(data, ctx):
        return {"x": [v * 2 for v in data["x"]], "labels": data["labels"]}

    @pipeline_step(cacheable=True)
    def score(data, ctx):
        return data, {"n": len(data["labels"])}

    if __name__ == "__main__":
        experiment = Experiment(datasource=src(), pipeline=Pipeline([featurize(), score()]),
                                plugins=[SeedPlugin(seed=3)], replicates=2, name="sets")
        result = experiment.run()
        steps = [s for r in result.records for s in r.steps]
        print(json.dumps([[s.cache_hit, s.cache_miss_reason] for s in steps]))
    """
)


def test_the_step_cache_hits_for_set_data_in_a_process_with_another_hash_seed(tmp_path):
    script = tmp_path / "sets.py"
    script.write_text(CACHED_EXPERIMENT)
    code = f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')"
    first = json.loads(_python(code, 0, cwd=str(tmp_path)))
    second = json.loads(_python(code, 1, cwd=str(tmp_path)))
    assert len(first) == 4 and not any(hit for hit, _ in first)
    assert second == [[True, None]] * 4
