"""Effect size definitions, checked against textbook formulas and scipy statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import gamma

from crystallize.stats.effect_sizes import (
    cohens_d,
    cohens_dz,
    hedges_correction,
    hedges_g,
    matched_pairs_rank_biserial,
    rank_biserial,
)

B = [2.0, 4.0, 4.0, 5.0, 7.0]
T = [5.0, 6.0, 8.0, 9.0]


def test_cohens_d_pooled_sd() -> None:
    pooled = math.sqrt(((len(B) - 1) * np.var(B, ddof=1) + (len(T) - 1) * np.var(T, ddof=1)) / 7)
    assert cohens_d(B, T) == pytest.approx((np.mean(T) - np.mean(B)) / pooled)
    assert cohens_d(T, B) == pytest.approx(-cohens_d(B, T))


def test_cohens_d_relates_to_student_t() -> None:
    # the pooled-variance t statistic is d / sqrt(1/n1 + 1/n2)
    t = stats.ttest_ind(T, B, equal_var=True).statistic
    assert cohens_d(B, T) == pytest.approx(t * math.sqrt(1 / len(B) + 1 / len(T)))


def test_hedges_correction_exact_and_close_to_approximation() -> None:
    for df in (2, 5, 10, 40):
        exact = gamma(df / 2) / (math.sqrt(df / 2) * gamma((df - 1) / 2))
        assert hedges_correction(df) == pytest.approx(exact)
        assert hedges_correction(df) == pytest.approx(1 - 3 / (4 * df - 1), abs=0.02)
    assert math.isnan(hedges_correction(1))
    assert hedges_g(B, T) == pytest.approx(cohens_d(B, T) * hedges_correction(7))


def test_degenerate_cases() -> None:
    assert math.isnan(cohens_d([1.0, 1.0], [1.0, 1.0]))
    assert cohens_d([1.0, 1.0], [2.0, 2.0]) == math.inf
    assert cohens_d([2.0, 2.0], [1.0, 1.0]) == -math.inf
    assert math.isnan(cohens_d([1.0], [2.0]))
    assert math.isnan(hedges_g([1.0], [2.0, 3.0]))
    assert math.isnan(cohens_dz([1.0], [2.0]))
    assert cohens_dz([1.0, 2.0], [2.0, 3.0]) == math.inf


def test_cohens_dz_relates_to_paired_t() -> None:
    b = [1.0, 2.0, 3.0, 4.0, 5.5]
    t = [1.4, 2.9, 3.1, 5.0, 6.0]
    res = stats.ttest_rel(t, b)
    assert cohens_dz(b, t) == pytest.approx(res.statistic / math.sqrt(len(b)))


def test_rank_biserial_bounds() -> None:
    assert rank_biserial(12, 3, 4) == pytest.approx(1.0)
    assert rank_biserial(0, 3, 4) == pytest.approx(-1.0)
    assert rank_biserial(6, 3, 4) == pytest.approx(0.0)


def test_matched_pairs_rank_biserial() -> None:
    assert matched_pairs_rank_biserial(15, 0) == 1.0
    assert matched_pairs_rank_biserial(0, 15) == -1.0
    assert matched_pairs_rank_biserial(10, 5) == pytest.approx(1 / 3)
    assert matched_pairs_rank_biserial(0, 0) == 0.0
