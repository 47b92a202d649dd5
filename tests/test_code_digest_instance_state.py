"""Code digests follow the functions an object holds, not the objects it happens to hold:
a global helper building its (callable) model on first use, or a ``cached_property``
holding a callable, changed the digest during the run ("Code changed during the run",
and a resume refused with "the experiment changed since (steps[0].code)"). And a global
proxy answering every attribute (``__wrapped__`` too) with a new proxy no longer makes
``code_hash`` fail with RecursionError."""

from __future__ import annotations

import functools
import warnings

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Pipeline,
    code_digest,
    data_source,
    pipeline_step,
)
from crystallize.code_digest import _Dependencies
from crystallize.fingerprint import code_hash
from temp_modules import temp_modules


def helper(x):
    return x + 1


class Net:
    def __call__(self, x):
        return x * 2


class NetWithHelper:
    def __init__(self):
        self.activation = helper  # a function it holds

    def __call__(self, x):
        return self.activation(x)


class Runner:
    def __init__(self, kind):
        self.kind = kind
        self.model = None  # built on first use

    def predict(self, x):
        if self.model is None:
            self.model = self.kind()
        return self.model(x)


class CallableRunner(Runner):
    def __call__(self, x):  # a callable object: a wrapper, whose held objects may count
        return self.predict(x)


class Cached:
    @functools.cached_property
    def scorer(self):
        return functools.partial(helper)

    @functools.cached_property
    def model(self):
        return NetWithHelper()

    def __call__(self, x):
        return self.scorer(x) + self.model(x)


RUNNER = Runner(Net)
RUNNER_WITH_HELPER = Runner(NetWithHelper)
CALLABLE_RUNNER = CallableRunner(Net)
CACHED = Cached()


def uses_runner(x):
    return RUNNER.predict(x), RUNNER_WITH_HELPER.predict(x)


def uses_callable_runner(x):
    return CALLABLE_RUNNER(x)


def uses_cached(x):
    return CACHED(x)


@pytest.mark.parametrize(
    ("fn", "first_use"),
    [
        (uses_runner, lambda: uses_runner(1)),
        (uses_callable_runner, lambda: uses_callable_runner(1)),
        (uses_cached, lambda: uses_cached(1)),
    ],
)
def test_objects_built_on_first_use_do_not_change_the_digest(fn, first_use):
    before = code_hash(fn)
    first_use()
    assert code_hash(fn) == before


def test_the_cached_property_functions_are_still_covered_through_the_class():
    uses_cached(1)  # the values are stored
    walk = _Dependencies()
    walk.code("", uses_cached)
    parts = "\n".join(walk.parts)
    assert ".CACHED.__class__.scorer.func:def Cached.scorer:" in parts
    assert ".CACHED.__class__.model.func:def Cached.model:" in parts
    assert ".CACHED.scorer" not in parts and ".CACHED.model" not in parts  # the values: state


@data_source
def three(ctx):
    return 3


@pipeline_step()
def predict(data, ctx):
    ctx.metrics.add("y", RUNNER.predict(data) + CACHED(data))
    return data


def test_a_resume_in_the_same_process_reuses_every_replicate(tmp_path):
    RUNNER.model = None
    CACHED.__dict__.pop("scorer", None)
    CACHED.__dict__.pop("model", None)

    def run():
        experiment = Experiment(
            datasource=three(),
            pipeline=Pipeline([predict()]),
            replicates=3,
            name="lazy_state",
            plugins=[ArtifactPlugin(root_dir=str(tmp_path))],
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = experiment.run(strategy="resume")
        assert not [w for w in caught if "Code changed during the run" in str(w.message)]
        return result

    first = run()
    assert not first.errors and first.info["computed"] == 3
    again = run()
    assert again.info["resumed"] and again.info["computed"] == 0
    assert again.info["fingerprint"] == first.info["fingerprint"]


class Proxy:
    """A lazy or RPC-style proxy: any attribute is another proxy."""

    def __init__(self, path=""):
        self._path = path

    def __getattr__(self, name):
        if name.startswith("__") and name != "__wrapped__":
            raise AttributeError(name)
        return Proxy(f"{self._path}.{name}")

    def __call__(self, *args):
        return 0


PROXY = Proxy()


def uses_proxy(x):
    return PROXY(x)


def test_a_proxy_answering_every_attribute_is_digested_without_recursion_error():
    first = code_hash(uses_proxy)
    assert code_hash(uses_proxy) == first
    walk = _Dependencies()
    walk.code("", uses_proxy)
    assert max(part.count(".__wrapped__") for part in walk.parts) == code_digest.WRAPPED_DEPTH  # followed so far


@pytest.fixture
def modules(tmp_path, monkeypatch):
    yield from temp_modules(tmp_path, monkeypatch, fresh=True)


def test_a_function_an_object_holds_from_the_start_still_counts(modules):
    text = """
        def helper(x):
            return x + FACTOR

        class Runner:
            def __init__(self, fn):
                self.fn = fn
                self.model = None

            def predict(self, x):
                return self.fn(x)

        RUNNER = Runner(helper)

        def step(x):
            return RUNNER.predict(x)
        """
    before = code_hash(modules.load("held", text.replace("FACTOR", "1")).step)
    assert code_hash(modules.load("held", text.replace("FACTOR", "1")).step) == before
    assert code_hash(modules.load("held", text.replace("FACTOR", "2")).step) != before
