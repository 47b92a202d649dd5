"""A metric that does not vary between replicates (up to float rounding) is said so.

A deterministic metric gives the same value in every replicate, often with float noise
of a few ulps (``0.1 + 0.2`` against ``0.3``). The t-tests then divide by a variance that
is zero or pure rounding error: their p-value is NaN or absurdly small and the effect
size infinite or huge. The verifiers must say so and the effect sizes follow their
docstrings (NaN when the values are all equal, ±inf when each condition is constant
but the two differ).
"""

from __future__ import annotations

import math

import pytest

from crystallize.stats import bootstrap_ci, paired_t_test, permutation_test, welch_t_test
from crystallize.stats.effect_sizes import cohens_d, cohens_dz, hedges_g

NOISY_POINT_THREE = 0.1 + 0.2  # 0.30000000000000004: 0.3 up to float rounding


def _warnings(out: dict, prefix: str) -> list[str]:
    return [w for w in out.get("warnings", []) if w.startswith(prefix)]


def test_welch_on_identical_constant_values_says_why_p_is_nan_even_when_scipy_warned() -> None:
    # scipy warns "Precision loss ..." here; the UndefinedTestWarning must still be there.
    out = welch_t_test()({"m": [0.8] * 5}, {"m": [0.8] * 5})
    assert math.isnan(out["p_value"]) and out["significant"] is False
    undefined = _warnings(out, "UndefinedTestWarning")
    assert len(undefined) == 1
    assert "does not vary" in undefined[0] and "0.8" in undefined[0]
    assert math.isnan(out["effect_size"])


def test_welch_on_values_equal_up_to_rounding_is_undefined_not_significant() -> None:
    # scipy returns p = 0.0 (t = inf) for 0.3 against 0.30000000000000004.
    out = welch_t_test()({"m": [0.3] * 5}, {"m": [NOISY_POINT_THREE] * 5})
    assert math.isnan(out["p_value"]) and out["significant"] is False
    assert _warnings(out, "UndefinedTestWarning: the p-value is NaN because the metric does not vary")
    assert math.isnan(out["effect_size"])


@pytest.mark.parametrize(("baseline", "treatment", "sign"), [(0.80, 0.81, 1), (0.81, 0.80, -1)])
def test_welch_on_constant_but_different_conditions_warns_and_effect_is_infinite(
    baseline: float, treatment: float, sign: int
) -> None:
    out = welch_t_test()({"m": [baseline] * 5}, {"m": [treatment] * 5})
    assert out["p_value"] < 1e-10  # scipy's p-value is kept, but flagged
    constant = _warnings(out, "ConstantMetricWarning")
    assert len(constant) == 1
    assert "does not vary between replicates" in constant[0]
    assert f"{baseline:g}" in constant[0] and f"{treatment:g}" in constant[0]
    assert "not meaningful" in constant[0] and "permutation_test" in constant[0]
    assert out["effect_size"] == sign * math.inf  # not 1.03e14 from float noise


def test_paired_t_with_equal_differences_warns_and_effect_is_infinite() -> None:
    out = paired_t_test()({"m": [1.0, 2.0]}, {"m": [3.0, 4.0]})
    constant = _warnings(out, "ConstantMetricWarning")
    assert len(constant) == 1 and "every paired difference" in constant[0] and "2" in constant[0]
    assert out["effect_size"] == math.inf


def test_paired_t_with_zero_differences_up_to_rounding_is_undefined() -> None:
    baseline = [0.3, 0.6, 0.9]
    treatment = [0.1 + 0.2, 0.2 + 0.4, 0.4 + 0.5]  # equal up to a few ulps
    out = paired_t_test()({"m": baseline}, {"m": treatment})
    assert math.isnan(out["p_value"]) and out["significant"] is False
    assert _warnings(out, "UndefinedTestWarning: the p-value is NaN because the metric does not vary")
    assert math.isnan(out["effect_size"])


def test_paired_differences_are_judged_against_the_values_magnitude() -> None:
    # Differences of 1e-3 on values near 1000 carry rounding noise of ~1e-13: constant.
    baseline = [1000.1, 1000.2, 1000.3]
    out = paired_t_test()({"m": baseline}, {"m": [x + 1e-3 for x in baseline]})
    assert _warnings(out, "ConstantMetricWarning")
    assert out["effect_size"] == math.inf


@pytest.mark.parametrize(
    ("baseline", "treatment"),
    [
        ([1.0, 2.0, 3.0], [2.0, 3.5, 4.0]),
        ([1e-20, 2e-20, 3e-20], [4e-20, 5e-20, 7e-20]),  # tiny values that really vary
        ([1.0] * 4, [1.0, 2.0, 3.0, 4.0]),  # one constant condition: Welch is still defined
    ],
)
def test_varying_metrics_are_not_flagged(baseline: list[float], treatment: list[float]) -> None:
    out = welch_t_test()({"m": baseline}, {"m": treatment})
    assert not _warnings(out, "ConstantMetricWarning")
    assert not _warnings(out, "UndefinedTestWarning")
    assert math.isfinite(out["p_value"]) and math.isfinite(out["effect_size"])


def test_effect_sizes_follow_their_docstrings_despite_float_noise() -> None:
    assert cohens_d([0.8] * 5, [0.81] * 5) == math.inf
    assert hedges_g([0.81] * 5, [0.8] * 5) == -math.inf
    assert math.isnan(hedges_g([0.3] * 5, [NOISY_POINT_THREE] * 5))
    assert math.isnan(cohens_d([0.1] * 5, [0.1] * 6))
    assert math.isnan(cohens_dz([0.3, 0.6], [0.1 + 0.2, 0.2 + 0.4]))
    assert cohens_dz([0.1, 0.2, 0.3], [0.2, 0.30000000000000004, 0.4]) == math.inf


@pytest.mark.parametrize("factory", [permutation_test, bootstrap_ci])
def test_resampling_tests_report_the_documented_effect_size(factory) -> None:
    out = factory()({"m": [0.8] * 5}, {"m": [0.81] * 5})
    assert out["effect_size"] == math.inf


def test_a_nan_p_value_is_explained_even_when_scipy_already_warned() -> None:
    from crystallize.stats._common import finish

    out = finish({}, math.nan, 0.05, ["RuntimeWarning: Precision loss occurred"])
    assert out["warnings"][0] == "RuntimeWarning: Precision loss occurred"
    assert out["warnings"][1].startswith("UndefinedTestWarning: the p-value is NaN")


# -- rank and permutation tests: values equal up to rounding are compared as equal ----------
from crystallize.stats import mann_whitney, wilcoxon  # noqa: E402


@pytest.mark.parametrize("factory", [permutation_test, mann_whitney, bootstrap_ci])
def test_unpaired_rank_and_permutation_tests_treat_rounding_noise_as_equal_values(factory) -> None:
    # Ordered exactly, 0.3 < 0.30000000000000004 in every pair: p was 0.001-0.002.
    noisy = factory()({"m": [0.3] * 6}, {"m": [NOISY_POINT_THREE] * 6})
    identical = factory()({"m": [0.3] * 6}, {"m": [0.3] * 6})
    assert noisy["significant"] is False and noisy["p_value"] == identical["p_value"] == 1.0
    tied = _warnings(noisy, "ConstantMetricWarning")
    assert len(tied) == 1 and "differ only by float rounding" in tied[0] and "0.3" in tied[0]
    assert not _warnings(identical, "ConstantMetricWarning")  # nothing was changed there
    assert noisy["difference"] == pytest.approx(5.55e-17, rel=0.01)  # reported as measured


def test_mann_whitney_effect_size_is_zero_for_rounding_noise() -> None:
    out = mann_whitney()({"m": [0.3] * 6}, {"m": [NOISY_POINT_THREE, 0.3] * 3})
    assert out["effect_size"] == 0.0 and out["p_value"] == 1.0


def test_wilcoxon_treats_paired_rounding_differences_as_zero() -> None:
    baseline = {"m": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    treatment = {"m": [1.0, 2.0, 3.0000000000000004, 4.0, 5.000000000000001, 6.000000000000001]}
    out = wilcoxon()(baseline, treatment)
    assert out["significant"] is False and out["p_value"] == 1.0 and out["effect_size"] == 0.0
    assert "every paired difference" in _warnings(out, "ConstantMetricWarning")[0]


def test_real_differences_keep_their_exact_ordering() -> None:
    # Values that vary are never rounded together, however close two of them are.
    baseline = {"m": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    treatment = {"m": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]}
    for factory in (permutation_test, mann_whitney, bootstrap_ci, wilcoxon):
        out = factory()(baseline, treatment)
        assert not _warnings(out, "ConstantMetricWarning"), factory.__name__
    assert wilcoxon()(baseline, treatment)["p_value"] < 0.05


def test_one_pair_of_huge_values_does_not_make_exact_differences_look_like_rounding() -> None:
    # Nine pairs differ by exactly 1; one pair near 1e17 (whose rounding is ~16) by 0.
    # Judged against the largest value overall, every difference looked like rounding:
    # wilcoxon said p = 1 and paired_t_test "every paired difference is 0" (p NaN).
    from scipy.stats import ttest_rel
    from scipy.stats import wilcoxon as scipy_wilcoxon

    baseline = [1e17] + [float(i) for i in range(1, 10)]
    treatment = [1e17] + [float(i) for i in range(2, 11)]
    out = wilcoxon()({"m": baseline}, {"m": treatment})
    assert out["p_value"] == pytest.approx(scipy_wilcoxon(treatment, baseline).pvalue)
    assert out["p_value"] < 0.05 and not _warnings(out, "ConstantMetricWarning")
    out = paired_t_test()({"m": baseline}, {"m": treatment})
    assert out["p_value"] == pytest.approx(ttest_rel(treatment, baseline).pvalue)
    assert not _warnings(out, "UndefinedTestWarning")
    # The huge pair's 0 is within its own rounding of 1: the differences may all be 1.
    assert "every paired difference (treatment - baseline) is 0.9" in _warnings(out, "ConstantMetricWarning")[0]


def test_mann_whitney_keeps_p_one_where_scipy_leaves_all_ties_undefined(monkeypatch) -> None:
    # scipy 1.18's normal approximation returns NaN when every value ties (1.17: 1.0).
    import scipy.stats

    real = scipy.stats.mannwhitneyu

    def like_scipy_1_18(x, y, **kwargs):
        found = real(x, y, **kwargs)
        if len(set(x) | set(y)) == 1:
            return type(found)(found.statistic, math.nan)
        return found

    monkeypatch.setattr(scipy.stats, "mannwhitneyu", like_scipy_1_18)
    out = mann_whitney()({"m": [2.0] * 5}, {"m": [2.0] * 5})
    assert out["p_value"] == 1.0 and out["significant"] is False
    assert not [w for w in out.get("warnings", []) if w.startswith("UndefinedTestWarning")]
    varied = mann_whitney()({"m": [1.0, 2.0, 2.0]}, {"m": [2.0, 2.0, 3.0]})
    assert 0 < varied["p_value"] < 1  # only the all-tied NaN is replaced
