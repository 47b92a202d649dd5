"""Tests that pin the statistics and verdict code to independent references.

Written from a mutation-testing pass: each test below catches a plausible wrong answer
(an off-by-one comparison, a confidence level ignored, a ranking rule dropped...) that
the rest of the suite let through. References are scipy/statsmodels called directly, or
small examples worked out by hand, and the rules in docs/statistics.md and docs/reports.md.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.stats.contingency import odds_ratio
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from crystallize import Hypothesis, verifier
from crystallize.result import Result
from crystallize.stats import (
    adjust_p_values,
    fisher_exact,
    mann_whitney,
    paired_t_test,
    permutation_test,
    replicates_needed,
    welch_t_test,
    wilcoxon,
)

BASE = [0.51, 0.49, 0.55, 0.47, 0.52, 0.50]
TREAT = [0.56, 0.53, 0.60, 0.52, 0.58, 0.51]


@verifier
def given(baseline, treatment, *, outputs=None):
    """A stand-in verifier: returns ``outputs[key]`` where ``key`` is the treatment's first
    value of metric ``m`` (so each treatment gets a chosen, known output)."""
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in outputs[treatment["m"][0]].items()}


def _verify(outputs, correction=None, ranker=None, metrics="m"):
    hyp = Hypothesis(
        verifier=given(outputs=outputs), metrics=metrics, name="h", correction=correction, ranker=ranker
    )
    names = list(metrics) if isinstance(metrics, list) else [metrics]
    return hyp.verify(
        {name: [0.0] for name in names},
        {key: {name: [key] for name in names} for key in outputs},
    )


# -- significance: p_value < alpha, strictly --------------------------------------------


@pytest.mark.parametrize(
    ("factory", "reference"),
    [
        (welch_t_test, lambda b, t: sps.ttest_ind(t, b, equal_var=False).pvalue),
        (mann_whitney, lambda b, t: sps.mannwhitneyu(t, b).pvalue),
    ],
)
def test_significant_is_strictly_p_below_alpha(factory, reference):
    """docs: "The result is `significant` when `p_value < alpha`": p == alpha is not."""
    p = float(reference(np.array(BASE), np.array(TREAT)))
    at = factory(alpha=p)({"m": BASE}, {"m": TREAT})
    assert at["p_value"] == p and at["significant"] is False
    above = factory(alpha=math.nextafter(p, 1.0))({"m": BASE}, {"m": TREAT})
    assert above["significant"] is True


def test_adjusted_p_equal_to_alpha_is_not_significant():
    """With a correction, `significant` is recomputed as p_value_adjusted < alpha (strict)."""
    outputs = {"a": {"p_value": 0.025, "alpha": 0.05}, "b": {"p_value": 0.025, "alpha": 0.05}}
    verdict = _verify(outputs, correction="bonferroni")
    expected = multipletests([0.025, 0.025], method="bonferroni")[1]
    assert list(expected) == [0.05, 0.05]  # exactly alpha
    for name in ("a", "b"):
        assert verdict.results[name]["p_value_adjusted"] == 0.05
        assert verdict.results[name]["significant"] is False


def test_correction_judges_each_result_at_its_own_alpha():
    """A verifier without an ``alpha`` parameter that reports ``alpha: 0.01`` is judged at
    0.01 after the correction, not at the 0.05 default."""
    verdict = _verify({"a": {"p_value": 0.03, "alpha": 0.01}}, correction="holm")
    assert verdict.results["a"]["p_value_adjusted"] == pytest.approx(0.03)
    assert verdict.results["a"]["significant"] is False


def test_undefined_test_stays_not_significant_after_a_correction():
    """A NaN p-value (identical constant values) stays NaN when adjusted and is never
    significant: NaN < alpha is false."""
    hyp = Hypothesis(verifier=welch_t_test(), metrics="m", name="h", correction="holm")
    verdict = hyp.verify(
        {"m": [0.5, 0.5, 0.5]},
        {"same": {"m": [0.5, 0.5, 0.5]}, "better": {"m": [0.9, 0.8, 0.85]}},
    )
    same = verdict.results["same"]
    assert math.isnan(same["p_value"]) and math.isnan(same["p_value_adjusted"])
    assert same["significant"] is False
    assert verdict.ranking == ["better", "same"] and verdict.best == "better"


# -- constant metrics that are all zero ---------------------------------------------------


def test_constant_zero_baseline_is_flagged_as_constant():
    """docs (welch_t_test): if the two constants differ, effect_size is ±inf and a
    ConstantMetricWarning says the tiny p-value is not meaningful; 0.0 is a constant too
    (an accuracy of 0 in every replicate)."""
    out = welch_t_test()({"m": [0.0, 0.0, 0.0]}, {"m": [1.0, 1.0, 1.0]})
    assert out["effect_size"] == math.inf
    assert any(w.startswith("ConstantMetricWarning") for w in out.get("warnings", []))


def test_all_zero_metric_is_undefined_with_the_specific_warning():
    """Both conditions all 0: p and effect size are NaN with an UndefinedTestWarning that
    says the metric does not vary."""
    out = welch_t_test()({"m": [0.0, 0.0, 0.0]}, {"m": [0.0, 0.0, 0.0]})
    assert math.isnan(out["p_value"]) and math.isnan(out["effect_size"])
    assert any("does not vary" in w for w in out["warnings"] if w.startswith("UndefinedTestWarning"))


# -- confidence levels follow alpha -------------------------------------------------------


def test_paired_t_interval_and_level_follow_alpha():
    """paired_t_test(alpha=0.1): the CI is scipy's ttest_rel interval at 90%, reported as such."""
    out = paired_t_test(alpha=0.1)({"m": BASE}, {"m": TREAT})
    ref = sps.ttest_rel(TREAT, BASE).confidence_interval(confidence_level=0.9)
    assert out["ci"] == pytest.approx((ref.low, ref.high))
    assert out["ci_level"] == pytest.approx(0.9)


def test_permutation_test_interval_follows_alpha():
    """permutation_test's ci is Welch's interval at confidence 1 - alpha."""
    out = permutation_test(alpha=0.1)({"m": BASE}, {"m": TREAT})
    ref = sps.ttest_ind(TREAT, BASE, equal_var=False).confidence_interval(confidence_level=0.9)
    assert out["ci"] == pytest.approx((ref.low, ref.high))
    assert out["ci_level"] == pytest.approx(0.9)


def test_fisher_intervals_follow_alpha():
    """Both binary intervals (odds ratio and Newcombe difference) use confidence 1 - alpha."""
    baseline = {"s": [1, 0, 0, 1, 0, 0, 1, 0]}
    treatment = {"s": [1, 1, 1, 0, 1, 1, 1, 1]}
    out = fisher_exact(alpha=0.1)(baseline, treatment)
    table = [[7, 1], [3, 5]]  # treatment / baseline successes, failures (by hand)
    assert out["table"] == table
    or_ci = odds_ratio(table, kind="conditional").confidence_interval(confidence_level=0.9)
    assert out["odds_ratio_ci"] == pytest.approx((or_ci.low, or_ci.high))
    low, high = confint_proportions_2indep(7, 8, 3, 8, method="newcomb", compare="diff", alpha=0.1)
    assert out["ci"] == pytest.approx((low, high))


# -- options passed on to scipy --------------------------------------------------------


def test_mann_whitney_method_reaches_scipy():
    """method="asymptotic" gives scipy's normal-approximation p, not the exact one that
    "auto" picks for small samples without ties."""
    t = [0.561, 0.532, 0.601, 0.523, 0.584, 0.515]  # no ties with BASE
    out = mann_whitney(method="asymptotic")({"m": BASE}, {"m": t})
    assert out["p_value"] == pytest.approx(sps.mannwhitneyu(t, BASE, method="asymptotic").pvalue)
    assert out["p_value"] != pytest.approx(sps.mannwhitneyu(t, BASE, method="exact").pvalue)
    assert out["p_value"] != pytest.approx(sps.mannwhitneyu(t, BASE, method="auto").pvalue)


def test_wilcoxon_zero_method_reaches_scipy():
    """zero_method="pratt" keeps zero differences in the ranking; the p-value is scipy's."""
    b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    t = [1.0, 2.0, 3.5, 4.8, 5.9, 5.7, 7.4, 8.9, 10.2, 9.9]  # two zero differences
    out = wilcoxon(zero_method="pratt")({"m": b}, {"m": t})
    ref = sps.wilcoxon(t, b, zero_method="pratt").pvalue
    assert out["p_value"] == pytest.approx(ref)
    assert ref != pytest.approx(sps.wilcoxon(t, b, zero_method="wilcox").pvalue)


def test_mann_whitney_small_sample_warning_counts_the_smaller_condition():
    """3 baseline values against 12: the bootstrap ci rests on 3 values and is flagged."""
    out = mann_whitney()({"m": BASE[:3]}, {"m": TREAT + TREAT})
    notes = [w for w in out.get("warnings", []) if w.startswith("SmallSampleWarning")]
    assert notes and "from 3 value" in notes[0]


# -- replicates_needed ------------------------------------------------------------------


def test_replicates_needed_for_a_huge_effect_uses_the_two_sided_alpha():
    """d = 8, alpha = 0.01, power = 0.7: two-sided power at n is the noncentral-t
    probability P(|T| > t_crit(0.995)), between its upper tail and that plus P(T < 0) =
    Phi(-nc). At n = 2 it is below 0.7 and at n = 3 above, so the answer is 3."""

    def bounds(n):
        df, nc = 2 * n - 2, 8 * math.sqrt(n / 2)
        upper = sps.nct.sf(sps.t.ppf(0.995, df), df, nc)
        return upper, upper + sps.norm.cdf(-nc)

    assert bounds(2)[1] < 0.7 <= bounds(3)[0]
    assert replicates_needed(8, alpha=0.01, power=0.7) == 3


# -- permutation test: the exact flag ---------------------------------------------------


def test_exact_when_relabellings_equal_n_resamples():
    """5 vs 5 values have C(10, 5) = 252 relabellings: with n_resamples=252 scipy
    enumerates them all, so the p-value is the exact one and ``exact`` is True."""
    b, t = BASE[:5], TREAT[:5]
    out = permutation_test(n_resamples=252)({"m": b}, {"m": t})
    exact_p = sps.permutation_test(
        (np.array(t), np.array(b)),
        lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis),
        permutation_type="independent",
        vectorized=True,
        n_resamples=np.inf,
    ).pvalue
    assert out["p_value"] == pytest.approx(exact_p)
    assert out["exact"] is True


# -- multiple comparisons ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_nan_p_value_counts_as_one_in_step_down_corrections(method):
    """docs: a NaN p-value counts in the family as if its p-value were 1 (conservative);
    for Holm/BH its position in the order matters, not just the family size."""
    out = adjust_p_values([0.01, math.nan, 0.02], method)
    ref = multipletests([0.01, 1.0, 0.02], method=method)[1]
    assert math.isnan(out[1])
    assert [out[0], out[2]] == pytest.approx([ref[0], ref[2]])
    if method == "holm":
        assert [out[0], out[2]] == pytest.approx([0.03, 0.04])  # by hand: 3 x 0.01, 2 x 0.02


# -- ranking ------------------------------------------------------------------------------


def test_default_scores_are_the_adjusted_p_values():
    """docs: without a ranker, treatments are ranked by their adjusted p-value."""
    outputs = {"a": {"p_value": 0.01}, "b": {"p_value": 0.04}, "c": {"p_value": 0.5}}
    verdict = _verify(outputs, correction="bonferroni")
    assert verdict.scores == pytest.approx({"a": 0.03, "b": 0.12, "c": 1.0})
    assert verdict.ranking == ["a", "b", "c"]


def test_default_ranker_uses_the_smallest_p_over_metrics_ignoring_nan():
    """docs: with several metrics, by the smallest of the treatment's per-metric p-values;
    a metric whose test was undefined (NaN) does not hide the others."""
    outputs = {
        "x": {"m": {"p_value": 0.001}, "n": {"p_value": 0.9}},
        "y": {"m": {"p_value": 0.01}, "n": {"p_value": 0.02}},
        "z": {"m": {"p_value": math.nan}, "n": {"p_value": 0.005}},
    }
    verdict = _verify(outputs, metrics=["m", "n"])
    assert verdict.scores == pytest.approx({"x": 0.001, "y": 0.01, "z": 0.005})
    assert verdict.ranking == ["x", "z", "y"]


def test_equal_scores_are_ordered_by_raw_p_before_effect_size():
    """docs: equal adjusted p-values are ordered by raw p-value; the effect size only
    breaks ties of the raw p-values too. Holm gives 0.03 and 0.04 the same 0.06 (by hand)."""
    outputs = {
        "big_effect": {"p_value": 0.04, "effect_size": 0.9},
        "small_effect": {"p_value": 0.03, "effect_size": 0.1},
    }
    verdict = _verify(outputs, correction="holm")
    assert verdict.scores["big_effect"] == verdict.scores["small_effect"] == pytest.approx(0.06)
    assert verdict.ranking == ["small_effect", "big_effect"]


def test_tied_scores_use_the_smallest_raw_p_over_metrics():
    """With several metrics, the raw p-value that breaks a tie is the treatment's smallest."""
    outputs = {
        "y": {"m": {"p_value": 0.02}, "n": {"p_value": 0.03}},
        "x": {"m": {"p_value": 0.01}, "n": {"p_value": 0.9}},
    }
    verdict = _verify(outputs, metrics=["m", "n"], ranker=lambda result: 0.0)
    assert verdict.ranking == ["x", "y"]


def test_nan_scores_rank_after_the_others():
    """docs: ranking lists the scored treatments best first, NaN scores after the others."""
    outputs = {"n": {"p_value": 0.5, "k": math.nan}, "b": {"p_value": 0.5, "k": 0.2},
               "c": {"p_value": 0.5, "k": 0.1}}
    verdict = _verify(outputs, ranker=lambda result: result["k"])
    assert verdict.ranking == ["c", "b", "n"]
    assert verdict.best == "c"


def test_best_is_none_when_every_score_is_nan():
    """docs: with a verifier that returns no p-value and no ranker, best is None."""
    verdict = _verify({"a": {"gain": 1.0}, "b": {"gain": 2.0}})
    assert all(math.isnan(s) for s in verdict.scores.values())
    assert verdict.best is None


# -- the text report's verdicts ---------------------------------------------------------


def _report_rows(verdict) -> dict[str, str]:
    report = Result([], ["baseline"], hypotheses=[verdict]).report()
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("treatment"))
    header = lines[start]
    rows = {}
    for line in lines[start + 2:]:
        if not line or line.startswith(("CI:", "Best", "  !")):
            break
        rows.setdefault(line.split()[0], line)
    return {"__header__": header, "__order__": list(rows), "__report__": report, **rows}


def test_report_verdict_column_and_adjusted_p():
    """docs/reports.md: each row shows the p-value, the adjusted p-value and the verdict;
    rows come best first (as ``ranking``)."""
    outputs = {"weak": {"p_value": 0.4}, "strong": {"p_value": 0.001}}
    verdict = _verify(outputs, correction="bonferroni")
    rows = _report_rows(verdict)
    assert rows["__order__"] == ["strong", "weak"] == verdict.ranking
    assert rows["strong"].split()[-2:] == ["0.002", "significant"]  # p adj = 2 x 0.001
    assert rows["weak"].split()[-3:] == ["0.8", "not", "significant"]
    assert "0.001" in rows["strong"].split()


def test_best_line_only_says_not_significant_when_no_metric_is():
    """docs/reports.md: "when that treatment's verdict is not significant (for every metric
    tested) the line says so"; one significant metric is enough to drop the remark."""
    mixed = {"a": {"m": {"p_value": 0.01, "significant": True},
                   "n": {"p_value": 0.5, "significant": False}}}
    report = _report_rows(_verify(mixed, metrics=["m", "n"]))["__report__"]
    assert "Best: a" in report and "not significant)" not in report
    neither = {"a": {"m": {"p_value": 0.2, "significant": False},
                     "n": {"p_value": 0.5, "significant": False}}}
    report = _report_rows(_verify(neither, metrics=["m", "n"]))["__report__"]
    assert "Best: a (not significant)" in report
