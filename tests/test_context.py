import pickle

import pytest

from crystallize import ContextMutationError, FrozenContext, standalone_context
from crystallize.utils.context import FrozenContext as FrozenContextFromModule


def test_importable_from_module_and_top_level():
    assert FrozenContext is FrozenContextFromModule


def test_read_access():
    ctx = FrozenContext({"a": 1})
    assert ctx["a"] == 1
    assert ctx.get("a") == 1
    assert ctx.get("missing") is None
    assert ctx.get("missing", 5) == 5
    assert "a" in ctx and "b" not in ctx
    assert ctx.as_dict() == {"a": 1}
    with pytest.raises(KeyError):
        ctx["missing"]


def test_add_new_key_and_refuse_existing():
    ctx = FrozenContext({"a": 1})
    ctx.add("b", 2)
    assert ctx["b"] == 2
    with pytest.raises(ContextMutationError, match="override"):
        ctx.add("a", 3)
    assert ctx["a"] == 1


def test_item_assignment_always_raises():
    ctx = FrozenContext({"a": 1})
    with pytest.raises(ContextMutationError):
        ctx["a"] = 2
    with pytest.raises(ContextMutationError):
        ctx["new"] = 2
    assert "new" not in ctx


def test_override_replaces_deliberately():
    ctx = FrozenContext({"a": 1})
    ctx.override(a=10, b=20)
    assert ctx["a"] == 10 and ctx["b"] == 20


def test_as_dict_is_a_copy():
    ctx = FrozenContext({"a": 1})
    d = ctx.as_dict()
    d["a"] = 99
    assert ctx["a"] == 1


def test_metrics_and_record():
    ctx = FrozenContext()
    ctx.metrics.add("loss", 0.5)
    ctx.metrics.add("loss", 0.25)
    ctx.record("acc", 0.9, tags={"split": "val"})
    assert ctx.metrics["loss"] == [0.5, 0.25]
    assert ctx.metrics.as_dict() == {"loss": [0.5, 0.25], "acc": [0.9]}
    assert ctx.metrics.tags("acc") == [{"split": "val"}]
    assert ctx.metrics.tags("loss") == [None, None]


def test_standalone_context_defaults_and_overrides():
    ctx = standalone_context({"delta": 3})
    assert ctx["delta"] == 3
    assert ctx["replicate"] == 0
    assert ctx["condition"] == "baseline"
    assert standalone_context({"replicate": 4})["replicate"] == 4


def test_context_pickles_with_metrics():
    ctx = FrozenContext({"a": [1, 2]})
    ctx.metrics.add("m", 1)
    clone = pickle.loads(pickle.dumps(ctx))
    assert clone["a"] == [1, 2]
    assert clone.metrics["m"] == [1]
