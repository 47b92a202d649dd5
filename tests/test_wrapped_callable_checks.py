"""The signature checks of user callables check what the engine calls: a function
decorated with a ``functools.wraps`` wrapper that fills in an argument itself is accepted
(the check read the undecorated signature, through ``__wrapped__``, and refused it), and
a ``resource_factory`` given a C callable whose signature cannot be read
(``operator.itemgetter``) is accepted unless it looks like the resource itself."""

from __future__ import annotations

import functools
import operator
import sqlite3

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    resource_factory,
    treatment,
)


def with_scale(fn):
    @functools.wraps(fn)  # the engine calls wrapper(ctx); fn itself takes two arguments
    def wrapper(ctx):
        return fn(ctx, 10)

    return wrapper


@with_scale
def bump(ctx, scale):
    ctx.add("delta", scale)


@with_scale
def make_client(ctx, scale):
    return {"scale": scale}


def seeding(fn):
    @functools.wraps(fn)
    def wrapper(seed):
        return fn(seed, [])

    return wrapper


@seeding
def seed_all(seed, seen):
    seen.append(seed)


@data_source
def one(ctx):
    return 1


@pipeline_step()
def add(data, ctx, *, delta=0):
    ctx.metrics.add("x", data + delta + ctx["client"]["scale"])
    return data


def test_a_wrapper_filling_in_an_argument_is_accepted_and_runs():
    SeedPlugin(seed_fn=seed_all)  # no TypeError
    experiment = Experiment(
        datasource=one(),
        pipeline=Pipeline([add()]),
        initial_ctx={"client": resource_factory(make_client)},
        treatments=[treatment("bumped", bump)],
        plugins=[ArtifactPlugin(root_dir=None)],
        name="wrapped_checks",
    )
    result = experiment.run()
    assert not result.errors, result.errors
    assert result.metrics.baseline.metrics["x"] == [11]
    assert result.metrics.treatments["bumped"].metrics["x"] == [21]


def test_a_wrapper_the_engine_cannot_call_is_still_refused():
    def strict(fn):
        @functools.wraps(fn)
        def wrapper(ctx, extra):  # what is called needs two arguments
            return fn(ctx)

        return wrapper

    @strict
    def fine(ctx):
        ctx.add("delta", 1)

    with pytest.raises(TypeError, match=r"wrapper|fine"):
        treatment("t", fine)
    with pytest.raises(TypeError, match=r"also requires parameter\(s\) 'extra'"):
        resource_factory(fine)


def test_a_c_wrapper_is_checked_by_the_function_it_wraps():
    with pytest.raises(TypeError, match=r"also requires parameter\(s\) 'extra'"):
        treatment("t", functools.lru_cache(lambda ctx, extra: None))
    treatment("t", functools.lru_cache(lambda ctx: None))


@pytest.mark.parametrize("fn", [operator.itemgetter("path"), operator.methodcaller("get", "path")])
def test_a_c_callable_without_a_readable_signature_is_accepted_as_a_factory(fn):
    factory = resource_factory(fn, key="path")
    assert factory.fn is fn


def test_the_resource_itself_is_still_refused():
    connection = sqlite3.connect(":memory:")
    try:
        with pytest.raises(TypeError, match="got a sqlite3.Connection"):
            resource_factory(connection)
    finally:
        connection.close()
