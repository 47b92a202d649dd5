"""What type checkers, ``help()`` and ``repr()`` see of the public API."""

import ast
import collections.abc
import inspect
import pickle
import typing
from pathlib import Path

import crystallize
from crystallize import (
    Experiment,
    Hypothesis,
    data_source,
    hypothesis,
    pipeline_step,
    resource_factory,
    standalone_context,
    verifier,
)
from crystallize.pipeline_step import FunctionStep
from crystallize.record import ReplicateError, ReplicateRecord, StepRecord

PACKAGE = Path(crystallize.__file__).parent


def test_the_package_is_marked_typed():
    assert (PACKAGE / "py.typed").is_file()


# -- records --------------------------------------------------------------------------
def _typing_init(cls: type) -> ast.FunctionDef:
    """The ``__init__`` a class of record.py declares for type checkers only."""
    tree = ast.parse((PACKAGE / "record.py").read_text())
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__).body
    guard = next(n for n in body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    return next(n for n in guard.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")


def test_record_fields_are_annotated_for_type_checkers():
    for cls in (ReplicateRecord, ReplicateError):
        assert tuple(cls.__annotations__) == cls.field_names == cls.__slots__
        init = _typing_init(cls)
        assert [a.arg for a in init.args.args[1:]] == list(cls.field_names)
        defaults = [ast.literal_eval(d) for d in init.args.defaults]
        declared = [d for _, d in cls.FIELDS][len(cls.FIELDS) - len(defaults):]
        assert defaults == [[] if d is list else d for d in declared]
    assert ReplicateRecord.__annotations__["metrics"] == "dict[str, list[Any]]"


def test_annotated_records_still_pickle_and_compare():
    error = ReplicateError("t", 1, "step", "boom", "ValueError")
    record = ReplicateRecord("t", 1, 7, {"m": [1.0]}, [StepRecord("s", {})], error)
    assert record.events == [] and pickle.loads(pickle.dumps(record)) == record
    assert not hasattr(record, "__dict__")


# -- hypotheses -----------------------------------------------------------------------
def _hint(fn: object, name: str) -> object:
    import importlib

    module = importlib.import_module("crystallize.hypothesis")  # the attribute is the decorator
    return typing.get_type_hints(fn, vars(module))[name]


def test_a_dict_annotated_ranker_and_verifier_match_the_declared_types():
    ranker = _hint(Hypothesis.__init__, "ranker")
    callable_type = next(a for a in typing.get_args(ranker) if a is not type(None))
    (argument,), _ = typing.get_args(callable_type)
    assert typing.get_origin(argument) is dict  # def r(result: dict) -> float fits
    (baseline, treatment), _ = typing.get_args(_hint(Hypothesis.__init__, "verifier"))
    assert typing.get_origin(baseline) is dict and typing.get_origin(treatment) is dict


# -- decorated factories --------------------------------------------------------------
def test_factory_signatures_show_the_parameters_the_factory_takes():
    @pipeline_step()
    def add(data, ctx, *, delta: float = 0.0, scale=1, **more):
        """Add delta."""
        return data

    @pipeline_step
    def needs(data, lr, *rest):
        return data

    @data_source
    def src(ctx, n: int = 3, *, scale=1.0):
        """Make n numbers."""
        return list(range(n))

    @verifier
    def v(baseline, treatment, threshold, alpha=0.05):
        return {}

    assert str(inspect.signature(add)) == "(delta: float = 0.0, scale=1, **more) -> crystallize.pipeline_step.FunctionStep"
    assert str(inspect.signature(needs)) == "(lr=<from the context>) -> crystallize.pipeline_step.FunctionStep"
    assert str(inspect.signature(src)) == "(n: int = 3, *, scale=1.0) -> crystallize.datasource.FunctionDataSource"
    assert str(inspect.signature(v)) == "(*, threshold, alpha=0.05) -> crystallize.hypothesis.Verifier"
    # What the signature promises works; the wrapped function stays reachable.
    assert add(0.5, 2).params == {"delta": 0.5, "scale": 2} and src(5).params == {"n": 5}
    assert add.__wrapped__.__name__ == "add" and add.__doc__ == "Add delta." and src.__name__ == "src"


def test_pipeline_step_is_typed_for_both_forms():
    overloads = typing.get_overloads(pipeline_step)
    assert len(overloads) == 2
    assert inspect.signature(pipeline_step).return_annotation != "Any"
    assert str(inspect.signature(overloads[0]).return_annotation) == "StepFactory"
    assert typing.get_type_hints(overloads[0])["return"] == collections.abc.Callable[..., FunctionStep]


# -- the package namespace -------------------------------------------------------------
def test_lazy_names_are_declared_for_type_checkers_and_listed_by_dir():
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    typed: set[str] = set()
    guarded_getattr = False
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            if node.test.__class__ is ast.UnaryOp:  # if not TYPE_CHECKING: __getattr__ = ...
                guarded_getattr = "__getattr__" in ast.unparse(node)
            else:
                typed |= {a.asname or a.name for n in node.body if isinstance(n, ast.ImportFrom) for a in n.names}
    lazy = set(crystallize._LAZY)
    assert lazy <= typed and guarded_getattr
    assert lazy <= set(crystallize.__all__)
    listing = dir(crystallize)
    assert set(crystallize.__all__) <= set(listing)
    assert not {"TYPE_CHECKING", "annotations", "lazy_attributes"} & set(listing)


# -- reprs ----------------------------------------------------------------------------
def test_a_context_repr_stays_short_and_never_builds_resources():
    built = []
    ctx = standalone_context({
        "a": 1,
        "big": list(range(10_000)),
        "text": "x" * 5000,
        "db": resource_factory(lambda ctx: built.append(1) or object(), key="db"),
    })
    text = repr(ctx)
    assert len(text) < 600, text[:700]
    assert "'a': 1, 'big': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ...]" in text
    assert "'db': resource_factory(" in text
    assert not built


def test_the_builder_has_a_short_repr():
    @data_source
    def numbers(ctx):
        return [1]

    @pipeline_step()
    def step(data, ctx):
        return data

    builder = Experiment.builder("demo").datasource(numbers()).add_step(step()).replicates(3)
    assert repr(builder) == "ExperimentBuilder('demo', datasource='numbers', steps=['step'], replicates=3)"
    assert repr(Experiment.builder()) == "ExperimentBuilder()"


def test_hypothesis_decorator_accepts_dict_rankers_at_runtime():
    from crystallize.stats import welch_t_test

    @hypothesis(verifier=welch_t_test(), metrics="m")
    def r(result: dict) -> float:
        return result["p_value"]

    assert isinstance(r, Hypothesis)


def test_builtin_verifier_factories_show_the_arguments_they_take():
    import inspect

    from crystallize.stats import mann_whitney, welch_t_test

    assert list(inspect.signature(welch_t_test).parameters) == ["alpha", "alternative", "metric"]
    assert "baseline" not in inspect.signature(mann_whitney).parameters
    assert welch_t_test.__name__ == "welch_t_test" and "Welch" in (welch_t_test.__doc__ or "")
