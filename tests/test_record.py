"""StepRecord: an immutable named tuple with fresh default containers."""

from __future__ import annotations

import pickle

import pytest

from crystallize.record import StepRecord


def test_step_record_defaults_are_fresh_and_fields_named():
    first, second = StepRecord("a", {}), StepRecord("b", {"k": 1}, duration=0.5)
    assert first.ctx_reads == {} and first.ctx_reads is not second.ctx_reads
    assert first.artifacts == [] and first.artifacts is not second.artifacts
    assert second.duration == 0.5 and second.params == {"k": 1} and not second.cache_hit
    assert second.as_dict()["name"] == "b"
    assert list(second.as_dict()) == list(StepRecord.field_names)


def test_step_record_is_immutable_and_pickles():
    step = StepRecord("a", {"x": 1}, "in", "out", True)
    with pytest.raises(AttributeError):
        step.name = "b"  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(step))
    assert back == step and type(back) is StepRecord


def test_provenance_carries_metric_tags_only_when_there_are_some():
    from crystallize.record import ReplicateRecord

    tags = {"acc": [{"split": "train"}, None]}
    tagged = ReplicateRecord("baseline", 0, 1, {"acc": [0.9, 0.7]}, [], metric_tags=tags)
    assert tagged.provenance()["metric_tags"] == tags
    assert "metric_tags" not in ReplicateRecord("baseline", 0, 1, {"acc": [0.9]}, []).provenance()


def test_replicate_errors_read_by_attribute_or_by_key():
    from crystallize import Experiment, Pipeline, data_source, pipeline_step

    @data_source
    def numbers(ctx):
        return ctx["replicate"]

    @pipeline_step()
    def fail_on_one(data, ctx):
        if data == 1:
            raise ValueError("boom at 1")
        return data, {"value": data}

    result = Experiment(datasource=numbers(), pipeline=Pipeline([fail_on_one()]), replicates=3).run()
    (error,) = result.errors
    assert (error.condition, error.replicate, error.step) == ("baseline", 1, "fail_on_one")
    assert (error["condition"], error["replicate"], error["step"]) == ("baseline", 1, "fail_on_one")
    assert error["message"] == error.message == "boom at 1"
    assert error["exception_type"] == "ValueError"
    with pytest.raises(KeyError, match="'exception'.*condition, replicate, step, message"):
        error["exception"]
    with pytest.raises(TypeError, match="not iterable"):
        iter(error)


def test_a_replicate_errors_repr_leaves_out_the_traceback():
    from crystallize.record import ReplicateError

    error = ReplicateError("baseline", 3, "fit", "diverged", "ValueError", "Traceback...\n  File x\nValueError: diverged\n")
    assert repr(error) == (
        "ReplicateError(condition='baseline', replicate=3, step='fit', exception_type='ValueError', "
        "message='diverged', traceback=<3 lines>)"
    )
    assert "traceback" not in repr(ReplicateError("t", 0, "datasource", "gone", "OSError"))
