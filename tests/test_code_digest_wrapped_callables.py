"""Code digests follow the user functions a callable object holds: a class-based decorator
without ``functools.wraps`` (``self.fn``), ``numpy.vectorize`` (``pyfunc``),
``functools.singledispatch`` and ``singledispatchmethod`` (their ``registry``). Each was
left out: an edited helper kept the fingerprint and the step cache key, so a resume reused
the old replicates and the cache served the stale output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crystallize import ArtifactPlugin, Experiment, Pipeline, SeedPlugin, data_source
from crystallize.code_digest import _Dependencies
from crystallize.fingerprint import code_hash
from temp_modules import temp_modules


@pytest.fixture
def modules(tmp_path, monkeypatch):
    # fresh: every load is a new module object, as a new process imports the edited file
    yield from temp_modules(tmp_path, monkeypatch, fresh=True)


#: One module per wrapper: ``score`` is the wrapped helper, ``step`` calls it by name.
WRAPPERS = {
    "memo": """
        class memo:
            def __init__(self, fn):
                self.fn = fn
                self.cache = {}

            def __call__(self, x):
                if x not in self.cache:
                    self.cache[x] = self.fn(x)
                return self.cache[x]

        @memo
        def score(x):
            return x * FACTOR
        """,
    "vectorize": """
        import numpy as np

        @np.vectorize
        def score(x):
            return x * FACTOR
        """,
    "singledispatch": """
        import functools

        @functools.singledispatch
        def score(x):
            raise TypeError(x)

        @score.register
        def _(x: int):
            return x * FACTOR
        """,
}

STEP = """
        from crystallize import pipeline_step

        @pipeline_step(cacheable=True)
        def step(data, ctx):
            values = [int(score(x)) for x in data]
            return values, {"total": sum(values)}
        """


def _load(modules, kind, factor):
    return modules.load(kind, WRAPPERS[kind].replace("FACTOR", str(factor)) + STEP)


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_an_edited_helper_behind_a_wrapper_object_changes_the_digest(modules, kind):
    before = code_hash(_load(modules, kind, 2).step())
    assert code_hash(_load(modules, kind, 2).step()) == before  # unchanged: same digest
    assert code_hash(_load(modules, kind, 100).step()) != before


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_the_step_cache_misses_after_the_edit(modules, tmp_path, kind):
    @data_source
    def numbers(ctx):
        return [1, 2, 3]

    def run(module):
        experiment = Experiment(
            datasource=numbers(),
            pipeline=Pipeline([module.step()]),
            plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path / "data"))],
            name=f"wrapped_{kind}",
        )
        result = experiment.run(strategy="rerun")
        assert not result.errors, result.errors
        return result.metrics.baseline.metrics["total"], result.provenance["baseline"][0]["steps"][-1]

    assert run(_load(modules, kind, 2))[0] == [12]
    total, step = run(_load(modules, kind, 2))
    assert total == [12] and step["cache_hit"]  # unchanged code keeps hitting
    total, step = run(_load(modules, kind, 100))
    assert total == [600] and not step["cache_hit"]
    assert step["cache_miss_reason"] == "changed since the closest entry: code"


def test_a_resume_after_the_edit_does_not_reuse_the_old_replicates(modules, tmp_path):
    @data_source
    def numbers(ctx):
        return [1, 2, 3]

    def run(module):
        experiment = Experiment(
            datasource=numbers(),
            pipeline=Pipeline([module.step()]),
            plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path / "data"))],
            name="wrapped_resume",
        )
        return experiment.run(strategy="resume")

    first = run(_load(modules, "memo", 2))
    again = run(_load(modules, "memo", 2))
    assert again.info["resumed"] and again.info["fingerprint"] == first.info["fingerprint"]
    edited = run(_load(modules, "memo", 100))
    assert not edited.info["resumed"] and edited.info["fingerprint"] != first.info["fingerprint"]
    assert edited.metrics.baseline.metrics["total"] == [600]


MANY = """
import functools
import numpy as np

def helper(x):
    return x + FACTOR

class memo:
    def __init__(self, fn):
        self.fn = fn
        self.cache = {}

    def __call__(self, *args):
        return self.fn(*args)

@memo
def by_memo(x):
    return x * 2

@memo
@memo
def twice(x):
    return x * 3

@np.vectorize
def by_vectorize(x):
    return x * 4

@functools.singledispatch
def dispatch(x):
    return x

@dispatch.register
def _(x: int):
    return helper(x)

@dispatch.register
def _(x: str):
    return x * 2

@dispatch.register(float)
@dispatch.register(complex)
def _(x):
    return x / 2

class Slotted:
    __slots__ = ("fn", "__private", "unset")

    def __init__(self):
        self.fn = helper
        self.__private = functools.partial(helper, 1)

    def __call__(self, x):
        return self.fn(x) + self.__private()

SLOTTED = Slotted()

class Model:
    @functools.singledispatchmethod
    def predict(self, x):
        return x

    @functools.cached_property
    def size(self):
        return helper(0)

@Model.predict.register
def _(self, x: int):
    return helper(x)

class Holder:
    def __init__(self):
        self.me = self
        self.run = self.go
        self.callback = helper

    def go(self, x):
        return self.callback(x)

HOLDER = Holder()

def halve(x):
    return x / 2

class Router:
    def __init__(self):
        self.registry = {object(): halve, "name": by_memo}  # a key whose repr holds its address

    def __call__(self, x):
        return [fn(x) for fn in self.registry.values()]

ROUTER = Router()

def step(x):
    return (by_memo(x), twice(x), by_vectorize(x), dispatch(x), SLOTTED(x), Model().predict(x),
            Model().size, HOLDER.run(x), ROUTER(x))
"""


def test_the_digest_is_the_same_in_fresh_processes_under_other_hash_seeds(modules, tmp_path):
    modules.write("many", MANY.replace("FACTOR", "1"))
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import {modules.name('many')} as m; "
        "from crystallize.fingerprint import code_hash; print(code_hash(m.step))"
    )
    outputs = set()
    for seed in ("0", "1", "2", "12345"):
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert outputs == {code_hash(modules.load("many").step) + "\n"}  # and in this process


def test_every_held_function_is_followed(modules):
    module = modules.load("many", MANY.replace("FACTOR", "1"))
    walk = _Dependencies()
    walk.code("", module.step)
    parts = "\n".join(walk.parts)
    for expected in (
        ".by_memo.fn:def by_memo:",
        ".twice.fn.fn:def twice:",
        ".by_vectorize.pyfunc:def by_vectorize:",
        ".dispatch.registry[builtins.int]:def _:",
        ".dispatch.registry[builtins.str]:def _:",
        ".dispatch.registry[builtins.complex]:def _:",  # by type name, not registration order
        ".dispatch.registry[builtins.float]->seen",  # the same function, registered twice
        ".SLOTTED.fn->seen",  # helper, read by Holder.__init__ first
        ".SLOTTED.__private.func->seen",
        ".SLOTTED.__private.args=tuple(int:1)",
        ".Model.predict.dispatcher.registry[builtins.int]:def _:",
        ".Model.size.func:def Model.size:",
        ".HOLDER.callback->seen",
        ".ROUTER.registry[<builtins.object>]->seen",  # halve, read by Router.__init__ first
        ".ROUTER.registry[str:'name'].__class__->seen",  # by_memo, met before
    ):
        assert expected in parts, expected
    assert ".cache" not in parts and "unset" not in parts  # state, not code


@pytest.mark.parametrize(
    "edit",
    [
        ("return x * 3", "return x * 30"),  # inside two class-based decorators
        ("return x / 2", "return x / 20"),  # registered for two types by stacked .register
        ("return x * 2\n\n@dispatch.register(float)", "return x * 20\n\n@dispatch.register(float)"),
        ("    return helper(x)\n\nclass Holder", "    return helper(x) + 1\n\nclass Holder"),
    ],
)
def test_edits_deeper_in_the_wrappers_are_seen(modules, edit):
    text = MANY.replace("FACTOR", "1")
    assert edit[0] in text
    before = code_hash(modules.load("many", text).step)
    assert code_hash(modules.load("many", text.replace(edit[0], edit[1], 1)).step) != before


def test_a_helper_the_held_function_calls_is_covered(modules):
    text = """
        class memo:
            def __init__(self, fn):
                self.fn = fn

            def __call__(self, x):
                return self.fn(x)

        def inner(x):
            return x + FACTOR

        @memo
        def score(x):
            return inner(x) * 2

        def step(x):
            return score(x)
        """
    before = code_hash(modules.load("inner", text.replace("FACTOR", "1")).step)
    assert code_hash(modules.load("inner", text.replace("FACTOR", "2")).step) != before


def test_state_a_wrapper_object_collects_does_not_change_the_digest(modules):
    module = _load(modules, "memo", 2)
    before = code_hash(module.step())
    assert module.score(3) == 6 and module.score.cache == {3: 6}
    assert code_hash(module.step()) == before
    vectorized = _load(modules, "vectorize", 2)
    before = code_hash(vectorized.step())
    vectorized.score([1, 2])  # numpy.vectorize keeps what it learnt about the function
    assert code_hash(vectorized.step()) == before


def test_library_wrappers_holding_no_user_code_are_not_followed(modules):
    module = modules.load(
        "libonly",
        """
        import functools
        import math
        import numpy as np

        SINE = np.vectorize(math.sin)
        SIZE = functools.singledispatch(len)

        def step(x):
            return SINE(x), SIZE(x)
        """,
    )
    walk = _Dependencies()
    walk.code("", module.step)
    assert not [part for part in walk.parts if ".SINE" in part]  # no library internals named
    assert [part for part in walk.parts if ".SIZE" in part] == [".SIZE->builtins.len", ".SIZE.__wrapped__->builtins.len"]


def test_objects_holding_each_other_terminate(modules):
    module = modules.load(
        "cycle",
        """
        class Node:
            def __init__(self, fn):
                self.fn = fn
                self.next = None

            def __call__(self, x):
                return self.fn(x) if self.next is None else self.next(x)

        def helper(x):
            return x + FACTOR

        A = Node(helper)
        B = Node(A)
        A.next = B
        CHAIN = Node(helper)
        for _ in range(50):
            CHAIN = Node(CHAIN)

        def step(x):
            return A(x), CHAIN(x)
        """.replace("FACTOR", "1"),
    )
    assert code_hash(module.step) == code_hash(module.step)
