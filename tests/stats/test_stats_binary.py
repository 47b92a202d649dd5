"""fisher_exact and chi2 against scipy / statsmodels called directly."""

from __future__ import annotations

import math

import pytest
from scipy import stats
from scipy.stats.contingency import odds_ratio
from statsmodels.stats.proportion import confint_proportions_2indep

from crystallize.exceptions import InsufficientSamplesError, VerificationError
from crystallize.stats import chi2, fisher_exact

BASE = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]  # 3 / 12
TREAT = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1]  # 8 / 10
TABLE = [[8, 2], [3, 9]]


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_fisher_matches_scipy(alternative: str) -> None:
    out = fisher_exact(alternative=alternative)({"win": BASE}, {"win": TREAT})
    ref = stats.fisher_exact(TABLE, alternative=alternative)
    ratio = odds_ratio(TABLE, kind="conditional")
    ratio_ci = ratio.confidence_interval(confidence_level=0.95)
    low, high = confint_proportions_2indep(
        8, 10, 3, 12, method="newcomb", compare="diff", alpha=0.05
    )
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert out["effect_size"] == pytest.approx(ratio.statistic)
    assert out["effect_size_name"] == "odds_ratio"
    assert out["odds_ratio_ci"] == pytest.approx((ratio_ci.low, ratio_ci.high))
    assert out["ci"] == pytest.approx((low, high))
    assert out["ci_of"].startswith("difference in proportions")
    assert out["table"] == TABLE
    assert out["difference"] == pytest.approx(0.8 - 0.25)
    assert (out["mean_baseline"], out["mean_treatment"]) == pytest.approx((0.25, 0.8))


def test_fisher_accepts_bools() -> None:
    out = fisher_exact()({"win": [bool(v) for v in BASE]}, {"win": [v == 1 for v in TREAT]})
    assert out["p_value"] == pytest.approx(stats.fisher_exact(TABLE).pvalue)


def test_fisher_all_successes_everywhere() -> None:
    out = fisher_exact()({"win": [1, 1, 1]}, {"win": [1, 1]})
    assert out["p_value"] == pytest.approx(1.0)
    assert math.isnan(out["effect_size"])
    assert out["significant"] is False


def test_fisher_rejects_non_binary_values() -> None:
    with pytest.raises(
        VerificationError, match=r"binary values.*'win'.*treatment.*0.5.*replicate 1"
    ):
        fisher_exact()({"win": BASE}, {"win": [1, 0.5, 0]})
    with pytest.raises(VerificationError, match="binary"):
        fisher_exact()({"win": [2, 0]}, {"win": [1, 0]})


def test_fisher_needs_values() -> None:
    with pytest.raises(InsufficientSamplesError, match="baseline"):
        fisher_exact()({"win": []}, {"win": [1]})


@pytest.mark.parametrize("correction", [True, False])
def test_chi2_matches_scipy(correction: bool) -> None:
    out = chi2(correction=correction)({"win": BASE}, {"win": TREAT})
    ref = stats.chi2_contingency(TABLE, correction=correction)
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert out["statistic"] == pytest.approx(ref.statistic)
    assert out["dof"] == 1
    assert out["yates_correction"] is correction
    assert out["effect_size"] == pytest.approx(odds_ratio(TABLE).statistic)
    low, high = confint_proportions_2indep(
        8, 10, 3, 12, method="newcomb", compare="diff", alpha=0.05
    )
    assert out["ci"] == pytest.approx((low, high))


def test_chi2_is_two_sided_only() -> None:
    with pytest.raises(
        VerificationError, match=r"two-sided.*fisher_exact\(alternative='greater'\)"
    ):
        chi2(alternative="greater")({"win": BASE}, {"win": TREAT})


def test_chi2_undefined_without_variation() -> None:
    with pytest.raises(VerificationError, match="every value of metric 'win' is 1"):
        chi2()({"win": [1, 1]}, {"win": [1, 1, 1]})


def test_chi2_rejects_non_binary_values() -> None:
    with pytest.raises(VerificationError, match="binary"):
        chi2()({"win": [0.3, 1]}, {"win": [1, 0]})
