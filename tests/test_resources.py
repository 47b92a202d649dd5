import os
import pickle

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    resource_factory,
)
from crystallize.utils.context import FrozenContext

CREATED = []


def make_resource(ctx):
    CREATED.append(os.getpid())
    return {"pid": os.getpid(), "token": object()}


@data_source
def nothing(ctx):
    return None


@pipeline_step()
def use_resource(data, ctx):
    resource = ctx["res"]
    ctx.metrics.add("pid", resource["pid"])
    ctx.metrics.add("token", id(resource["token"]))
    return data


def test_factory_runs_once_in_total_for_serial_runs():
    CREATED.clear()
    experiment = Experiment(
        datasource=nothing(),
        pipeline=Pipeline([use_resource()]),
        initial_ctx={"res": resource_factory(make_resource)},
        replicates=5,
    )
    result = experiment.run()
    assert [os.getpid()] == CREATED
    assert len(set(result.metrics.baseline.metrics["token"])) == 1


def test_factory_runs_once_per_worker_process():
    experiment = Experiment(
        datasource=nothing(),
        pipeline=Pipeline([use_resource()]),
        initial_ctx={"res": resource_factory(make_resource)},
        plugins=[ParallelExecution(max_workers=2, executor_type="process")],
        replicates=12,
    )
    result = experiment.run()
    pids = result.metrics.baseline.metrics["pid"]
    tokens = result.metrics.baseline.metrics["token"]
    assert os.getpid() not in pids
    # one resource per worker: tokens and pids pair up one to one
    assert len(set(zip(pids, tokens, strict=True))) == len(set(pids)) <= 2


def test_wrapper_pickles_without_the_resource():
    factory = resource_factory(make_resource, key="explicit")
    ctx = FrozenContext({"res": factory})
    live = ctx["res"]
    clone = pickle.loads(pickle.dumps(factory))
    assert clone.key == "explicit"
    assert ctx["res"] is live  # cached


def _reading(value_factory):
    return Experiment(
        datasource=nothing(), pipeline=Pipeline([use_resource()]), replicates=1,
        initial_ctx={"res": value_factory},
    )


def test_factories_of_lookalike_lambdas_never_share_a_resource(monkeypatch):
    import crystallize.resources as resources

    # Python reuses the id of a freed object; make every id collide to show that a
    # factory's resource never depends on it.
    monkeypatch.setattr(resources, "id", lambda obj: 1, raising=False)
    results = []
    for label in ("model-A", "model-B"):
        factory = resource_factory(lambda ctx, label=label: {"pid": os.getpid(), "token": label})
        results.append(FrozenContext({"res": factory})["res"]["token"])
    assert results == ["model-A", "model-B"]


def test_same_key_shares_one_resource_and_the_key_is_readable():
    first = resource_factory(make_resource, key="db")
    second = resource_factory(make_resource, key="db")
    assert first.key == "db"
    assert FrozenContext({"r": first})["r"] is FrozenContext({"r": second})["r"]
    assert resource_factory(make_resource).key == f"{__name__}.make_resource"


def test_the_fingerprint_does_not_change_with_each_factory_object():
    from crystallize.fingerprint import fingerprint, spec_of

    one = fingerprint(spec_of(_reading(resource_factory(make_resource))))
    other = fingerprint(spec_of(_reading(resource_factory(make_resource))))
    assert one == other  # so a run with a resource can be resumed by a new process


MADE: list[int] = []


def _load_model(ctx):
    MADE.append(1)
    return bytearray(10)


def test_a_resource_goes_when_its_last_factory_does():
    import gc
    import pickle

    from crystallize import resource_factory
    from crystallize.resources import _CACHE
    from crystallize.utils.context import FrozenContext

    MADE.clear()
    factory = resource_factory(_load_model)
    ctx = FrozenContext({"model": factory})
    ctx["model"]
    copy_of_it = pickle.loads(pickle.dumps(factory))  # as a worker or apply() would hold it
    assert ctx["model"] is copy_of_it.get(ctx) and MADE == [1]
    before = len(_CACHE)
    del factory, ctx
    gc.collect()
    assert len(_CACHE) == before, "a copy still holds it"
    del copy_of_it
    gc.collect()
    assert len(_CACHE) == before - 1


def test_a_lambda_or_closure_factory_works_under_process_execution():
    offset = 40  # captured by the closure: travels by value with the factory

    def connect(ctx):
        return {"pid": os.getpid(), "token": object(), "answer": offset + 2}

    @pipeline_step()
    def answer(data, ctx):
        return data, {"answer": ctx["res"]["answer"], "pid": ctx["res"]["pid"], "also": ctx["one"]}

    experiment = Experiment(
        datasource=nothing(),
        pipeline=Pipeline([answer()]),
        initial_ctx={"res": resource_factory(connect), "one": resource_factory(lambda ctx: 1)},
        plugins=[ParallelExecution(max_workers=2, executor_type="process")],
        replicates=4,
    )
    # the step itself is local too, so pickle the factories alone, as workers receive them
    for factory in experiment.initial_ctx.values():
        copy = pickle.loads(pickle.dumps(factory))
        assert copy.key == factory.key and copy.fn(FrozenContext({}))
    experiment.pipeline = Pipeline([use_resource()])  # a module-level step for the run
    result = experiment.run()
    assert not result.errors
    assert os.getpid() not in result.metrics.baseline.metrics["pid"]


def _open_here(ctx):
    import sqlite3

    return sqlite3.connect(":memory:")


@pipeline_step()
def query(data, ctx):
    return data, {"one": ctx["db"].execute("select 1").fetchone()[0]}


def test_a_sqlite_connection_shared_by_threads_fails_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    factory = resource_factory(_open_here)
    experiment = Experiment(
        datasource=nothing(),
        pipeline=Pipeline([query()]),
        initial_ctx={"db": factory},
        plugins=[ParallelExecution(max_workers=2, executor_type="thread")],
        replicates=2,
    )
    factory.get(FrozenContext({}))  # opened by this thread: every worker thread's use fails
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the thread-seeding warning
        result = experiment.run()
    assert len(result.errors) == 2
    assert all("check_same_thread=False" in error.message for error in result.errors)
    assert "executor_type='process'" in result.errors[0].message


class _Model:
    def __init__(self, k):
        self.k = k


@pipeline_step(cacheable=True)
def _times_k(data, ctx):
    return data, {"total": data * ctx["model"].k}


def test_a_keyed_factory_redefined_with_other_code_keys_the_cache_by_the_resource_in_use(tmp_path):
    @data_source
    def one(ctx):
        return 1

    def experiment(factory):
        return Experiment(
            datasource=one(), pipeline=Pipeline([_times_k()]), initial_ctx={"model": factory},
            plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path))], name="keyed_model",
        )

    first = resource_factory(lambda ctx: _Model(10), key="redefined-model")
    assert experiment(first).run().metrics.baseline.metrics["total"] == [10]
    again = resource_factory(lambda ctx: _Model(20), key="redefined-model")  # a re-run cell
    with pytest.warns(UserWarning, match="'redefined-model': this process already holds the resource"):
        result = experiment(again).run()
    assert result.metrics.baseline.metrics["total"] == [10]  # the live resource is the first one
    # ...so its cache entry is keyed by the first factory: the hit is right, not a new key
    assert result.provenance["baseline"][0]["steps"][0]["cache_hit"] is True
