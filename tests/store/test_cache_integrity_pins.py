"""Step cache and record store behaviour pinned where mutation testing found the suite silent.

Each test guards one promise a user relies on: a damaged cache entry is never served, a
cache hit replays exactly what the step recorded, cache keys tell containers apart, and
the ``records`` table holds every record with the status docs/store.md offers for queries.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step
from crystallize.record import ReplicateRecord
from crystallize.store import DB_FILENAME, StepCache, make_key, open_store

# -- a damaged entry that still unpickles ------------------------------------------------------

GOOD, BAD = b"0.81234", b"0.99999"  # same length: the damaged payload still unpickles


def _damage(path: Path) -> None:
    data = path.read_bytes()
    assert data.count(GOOD) == 1
    path.write_bytes(data.replace(GOOD, BAD))


def test_an_entry_with_a_changed_digit_is_a_miss_and_deleted(tmp_path, caplog):
    """docs/runs.md: a damaged entry is deleted and recomputed. One digit changed inside
    a string leaves a payload that still unpickles, to the wrong value: only the content
    hash stored in the header can tell, so it must be checked."""
    cache = StepCache(tmp_path)
    key = make_key(step="train", n=1)
    cache.put(key, "accuracy=" + GOOD.decode())
    path = cache.path_for(key)
    _damage(path)
    with caplog.at_level(logging.WARNING, logger="crystallize.cache"):
        assert cache.get(key) == (False, None)
    assert not path.exists()
    assert "content hash mismatch" in caplog.text and str(path) in caplog.text


@data_source
def zero(ctx):
    return 0


@pipeline_step(cacheable=True)
def train(data, ctx):
    return "accuracy=" + GOOD.decode()


@pipeline_step()
def score(data, ctx):
    return data, {"acc": float(data.split("=")[1])}


def _scored():
    return Experiment(
        datasource=zero(),
        pipeline=Pipeline([train(), score()]),
        plugins=[SeedPlugin(seed=1)],
        replicates=1,
        name="scored",
    ).run()


def test_a_run_recomputes_a_damaged_entry_instead_of_using_its_value():
    """Through an experiment: the second run must not report the damaged number, but
    recompute the step and store a sound entry in place of the damaged one."""
    assert _scored().metrics.baseline.metrics["acc"] == [0.81234]
    entries = [p for p in Path("data/.cache").rglob("*.pkl") if GOOD in p.read_bytes()]
    assert len(entries) == 1
    _damage(entries[0])
    second = _scored()
    assert second.metrics.baseline.metrics["acc"] == [0.81234]
    assert second.records[0].steps[0].cache_hit is False
    data = entries[0].read_bytes()
    assert GOOD in data and BAD not in data


# -- make_key ------------------------------------------------------------------------------------


def test_make_key_tells_a_set_from_a_list_of_the_same_items():
    """make_key's docstring: "the types of numbers and containers do [matter]". A set
    whose sorted members equal a list must still key differently."""
    assert make_key(p={1, 2}) != make_key(p=[1, 2])
    assert make_key(p=frozenset({"a", "b"})) != make_key(p=["a", "b"])
    assert make_key(p={1, 2}) == make_key(p=frozenset({2, 1}))


# -- replaying a hit after an earlier step recorded the same metric --------------------------------


@data_source
def items(ctx):
    return [1, 2, 3]


@pipeline_step()
def prepare(data, ctx):
    ctx.record("loss", 0.9, tags={"split": "train"})
    ctx.emit("prepared", n=1)
    return data


@pipeline_step(cacheable=True)
def fit(data, ctx):
    ctx.record("loss", 0.4, tags={"split": "val"})
    ctx.emit("fitted", n=2)
    return data, {"acc": 0.7}


def _computed_then_replayed():
    def run():
        return Experiment(
            datasource=items(),
            pipeline=Pipeline([prepare(), fit()]),
            plugins=[SeedPlugin(seed=1)],
            replicates=1,
            name="replay",
        ).run()

    computed, replayed = run().records[0], run().records[0]
    assert [s.cache_hit for s in computed.steps] == [False, False]
    assert [s.cache_hit for s in replayed.steps] == [False, True]
    return computed, replayed


def test_a_hit_replays_the_tags_its_step_recorded():
    """A cached step's metric tags are its own values' tags, not those an earlier step
    recorded under the same name: a hit gives the record a computing run gives."""
    computed, replayed = _computed_then_replayed()
    assert computed.metric_tags["loss"] == [{"split": "train"}, {"split": "val"}]
    assert replayed.metric_tags == computed.metric_tags
    assert replayed.metrics == computed.metrics


def test_a_hit_replays_only_its_steps_events():
    """A hit replays the events its step emitted, not those earlier steps emitted
    before it (which would then appear twice)."""
    computed, replayed = _computed_then_replayed()
    assert [event[0] for event in computed.events] == ["prepared", "fitted"]
    assert replayed.events == computed.events


# -- the records table -------------------------------------------------------------------------------


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def flaky(data, ctx):
    if data == 1:
        raise ValueError("replicate 1 fails")
    return data, {"x": data}


def test_a_failed_replicate_has_status_failed_in_the_records_table():
    """docs/store.md offers ``status`` (``ok``/``failed``) as a column to query: a
    replicate that raised is stored as failed, the others as ok."""
    result = Experiment(
        datasource=replicate_number(),
        pipeline=Pipeline([flaky()]),
        plugins=[SeedPlugin(seed=1)],
        replicates=3,
        name="flaky",
    ).run()
    assert [e.replicate for e in result.errors] == [1]
    with sqlite3.connect(Path("data") / DB_FILENAME) as conn:
        rows = conn.execute(
            "SELECT condition, replicate, status FROM records ORDER BY replicate"
        ).fetchall()
    assert rows == [("baseline", 0, "ok"), ("baseline", 1, "failed"), ("baseline", 2, "ok")]


def test_a_batch_larger_than_one_insert_statement_is_stored_whole():
    """The store writes a batch in several INSERT statements: every record of a
    300-record batch (more than two statements' worth) must come back."""
    store = open_store("data")
    run = store.create_run(
        experiment="many",
        fingerprint="fp",
        spec={},
        replicates=300,
        conditions=["baseline"],
        base_seed=1,
    )
    store.append_records(
        run.run_id,
        [ReplicateRecord("baseline", i, i, {"x": [float(i)]}, []) for i in range(300)],
    )
    loaded = store.load_records(run.run_id)
    assert [r.replicate for r in loaded] == list(range(300))
    assert [r.metrics["x"] for r in loaded] == [[float(i)] for i in range(300)]
    with sqlite3.connect(Path("data") / DB_FILENAME) as conn:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone() == (300,)
