"""mann_whitney, wilcoxon and permutation_test against scipy called directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from crystallize.exceptions import InsufficientSamplesError, VerificationError
from crystallize.stats import mann_whitney, permutation_test, wilcoxon

RNG = np.random.default_rng(7)
BASE = RNG.exponential(1.0, size=10).round(4).tolist()
TREAT = (RNG.exponential(1.0, size=8) + 0.7).round(4).tolist()
PAIRED_T = (np.asarray(BASE) + RNG.normal(0.5, 0.6, size=10)).round(4).tolist()
ALTERNATIVES = ["two-sided", "greater", "less"]


def _mean_diff(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _bootstrap_ci(data, statistic, seed=0, level=0.95):
    res = stats.bootstrap(
        data,
        statistic,
        vectorized=True,
        method="percentile",
        confidence_level=level,
        n_resamples=9999,
        rng=np.random.default_rng(seed),
    )
    return res.confidence_interval.low, res.confidence_interval.high


# --- Mann–Whitney -----------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_mann_whitney_matches_scipy(alternative: str) -> None:
    out = mann_whitney(alternative=alternative)({"x": BASE}, {"x": TREAT})
    ref = stats.mannwhitneyu(TREAT, BASE, alternative=alternative)
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert out["statistic"] == pytest.approx(ref.statistic)
    assert out["effect_size"] == pytest.approx(2 * ref.statistic / (10 * 8) - 1)
    assert out["effect_size_name"] == "rank_biserial"
    assert out["ci"] == pytest.approx(_bootstrap_ci((TREAT, BASE), _mean_diff))


def test_rank_biserial_sign_and_extremes() -> None:
    higher = mann_whitney()({"x": [1, 2, 3]}, {"x": [4, 5, 6]})
    lower = mann_whitney()({"x": [4, 5, 6]}, {"x": [1, 2, 3]})
    assert higher["effect_size"] == pytest.approx(1.0)
    assert lower["effect_size"] == pytest.approx(-1.0)
    # P(T > B) - P(T < B) counting ties as half
    t, b = [1.0, 2.0, 2.0], [2.0, 3.0]
    pairs = [(x > y) - (x < y) for x in t for y in b]
    assert mann_whitney()({"x": b}, {"x": t})["effect_size"] == pytest.approx(np.mean(pairs))


def test_mann_whitney_single_values_are_allowed_with_nan_ci() -> None:
    out = mann_whitney()({"x": [1.0]}, {"x": [2.0, 3.0]})
    assert out["p_value"] == pytest.approx(stats.mannwhitneyu([2.0, 3.0], [1.0]).pvalue)
    assert all(math.isnan(v) for v in out["ci"])


def test_mann_whitney_needs_values() -> None:
    with pytest.raises(InsufficientSamplesError, match=r"at least 1 .*baseline.*got 0"):
        mann_whitney()({"x": []}, {"x": [1.0]})


def test_mann_whitney_bad_method() -> None:
    with pytest.raises(VerificationError, match="method"):
        mann_whitney(method="magic")({"x": BASE}, {"x": TREAT})


def test_mann_whitney_ci_seeded() -> None:
    a = mann_whitney(seed=3)({"x": BASE}, {"x": TREAT})
    b = mann_whitney(seed=3)({"x": BASE}, {"x": TREAT})
    c = mann_whitney(seed=4)({"x": BASE}, {"x": TREAT})
    assert a == b
    assert a["ci"] != c["ci"]
    assert a["p_value"] == c["p_value"]


# --- Wilcoxon ---------------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_wilcoxon_matches_scipy(alternative: str) -> None:
    out = wilcoxon(alternative=alternative)({"x": BASE}, {"x": PAIRED_T})
    ref = stats.wilcoxon(PAIRED_T, BASE, alternative=alternative)
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert out["statistic"] == pytest.approx(ref.statistic)
    diff = np.asarray(PAIRED_T) - np.asarray(BASE)
    ranks = stats.rankdata(np.abs(diff))
    r_plus, r_minus = ranks[diff > 0].sum(), ranks[diff < 0].sum()
    assert (out["r_plus"], out["r_minus"]) == pytest.approx((r_plus, r_minus))
    assert out["effect_size"] == pytest.approx((r_plus - r_minus) / (r_plus + r_minus))
    assert out["ci"] == pytest.approx(_bootstrap_ci((diff,), lambda d, axis=-1: d.mean(axis)))
    assert out["n_pairs"] == 10


def test_wilcoxon_with_zero_differences() -> None:
    base = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    treat = [1.0, 2.5, 3.2, 4.0, 6.0, 7.5]
    for zero_method in ("wilcox", "pratt", "zsplit"):
        out = wilcoxon(zero_method=zero_method)({"x": base}, {"x": treat})
        ref = stats.wilcoxon(treat, base, zero_method=zero_method)
        assert out["p_value"] == pytest.approx(ref.pvalue)
        assert out["effect_size"] > 0


def test_wilcoxon_all_equal_pairs() -> None:
    out = wilcoxon()({"x": [1.0, 2.0, 3.0]}, {"x": [1.0, 2.0, 3.0]})
    assert out["effect_size"] == 0.0
    assert out["significant"] is False


def test_wilcoxon_errors() -> None:
    with pytest.raises(VerificationError, match="same number of values"):
        wilcoxon()({"x": [1.0, 2.0, 3.0]}, {"x": [1.0, 2.0]})
    with pytest.raises(InsufficientSamplesError, match="paired values"):
        wilcoxon()({"x": [1.0]}, {"x": [2.0]})
    with pytest.raises(VerificationError, match="zero_method"):
        wilcoxon(zero_method="drop")({"x": BASE}, {"x": PAIRED_T})
    with pytest.raises(VerificationError, match="alternative"):
        wilcoxon(alternative="two_sided")({"x": BASE}, {"x": PAIRED_T})


# --- permutation test -------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_permutation_monte_carlo_matches_scipy(alternative: str) -> None:
    out = permutation_test(alternative=alternative, seed=11)({"x": BASE}, {"x": TREAT})
    ref = stats.permutation_test(
        (TREAT, BASE),
        _mean_diff,
        vectorized=True,
        n_resamples=9999,
        alternative=alternative,
        rng=np.random.default_rng(11),
    )
    assert out["exact"] is False  # C(18, 10) = 43758 > 9999
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert out["statistic"] == pytest.approx(np.mean(TREAT) - np.mean(BASE))
    welch = stats.ttest_ind(TREAT, BASE, equal_var=False).confidence_interval(0.95)
    assert out["ci"] == pytest.approx((welch.low, welch.high), abs=1e-12)  # not a bootstrap
    assert out["ci_of"] == "difference in means (Welch t-interval)"
    assert out["effect_size_name"] == "hedges_g"


def test_permutation_seeds() -> None:
    same_a = permutation_test(seed=1)({"x": BASE}, {"x": TREAT})
    same_b = permutation_test(seed=1)({"x": BASE}, {"x": TREAT})
    other = permutation_test(seed=2)({"x": BASE}, {"x": TREAT})
    assert same_a == same_b
    assert same_a["p_value"] != other["p_value"]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_permutation_exact_on_tiny_samples(alternative: str) -> None:
    base, treat = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    out = permutation_test(alternative=alternative)({"x": base}, {"x": treat})
    assert out["exact"] is True  # C(6, 3) = 20 relabellings
    expected = {"two-sided": 2 / 20, "greater": 1 / 20, "less": 1.0}[alternative]
    assert out["p_value"] == pytest.approx(expected)
    # exact: the seed does not matter
    other = permutation_test(alternative=alternative, seed=99)({"x": base}, {"x": treat})
    assert other["p_value"] == out["p_value"]


def test_permutation_exact_switch_follows_n_resamples() -> None:
    base, treat = [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]
    out = permutation_test(n_resamples=10)({"x": base}, {"x": treat})
    assert out["exact"] is False
    assert out["n_resamples"] == 10


def test_permutation_errors() -> None:
    with pytest.raises(InsufficientSamplesError, match="treatment"):
        permutation_test()({"x": [1.0, 2.0]}, {"x": []})
    with pytest.raises(VerificationError, match="n_resamples"):
        permutation_test(n_resamples=0)({"x": [1.0]}, {"x": [2.0]})
    with pytest.raises(VerificationError, match="seed"):
        permutation_test(seed=-1)({"x": [1.0]}, {"x": [2.0]})


def test_small_sample_bootstrap_intervals_carry_a_warning() -> None:
    small = mann_whitney()({"x": [1.0, 2.0, 3.0]}, {"x": [4.0, 5.0, 6.0]})
    assert any(w.startswith("SmallSampleWarning: the ci is a percentile-bootstrap interval from 3") for w in small["warnings"])
    paired = wilcoxon()({"x": [1.0, 2.0, 3.0, 4.0]}, {"x": [2.0, 3.5, 3.0, 6.0]})
    assert any("SmallSampleWarning" in w for w in paired["warnings"])
    big = mann_whitney()({"x": list(range(12))}, {"x": list(range(3, 15))})
    assert not any("SmallSampleWarning" in w for w in big.get("warnings", []))


def test_permutation_test_needs_two_values_per_condition() -> None:
    from crystallize.exceptions import InsufficientSamplesError

    with pytest.raises(InsufficientSamplesError, match="permutation_test"):
        permutation_test()({"x": [1.0]}, {"x": [2.0, 3.0, 4.0, 5.0, 6.0]})
