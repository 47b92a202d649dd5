"""Wall-clock steps (an NTP correction, a VM restored from a snapshot) change neither which
run is the newest nor how long a run took, and shown times say their zone."""

from __future__ import annotations

import os
import time
import types

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
from crystallize.store import delete_runs, latest_result, list_runs, open_store

HOUR = 3600.0
#: Seconds the store's wall clock is behind the real one (moved by the tests).
SHIFT = [0.0]
#: Seconds each replicate steps that clock back (set by the tests).
STEP_BACK = [0.0]


@pytest.fixture
def clock(monkeypatch):
    """The run store's ``time.time()``, which the tests step back with ``SHIFT``."""
    SHIFT[0] = STEP_BACK[0] = 0.0
    fake = types.SimpleNamespace(time=lambda: time.time() - SHIFT[0])
    monkeypatch.setattr("crystallize.store.run_rows.time", fake)
    yield SHIFT
    SHIFT[0] = STEP_BACK[0] = 0.0


@data_source
def one(ctx):
    return 1.0


@pipeline_step()
def work(data, ctx, sleep: float = 0.0):
    """Sleep, then step the store's clock back; fail replicates >= 1 when asked to."""
    time.sleep(sleep)
    SHIFT[0] += STEP_BACK[0]
    if os.environ.get("CLOCK_TEST_FAIL") and ctx.get("replicate", 0) >= 1:
        raise RuntimeError("flaky")
    ctx.metrics.add("y", data)
    return data


def build(replicates=2, **params) -> Experiment:
    return Experiment(
        datasource=one(), pipeline=Pipeline([work(**params)]), replicates=replicates, name="clk",
        plugins=[ArtifactPlugin(root_dir="data")],
    )


def _new_run(store, experiment="clk"):
    return store.create_run(
        experiment=experiment, fingerprint="f", spec={}, replicates=1, conditions=["baseline"], base_seed=1
    )


# -- newest = made last ------------------------------------------------------------------------
def test_a_run_made_after_the_clock_stepped_back_is_the_newest(tmp_path, clock):
    with open_store(tmp_path) as store:
        older = _new_run(store)
        store.finish_run(older.run_id, "completed")
        clock[0] = HOUR
        newer = _new_run(store)
        store.finish_run(newer.run_id, "completed")
        assert [run.run_id for run in store.list_runs("clk")] == [newer.run_id, older.run_id]
        assert store.latest_run("clk").run_id == newer.run_id
        assert store.list_runs(limit=1)[0].run_id == newer.run_id


def test_latest_result_and_keep_last_keep_the_run_made_last(clock):
    older = build().run()
    clock[0] = HOUR
    newer = build().run()
    assert latest_result("clk", "data").run_id == newer.run_id
    deleted = delete_runs("data", "clk", keep_last=1)
    assert [run.run_id for run in deleted.runs] == [older.run_id]
    assert [run.run_id for run in list_runs("data", "clk")] == [newer.run_id]


def test_resume_continues_the_run_made_last(clock, monkeypatch):
    build(replicates=3).run()
    clock[0] = HOUR
    monkeypatch.setenv("CLOCK_TEST_FAIL", "1")
    failed = build(replicates=3).run()
    assert len(failed.errors) == 2
    monkeypatch.delenv("CLOCK_TEST_FAIL")
    resumed = build(replicates=3).run(strategy="resume")
    assert resumed.run_id == failed.run_id and resumed.errors == []


# -- durations from the driver's monotonic clock -------------------------------------------------
def test_a_run_during_which_the_clock_stepped_back_keeps_its_duration(clock):
    from crystallize.cli.history import run_row

    began = time.monotonic()
    STEP_BACK[0] = HOUR
    result = build(replicates=1, sleep=0.3).run()
    took = time.monotonic() - began
    (run,) = list_runs("data", "clk")
    assert run.run_id == result.run_id
    assert 0.3 <= run.active_seconds <= took
    assert run.ended_at >= run.started_at + run.active_seconds
    row = run_row(run)
    assert row["ended"] > row["started"] and row["duration"] >= 0.3


def test_a_resumed_run_adds_each_sessions_time_and_not_the_pause(clock, monkeypatch):
    monkeypatch.setenv("CLOCK_TEST_FAIL", "1")
    first = build(replicates=2, sleep=0.2).run()  # replicate 1 fails: resumed below
    monkeypatch.delenv("CLOCK_TEST_FAIL")
    (run,) = list_runs("data", "clk")
    spent = run.active_seconds
    assert 0.4 <= spent < 5
    clock[0] = -2 * HOUR  # resumed "two hours later" by the wall clock
    began = time.monotonic()
    STEP_BACK[0] = 3 * HOUR  # and it steps back during the resume
    build(replicates=2, sleep=0.2).run(strategy="resume")
    took = time.monotonic() - began
    (run,) = list_runs("data", "clk")
    assert run.run_id == first.run_id
    assert spent + 0.2 <= run.active_seconds <= spent + took
    assert run.ended_at >= run.started_at + run.active_seconds


# -- shown times carry their zone ----------------------------------------------------------------
@pytest.mark.parametrize(("zone", "shown"), [("Pacific/Kiritimati", "+14:00"), ("UTC", "+00:00")])
def test_format_time_shows_the_offset(monkeypatch, zone, shown):
    from crystallize.cli.history import format_time

    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        text = format_time(1_795_000_000.0)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert text.endswith(f" {shown}")
    day = "2026-11-18" if zone == "UTC" else "2026-11-19"
    assert text.startswith(day)
