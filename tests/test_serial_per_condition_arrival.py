"""Serial runs hand over each condition's record as soon as it finishes, not once every
condition of its replicate has run: progress moves within a replicate (a run of one slow
replicate is not stuck at 0), ``fail_fast`` stops at the failing condition, and leaving a
stream early runs no further condition."""

from __future__ import annotations

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.exceptions import RunFailedError

ran: list[str] = []


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def work(data, ctx, *, fail_in=""):
    ran.append(ctx["condition"])
    if ctx["condition"] == fail_in:
        raise ValueError("this condition fails")
    return data, {"m": 1.0}


def _experiment(replicates=1, **params):
    ran.clear()
    return Experiment(
        datasource=zero(), pipeline=Pipeline([work(**params)]), replicates=replicates,
        treatments=[treatment("a", {"x": 1}), treatment("b", {"x": 2})],
        plugins=[ArtifactPlugin(root_dir=None)], name="arrival",
    )


def test_each_condition_arrives_before_the_next_one_runs():
    events = []
    stream = _experiment().stream()
    for record in stream:
        events.append(("ran", list(ran)))
        events.append(("seen", record.condition))
    assert events == [
        ("ran", ["baseline"]), ("seen", "baseline"),
        ("ran", ["baseline", "a"]), ("seen", "a"),
        ("ran", ["baseline", "a", "b"]), ("seen", "b"),
    ]
    assert stream.result is not None and len(stream.result.records) == 3


def test_leaving_the_stream_runs_no_further_condition():
    stream = _experiment(replicates=2).stream()
    for record in stream:
        assert record.condition == "baseline"
        break
    assert ran == ["baseline"]


def test_fail_fast_stops_at_the_failing_condition():
    with pytest.raises(RunFailedError) as info:
        _experiment(replicates=2, fail_in="a").run(fail_fast=True)
    assert ran == ["baseline", "a"]  # b never ran
    assert [(r.condition, r.replicate) for r in info.value.result.records] == [("baseline", 0), ("a", 0)]
