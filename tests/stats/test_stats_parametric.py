"""welch_t_test and paired_t_test against scipy called directly."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from crystallize.exceptions import InsufficientSamplesError, VerificationError
from crystallize.stats import paired_t_test, welch_t_test
from crystallize.stats.effect_sizes import cohens_dz, hedges_g

RNG = np.random.default_rng(42)
BASE = RNG.normal(10.0, 2.0, size=12).round(3).tolist()
TREAT = RNG.normal(11.5, 3.0, size=9).round(3).tolist()
PAIRED_T = (np.asarray(BASE) + RNG.normal(0.8, 1.0, size=12)).round(3).tolist()


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_matches_scipy(alternative: str) -> None:
    out = welch_t_test(alternative=alternative)({"x": BASE}, {"x": TREAT})
    ref = stats.ttest_ind(TREAT, BASE, equal_var=False, alternative=alternative)
    ci = stats.ttest_ind(TREAT, BASE, equal_var=False).confidence_interval(0.95)
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert out["statistic"] == pytest.approx(ref.statistic)
    assert out["df"] == pytest.approx(ref.df)
    assert out["ci"] == pytest.approx((ci.low, ci.high))
    assert out["significant"] is bool(ref.pvalue < 0.05)
    assert out["effect_size"] == pytest.approx(hedges_g(BASE, TREAT))
    assert out["effect_size_name"] == "hedges_g"
    assert out["difference"] == pytest.approx(np.mean(TREAT) - np.mean(BASE))
    assert (out["n_baseline"], out["n_treatment"]) == (12, 9)
    assert out["alternative"] == alternative
    assert out["test"] == "welch_t_test"
    assert out["metric"] == "x"


def test_welch_ci_follows_alpha() -> None:
    out = welch_t_test(alpha=0.1)({"x": BASE}, {"x": TREAT})
    ci = stats.ttest_ind(TREAT, BASE, equal_var=False).confidence_interval(0.9)
    assert out["ci"] == pytest.approx((ci.low, ci.high))
    assert out["ci_level"] == pytest.approx(0.9)
    assert out["alpha"] == 0.1


def test_welch_output_is_plain_and_json_friendly() -> None:
    out = welch_t_test()({"x": BASE}, {"x": TREAT})
    json.dumps(out)
    assert isinstance(out["ci"], tuple)
    assert all(type(v) is float for v in out["ci"])
    for key in ("p_value", "effect_size", "mean_baseline", "mean_treatment", "difference"):
        assert type(out[key]) is float, key
    assert type(out["significant"]) is bool
    assert type(out["n_baseline"]) is int


def test_welch_detects_a_large_effect() -> None:
    out = welch_t_test(alternative="greater")({"x": [1, 2, 3, 2]}, {"x": [10, 11, 12, 11]})
    assert out["significant"] is True
    assert out["effect_size"] > 0


def test_welch_constant_data_reports_warning_not_crash() -> None:
    out = welch_t_test()({"x": [1.0, 1.0, 1.0]}, {"x": [1.0, 1.0, 1.0]})
    assert np.isnan(out["p_value"])
    assert out["significant"] is False
    assert out["warnings"]


def test_welch_needs_two_values_per_condition() -> None:
    with pytest.raises(InsufficientSamplesError, match=r"at least 2 .*'x'.*baseline.*got 1"):
        welch_t_test()({"x": [1.0]}, {"x": [1.0, 2.0]})
    with pytest.raises(InsufficientSamplesError, match="treatment"):
        welch_t_test()({"x": [1.0, 2.0]}, {"x": []})


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_paired_matches_scipy(alternative: str) -> None:
    out = paired_t_test(alternative=alternative)({"x": BASE}, {"x": PAIRED_T})
    ref = stats.ttest_rel(PAIRED_T, BASE, alternative=alternative)
    ci = stats.ttest_rel(PAIRED_T, BASE).confidence_interval(0.95)
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert out["statistic"] == pytest.approx(ref.statistic)
    assert out["ci"] == pytest.approx((ci.low, ci.high))
    assert out["effect_size"] == pytest.approx(cohens_dz(BASE, PAIRED_T))
    assert out["effect_size_name"] == "cohens_dz"
    assert out["n_pairs"] == 12


def test_paired_rejects_unequal_lengths() -> None:
    with pytest.raises(VerificationError, match=r"same number of values.*12.*9"):
        paired_t_test()({"x": BASE}, {"x": TREAT})


def test_paired_needs_two_pairs() -> None:
    with pytest.raises(InsufficientSamplesError, match="at least 2 paired values"):
        paired_t_test()({"x": [1.0]}, {"x": [2.0]})


@pytest.mark.parametrize("factory", [welch_t_test, paired_t_test])
def test_bad_alternative(factory) -> None:
    with pytest.raises(VerificationError, match="unknown alternative 'bigger'"):
        factory(alternative="bigger")({"x": BASE}, {"x": BASE})


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.05", True])
def test_bad_alpha(alpha) -> None:
    with pytest.raises(VerificationError, match="alpha"):
        welch_t_test(alpha=alpha)({"x": BASE}, {"x": TREAT})


def test_an_undefined_test_says_why_its_p_value_is_nan() -> None:
    import math

    from crystallize.stats import paired_t_test as paired
    from crystallize.stats import welch_t_test as welch

    for out in (paired()({"x": [1.0, 2.0, 3.0]}, {"x": [1.0, 2.0, 3.0]}), welch()({"x": [0.0] * 3}, {"x": [0.0] * 3})):
        assert math.isnan(out["p_value"]) and out["significant"] is False
        assert any(w.startswith("UndefinedTestWarning: the p-value is NaN") for w in out["warnings"])


def test_effect_size_warnings_are_reported_not_printed() -> None:
    import warnings

    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        huge = welch_t_test()({"x": [1e300, 2e300, 3e300]}, {"x": [5e300, 6e300, 7e300]})
        # a difference beyond the largest float: reported as inf, with a warning
        out = welch_t_test()({"x": [-1.2e308, -1.1e308, -1.0e308]}, {"x": [1.0e308, 1.1e308, 1.2e308]})
    # rescaled, nothing overflows: the test of [1, 2, 3] against [5, 6, 7]
    assert huge["p_value"] == pytest.approx(stats.ttest_ind([5.0, 6.0, 7.0], [1.0, 2.0, 3.0], equal_var=False).pvalue)
    assert "warnings" not in huge
    assert out["difference"] == math.inf
    assert any("overflow" in w for w in out["warnings"])
    assert [str(w.message) for w in escaped] == []  # nothing reaches the user's stderr
