"""Code digests cover what a step depends on: helpers, globals, defaults, parameters."""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import subprocess
import sys
import threading

import pytest

from crystallize import code_digest, pipeline_step
from crystallize.fingerprint import code_hash, param_digest
from crystallize.utils.hashing import content_hash
from temp_modules import temp_modules


@pytest.fixture
def modules(tmp_path, monkeypatch):
    yield from temp_modules(tmp_path, monkeypatch, fresh=False)


STEPS = """
import math

SCALE = {scale}
DEFAULT_POWER = {power}

def local_helper(x):
    return x * SCALE

def unrelated(x):
    return x - {unrelated}

def uses_global(x, ctx):
    return local_helper(x)

def uses_default(x, ctx, *, power=DEFAULT_POWER):
    return math.pow(x, power)
"""


def _steps(modules, scale=2, power=1, unrelated=1):
    return modules.load("steps", STEPS.format(scale=scale, power=power, unrelated=unrelated))


def test_a_self_contained_function_keeps_its_source_digest(modules):
    module = modules.load("plain", "def step(x, ctx):\n    return [v + 1 for v in x]\n")
    source = inspect.getsource(module.step)
    assert code_hash(module.step) == hashlib.blake2b(source.encode(), digest_size=8).hexdigest()


def test_a_helper_in_the_same_module_is_covered(modules):
    before = code_hash(_steps(modules).uses_global)
    module = modules.load("steps", STEPS.format(scale=2, power=1, unrelated=1).replace("x * SCALE", "x * SCALE + 1"))
    assert code_hash(module.uses_global) != before


def test_a_helper_imported_from_another_module_is_covered(modules):
    modules.write("helpers", "def helper(x):\n    return x * 10\n")
    steps = modules.load(
        "uses",
        """
        import helpers_{suffix}
        from helpers_{suffix} import helper as imported

        def by_attribute(x, ctx):
            return helpers_{suffix}.helper(x)

        def by_name(x, ctx):
            return imported(x)
        """,
    )
    before = code_hash(steps.by_attribute), code_hash(steps.by_name)
    modules.load("helpers", "def helper(x):\n    return x * 20\n")
    assert code_hash(steps.by_attribute) != before[0]  # same module object, reloaded
    steps = modules.load("uses")  # re-import: ``imported`` is the new helper
    assert code_hash(steps.by_name) != before[1]


def test_a_helper_file_edited_but_not_reloaded_keeps_the_loaded_codes_digest(modules):
    """The digest describes the code that runs: an edit on disk that was not loaded (no
    reload) leaves it, so a cache entry stored meanwhile is keyed by the code that made it."""
    modules.write("helpers", "def helper(x):\n    return x * 10\n")
    steps = modules.load("uses", "from helpers_{suffix} import helper\n\ndef step(x, ctx):\n    return helper(x)\n")
    before = code_hash(steps.step)
    assert code_hash(steps.step) == before
    modules.write("helpers", "def helper(x):\n    return x * 20\n")
    assert steps.step(1, None) == 10 and code_hash(steps.step) == before


def test_a_module_global_read_through_a_helper_is_covered(modules):
    before = code_hash(_steps(modules, scale=2).uses_global)
    assert code_hash(_steps(modules, scale=3).uses_global) != before


def test_a_global_reassigned_in_memory_is_noticed(modules):
    """No file changes (a notebook, a loop over settings): the value is read live."""
    module = _steps(modules)
    before = code_hash(module.uses_global)
    module.SCALE = 5
    assert code_hash(module.uses_global) != before
    module.SCALE = 2
    assert code_hash(module.uses_global) == before


def test_a_default_from_a_module_constant_is_covered(modules):
    before = code_hash(_steps(modules, power=1).uses_default)
    assert code_hash(_steps(modules, power=2).uses_default) != before


def test_a_mutable_global_the_step_changes_does_not_change_the_digest(modules):
    """A log or memo a step appends to is state, not code: it must not stop cache hits."""
    module = modules.load(
        "log",
        """
        CALLS = []
        MEMO = {}
        _MODEL = None

        def step(x, ctx):
            global _MODEL
            if _MODEL is None:
                _MODEL = object()
            CALLS.append(x)
            MEMO[x] = 1
            return x
        """,
    )
    before = code_hash(module.step)
    module.step(1, None)
    assert code_hash(module.step) == before


def test_an_unrelated_change_elsewhere_keeps_the_digest(modules):
    before = code_hash(_steps(modules, unrelated=1).uses_global)
    assert code_hash(_steps(modules, unrelated=7).uses_global) == before


def test_a_decorated_step_covers_its_function_s_dependencies(modules):
    module = _steps(modules, scale=2)
    before = code_hash(pipeline_step(cacheable=True)(module.uses_global)())
    module = _steps(modules, scale=3)
    assert code_hash(pipeline_step(cacheable=True)(module.uses_global)()) != before


def test_a_user_decorator_s_wrapped_function_and_captured_values_are_covered(modules):
    text = """
    import functools

    def scaled(factor):
        def decorate(fn):
            @functools.wraps(fn)
            def wrapper(x, ctx):
                return fn(x, ctx) * factor
            return wrapper
        return decorate

    FACTOR = {factor}

    @scaled(FACTOR)
    def step(x, ctx):
        return x + {offset}
    """
    before = code_hash(modules.load("wrapped", text.format(factor=2, offset=1)).step)
    assert code_hash(modules.load("wrapped", text.format(factor=3, offset=1)).step) != before
    assert code_hash(modules.load("wrapped", text.format(factor=2, offset=5)).step) != before
    assert code_hash(modules.load("wrapped", text.format(factor=2, offset=1)).step) == before


def test_a_class_based_step_covers_the_helpers_its_methods_call(modules):
    text = """
    from crystallize import PipelineStep

    def helper(x):
        return x * {factor}

    class Step(PipelineStep):
        def __call__(self, data, ctx):
            return helper(data)
    """
    before = code_hash(modules.load("cls", text.format(factor=2)).Step())
    assert code_hash(modules.load("cls", text.format(factor=3)).Step()) != before


def test_an_instance_held_by_a_global_is_covered_by_its_class_code(modules):
    text = """
    class Model:
        def predict(self, x):
            return x * {factor}

    MODEL = Model()

    def step(x, ctx):
        return MODEL.predict(x)
    """
    before = code_hash(modules.load("model", text.format(factor=2)).step)
    assert code_hash(modules.load("model", text.format(factor=3)).step) != before


def test_library_code_is_named_not_followed(modules, monkeypatch):
    module = modules.load(
        "lib",
        """
        import json
        from os.path import join

        def step(x, ctx):
            return json.dumps(join("a", x))
        """,
    )
    digested = []
    real = code_digest._source_digest
    monkeypatch.setattr(code_digest, "_source_digest", lambda obj: digested.append(obj) or real(obj))
    code_hash(module.step)
    assert digested == [module.step]  # neither json's nor os.path's source is read


def test_recursive_helpers_terminate_and_are_covered(modules):
    text = """
    def even(n):
        return True if n == 0 else odd(n - 1)

    def odd(n):
        return False if n == 0 else even(n - {step})

    def step(x, ctx):
        return even(x)
    """
    before = code_hash(modules.load("cycle", text.format(step=1)).step)
    assert code_hash(modules.load("cycle", text.format(step=2)).step) != before


def test_functions_without_source_are_digested_from_their_code():
    def made(body: str):
        namespace: dict = {}
        exec(f"def made_up(x):\n    return {body}\n", namespace)
        return namespace["made_up"]

    assert code_hash(made("x + 1")) == code_hash(made("x + 1"))
    assert code_hash(made("x + 1")) != code_hash(made("x + 2"))


def test_partials_and_bound_methods(modules):
    module = _steps(modules)
    with_one = code_hash(functools.partial(module.uses_default, power=1))
    assert with_one != code_hash(functools.partial(module.uses_default, power=2))
    assert code_hash(functools.partial(_steps(modules, power=3).uses_default, power=1)) != with_one
    holder = modules.load("holder", "class Holder:\n    def run(self, x):\n        return x + 1\n")
    before = code_hash(holder.Holder().run)
    holder = modules.load("holder", "class Holder:\n    def run(self, x):\n        return x + 2\n")
    assert code_hash(holder.Holder().run) != before


def test_digests_are_stable_across_processes(modules, tmp_path):
    """Sets are ordered by their tokens, so string hashing's per-process seed is irrelevant."""
    modules.write(
        "sets",
        """
        NAMES = frozenset({"alpha", "beta", "gamma", "delta"})

        def step(x, ctx):
            return x in NAMES or x in {"one", "two", "three"}
        """,
    )
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import {modules.name('sets')} as m; "
        "from crystallize.fingerprint import code_hash, param_digest; "
        "ns = {}; exec('def f(x):\\n    return x in {\"p\", \"q\", \"r\"}\\n', ns); "
        "print(code_hash(m.step), code_hash(ns['f']), param_digest({'f': m.step}))"
    )
    assert len(_outputs_under_hash_seeds(script, "1", "2", "3")) == 1


def _outputs_under_hash_seeds(script: str, *seeds: str) -> set[str]:
    """What ``python -c script`` prints under each ``PYTHONHASHSEED``, as a set."""
    return {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in seeds
    }


# param_digest


@pytest.mark.parametrize("value", [1, 2.5, "text", b"bytes", None, True, [1, {"a": (2, 3)}], json.dumps])
def test_param_digest_of_plain_values_is_their_content_hash(value):
    assert param_digest(value) == content_hash(value)


def test_param_digest_of_a_set_of_strings_is_the_same_in_every_process():
    """Sets count by their sorted members, so a cacheable step with a set parameter hits
    the cache from a new process (a set's iteration order follows the hash seed)."""
    script = (
        "from crystallize.fingerprint import param_digest\n"
        "print(param_digest({'alpha', 'beta', 'gamma', 'delta'}), param_digest([{'x', 'y'}]))"
    )
    assert len(_outputs_under_hash_seeds(script, "1", "2", "3", "4")) == 1


def test_param_digest_of_a_function_follows_its_code(modules):
    text = "def transform(x):\n    return x + {n}\n"
    before = param_digest(modules.load("fn", text.format(n=1)).transform)
    assert before is not None
    assert param_digest(modules.load("fn", text.format(n=1000)).transform) != before


def test_param_digest_of_containers_with_functions(modules):
    square = lambda v: v * v  # noqa: E731 - a lambda cannot be pickled: content_hash gives up
    first = param_digest({"transform": square, "weights": [0.5] * 40 + [1.0]})
    assert first is not None
    assert param_digest({"transform": square, "weights": [0.5] * 40 + [99.0]}) != first
    cube = lambda v: v * v * v  # noqa: E731
    assert param_digest({"transform": cube, "weights": [0.5] * 40 + [1.0]}) != first
    assert param_digest({"transform": square, "weights": [0.5] * 40 + [1.0]}) == first

    # (A function's source is read from its file: digest each version while it is current.)
    text = "def transform(x):\n    return x + {n}\n"
    old = modules.load("fn2", text.format(n=1)).transform
    before = param_digest([functools.partial(old, 1)]), param_digest((old, 3))
    new = modules.load("fn2", text.format(n=2)).transform
    assert param_digest([functools.partial(new, 1)]) != before[0]
    assert param_digest((new, 3)) != before[1]


def test_param_digest_of_an_instance_covers_its_class_code(modules):
    text = "class Scaler:\n    def __init__(self, k):\n        self.k = k\n    def __call__(self, x):\n        return x * self.k + {n}\n"
    old = modules.load("inst", text.format(n=0)).Scaler(2)
    before = param_digest(old)
    assert param_digest(type(old)(3)) != before  # the instance's state
    new = modules.load("inst", text.format(n=1)).Scaler(2)
    assert param_digest(new) != before  # its class's code


def test_param_digest_is_none_when_the_value_cannot_be_hashed():
    assert param_digest(threading.Lock()) is None
    assert param_digest({"lock": threading.Lock(), "f": len}) is None
