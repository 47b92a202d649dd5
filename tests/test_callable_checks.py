"""User callables are checked when they are given, not in every replicate: a treatment
function (``fn(ctx)``, and one returning its values instead of setting them), a
``SeedPlugin`` ``seed_fn`` (``seed_fn(seed)``) and a ``resource_factory`` function
(``fn(ctx)``; not the resource itself), and a failing factory names itself and its key."""

from __future__ import annotations

import functools
import random
import sqlite3

import numpy as np
import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    Treatment,
    data_source,
    pipeline_step,
    resource_factory,
    treatment,
)
from crystallize.utils.context import FrozenContext


@data_source
def draws(ctx):
    return [1.0, 2.0, 3.0]


@pipeline_step()
def shift(data, *, delta=0.0):
    return data, {"mean": sum(data) / len(data) + delta}


@pipeline_step()
def uses_db(data, ctx):
    ctx["db"]
    return data, {"mean": sum(data) / len(data)}


def _run(treatments=(), initial_ctx=None, pipeline=None, replicates=3):
    experiment = Experiment(
        datasource=draws(),
        pipeline=pipeline or Pipeline([shift()]),
        treatments=list(treatments),
        initial_ctx=initial_ctx,
        replicates=replicates,
        plugins=[ArtifactPlugin(root_dir=None)],
        name="callable_checks",
    )
    return experiment, experiment.run()


# -- a treatment function that returns its values -------------------------------------


def big_shift(ctx):
    return {"delta": 5.0}  # the mistake: ctx.add("delta", 5.0)


def test_a_treatment_function_returning_its_values_fails_saying_how_to_set_them():
    _, result = _run([treatment("big", big_shift)])
    errors = [e for e in result.errors if e.condition == "big"]
    assert len(errors) == 3 and all(e.condition == "big" for e in result.errors)
    error = errors[0]
    assert (error.step, error.exception_type) == ("treatment", "TypeError")
    assert "Treatment 'big'" in error.message
    assert "returned the values {'delta': 5.0}" in error.message
    assert "ctx.add('delta', 5.0)" in error.message
    assert "ctx.override(delta=5.0)" in error.message
    assert "treatment('big', {'delta': 5.0})" in error.message
    assert result.metrics.baseline.metrics["mean"] == [2.0] * 3


def test_apply_raises_for_a_treatment_function_returning_its_values():
    experiment, _ = _run(replicates=1)
    with pytest.raises(TypeError, match=r"Treatment 'big': its function returned the values"):
        experiment.apply(treatment=treatment("big", big_shift))


def test_the_values_of_a_treatment_function_that_sets_them_are_unchanged():
    def override_returns_ctx(ctx):
        return ctx.override(delta=1.0)  # ctx.override returns the context itself

    def sets_and_returns(ctx):
        values = {"delta": 2.0}
        ctx.add("delta", 2.0)
        return values

    def returns_a_list(ctx):
        return [ctx.add(k, v) for k, v in {"delta": 3.0}.items()]

    def sets_one_returns_another(ctx):  # it set its value: what it returns is not checked
        ctx.add("delta", 2.5)
        return {"layers": 12, "width": 512}

    _, result = _run(
        [
            treatment("override", override_returns_ctx),
            treatment("set_and_return", sets_and_returns),
            treatment("listed", returns_a_list),
            treatment("other_return", sets_one_returns_another),
            treatment("plain", lambda ctx: ctx.add("delta", 4.0)),
            treatment("mapping", {"delta": 5.0}),
        ]
    )
    assert result.errors == []
    means = {name: m.metrics["mean"][0] for name, m in result.metrics.treatments.items()}
    assert means == {
        "override": 3.0, "set_and_return": 4.0, "listed": 5.0, "other_return": 4.5, "plain": 6.0, "mapping": 7.0,
    }


def test_a_treatment_function_returning_an_awaitable_fails_without_a_never_awaited_warning(recwarn):
    class AsyncCall:
        async def __call__(self, ctx):
            ctx.add("delta", 1.0)

    _, result = _run([treatment("later", AsyncCall())], replicates=1)
    assert [e.step for e in result.errors] == ["treatment"]
    assert "returned an awaitable" in result.errors[0].message
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


# -- treatment function signatures -----------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (lambda: None, r"takes no positional parameter, so it cannot receive 'ctx'"),
        (lambda ctx, extra: None, r"also requires parameter\(s\) 'extra'"),
        (lambda *, ctx: None, r"parameter 'ctx' is keyword-only"),
    ],
    ids=["no-parameter", "extra-required", "keyword-only"],
)
def test_a_treatment_function_that_cannot_take_the_context_is_refused_when_made(fn, expected):
    with pytest.raises(TypeError, match=expected) as raised:
        treatment("t", fn)
    message = str(raised.value)
    assert "Treatment 't' function is called as fn(ctx)" in message
    assert "treatment('t', {'delta': 10})" in message


def test_an_async_treatment_function_is_refused_when_made():
    async def later(ctx):
        ctx.add("delta", 1.0)

    with pytest.raises(TypeError, match=r"Treatment 'later' function later is an async def"):
        Treatment("later", later)


def test_assigning_a_treatment_function_is_checked_as_the_constructor_checks_it():
    t = treatment("t", {"delta": 1.0})
    with pytest.raises(TypeError, match=r"fn\(ctx\)"):
        t.values = lambda: None
    assert t.values == {"delta": 1.0}


class AddsDelta:
    def __call__(self, ctx, amount=1.0):
        ctx.add("delta", amount)


def _adds(ctx, amount):
    ctx.add("delta", amount)


@pytest.mark.parametrize(
    "fn",
    [
        lambda ctx, *args, scale=1: ctx.add("delta", 1.0),
        lambda *args: args[0].add("delta", 1.0),
        lambda ctx, **kwargs: ctx.add("delta", 1.0),
        AddsDelta(),
        functools.partial(_adds, amount=1.0),
    ],
    ids=["defaults", "star-args", "star-kwargs", "callable-object", "partial"],
)
def test_treatment_functions_that_can_take_the_context_are_accepted(fn):
    _, result = _run([treatment("t", fn)], replicates=1)
    assert result.errors == []
    assert result.metrics.treatments["t"].metrics["mean"] == [3.0]


# -- seed_fn -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed_fn", "expected"),
    [
        (lambda: None, r"takes no positional parameter, so it cannot receive 'seed'"),
        (lambda seed, other: None, r"also requires parameter\(s\) 'other'"),
        (lambda *, seed: None, r"parameter 'seed' is keyword-only"),
    ],
    ids=["no-parameter", "extra-required", "keyword-only"],
)
def test_a_seed_fn_that_cannot_take_the_seed_is_refused_when_made(seed_fn, expected):
    with pytest.raises(TypeError, match=expected) as raised:
        SeedPlugin(seed=1, seed_fn=seed_fn)
    assert "SeedPlugin seed_fn is called as seed_fn(seed)" in str(raised.value)


def test_an_async_seed_fn_is_refused_when_made():
    async def seed_later(seed):
        random.seed(seed)

    with pytest.raises(TypeError, match=r"seed_fn seed_later is an async def"):
        SeedPlugin(seed_fn=seed_later)


@pytest.mark.parametrize(
    "seed_fn",
    [random.seed, np.random.seed, [].append, lambda seed, offset=0: None, lambda *args: None, print],
    ids=["random.seed", "np.random.seed", "list.append", "default", "star-args", "builtin"],
)
def test_seed_fns_that_can_take_the_seed_are_accepted(seed_fn):
    assert SeedPlugin(seed=1, seed_fn=seed_fn).seed_fn is seed_fn


def test_the_seed_pages_seed_fn_still_seeds_every_replicate():
    seen = []

    def seed_all(seed: int) -> None:
        seen.append(seed)
        random.seed(seed)
        np.random.seed(seed % (2**32 - 1))

    experiment = Experiment(
        datasource=draws(), pipeline=Pipeline([shift()]), replicates=2,
        plugins=[SeedPlugin(seed=123, seed_fn=seed_all), ArtifactPlugin(root_dir=None)],
    )
    assert experiment.run().errors == []
    assert sorted(seen) == [123, 123 + 31337]


# -- resource_factory --------------------------------------------------------------


def test_a_resource_factory_function_without_the_context_is_refused_when_made():
    with pytest.raises(TypeError, match=r"resource_factory function is called as fn\(ctx\)") as raised:
        resource_factory(lambda: 1)
    assert "cannot receive 'ctx'" in str(raised.value)
    with pytest.raises(TypeError, match=r"also requires parameter\(s\) 'path'"):
        resource_factory(lambda ctx, path: 1)


def test_the_resource_itself_is_refused_with_what_to_pass_instead():
    connection = sqlite3.connect(":memory:")
    try:
        with pytest.raises(TypeError) as raised:
            resource_factory(connection)
    finally:
        connection.close()
    message = str(raised.value)
    assert "resource_factory takes a function that builds the resource" in message
    assert "got a sqlite3.Connection" in message
    assert "lambda ctx: sqlite3.connect(...)" in message


def test_what_is_not_callable_is_refused_with_the_same_advice():
    with pytest.raises(TypeError, match=r"resource_factory takes a function that builds the resource.*got an int"):
        resource_factory(5)


def connect(ctx: FrozenContext):
    return sqlite3.connect(":memory:")


class Loader:
    def __call__(self, ctx):
        return "model"


@pytest.mark.parametrize(
    "fn",
    [
        connect,
        sqlite3.connect,  # a builtin whose signature cannot be read: accepted
        functools.partial(sqlite3.connect, ":memory:"),
        functools.cache(lambda ctx: "cached"),
        Loader(),
        lambda ctx=None, *args: "x",
        dict,
    ],
    ids=["function", "builtin", "partial", "lru-cache", "callable-object", "defaults", "class"],
)
def test_resource_factories_that_can_take_the_context_are_accepted(fn):
    assert resource_factory(fn).fn is fn


def test_the_seed_pages_resource_factory_still_works():
    _, result = _run(initial_ctx={"db": resource_factory(connect)}, pipeline=Pipeline([uses_db()]))
    assert result.errors == []


def db_down(ctx):
    raise OSError("db down")


def test_a_failing_factory_is_named_with_its_context_key_and_keeps_its_exception():
    from crystallize.resources import factory_failure_note

    _, result = _run(initial_ctx={"db": resource_factory(db_down)}, pipeline=Pipeline([uses_db()]))
    assert {e.exception_type for e in result.errors} == {"OSError"}
    assert "raised in the resource factory 'db_down' building the resource of context key 'db'" in (
        result.errors[0].traceback
    )
    message = result.errors[0].message  # what the report and `crystallize show` print
    assert message.startswith("db down") and "resource factory 'db_down'" in message
    ctx = FrozenContext({"db": resource_factory(db_down)})
    with pytest.raises(OSError, match="db down") as raised:
        ctx["db"]
    note = factory_failure_note(raised.value)
    assert "'db_down'" in note and "context key 'db'" in note and "the factory failed" in note
    assert factory_failure_note(OSError("other")) == ""


def test_a_factory_failing_inside_another_is_the_one_named_first():
    from crystallize.resources import factory_failure_note

    def inner(ctx):
        raise ConnectionError("no server")

    def outer(ctx):
        return ctx["conn"]

    ctx = FrozenContext({"conn": resource_factory(inner), "client": resource_factory(outer)})
    with pytest.raises(ConnectionError) as raised:
        ctx["client"]
    assert "'test_a_factory_failing_inside_another_is_the_one_named_first.<locals>.inner'" in (
        factory_failure_note(raised.value)
    )
    assert "context key 'conn'" in factory_failure_note(raised.value)
    assert any("context key 'client'" in note for note in raised.value.__notes__)
