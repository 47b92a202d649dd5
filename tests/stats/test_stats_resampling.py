"""bootstrap_ci against scipy.stats.bootstrap / permutation_test called directly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crystallize.exceptions import InsufficientSamplesError, VerificationError
from crystallize.stats import bootstrap_ci
from crystallize.stats.effect_sizes import hedges_g

RNG = np.random.default_rng(3)
BASE = RNG.normal(0.0, 1.0, size=14).round(4).tolist()
TREAT = RNG.normal(0.9, 1.3, size=11).round(4).tolist()


def _mean_diff(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


@pytest.mark.parametrize("method", ["BCa", "percentile", "basic"])
def test_ci_matches_scipy_bootstrap(method: str) -> None:
    out = bootstrap_ci(method=method, seed=5)({"x": BASE}, {"x": TREAT})
    ref = stats.bootstrap(
        (TREAT, BASE),
        _mean_diff,
        vectorized=True,
        method=method,
        n_resamples=9999,
        confidence_level=0.95,
        rng=np.random.default_rng(5),
    )
    assert out["ci"] == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))
    assert out["method"] == method
    assert out["ci_of"] == "difference in means"


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_p_value_is_a_seeded_permutation_p(alternative: str) -> None:
    out = bootstrap_ci(alternative=alternative, seed=8)({"x": BASE}, {"x": TREAT})
    ref = stats.permutation_test(
        (TREAT, BASE),
        _mean_diff,
        vectorized=True,
        n_resamples=9999,
        alternative=alternative,
        rng=np.random.default_rng(8),
    )
    assert out["p_value_method"] == "permutation"
    assert out["p_value"] == pytest.approx(ref.pvalue)
    assert out["significant"] is bool(ref.pvalue < 0.05)
    assert out["effect_size"] == pytest.approx(hedges_g(BASE, TREAT))


def test_alpha_sets_confidence_level() -> None:
    out = bootstrap_ci(alpha=0.2, method="percentile")({"x": BASE}, {"x": TREAT})
    ref = stats.bootstrap(
        (TREAT, BASE),
        _mean_diff,
        vectorized=True,
        method="percentile",
        confidence_level=0.8,
        rng=np.random.default_rng(0),
    )
    assert out["ci"] == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))


def test_same_seed_same_output_different_seed_different_ci() -> None:
    a = bootstrap_ci(seed=1)({"x": BASE}, {"x": TREAT})
    b = bootstrap_ci(seed=1)({"x": BASE}, {"x": TREAT})
    c = bootstrap_ci(seed=2)({"x": BASE}, {"x": TREAT})
    assert a == b
    assert a["ci"] != c["ci"]
    assert a["p_value"] != c["p_value"]


def test_degenerate_data_gives_warning() -> None:
    out = bootstrap_ci()({"x": [2.0, 2.0, 2.0]}, {"x": [2.0, 2.0, 2.0]})
    assert out["warnings"]
    assert out["p_value"] == pytest.approx(1.0)
    assert out["significant"] is False


def test_errors() -> None:
    with pytest.raises(InsufficientSamplesError, match=r"at least 2.*got 1"):
        bootstrap_ci()({"x": [1.0]}, {"x": [1.0, 2.0]})
    with pytest.raises(VerificationError, match="unknown method 'studentized'"):
        bootstrap_ci(method="studentized")({"x": BASE}, {"x": TREAT})
    with pytest.raises(VerificationError, match="alternative"):
        bootstrap_ci(alternative="up")({"x": BASE}, {"x": TREAT})
