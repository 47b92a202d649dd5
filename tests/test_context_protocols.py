"""FrozenContext's object protocols: copy/pickle keep its whole state, attributes cannot
be reassigned, and it is a read-only Mapping."""

import copy
import pickle
from collections.abc import Mapping

import pytest

from crystallize import ContextMutationError, FrozenContext, resource_factory, standalone_context
from crystallize.utils.read_tracking import reads_noted, track_reads


class _Location:
    """A stand-in for the engine's artifact location (picklable, compares by value)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Location) and other.root == self.root

    __hash__ = None  # type: ignore[assignment]


def _used_context(sink=None) -> FrozenContext:
    ctx = standalone_context({"x": [1, 2]})
    ctx.event_sink = sink
    ctx.artifact_location = _Location("/runs/a")
    ctx.artifacts_written = ["model"]
    ctx.metrics.add("loss", 0.5)
    ctx.record("acc", 0.7, tags={"split": "val"})
    ctx.emit("epoch", n=1)
    return ctx


def _pickled(protocol):
    return lambda ctx: pickle.loads(pickle.dumps(ctx, protocol))


COPIES = {"copy": copy.copy, "deepcopy": copy.deepcopy, **{f"pickle{p}": _pickled(p) for p in range(6)}}


# -- 1. copy and pickle keep everything that is state ------------------------------------
@pytest.mark.parametrize("how", COPIES)
def test_copy_and_pickle_keep_tags_log_events_and_artifacts(how):
    ctx = _used_context()
    clone = COPIES[how](ctx)
    assert type(clone) is FrozenContext
    assert clone.as_dict() == ctx.as_dict()
    assert clone.metrics.as_dict() == {"loss": [0.5], "acc": [0.7]}
    assert clone.metrics.all_tags() == {"loss": [None], "acc": [{"split": "val"}]}
    assert clone.metrics.tags("loss") == [None]
    assert clone.metrics.log == [("loss", 0.5), ("acc", 0.7)]
    assert clone._events == [("epoch", {"n": 1})]
    assert clone.artifact_location == _Location("/runs/a")
    assert clone.artifacts_written == ["model"]


@pytest.mark.parametrize("how", COPIES)
def test_copies_are_independent_of_the_original(how):
    ctx = _used_context()
    clone = COPIES[how](ctx)
    clone.add("new", 1)
    clone.record("acc", 0.9, tags={"split": "test"})
    clone.metrics.add("loss", 0.1)
    clone.emit("epoch", n=2)
    clone.artifacts_written.append("more")
    assert "new" not in ctx
    assert ctx.metrics.as_dict() == {"loss": [0.5], "acc": [0.7]}
    assert ctx.metrics.all_tags() == {"loss": [None], "acc": [{"split": "val"}]}
    assert ctx.metrics.log == [("loss", 0.5), ("acc", 0.7)]
    assert ctx._events == [("epoch", {"n": 1})]
    assert ctx.artifacts_written == ["model"]
    assert clone.metrics.tags("acc") == [{"split": "val"}, {"split": "test"}]


def test_copies_keep_the_event_sink_but_pickles_drop_it():
    received = []
    ctx = _used_context(sink=received.append)
    for clone in (copy.copy(ctx), copy.deepcopy(ctx)):
        assert clone.event_sink is ctx.event_sink  # the same live channel, never copied
    clone = pickle.loads(pickle.dumps(ctx))
    assert clone.event_sink is None
    clone.emit("late", n=3)  # delivered nowhere, but kept in the context
    assert clone._events[-1] == ("late", {"n": 3})


def test_fresh_context_copies_and_pickles():
    ctx = FrozenContext({"a": 1})
    for clone in (copy.copy(ctx), copy.deepcopy(ctx), pickle.loads(pickle.dumps(ctx))):
        assert clone.as_dict() == {"a": 1}
        assert clone.metrics.all_tags() is None
        assert clone._events is None
        assert clone.artifact_location is None and clone.event_sink is None


def test_tracked_context_copy_notes_every_read():
    ctx = standalone_context({"a": 1})
    ctx.record("acc", 0.5, tags={"k": 1})
    track_reads(ctx)
    clone = copy.copy(ctx)
    reads, _ = reads_noted(ctx)
    assert {"a", "replicate", "condition", "<keys>", "<metrics>"} <= set(reads)
    assert clone.metrics.all_tags() == {"acc": [{"k": 1}]}


# -- 2. attributes cannot be reassigned ----------------------------------------------------
def test_assigning_metrics_raises_context_mutation_error():
    ctx = standalone_context({"a": 1})
    with pytest.raises(ContextMutationError, match=r"ctx\.metrics.*frozen.*ctx\.record"):
        ctx.metrics = None
    ctx.record("acc", 0.5)  # still intact
    assert copy.copy(ctx).metrics["acc"] == [0.5]


def test_unknown_attributes_cannot_be_added():
    ctx = standalone_context()
    with pytest.raises(AttributeError):
        ctx.anything = 1


@pytest.mark.parametrize("name", ["artifact_location", "artifacts_written", "event_sink"])
def test_engine_attributes_are_set_once(name):
    ctx = standalone_context()
    setattr(ctx, name, [1])  # the engine (or a test) wires a fresh context once
    assert getattr(ctx, name) == [1]
    with pytest.raises(ContextMutationError, match=name):
        setattr(ctx, name, None)
    assert getattr(ctx, name) == [1]


def test_owning_sets_the_engine_attributes_once():
    written = []
    ctx = FrozenContext.owning({"a": 1}, artifact_location="loc", artifacts_written=written, event_sink=print)
    assert (ctx.artifact_location, ctx.artifacts_written, ctx.event_sink) == ("loc", written, print)
    with pytest.raises(ContextMutationError, match="event_sink"):
        ctx.event_sink = None


def test_deleting_attributes_raises():
    ctx = standalone_context()
    with pytest.raises(ContextMutationError, match="metrics"):
        del ctx.metrics


def test_tracked_context_refuses_assignment_too():
    ctx = standalone_context()
    track_reads(ctx)
    with pytest.raises(ContextMutationError):
        ctx.metrics = None
    reads_noted(ctx)
    assert type(ctx) is FrozenContext


# -- 3. a read-only Mapping ---------------------------------------------------------------
def test_is_a_read_only_mapping():
    ctx = FrozenContext({"a": 1, "b": [2]})
    assert isinstance(ctx, Mapping)
    assert list(ctx.items()) == [("a", 1), ("b", [2])]
    assert list(ctx.values()) == [1, [2]]
    assert dict(ctx) == {"a": 1, "b": [2]}
    assert list(reversed(ctx)) == ["b", "a"]
    with pytest.raises(ContextMutationError):
        ctx["a"] = 3


def test_equality_is_by_keys_and_values():
    ctx = FrozenContext({"a": 1, "b": [2]})
    same = FrozenContext({"b": [2], "a": 1})
    same.record("acc", 0.1)  # metrics, events and wiring are not part of equality
    assert ctx == same
    assert not ctx != same  # noqa: SIM202 - the != operator itself
    plain = {"a": 1, "b": [2]}
    assert ctx == plain
    assert plain == ctx  # dict.__eq__ defers to the context
    assert ctx == ctx.as_dict()
    assert ctx != FrozenContext({"a": 1})
    assert ctx != FrozenContext({"a": 1, "b": [3]})
    assert ctx != [("a", 1), ("b", [2])]
    with pytest.raises(TypeError):
        hash(ctx)


def test_values_and_items_build_resources_but_equality_does_not():
    built = []

    def connect(ctx):
        built.append(1)
        return "conn"

    factory = resource_factory(connect)
    ctx = FrozenContext({"db": factory})
    assert ctx == FrozenContext({"db": factory})
    assert built == []
    assert list(ctx.values()) == ["conn"] and dict(ctx.items()) == {"db": "conn"}


def test_tracked_context_notes_items_values_equality_and_reversed():
    for read in (
        lambda c: list(c.items()),
        lambda c: list(c.values()),
        lambda c: c == {"a": 1},
        lambda c: list(reversed(c)),
    ):
        ctx = FrozenContext({"a": 1})
        track_reads(ctx)
        read(ctx)
        reads, _ = reads_noted(ctx)
        assert {"a", "<keys>"} <= set(reads)
