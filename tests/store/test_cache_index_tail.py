"""IndexTail: a step's newest cache-index entries, read from the end and then as the file grows."""

from __future__ import annotations

import json
import os

from crystallize.store import StepCache, make_key
from crystallize.store.cache_index import IndexTail, _start_of_last_lines


def _line(step: str, n: int) -> bytes:
    return (json.dumps({"step": step, "key": f"key{n:05d}", "parts": {"input": f"d{n}"}, "time": 0}) + "\n").encode()


def _keys(entries):
    return [key for key, _ in entries]


def test_the_newest_entries_are_read_from_the_end_and_appends_picked_up(tmp_path):
    index = tmp_path / "step.jsonl"
    index.write_bytes(b"".join(_line("s", n) for n in range(5000)))
    with open(index, "rb") as file:
        start = _start_of_last_lines(file, index.stat().st_size, 10)
    assert start > index.stat().st_size - 20 * len(_line("s", 0))  # not the whole file
    tail = IndexTail(index, "s", keep=10)
    assert _keys(tail.entries()) == [f"key{n:05d}" for n in range(4990, 5000)]
    with open(index, "ab") as file:  # another process appends, the last line torn at first
        file.write(_line("s", 5000) + _line("other", 5001) + _line("s", 5002)[:20])
    assert _keys(tail.entries())[-2:] == ["key04999", "key05000"]  # foreign and torn left out
    with open(index, "ab") as file:
        file.write(_line("s", 5002)[20:])
    assert _keys(tail.entries())[-1] == "key05002" and len(tail.entries()) == 10


def test_a_rewritten_or_missing_index_is_read_again(tmp_path):
    index = tmp_path / "step.jsonl"
    index.write_bytes(b"".join(_line("s", n) for n in range(50)))
    tail = IndexTail(index, "s", keep=5)
    assert _keys(tail.entries()) == [f"key{n:05d}" for n in range(45, 50)]
    index.write_bytes(_line("s", 7) + b"not json\n" + _line("s", 8))  # shorter: rewritten
    assert _keys(tail.entries()) == ["key00007", "key00008"]
    os.unlink(index)
    assert tail.entries() is None
    index.write_bytes(_line("s", 9))
    assert _keys(tail.entries()) == ["key00009"]


def test_a_short_file_is_read_whole(tmp_path):
    index = tmp_path / "step.jsonl"
    index.write_bytes(_line("s", 1) + _line("s", 2))
    assert _keys(IndexTail(index, "s", keep=256).entries()) == ["key00001", "key00002"]


def test_closest_entry_sees_entries_put_after_its_first_call_and_pickles(tmp_path):
    import pickle

    cache = StepCache(tmp_path)
    first = {"step": "fit", "input": "a", "param.k": 1}
    cache.put(make_key(**first), 1, step="fit", parts=first)
    assert cache.closest_entry("fit", {**first, "param.k": 2})[1] == ["param.k"]
    second = {"step": "fit", "input": "b", "param.k": 2}
    cache.put(make_key(**second), 2, step="fit", parts=second)
    assert cache.closest_entry("fit", {**second, "input": "c"}) == (make_key(**second), ["input"])
    clone = pickle.loads(pickle.dumps(cache))
    assert clone.closest_entry("fit", {**second, "input": "c"}) == (make_key(**second), ["input"])
