"""The engine's cyclic-GC pacing during runs."""

from __future__ import annotations

import gc

import pytest

from crystallize import Experiment, Pipeline, data_source, pipeline_step
from crystallize.utils.gc_pacing import RUN_GC_THRESHOLD, paced_gc


@pytest.fixture(autouse=True)
def _default_thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_threshold_is_raised_inside_and_restored_after_nested_blocks():
    with paced_gc():
        assert gc.get_threshold() == (RUN_GC_THRESHOLD, 10, 10)
        with paced_gc():
            assert gc.get_threshold()[0] == RUN_GC_THRESHOLD
        assert gc.get_threshold()[0] == RUN_GC_THRESHOLD  # the outer run still goes on
    assert gc.get_threshold() == (700, 10, 10)


def test_higher_thresholds_and_changes_made_meanwhile_are_respected():
    gc.set_threshold(50_000, 10, 10)
    with paced_gc():
        assert gc.get_threshold()[0] == 50_000
    assert gc.get_threshold()[0] == 50_000
    gc.set_threshold(700, 10, 10)
    with paced_gc():
        gc.set_threshold(1234, 5, 5)  # the user's own choice wins
    assert gc.get_threshold() == (1234, 5, 5)


def test_a_run_paces_the_collector_and_puts_it_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = []

    @data_source
    def number(ctx):
        return ctx["replicate"]

    @pipeline_step()
    def look(data, ctx):
        seen.append(gc.get_threshold()[0])
        return data, {"x": data}

    Experiment(datasource=number(), pipeline=Pipeline([look()]), replicates=2).run()
    assert seen == [RUN_GC_THRESHOLD, RUN_GC_THRESHOLD]
    assert gc.get_threshold() == (700, 10, 10)
