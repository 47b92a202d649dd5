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


def test_missing_key_names_key_suggests_closest_and_lists_keys():
    ctx = standalone_context({"delta": 2, "lr": 0.1})
    with pytest.raises(KeyError) as info:
        ctx["detla"]
    message = str(info.value)
    assert "'detla'" in message
    assert "did you mean 'delta'?" in message
    assert "condition, delta, lr, replicate" in message
    assert info.value.key == "detla"


def test_missing_key_error_is_catchable_as_key_error_and_pickles():
    from crystallize.utils.context import MissingContextKeyError

    ctx = FrozenContext({"a": 1})
    try:
        ctx["zzz"]
    except KeyError as exc:
        error = exc
    assert isinstance(error, MissingContextKeyError)
    assert "did you mean" not in str(error) and "Available keys: a." in str(error)
    clone = pickle.loads(pickle.dumps(error))
    assert str(clone) == str(error) and clone.key == "zzz"


def test_missing_key_in_a_step_is_reported_with_the_suggestion():
    from crystallize import Experiment, Pipeline, data_source, pipeline_step, treatment

    @data_source
    def one(ctx):
        return 1

    @pipeline_step()
    def typo(data, ctx):
        return data + ctx["detla"]

    result = Experiment(
        datasource=one(),
        pipeline=Pipeline([typo()]),
        treatments=[treatment("big", {"delta": 5})],
    ).run()
    messages = {error.condition: error.message for error in result.errors}
    assert "did you mean 'delta'?" in messages["big"]
    assert "'detla'" in messages["baseline"] and "Available keys:" in messages["baseline"]


def test_record_rejects_tags_that_are_not_a_mapping():
    ctx = FrozenContext()
    ctx.record("acc", 0.5)
    with pytest.raises(TypeError, match=r"Metric 'acc': tags must be a mapping"):
        ctx.record("acc", 0.9, tags="val")
    with pytest.raises(TypeError, match="tags must be a mapping"):
        ctx.metrics.add("loss", 1.0, tags=[("split", "val")])
    # nothing was recorded by the rejected calls
    assert ctx.metrics.as_dict() == {"acc": [0.5]}
    assert ctx.metrics.log == [("acc", 0.5)]
    assert "loss" not in ctx.metrics


def test_record_accepts_any_mapping_as_tags():
    from types import MappingProxyType

    ctx = FrozenContext()
    ctx.metrics.add("loss", 0.5)
    ctx.record("acc", 0.9, tags=MappingProxyType({"split": "val"}))
    ctx.metrics.add("loss", 0.25)
    assert ctx.metrics.tags("acc") == [{"split": "val"}]
    assert ctx.metrics.tags("loss") == [None, None]
    assert ctx.metrics.log == [("loss", 0.5), ("acc", 0.9), ("loss", 0.25)]


def test_a_recorded_value_is_not_changed_by_later_mutation():
    import numpy as np

    ctx = FrozenContext({})
    weights = np.zeros(2)
    history = [1]
    ctx.metrics.add("w_before", weights)
    ctx.record("history", history)
    weights += 5
    history.append(2)
    assert ctx.metrics.as_dict()["w_before"][0].tolist() == [0.0, 0.0]
    assert ctx.metrics.as_dict()["history"] == [[1]]
    scalar = np.float64(1.5)
    ctx.metrics.add("s", scalar)
    assert ctx.metrics.as_dict()["s"][0] is scalar


def test_metric_names_must_be_strings():
    ctx = FrozenContext({})
    with pytest.raises(TypeError, match=r"Metric names must be strings, got 0 \(int\).*another container"):
        ctx.metrics.add(0, "cat")


def test_an_empty_metric_name_is_refused():
    class Name(str):
        pass

    ctx = FrozenContext({})
    with pytest.raises(ValueError, match="A metric name cannot be empty"):
        ctx.metrics.add("", 1.0)
    with pytest.raises(ValueError, match="A metric name cannot be empty"):
        ctx.record("", 1.0, tags={"split": "val"})
    with pytest.raises(ValueError, match="A metric name cannot be empty"):
        ctx.metrics.add(Name(""), 1.0)
    ctx.metrics.add(Name("loss"), 1.0)  # a str subclass with a name is a name
    assert ctx.metrics.as_dict() == {"loss": [1.0]}


def test_a_step_returning_an_empty_metric_name_fails_its_replicate():
    from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step

    @data_source
    def one(ctx):
        return 1

    @pipeline_step()
    def unnamed(data, ctx):
        return data, {"m": 1.0, "": 2.0}

    result = Experiment(
        datasource=one(), pipeline=Pipeline([unnamed()]), replicates=1, name="unnamed",
        plugins=[ArtifactPlugin(root_dir=None)],
    ).run()
    assert "" not in result.metrics.baseline.metrics
    [error] = result.errors
    assert error.exception_type == "ValueError" and "metric name cannot be empty" in error.message


def test_metrics_read_like_a_dict():
    ctx = standalone_context()
    ctx.metrics.add("loss", 0.5)
    ctx.record("acc", 0.9, tags={"split": "val"})
    ctx.metrics.add("loss", 0.25)
    assert dict(ctx.metrics) == {"loss": [0.5, 0.25], "acc": [0.9]}
    assert list(ctx.metrics.keys()) == ["loss", "acc"]
    assert list(ctx.metrics.items()) == [("loss", [0.5, 0.25]), ("acc", [0.9])]
    assert list(ctx.metrics.values()) == [[0.5, 0.25], [0.9]]
