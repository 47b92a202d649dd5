"""Finite values near the ends of the float range: the verifiers must not overflow.

Sums of two values of 1e308 overflow a float, and so do variances of values above about
1e154 (and underflow below about 1e-154). Every statistic here is scale-equivariant:
multiplying both samples by the same power of two leaves p-values, significance and
effect sizes unchanged and multiplies means, differences and intervals by it exactly. So
the verifiers must give, on huge or tiny samples, what they give on ordinary ones.
"""

from __future__ import annotations

import math
import sys
import warnings

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Hypothesis,
    Pipeline,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.stats import (
    bootstrap_ci,
    mann_whitney,
    paired_t_test,
    permutation_test,
    welch_t_test,
    wilcoxon,
)

BIG = sys.float_info.max
RESAMPLING = [permutation_test, bootstrap_ci]
ALL = [permutation_test, bootstrap_ci, welch_t_test, paired_t_test, mann_whitney, wilcoxon]
ALTERNATIVES = ["two-sided", "greater", "less"]


def times_two_to(value, exponent: int):
    """``value * 2**exponent`` (tuples elementwise; ±inf when that overflows)."""
    if isinstance(value, tuple):
        return tuple(times_two_to(v, exponent) for v in value)
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def run(factory, baseline, treated, **kwargs):
    """The verifier's result, failing the test if a Python warning escapes it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return factory(**kwargs)({"m": list(baseline)}, {"m": list(treated)})


@pytest.mark.parametrize("factory", RESAMPLING)
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_identical_huge_samples_are_not_significant(factory, alternative) -> None:
    out = run(factory, [1e308, 1e308], [1e308, 1e308], alternative=alternative)
    assert out["p_value"] == 1.0
    assert out["significant"] is False
    assert out["statistic"] == 0.0
    assert (out["mean_baseline"], out["mean_treatment"], out["difference"]) == (1e308, 1e308, 0.0)
    assert not any("overflow" in note for note in out.get("warnings", []))


@pytest.mark.parametrize("alternative,p_value", [("two-sided", 1.0), ("greater", 0.8), ("less", 0.8)])
def test_identical_huge_samples_with_an_ordinary_value(alternative, p_value) -> None:
    values = [1e308, 1e308, 1.0]
    out = run(permutation_test, values, values, alternative=alternative)
    # Of the 20 relabellings, 12 give a mean difference of 0, 4 a positive one, 4 a negative.
    assert out["p_value"] == pytest.approx(p_value)
    assert (out["significant"], out["difference"]) == (False, 0.0)
    assert out["effect_size"] == 0.0
    # Welch's interval around 0: the spread (about 5.8e307) is a finite float.
    low, high = out["ci"]
    assert math.isfinite(low) and math.isfinite(high) and low == -high and high > 1e308


@pytest.mark.parametrize("factory", RESAMPLING)
def test_two_against_two_gives_a_possible_exact_p_value(factory) -> None:
    out = run(factory, [1e300, 1e300], [1e300, BIG], alternative="greater")
    assert out["exact"] is True
    # 6 relabellings, 3 of which give the largest mean difference.
    assert out["p_value"] == pytest.approx(0.5)
    assert out["significant"] is False
    assert out["difference"] == pytest.approx((BIG - 1e300) / 2, rel=1e-15)
    assert out["statistic"] == out["difference"]


@pytest.mark.parametrize("factory", ALL)
@pytest.mark.parametrize("exponent", [1000, 1020, -600, -1000])
@pytest.mark.parametrize(
    "baseline,treated,alternative",
    [
        ([1.0, -0.5, 0.75, -0.0, 0.75, 0.5], [1.0, 0.75, 0.75, -0.0, 0.75, 0.5], "greater"),
        ([0.75, -0.651592972722763, -0.75], [0.75, -0.5, -0.7], "two-sided"),
        ([0.75, 0.5, 0.5, 1.0], [0.75, 0.5, 0.3220017663873259, -0.4209186792090759], "less"),
        ([0.2, 0.4, 0.3, 0.35, 0.25], [0.9, 0.7, 0.95, 0.8, 0.85], "greater"),
    ],
)
def test_scaling_by_a_power_of_two_changes_nothing_else(factory, exponent, baseline, treated, alternative):
    kwargs = {"alternative": alternative}
    if factory not in (welch_t_test, paired_t_test):
        kwargs["n_resamples"] = 999
    ref = run(factory, baseline, treated, **kwargs)
    out = run(factory, [math.ldexp(v, exponent) for v in baseline], [math.ldexp(v, exponent) for v in treated], **kwargs)
    assert out["p_value"] == ref["p_value"]
    assert out["significant"] is ref["significant"]
    assert out["effect_size"] == pytest.approx(ref["effect_size"], rel=1e-12, nan_ok=True)
    for key in ("mean_baseline", "mean_treatment", "difference"):
        assert out[key] == pytest.approx(times_two_to(ref[key], exponent), rel=1e-12), key
    assert out["ci"] == pytest.approx(times_two_to(ref["ci"], exponent), rel=1e-12, nan_ok=True)


@pytest.mark.parametrize("factory", [mann_whitney, wilcoxon])
def test_rank_tests_ci_is_finite_when_the_difference_is(factory) -> None:
    out = run(factory, [1.0, 2.0, 3.0], [1e308, 1e308, 1e308])
    low, high = out["ci"]
    assert low == pytest.approx(1e308, rel=1e-12) and high == pytest.approx(1e308, rel=1e-12)
    assert out["difference"] == pytest.approx(1e308, rel=1e-12)


@pytest.mark.parametrize("factory", ALL)
def test_a_difference_beyond_the_largest_float_is_inf_with_a_warning(factory) -> None:
    baseline = [-1e308, -1.1e308, -1.2e308]
    treated = [1e308, 1.1e308, 1.25e308]
    ref = run(factory, [v / 2**1000 for v in baseline], [v / 2**1000 for v in treated])
    out = run(factory, baseline, treated)
    assert out["difference"] == math.inf  # about 2.2e308: too large for a float
    assert (out["mean_baseline"], out["mean_treatment"]) == pytest.approx((-1.1e308, 1e308 / 3 + 1.1e308 / 3 + 1.25e308 / 3))
    assert out["p_value"] == ref["p_value"] and out["significant"] is ref["significant"]
    assert out["effect_size"] == pytest.approx(ref["effect_size"], rel=1e-12)
    assert out["ci"][1] == math.inf
    assert any(note.startswith("RuntimeWarning: overflow") for note in out["warnings"])


def test_ordinary_results_carry_no_overflow_warning() -> None:
    out = run(permutation_test, [0.1, 0.2, 0.3], [0.4, 0.5, 0.7])
    assert not any("overflow" in note for note in out.get("warnings", []))


def test_welch_on_identical_huge_values_is_undefined_and_says_why() -> None:
    out = run(welch_t_test, [1e308, 1e308], [1e308, 1e308])
    assert math.isnan(out["p_value"]) and out["significant"] is False
    assert any(
        note.startswith("UndefinedTestWarning") and "1e+308" in note for note in out["warnings"]
    )


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def emit(data, ctx):
    ctx.metrics.add("m", ctx["vals"][ctx["replicate"]])
    return data


def test_experiment_with_identical_huge_metrics_finds_no_effect() -> None:
    hypotheses = [
        Hypothesis(verifier=verifier, metrics="m", name=name)
        for name, verifier in [("perm", permutation_test()), ("boot", bootstrap_ci())]
    ]
    result = Experiment(
        datasource=zero(),
        pipeline=Pipeline([emit()]),
        initial_ctx={"vals": [1e308, 1e308]},
        treatments=[treatment("same", {"vals": [1e308, 1e308]})],
        replicates=2,
        hypotheses=hypotheses,
        plugins=[ArtifactPlugin(root_dir=None)],
        name="overflow",
    ).run()
    for name in ("perm", "boot"):
        res = result.get_hypothesis(name).results["same"]
        assert (res["p_value"], res["significant"], res["difference"]) == (1.0, False, 0.0)


def test_ordinary_samples_are_not_rescaled() -> None:
    from crystallize.stats._common import on_common_scale, scale_exponent

    assert scale_exponent([0.0, 0.0], [0.0]) == 0
    assert scale_exponent([1e-38, 2.0**-128], [3e38]) == 0
    b, t, exponent = on_common_scale([0.1, 2.5], [1e-300, -7.0])
    assert exponent == 0 and b.tolist() == [0.1, 2.5] and t.tolist() == [1e-300, -7.0]


@pytest.mark.parametrize("largest,exponent", [(2.0**128, 129), (1e308, 1024), (2.0**-129, -128)])
def test_extreme_samples_are_rescaled_exactly(largest, exponent) -> None:
    from crystallize.stats._common import on_common_scale, unscaled

    b, t, e = on_common_scale([largest, largest / 3], [-largest / 5])
    assert e == exponent and 0.5 <= max(abs(b).max(), abs(t).max()) < 1
    assert [unscaled(v, e) for v in b] == [largest, largest / 3]
    assert unscaled(2.0, 1024) == math.inf and math.isnan(unscaled(math.nan, 3))


def test_public_effect_sizes_of_huge_and_tiny_values_equal_those_of_ordinary_ones():
    from crystallize.stats.effect_sizes import cohens_d, cohens_dz, hedges_g

    b, t = [1.0, 2.0, 4.0], [3.0, 5.0, 9.0]
    for factor in (1e300, 1e-300):
        scaled_b, scaled_t = [x * factor for x in b], [x * factor for x in t]
        for effect in (cohens_d, cohens_dz, hedges_g):
            assert effect(scaled_b, scaled_t) == pytest.approx(effect(b, t), rel=1e-12), (effect, factor)


def test_integers_a_float_cannot_hold_are_warned_about():
    baseline = {"n": [2**60 + i for i in range(1, 7)]}
    shifted = {"n": [2**60 + i for i in range(101, 107)]}
    with pytest.warns(RuntimeWarning, match=r"the integer 115292150460684\d+ is compared as the float .* 2\*\*53"):
        mann_whitney()(baseline, shifted)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        mann_whitney()({"n": [2**60, 2**61, 2**62]}, {"n": [2**62, 2**63, 3]})  # exact as floats
        welch_t_test()({"n": [1, 2, 3]}, {"n": [4, 5, 7]})
