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
