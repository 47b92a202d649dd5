"""Shared behaviour of every built-in verifier: metric selection, input checks, result shape."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from crystallize.exceptions import MissingMetricError, VerificationError
from crystallize.stats import (
    bootstrap_ci,
    chi2,
    fisher_exact,
    mann_whitney,
    paired_t_test,
    permutation_test,
    welch_t_test,
    wilcoxon,
)
from crystallize.stats._common import plain, seeded

CONTINUOUS = [welch_t_test, paired_t_test, mann_whitney, wilcoxon, permutation_test, bootstrap_ci]
BINARY = [fisher_exact, chi2]
REQUIRED_KEYS = {
    "p_value",
    "significant",
    "effect_size",
    "effect_size_name",
    "ci",
    "ci_of",
    "alpha",
    "alternative",
    "test",
    "metric",
    "n_baseline",
    "n_treatment",
    "mean_baseline",
    "mean_treatment",
    "difference",
}
B = {"score": [1.0, 2.0, 3.0, 2.5, 1.5, 2.2], "loss": [0.5, 0.4, 0.6, 0.55, 0.45, 0.5]}
T = {"score": [2.0, 3.1, 3.9, 3.2, 2.8, 3.0], "loss": [0.3, 0.45, 0.35, 0.4, 0.3, 0.33]}
BIN_B = {"ok": [1, 0, 0, 1, 0, 1, 0, 0], "done": [1, 1, 0, 1, 1, 1, 0, 1]}
BIN_T = {"ok": [1, 1, 1, 1, 0, 1, 1, 1], "done": [1, 1, 1, 0, 1, 1, 1, 1]}


def _cases():
    for factory in CONTINUOUS:
        yield factory, B, T
    for factory in BINARY:
        yield factory, BIN_B, BIN_T


CASES = list(_cases())
IDS = [f.__name__ for f, _, _ in CASES]


@pytest.mark.parametrize(("factory", "base", "treat"), CASES, ids=IDS)
def test_flat_result_has_the_contract_keys(factory, base, treat) -> None:
    name = next(iter(base))
    result = factory(metric=name)(base, treat)
    assert set(result) >= REQUIRED_KEYS
    assert result["metric"] == name
    assert result["test"] == factory.__name__
    assert isinstance(result["ci"], tuple) and len(result["ci"]) == 2
    assert result["significant"] is bool(result["p_value"] < result["alpha"])
    json.dumps(result)
    assert plain(result) == result


@pytest.mark.parametrize(("factory", "base", "treat"), CASES, ids=IDS)
def test_several_metrics_give_nested_results(factory, base, treat) -> None:
    nested = factory()(base, treat)
    assert list(nested) == list(base)
    for name, result in nested.items():
        assert set(result) >= REQUIRED_KEYS
        assert result["metric"] == name
        assert result == factory(metric=name)(base, treat)


def test_nested_results_match_scipy_per_metric() -> None:
    nested = welch_t_test(alternative="less")(B, T)
    for name in B:
        ref = stats.ttest_ind(T[name], B[name], equal_var=False, alternative="less")
        assert nested[name]["p_value"] == pytest.approx(ref.pvalue)


@pytest.mark.parametrize(("factory", "base", "treat"), CASES, ids=IDS)
def test_single_metric_is_used_without_naming_it(factory, base, treat) -> None:
    name = next(iter(base))
    result = factory()({name: base[name]}, {name: treat[name]})
    assert result["metric"] == name


@pytest.mark.parametrize(("factory", "base", "treat"), CASES, ids=IDS)
def test_nan_is_a_clear_error(factory, base, treat) -> None:
    name = next(iter(base))
    bad = list(treat[name])
    bad[1] = float("nan")
    with pytest.raises(
        VerificationError, match=rf"'{name}' in the treatment.*NaN.*replicate\(s\) 1"
    ):
        factory(metric=name)(base, {name: bad})


@pytest.mark.parametrize("factory", CONTINUOUS + BINARY, ids=lambda f: f.__name__)
def test_bad_alternative_everywhere(factory) -> None:
    with pytest.raises(VerificationError, match="alternative"):
        factory(alternative="sideways")(B, T)


def test_missing_and_empty_metrics() -> None:
    with pytest.raises(MissingMetricError, match="'acc' is missing from the baseline"):
        welch_t_test(metric="acc")(B, T)
    with pytest.raises(MissingMetricError, match="'extra' is missing from the baseline"):
        welch_t_test()(B, {**T, "extra": [1.0, 2.0]})
    with pytest.raises(VerificationError, match="no metrics"):
        welch_t_test()({}, {})


def test_non_numeric_values() -> None:
    with pytest.raises(VerificationError, match="string 'a' at replicate 0"):
        welch_t_test()({"x": ["a", "b"]}, {"x": [1.0, 2.0]})
    with pytest.raises(VerificationError, match="one number per replicate"):
        welch_t_test()({"x": [[1.0, 2.0], [3.0, 4.0]]}, {"x": [1.0, 2.0]})
    with pytest.raises(VerificationError, match="missing"):
        welch_t_test()({"x": [1.0, None, 3.0]}, {"x": [1.0, 2.0]})
    with pytest.raises(VerificationError, match="sequence"):
        welch_t_test()({"x": 3.0}, {"x": [1.0, 2.0]})
    with pytest.raises(VerificationError, match="dicts"):
        welch_t_test()([1.0, 2.0], [3.0, 4.0])


def test_numpy_inputs_are_accepted() -> None:
    out = welch_t_test()({"x": np.array([1.0, 2.0, 3.0])}, {"x": np.array([2.0, 3.0, 5.0])})
    assert out["p_value"] == pytest.approx(
        stats.ttest_ind([2, 3, 5], [1, 2, 3], equal_var=False).pvalue
    )


def test_plain_converts_numpy_types() -> None:
    value = {"a": np.float64(1.5), "b": (np.int64(2), np.bool_(True)), "c": [np.array([1.0])]}
    assert plain(value) == {"a": 1.5, "b": (2, True), "c": [[1.0]]}
    assert type(plain(value)["a"]) is float
    assert type(plain(value)["b"][1]) is bool


def test_seeded_uses_the_installed_scipy_keyword() -> None:
    kwargs = seeded(stats.permutation_test, 3)
    (key,) = kwargs
    assert key in {"rng", "random_state"}
    assert kwargs[key].random() == np.random.default_rng(3).random()
