"""Errors: importable from ``crystallize``, catchable by their natural builtin, visible."""

from __future__ import annotations

import logging

import pytest

import crystallize
import crystallize.exceptions as exceptions
from crystallize import (
    ArtifactPlugin,
    Experiment,
    Hypothesis,
    Pipeline,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.exceptions import StoreError
from crystallize.store import delete_runs, latest_result, list_runs, load_result


def test_every_documented_error_is_importable_from_crystallize():
    for name in exceptions.__all__:
        assert getattr(crystallize, name) is getattr(exceptions, name)
        assert name in crystallize.__all__
    from crystallize import ConfigError, RunFailedError  # noqa: F401


def test_errors_also_are_the_builtin_a_user_would_catch():
    assert issubclass(exceptions.ContextMutationError, TypeError)
    assert issubclass(exceptions.RunFailedError, RuntimeError)
    assert issubclass(exceptions.StoreArgumentError, StoreError)
    assert issubclass(exceptions.StoreArgumentError, ValueError)
    ctx = crystallize.standalone_context({"a": 1})
    with pytest.raises(TypeError, match="a"):
        ctx["a"] = 2


# -- run store argument mistakes --------------------------------------------------------
@data_source
def one(ctx):
    return 1


@pipeline_step()
def keep(data, ctx, *, delta=0):
    return data, {"value": data + delta + ctx["replicate"]}


@pytest.fixture
def root(tmp_path):
    Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), name="demo",
        plugins=[ArtifactPlugin(root_dir=tmp_path / "data")],
    ).run()
    return tmp_path / "data"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda root: delete_runs(root, "demo", status="finished"), ValueError, "Unknown run status 'finished'"),
        (lambda root: delete_runs(root, "demo", status=5), TypeError, "status"),
        (lambda root: delete_runs(root, "demo", keep_last=-1), ValueError, "keep_last must be >= 0"),
        (lambda root: list_runs(root, "demo", limit=-1), ValueError, "limit must be an int >= 0"),
        (lambda root: list_runs(root, "demo", limit="5"), TypeError, r"limit must be an int >= 0 .*got '5'"),
        (lambda root: list_runs(root, "demo", limit=True), TypeError, "limit"),
    ],
)
def test_store_argument_mistakes_are_value_or_type_errors(root, call, error, message):
    with pytest.raises(error, match=message) as info:
        call(root)
    if error is ValueError:
        assert isinstance(info.value, StoreError)  # callers catching StoreError still do


def test_store_argument_mistakes_are_found_before_the_store_is_opened(tmp_path):
    with pytest.raises(ValueError, match="Unknown run status"):
        delete_runs(tmp_path / "nowhere", "demo", status="finished")
    with pytest.raises(ValueError, match="limit"):
        list_runs(tmp_path / "nowhere", limit=-1)


def test_a_did_you_mean_is_not_followed_by_a_full_stop(root):
    with pytest.raises(StoreError) as info:
        delete_runs(root, "dmeo", keep_last=0)
    assert "did you mean 'demo'? Experiments with runs there: demo." in str(info.value)
    assert "?." not in str(info.value)


def test_swapped_store_arguments_are_pointed_out(root, monkeypatch):
    monkeypatch.chdir(root.parent)
    with pytest.raises(StoreError, match=r"latest_result\('demo', 'data'\)"):
        latest_result("data", "demo")
    with pytest.raises(StoreError, match=r"list_runs\('data', 'demo'\)"):
        list_runs("demo", "data")
    with pytest.raises(StoreError, match=r"load_result\('abc', 'data'\)"):
        load_result("data", "abc")
    with pytest.raises(StoreError) as info:
        latest_result("demo", "nowhere")
    assert "swap" not in str(info.value)


# -- a ranker that raises ----------------------------------------------------------------
def test_a_failing_ranker_is_logged_and_leaves_nothing_ranked(root, caplog):
    from crystallize.stats import welch_t_test

    def by_gain(result):
        return result["nonexistent"]

    hyp = Hypothesis(verifier=welch_t_test(), metrics="value", name="gain", ranker=by_gain)
    experiment = Experiment(
        datasource=one(), pipeline=Pipeline([keep()]), replicates=3, hypotheses=[hyp],
        treatments=[treatment("t", {"delta": 1}), treatment("u", {"delta": 2})],
    )
    with caplog.at_level(logging.WARNING, logger="crystallize"):
        result = experiment.run()
    verdict = result.get_hypothesis("gain")
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("crystallize")]
    assert any("'gain'" in w and "by_gain" in w and "KeyError: 'nonexistent'" in w for w in warnings), warnings
    assert verdict.best is None and verdict.scores == {}
    assert verdict.results["t"]["ranking_error"] == "KeyError: 'nonexistent'"
