"""What a cacheable step's key covers beyond its own code and parameters: artifacts it
reads, modules it imports inside its body, user code carried by its input, constants of
any number type, enum members and closure values, and a callable resource factory's
state. Each was a wrong cache hit: a stale output served as if computed."""

from __future__ import annotations

import decimal
import sys
import threading

import numpy as np
import pandas as pd
import pytest

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    resource_factory,
)
from crystallize.fingerprint import code_hash, spec_of
from crystallize.step_cache import StepCacheKey
from temp_modules import temp_modules


@pytest.fixture
def modules(tmp_path, monkeypatch):
    yield from temp_modules(tmp_path, monkeypatch, fresh=True)


@data_source
def numbers(ctx):
    return [1, 2, 3]


def run(root, steps, datasource=None, initial_ctx=None, name="cover"):
    """Run once; return (baseline metrics, the provenance of the last step)."""
    experiment = Experiment(
        datasource=datasource or numbers(),
        pipeline=Pipeline(steps),
        initial_ctx=initial_ctx or {},
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(root))],
        name=name,
    )
    result = experiment.run()
    assert not result.errors, result.errors
    return result.metrics.baseline.metrics, result.provenance["baseline"][0]["steps"][-1]


# -- 1. artifacts an earlier step wrote ---------------------------------------------------


@pipeline_step()
def write_model(data, ctx, *, weight=1, model: Artifact = Artifact("model.txt")):
    model.write(str(weight))
    return data  # the data is unchanged: only the artifact carries the weight


@pipeline_step(cacheable=True)
def read_model(data, ctx, *, model: Artifact = Artifact("model.txt")):
    return data, {"score": sum(data) * int(model.read_bytes())}


@pipeline_step(cacheable=True)
def load_model(data, ctx, *, model: Artifact = Artifact("model.txt", loader=lambda b: int(b))):
    return data, {"score": sum(data) * model.load()}


@pytest.mark.parametrize("reader", [read_model, load_model])
def test_an_artifact_an_earlier_step_wrote_is_part_of_the_key(tmp_path, reader):
    metrics, step = run(tmp_path, [write_model(weight=1), reader()])
    assert metrics["score"] == [6] and not step["cache_hit"]
    metrics, step = run(tmp_path, [write_model(weight=1), reader()])
    assert metrics["score"] == [6] and step["cache_hit"]
    metrics, step = run(tmp_path, [write_model(weight=5), reader()])
    assert metrics["score"] == [30] and not step["cache_hit"]
    assert step["cache_miss_reason"] == "changed since the closest entry: artifact.model.txt"
    metrics, step = run(tmp_path, [write_model(weight=1), reader()])
    assert metrics["score"] == [6] and step["cache_hit"]


@pipeline_step(cacheable=True)
def write_then_read(data, ctx, *, out: Artifact = Artifact("own.txt")):
    out.write(str(sum(data)))
    return data, {"own": int(out.read_bytes())}


def test_reading_back_an_artifact_the_step_wrote_itself_keeps_hitting(tmp_path):
    assert run(tmp_path, [write_then_read()])[0]["own"] == [6]
    metrics, step = run(tmp_path, [write_then_read()])
    assert metrics["own"] == [6] and step["cache_hit"]


# -- 2. modules imported inside the step's body --------------------------------------------

HELPERS = """
def f(x):
    return x * {factor}
"""

LAZY_STEPS = """
from crystallize import pipeline_step

@pipeline_step(cacheable=True)
def from_import(data, ctx):
    from helpers_{suffix} import f
    return data, {{"v": sum(f(x) for x in data)}}

@pipeline_step(cacheable=True)
def module_attribute(data, ctx):
    import helpers_{suffix} as mh
    return data, {{"v": sum(mh.f(x) for x in data)}}

def imports_a_library():
    import tabnanny
    return tabnanny
"""


@pytest.mark.parametrize("step_name", ["from_import", "module_attribute"])
def test_a_helper_imported_inside_the_step_is_followed(modules, step_name):
    modules.write("helpers", HELPERS.format(factor=1))
    steps = modules.load("lazy", LAZY_STEPS.replace("{{", "{").replace("}}", "}"))
    before = code_hash(getattr(steps, step_name)())  # helpers not imported yet: imported for it
    assert modules.name("helpers") in sys.modules
    modules.write("helpers", HELPERS.format(factor=100))
    assert code_hash(getattr(steps, step_name)()) != before
    modules.write("helpers", HELPERS.format(factor=1))
    assert code_hash(getattr(steps, step_name)()) == before


def test_an_edited_lazily_imported_helper_misses(modules, tmp_path):
    modules.write("helpers", HELPERS.format(factor=1))
    steps = modules.load("lazy", LAZY_STEPS.replace("{{", "{").replace("}}", "}"))
    assert run(tmp_path, [steps.from_import()])[0]["v"] == [6]
    modules.write("helpers", HELPERS.format(factor=100))  # a new process would import this
    metrics, step = run(tmp_path, [steps.from_import()])
    assert metrics["v"] == [600] and not step["cache_hit"]
    assert step["cache_miss_reason"] == "changed since the closest entry: code"


def test_a_library_imported_inside_a_function_is_not_imported_for_its_digest(modules):
    steps = modules.load("lazy", LAZY_STEPS.replace("{{", "{").replace("}}", "}"))
    sys.modules.pop("tabnanny", None)
    code_hash(steps.imports_a_library)
    assert "tabnanny" not in sys.modules


# -- 3. user code carried by the input -----------------------------------------------------

DATASET = """
class Dataset:
    def __init__(self, xs):
        self.xs = xs

    def normalized(self):
        return [x * {factor} for x in self.xs]

def scale(x):
    return x * {factor}
"""


@pipeline_step(cacheable=True)
def total(data, ctx):
    return data, {"total": sum(data.normalized())}


@pipeline_step(cacheable=True)
def apply_fn(data, ctx):
    return data, {"total": sum(data["fn"](x) for x in data["xs"])}


def test_an_input_object_s_edited_method_misses(modules, tmp_path):
    def source():
        dataset = sys.modules[modules.name("dataset")]
        return data_source(lambda ctx: dataset.Dataset([1, 2, 3]))()

    modules.load("dataset", DATASET.format(factor=1))
    assert run(tmp_path, [total()], datasource=source())[0]["total"] == [6]
    assert run(tmp_path, [total()], datasource=source())[1]["cache_hit"]
    modules.load("dataset", DATASET.format(factor=100))
    metrics, step = run(tmp_path, [total()], datasource=source())
    assert metrics["total"] == [600] and not step["cache_hit"]
    assert step["cache_miss_reason"] == "changed since the closest entry: input_code"


def test_a_function_carried_in_the_input_is_keyed_by_its_code(modules, tmp_path):
    def source():
        dataset = sys.modules[modules.name("dataset")]
        return data_source(lambda ctx: {"xs": [1, 2, 3], "fn": dataset.scale})()

    modules.load("dataset", DATASET.format(factor=1))
    assert run(tmp_path, [apply_fn()], datasource=source())[0]["total"] == [6]
    modules.load("dataset", DATASET.format(factor=100))
    metrics, step = run(tmp_path, [apply_fn()], datasource=source())
    assert metrics["total"] == [600] and not step["cache_hit"]


@pytest.mark.parametrize(
    "value",
    [[1, 2.5, "a"], {"a": (1, 2)}, np.arange(1000.0), pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), 3, "s"],
)
def test_plain_inputs_add_no_key_part(value):
    assert StepCacheKey(total()).input_code(value) == ""


def test_an_unpicklable_input_is_not_cached():
    assert StepCacheKey(total()).input_code({"lock": threading.Lock()}) is None


# -- 4. constants of other types, closure values ------------------------------------------

CONSTANTS = """
import decimal, enum
import numpy as np
from crystallize import pipeline_step

class Mode(enum.Enum):
    SMALL = 1
    BIG = 100

NPSCALE = np.float64({np})
DECSCALE = decimal.Decimal("{dec}")
MODE = Mode.{mode}
WHEN = np.datetime64("{when}")

def np_const(data, ctx):
    return sum(data) * NPSCALE

def dec_const(data, ctx):
    return sum(data) * DECSCALE

def enum_const(data, ctx):
    return sum(data) * MODE.value

def when_const(data, ctx):
    return WHEN
"""


@pytest.mark.parametrize(
    ("function", "changed"),
    [("np_const", {"np": 100.0}), ("dec_const", {"dec": "100"}), ("enum_const", {"mode": "BIG"}),
     ("when_const", {"when": "2025-01-02"})],
)
def test_constants_of_other_immutable_types_are_covered(modules, function, changed):
    values = {"np": 1.0, "dec": "1", "mode": "SMALL", "when": "2025-01-01"}
    before = code_hash(getattr(modules.load("consts", CONSTANTS.format(**values)), function))
    again = code_hash(getattr(modules.load("consts", CONSTANTS.format(**values)), function))
    after = code_hash(getattr(modules.load("consts", CONSTANTS.format(**{**values, **changed})), function))
    assert before == again != after


def test_an_enum_member_s_value_counts_too(modules):
    text = CONSTANTS.format(np=1.0, dec="1", mode="SMALL", when="2025-01-01")
    before = code_hash(modules.load("consts", text).enum_const)
    after = code_hash(modules.load("consts", text.replace("SMALL = 1", "SMALL = 2")).enum_const)
    assert before != after


def make_step(weights):
    @pipeline_step(cacheable=True)
    def closure_step(data, ctx):
        return data, {"v": sum(data) * weights[0]}

    return closure_step()


def test_a_closure_variable_of_any_type_is_keyed_by_its_value(tmp_path):
    assert code_hash(make_step([1])) == code_hash(make_step([1])) != code_hash(make_step([100]))
    assert code_hash(make_step(np.ones(3))) != code_hash(make_step(np.zeros(3)))
    assert run(tmp_path, [make_step([1])])[0]["v"] == [6]
    metrics, step = run(tmp_path, [make_step([100])])
    assert metrics["v"] == [600] and not step["cache_hit"]


def test_a_closure_list_the_function_appends_to_keeps_its_digest():
    seen: list = []

    def collect(data, ctx):
        seen.append(data)
        return data

    before = code_hash(collect)
    collect(1, None)
    assert code_hash(collect) == before  # no "code changed during the run"


def test_a_rebound_closure_variable_is_digested_again():
    def make():
        weights = [1]

        def step(data, ctx):
            return weights[0]

        def rebind(new):
            nonlocal weights
            weights = new

        return step, rebind

    step, rebind = make()
    before = code_hash(step)
    rebind([2])
    assert code_hash(step) != before


def test_a_closure_value_holding_its_own_function_terminates():
    box: dict = {}

    def inner(x):
        return box["f"](x - 1) if x else 0

    box["f"] = inner
    assert code_hash(inner) == code_hash(inner)


def test_decimal_and_numpy_scalars_of_equal_value_but_other_type_differ(modules):
    a = modules.load("consts", CONSTANTS.format(np=1.0, dec="1", mode="SMALL", when="2025-01-01"))
    b = modules.load("consts", CONSTANTS.format(np=1.0, dec="1.0", mode="SMALL", when="2025-01-01"))
    assert code_hash(a.dec_const) != code_hash(b.dec_const)  # Decimal("1.0") is not Decimal("1")
    assert decimal.Decimal("1") == decimal.Decimal("1.0")


# -- 5. a callable object as resource factory ----------------------------------------------


class Loader:
    def __init__(self, size):
        self.size = size

    def __call__(self, ctx):
        return {"size": self.size}


@pipeline_step(cacheable=True)
def use_resource(data, ctx):
    return data, {"v": sum(data) * ctx["model"]["size"]}


def test_a_callable_factory_object_is_keyed_by_its_state(tmp_path):
    def spec(factory):
        return factory._crystallize_spec()["code"]

    assert spec(resource_factory(Loader(1), key="a")) == spec(resource_factory(Loader(1), key="a"))
    assert spec(resource_factory(Loader(1), key="a")) != spec(resource_factory(Loader(100), key="a"))
    assert spec(resource_factory(Loader(1).__call__, key="a")) != spec(resource_factory(Loader(2).__call__, key="a"))
    assert run(tmp_path, [use_resource()], initial_ctx={"model": resource_factory(Loader(1))})[0]["v"] == [6]
    metrics, step = run(tmp_path, [use_resource()], initial_ctx={"model": resource_factory(Loader(100))})
    assert metrics["v"] == [600] and not step["cache_hit"]
    assert step["cache_miss_reason"] == "changed since the closest entry: ctx.model"


def test_the_fingerprint_tells_callable_factory_objects_apart():
    experiment = Experiment(datasource=numbers(), pipeline=Pipeline([use_resource()]),
                            initial_ctx={"model": resource_factory(Loader(1), key="fp")})
    other = Experiment(datasource=numbers(), pipeline=Pipeline([use_resource()]),
                       initial_ctx={"model": resource_factory(Loader(2), key="fp")})
    assert spec_of(experiment)["initial_ctx"] != spec_of(other)["initial_ctx"]


class LockedLoader(Loader):
    def __init__(self, size):
        super().__init__(size)
        self.lock = threading.Lock()


def test_a_factory_object_whose_state_cannot_be_hashed_is_not_cached(tmp_path):
    metrics, step = run(tmp_path, [use_resource()], initial_ctx={"model": resource_factory(LockedLoader(1))})
    assert metrics["v"] == [6] and not step["cache_hit"]
    assert "context value 'model' cannot be hashed" in step["cache_miss_reason"]
