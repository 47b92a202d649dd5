"""Round trip of records and values through the store's JSON encoding."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from crystallize.exceptions import StoreError
from crystallize.record import ReplicateError, ReplicateRecord, StepRecord
from crystallize.store.serialize import (
    SerializationError,
    decode_record,
    dumps,
    encode_record,
    loads,
)


def rich_record(condition: str = "treat", replicate: int = 0, *, failed: bool = False):
    """A record using every field, with awkward values."""
    steps = [
        StepRecord(
            name="load",
            params={
                "path": "x.csv",
                "n": 3,
                "frac": 0.5,
                "flag": True,
                "nested": {"a": [1, 2.5, None]},
            },
            input_hash="ab" * 16,
            output_hash="cd" * 16,
            cache_hit=True,
            ctx_reads={"lr": 0.1, "layers": [64, 32]},
            ctx_writes=["data", "split"],
            metrics={"rows": [100]},
            duration=0.25,
        ),
        StepRecord(
            name="fit",
            params={},
            cache_miss_reason="params changed: lr",
            metrics={"loss": [float("nan"), float("inf"), -float("inf"), -0.0, 5e-324, 1e300]},
        ),
    ]
    error = (
        ReplicateError(
            condition=condition,
            replicate=replicate,
            step="fit",
            message='boom: ünïcode \u2603 "quoted"\nsecond line',
            exception_type="ValueError",
            traceback='Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom\n',
        )
        if failed
        else None
    )
    return ReplicateRecord(
        condition=condition,
        replicate=replicate,
        seed=12345 + replicate,
        metrics={
            "acc": [0.5, 0.75],
            "count": [1, 2, 3],
            "mixed": [1, 2.0, True, None, "s"],
            "nested": [{"a": {"b": [1, 2]}}],
            "big": [2**70, -(2**65)],
            "nan": [float("nan")],
        },
        steps=steps,
        error=error,
        duration=1.5,
        started_at=1700000000.123456,
        events=[("start", {"t": 1}), ("progress", {"frac": 0.5, "tags": ["a"]})],
        metric_tags={"acc": [None, {"epoch": 2}]},
        worker=4242,
    )


def test_record_round_trip_is_exact():
    for failed in (False, True):
        record = rich_record("c", 7, failed=failed)
        back = decode_record("c", 7, encode_record(record))
        # repr tells 1 from 1.0 and -0.0 from 0.0, and shows NaN (which != itself)
        assert repr(back) == repr(record)
        assert back.ok is (not failed)


def test_numeric_types_are_kept():
    back = decode_record("treat", 0, encode_record(rich_record()))
    assert [type(v) for v in back.metrics["mixed"]] == [int, float, bool, type(None), str]
    assert back.metrics["big"] == [2**70, -(2**65)]
    loss = back.steps[1].metrics["loss"]
    assert math.isnan(loss[0]) and loss[1] == math.inf and loss[2] == -math.inf
    assert math.copysign(1.0, loss[3]) == -1.0
    assert loss[4] == 5e-324
    assert isinstance(back.events[0], tuple) and back.events[0] == ("start", {"t": 1})


def test_error_and_traceback_survive():
    back = decode_record("treat", 3, encode_record(rich_record(replicate=3, failed=True)))
    assert back.error is not None
    assert back.error.traceback.endswith("ValueError: boom\n")
    assert "\u2603" in back.error.message and "\n" in back.error.message
    assert back.error.exception_type == "ValueError"


def test_numpy_values_become_python_values():
    record = ReplicateRecord(
        "c",
        0,
        np.int64(5),
        {
            "v": [
                np.float64(0.5),
                np.float32(0.25),
                np.int64(7),
                np.bool_(True),
                np.array([[1, 2], [3, 4]]),
                np.array([1.5, np.nan]),
            ]
        },
        [],
    )
    back = decode_record("c", 0, encode_record(record))
    values = back.metrics["v"]
    assert values[:5] == [0.5, 0.25, 7, True, [[1, 2], [3, 4]]]
    assert [type(v) for v in values[:4]] == [float, float, int, bool]
    assert values[5][0] == 1.5 and math.isnan(values[5][1])
    assert back.seed == 5 and type(back.seed) is int


def test_tuples_come_back_as_lists_and_sets_sorted():
    assert loads(dumps({"t": (1, (2, 3)), "s": {"b", "a"}})) == {"t": [1, [2, 3]], "s": ["a", "b"]}


def test_unencodable_value_names_the_record():
    record = ReplicateRecord("cond-x", 9, 1, {"obj": [object()]}, [])
    with pytest.raises(SerializationError, match=r"cond-x.*replicate 9.*object") as info:
        encode_record(record)
    assert isinstance(info.value, StoreError)
    assert isinstance(info.value.__cause__, TypeError)


def test_corrupt_payload_raises_store_error():
    with pytest.raises(SerializationError):
        decode_record("c", 0, "{not json")
    with pytest.raises(SerializationError, match="malformed"):
        decode_record("c", 0, '{"steps": [{"bogus_only": 1}]}')


def test_unknown_fields_from_newer_code_are_ignored():
    payload = '{"seed": 1, "metrics": {}, "steps": [{"name": "s", "params": {}, "future": 1}], "future": 2}'
    back = decode_record("c", 0, payload)
    assert back.steps[0].name == "s" and back.seed == 1 and back.events == []


def _plain_record() -> ReplicateRecord:
    step = StepRecord("square", {"k": 2}, "a" * 32, "b" * 32, False, {"delta": 1}, [], {}, 1.5e-6)
    return ReplicateRecord(
        condition="c", replicate=3, seed=7, metrics={"score": [9, 2.5]}, steps=[step],
        duration=2e-5, started_at=1.7e9, worker=11,
    )


def test_defaults_are_left_out_of_the_payload():
    payload = json.loads(encode_record(_plain_record()))
    assert set(payload) == {"seed", "metrics", "steps", "duration", "started_at", "worker"}
    assert len(payload["steps"][0]) == StepRecord.field_names.index("duration") + 1
    assert "null" not in encode_record(_plain_record())
    assert decode_record("c", 3, encode_record(_plain_record())) == _plain_record()


def test_values_the_fast_encoder_would_change_take_the_exact_path():
    record = _plain_record()
    record.metrics = {"score": [float("nan"), None, 2**70 + 1], "big": [np.float64("inf")]}
    back = decode_record("c", 3, encode_record(record))
    assert math.isnan(back.metrics["score"][0]) and back.metrics["score"][1:] == [None, 2**70 + 1]
    assert back.metrics["big"] == [math.inf]


def test_the_earlier_positional_payload_still_loads():
    step = ["s", {}, "a", "b", True, {}, [], {}, 0.5, None, []]
    payload = json.dumps([4, {"m": [1]}, [step], None, 0.25, 1.0, [["e", {"x": 1}]], None, 9, None])
    back = decode_record("c", 0, payload)
    assert back.seed == 4 and back.steps[0].cache_hit and back.duration == 0.25
    assert back.events == [("e", {"x": 1})] and back.worker == 9


def test_both_encoders_refuse_the_same_values():
    import dataclasses
    import datetime

    @dataclasses.dataclass
    class Point:
        x: int

    for value in (Point(1), datetime.date(2026, 1, 1)):
        record = _plain_record()
        record.metrics = {"score": [value]}
        with pytest.raises(SerializationError, match="replicate 3"):
            encode_record(record)


def test_numpy_values_store_as_their_python_equivalents_on_the_fast_path():
    record = _plain_record()
    record.metrics = {"f32": [np.float32(0.1)], "arr": [np.array([0.1, 2.0], dtype=np.float32)],
                      "f16": [np.float16(0.1)], "i64": [np.int64(7)]}
    back = decode_record("c", 3, encode_record(record))
    assert back.metrics["f32"] == [float(np.float32(0.1))]
    assert back.metrics["arr"] == [np.array([0.1, 2.0], dtype=np.float32).tolist()]
    assert back.metrics["f16"] == [float(np.float16(0.1))] and back.metrics["i64"] == [7]


def test_numpy_and_other_odd_dict_keys_are_stored_as_json_keys():
    from crystallize.store.serialize import encode_record_lossy

    record = _plain_record()
    labels, counts = np.unique(np.array([0, 1, 1, 2]), return_counts=True)
    record.metrics = {
        "counts": [dict(zip(labels, counts, strict=True))],
        "odd": [{(1, 2): "pair", np.float32(0.5): np.bool_(True), "nested": [{np.int8(3): 1}]}],
    }
    back = decode_record("c", 3, encode_record(record))
    assert back.metrics["counts"] == [{"0": 1, "1": 2, "2": 1}]
    assert back.metrics["odd"] == [{"(1, 2)": "pair", "0.5": True, "nested": [{"3": 1}]}]
    assert dumps({np.int64(4): np.int64(5)}) == '{"4":5}'
    # a value JSON cannot hold under a key it cannot hold: the text fallback still stores it
    record.metrics = {"x": [{np.int64(1): 1j}]}
    with pytest.raises(SerializationError):
        encode_record(record)
    payload, replaced = encode_record_lossy(record)
    assert decode_record("c", 3, payload).metrics == {"x": [{"1": "1j"}]} and replaced == ["complex 1j"]


def test_the_store_keeps_a_record_whose_odd_value_sits_under_an_odd_key(tmp_path, caplog):
    from crystallize.store import open_store

    ok = ReplicateRecord("baseline", 0, 1, {"counts": [{np.int64(0): np.int64(2)}]}, [])
    odd = ReplicateRecord("baseline", 1, 1, {"counts": [{np.int64(0): 1j}]}, [])
    with open_store(tmp_path / "data") as store:
        run = store.create_run(
            experiment="e", fingerprint="f", spec={}, replicates=2, conditions=["baseline"], base_seed=1
        )
        store.append_records(run.run_id, [ok, odd])
        stored = [r.metrics for r in store.load_records(run.run_id)]
    assert stored == [{"counts": [{"0": 2}]}, {"counts": [{"0": "1j"}]}]
    assert "replicate 1 holds values JSON cannot hold" in caplog.text
