"""Large stored runs load without their step provenance (read from the store on demand),
and results export to dicts and JSON without going through text twice."""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np

import crystallize.session as session
from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step, treatment
from crystallize.record import STEPS_IN_STORE, ReplicateError, ReplicateRecord, StepRecord
from crystallize.result import Result
from crystallize.store import load_result, open_store
from crystallize.store import serialize as serialize_module

# Text that looks like the end of the steps part of a payload, in places that are not.
TRAP = {"a": [1], "duration": 2, "steps": [[0]]}


def tricky_records() -> list[ReplicateRecord]:
    """Records whose payloads hold NaN, long ints, errors, events, tags and decoys."""
    step = StepRecord("fit", {"p": [1], "duration": 3}, "h1", "h2", False, {"k": TRAP}, ["k"], {"x": [1]}, 0.5)
    odd = StepRecord("odd", TRAP, None, None, True, {}, [], {}, 0.25, "changed", ["file.txt"])
    error = ReplicateError("t", 1, "fit", 'bad ],"duration": 1', "ValueError", 'tb ],"duration":')
    return [
        ReplicateRecord("baseline", 0, 7, {"m": [1.5], "nested": [TRAP]}, [step, odd], duration=1.0, started_at=2.0),
        ReplicateRecord("baseline", 1, None, {"m": [math.nan, math.inf], "big": [2**100]}, [], worker=4),
        ReplicateRecord(
            "t", 0, 9, {"m": [-math.inf]}, [step], events=[("note", TRAP)],
            metric_tags={"m": [TRAP]}, code_digest="abc",
        ),
        ReplicateRecord("t", 1, 10, {}, [step], error=error, duration=0.1),
    ]


def stored_run(records: list[ReplicateRecord]) -> tuple[object, str]:
    store = open_store("data")
    run = store.create_run(
        experiment="tricky", fingerprint="fp", spec={}, replicates=2, conditions=["baseline", "t"], base_seed=1
    )
    store.append_records(run.run_id, records)
    return store, run.run_id


def test_light_records_match_the_full_ones_without_their_steps(monkeypatch):
    store, run_id = stored_run(tricky_records())
    full = store.load_records(run_id)
    monkeypatch.setattr(serialize_module, "_decode_step", None)  # steps are not decoded,
    monkeypatch.setattr(serialize_module, "loads", None)  # nor the payloads as a whole
    light = store.load_records(run_id, steps=False)
    assert all(record.steps is STEPS_IN_STORE for record in light)
    assert repr(light) == repr([record.without_steps() for record in full])
    assert light[1].metrics["big"] == [2**100] and math.isnan(light[1].metrics["m"][0])
    store.close()


def test_light_loading_reads_older_payload_forms():
    store, run_id = stored_run(tricky_records())
    with sqlite3.connect("data/crystallize.db") as conn:  # as earlier versions wrote them
        conn.execute(
            "UPDATE records SET payload = json_array(json_extract(payload, '$.seed'), "
            "json_extract(payload, '$.metrics'), json_array(json_object('name', 'old', 'params', "
            "json_object())), NULL, 1.0, 2.0) WHERE condition = 'baseline' AND replicate = 0"
        )
    full = store.load_records(run_id)
    assert full[0].steps[0].name == "old"
    assert repr(store.load_records(run_id, steps=False)) == repr([r.without_steps() for r in full])
    store.close()


# -- load_result ---------------------------------------------------------------------------------
@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def double(data, ctx):
    if ctx["condition"] == "t" and ctx["replicate"] == 2:
        raise ValueError("boom")
    return data * 2, {"value": data * 2}


def build(replicates=3):
    return Experiment(
        datasource=index(), pipeline=Pipeline([double()]), name="big", replicates=replicates,
        treatments=[treatment("t", {"x": 1})], plugins=[SeedPlugin(seed=3)],
    )


def as_text(value):
    return json.dumps(value, sort_keys=True, default=repr)


def test_a_large_stored_run_loads_light_and_reads_provenance_on_demand(monkeypatch, capsys):
    run_id = build().run().run_id  # 6 records: small, stored in full
    full = load_result(run_id)
    assert full.records[0].steps[0].name == "double"
    monkeypatch.setattr(session, "LIGHT_RECORDS_FROM", 6)  # the engine's threshold, lowered
    light = load_result(run_id)
    assert all(record.steps is STEPS_IN_STORE for record in light.records)
    assert light.metrics.treatments["t"].metrics == full.metrics.treatments["t"].metrics
    assert [(r.seed, r.duration, r.started_at, r.worker) for r in light.records] == [
        (r.seed, r.duration, r.started_at, r.worker) for r in full.records
    ]
    assert [str(e) for e in light.errors] == [str(e) for e in full.errors] and light.errors
    assert as_text(light.provenance) == as_text(full.provenance)
    assert light.provenance["t"][1]["steps"][0]["name"] == "double"
    assert [r.steps for r in light.full_records()] == [r.steps for r in full.records]
    assert all(record.steps is STEPS_IN_STORE for record in light.records)  # not kept
    assert as_text(light.to_dict()) == as_text(full.to_dict())
    light.print_tree()
    assert "double" in capsys.readouterr().out
    assert "(n=3)" in light.report()


def test_runs_below_the_threshold_load_in_full(monkeypatch):
    run_id = build().run().run_id
    monkeypatch.setattr(session, "LIGHT_RECORDS_FROM", 7)
    assert load_result(run_id).records[0].steps[0].name == "double"


def test_a_large_run_result_keeps_its_records_light_after_provenance(monkeypatch):
    monkeypatch.setattr(session, "LIGHT_RECORDS_FROM", 6)
    result = build().run()
    assert result.provenance["baseline"][0]["steps"][0]["name"] == "double"
    assert result.full_records()[0].steps[0].name == "double"
    assert result.records[0].steps is STEPS_IN_STORE


# -- to_dict / to_json ---------------------------------------------------------------------------
LONG = 10**5000


@pipeline_step()
def odd_values(data, ctx):
    if ctx["replicate"] == 1:
        raise RuntimeError("failed on purpose")
    ctx.record("tagged", 1.0, tags={"k": np.int64(2)})
    return data, {
        "nan": math.nan, "inf": math.inf, "ninf": -math.inf, "f32": np.float32(0.1),
        "by_key": {np.int64(5): np.arange(2), True: None, None: 0.5, 0.5: "é"},
        "nested": {"a": {"b": (1, 2)}}, "big": 2**100, "long": LONG, "set": {3, 1, 2},
        "complex": 1 + 2j,
    }


def odd_result():
    return Experiment(
        datasource=index(), pipeline=Pipeline([odd_values()]), replicates=2, name="odd",
        plugins=[SeedPlugin(seed=0)],
    ).run()


def test_to_dict_holds_plain_json_values():
    result = odd_result()
    data = result.to_dict()
    metrics = data["metrics"]["baseline"]
    assert math.isnan(metrics["nan"][0]) and metrics["inf"] == [math.inf] and metrics["ninf"] == [-math.inf]
    assert metrics["f32"] == [float(np.float32(0.1))] and type(metrics["f32"][0]) is float
    assert metrics["by_key"] == [{"5": [0, 1], "true": None, "null": 0.5, "0.5": "é"}]
    assert metrics["nested"] == [{"a": {"b": [1, 2]}}] and metrics["set"] == [[1, 2, 3]]
    assert metrics["big"] == [2**100] and int(metrics["long"][0], 16) == LONG
    assert metrics["complex"] == ["(1+2j)"]
    assert data["metric_tags"]["baseline"]["tagged"] == [{"k": 2}]
    assert data["errors"][0]["message"] == "failed on purpose"
    assert data["provenance"]["baseline"][0]["steps"][0]["metrics"]["big"] == [2**100]


def test_to_json_reads_back_as_to_dict():
    result = odd_result()
    expected = as_text(result.to_dict())
    for indent in (2, None, 4):
        assert as_text(json.loads(result.to_json(indent=indent))) == expected
    text = result.to_json()
    assert text.startswith('{\n  "experiment": "odd"') and "NaN" in text and "-Infinity" in text
    assert "é" in text  # written as is (UTF-8), not as an escape


def test_to_dict_does_not_go_through_json_text(monkeypatch):
    result = odd_result()
    expected = as_text(result.to_dict())

    def no_text(*args, **kwargs):
        raise AssertionError("to_dict() encoded the result as text")

    monkeypatch.setattr(Result, "to_json", no_text)
    assert as_text(result.to_dict()) == expected


def test_a_large_result_exports_provenance_from_the_store(monkeypatch):
    monkeypatch.setattr(session, "LIGHT_RECORDS_FROM", 2)
    result = odd_result()
    provenance = json.loads(result.to_json())["provenance"]
    assert provenance["baseline"][0]["steps"][0]["name"] == "odd_values"
    assert result.records[0].steps is STEPS_IN_STORE

