"""Verifier edge cases: p-values outside [0, 1], the ``metric=`` argument of the built-in
verifiers, the small-sample note of an interval that was never computed, and importing
``MetricSamples``."""

from __future__ import annotations

import math

import pytest

from crystallize import (
    Experiment,
    Hypothesis,
    Pipeline,
    VerificationError,
    VerifierArgumentError,
    data_source,
    pipeline_step,
    treatment,
    verifier,
)
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

BASELINE = {"a": [0.0, 1.0, 2.0]}


@verifier
def fixed_p(baseline, treatment, *, p=0.01):
    """Returns the p-value it was built with, whatever the samples."""
    return {"p_value": p}


@verifier
def p_by_treatment(baseline, treatment, *, ps=None, nested=False):
    """The p-value ``ps[first value of the treatment]``; per metric when ``nested``."""
    p = ps[treatment["a"][0]]
    return {"a": {"p_value": p}, "b": {"p_value": 0.5}} if nested else {"p_value": p}


@data_source
def _source(ctx):
    return 0


@pipeline_step()
def _measure(data, ctx, *, delta=0):
    return data, {"a": float(ctx["replicate"] + delta)}


# -- 1. p-values outside [0, 1] -------------------------------------------------------
@pytest.mark.parametrize("correction", ["holm", "bonferroni", "fdr_bh", None])
@pytest.mark.parametrize("bad", [1.5, -0.1, math.inf])
def test_an_out_of_range_p_value_in_a_run_is_that_treatments_error(correction, bad):
    hyp = Hypothesis(verifier=fixed_p(p=bad), metrics="a", correction=correction, name="bad")
    experiment = Experiment(
        datasource=_source(),
        pipeline=Pipeline([_measure()]),
        treatments=[treatment("t", {"delta": 1})],
        hypotheses=[hyp],
        replicates=3,
    )
    result = experiment.run()  # used to raise ValueError from the correction
    verdict = next(h for h in result.hypotheses if h.name == "bad")
    error = verdict.results["t"]["error"]
    assert error.startswith("VerificationError:")
    for part in ("'bad'", "'fixed_p'", "'t'", repr(bad), "[0, 1]"):
        assert part in error
    assert verdict.scores == {} and verdict.best is None and verdict.ranking == ["t"]


@pytest.mark.parametrize("correction", ["holm", None])
@pytest.mark.parametrize("bad", ["0.01", [0.01], True])
def test_a_p_value_that_is_no_number_is_that_treatments_error(correction, bad):
    hyp = Hypothesis(verifier=fixed_p(p=bad), metrics="a", correction=correction, name="text")
    experiment = Experiment(
        datasource=_source(), pipeline=Pipeline([_measure()]), treatments=[treatment("t", {"delta": 1})],
        hypotheses=[hyp], replicates=3,
    )
    verdict = next(h for h in experiment.run().hypotheses if h.name == "text")
    error = verdict.results["t"]["error"]  # with holm it was silently left out of the correction
    assert error.startswith("VerificationError:")
    assert repr(bad) in error and f"({type(bad).__name__})" in error and "must be a number in [0, 1]" in error


def test_a_p_value_of_none_is_still_allowed():
    hyp = Hypothesis(verifier=fixed_p(p=None), metrics="a", correction="holm", name="none")
    experiment = Experiment(
        datasource=_source(), pipeline=Pipeline([_measure()]), treatments=[treatment("t", {"delta": 1})],
        hypotheses=[hyp], replicates=3,
    )
    verdict = next(h for h in experiment.run().hypotheses if h.name == "none")
    assert "error" not in verdict.results["t"] and verdict.results["t"]["p_value"] is None


@pytest.mark.parametrize("correction", ["holm", "fdr_bh", None])
def test_the_other_treatments_are_still_verified_and_corrected(correction):
    hyp = Hypothesis(
        verifier=p_by_treatment(ps={10: 0.01, 20: 1.5, 30: 0.04}),
        metrics="a",
        correction=correction,
        name="mixed",
    )
    result = hyp.verify(
        BASELINE, {"good": {"a": [10]}, "bad": {"a": [20]}, "also_good": {"a": [30]}}
    )
    bad = result.results["bad"]["error"]
    assert "treatment 'bad'" in bad and "1.5" in bad and "must lie in [0, 1]" in bad
    assert result.ranking == ["good", "also_good", "bad"]
    assert result.best == "good"
    if correction is not None:
        from statsmodels.stats.multitest import multipletests

        # The failed treatment still counts, as p = 1: the family has three members.
        expected = multipletests([0.01, 0.04, 1.0], method=correction)[1]
        assert result.results["good"]["p_value_adjusted"] == pytest.approx(expected[0])
        assert result.results["also_good"]["p_value_adjusted"] == pytest.approx(expected[1])


def test_an_out_of_range_p_value_of_one_metric_names_the_metric():
    hyp = Hypothesis(
        verifier=p_by_treatment(ps={10: 0.01, 20: -0.1}, nested=True),
        metrics="a",
        correction="holm",
        name="nested",
    )
    result = hyp.verify(BASELINE, {"good": {"a": [10]}, "bad": {"a": [20]}})
    error = result.results["bad"]["error"]
    assert "metric 'a'" in error and "-0.1" in error and "'p_by_treatment'" in error
    assert result.results["good"]["a"]["p_value_adjusted"] == pytest.approx(
        min(1.0, 0.01 * 4)  # holm over 0.01, 0.5 and the failed treatment's two 1s
    )
    assert result.best == "good"


def test_a_numpy_p_value_outside_the_range_is_refused_too():
    import numpy as np

    hyp = Hypothesis(verifier=fixed_p(p=np.float64(1.25)), metrics="a", name="np")
    result = hyp.verify(BASELINE, {"t": {"a": [1.0, 2.0]}})
    assert "1.25" in result.results["t"]["error"]


@pytest.mark.parametrize("correction", ["holm", None])
def test_a_nan_p_value_is_still_allowed_and_counts_as_one(correction):
    hyp = Hypothesis(
        verifier=p_by_treatment(ps={10: 0.01, 20: math.nan}),
        metrics="a",
        correction=correction,
    )
    result = hyp.verify(BASELINE, {"good": {"a": [10]}, "undefined": {"a": [20]}})
    assert "error" not in result.results["undefined"]
    assert math.isnan(result.results["undefined"]["p_value"])
    if correction:
        assert math.isnan(result.results["undefined"]["p_value_adjusted"])
        assert result.results["good"]["p_value_adjusted"] == pytest.approx(0.02)
    assert result.best == "good"


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_the_ends_of_the_range_are_p_values(p):
    result = Hypothesis(verifier=fixed_p(p=p), metrics="a", correction="holm").verify(
        BASELINE, {"t": {"a": [1.0]}}
    )
    assert result.results["t"]["p_value"] == p and result.best == "t"


@pytest.mark.parametrize(("p", "clipped"), [(1 + 2.2e-16, 1.0), (-1e-17, 0.0), (1 + 1e-10, 1.0)])
def test_a_p_value_off_by_rounding_is_clipped_not_refused(p, clipped):
    # An exact test summing probabilities: sum(binom.pmf(k, 2, .5) for k in range(3)) > 1.
    result = Hypothesis(verifier=fixed_p(p=p), metrics="a", correction="holm").verify(
        BASELINE, {"t": {"a": [1.0]}}
    )
    assert "error" not in result.results["t"]
    assert result.results["t"]["p_value"] == clipped and result.results["t"]["p_value_adjusted"] == clipped


@verifier
def flat_and_nested(baseline, treatment, *, nested_p=0.5):
    """A top-level p-value and per-metric ones."""
    return {"p_value": 0.2, "a": {"p_value": nested_p}}


def test_a_nested_p_value_beside_a_top_level_one_is_checked_too():
    result = Hypothesis(verifier=flat_and_nested(nested_p=3.0), metrics="a", name="both").verify(
        BASELINE, {"t": {"a": [1.0]}}
    )
    assert "metric 'a'" in result.results["t"]["error"] and "3.0" in result.results["t"]["error"]


def test_the_error_type_is_a_verification_error():
    hyp = Hypothesis(verifier=fixed_p(p=2.0), metrics="a", name="h")
    error = hyp.verify(BASELINE, {"t": {"a": [1.0]}}).results["t"]["error"]
    assert error.startswith(f"{VerificationError.__name__}: Hypothesis 'h': verifier 'fixed_p'")


# -- 2. metric= of the built-in verifiers ----------------------------------------------
BUILTINS = [
    welch_t_test, paired_t_test, mann_whitney, wilcoxon, permutation_test, bootstrap_ci,
    fisher_exact, chi2,
]


@pytest.mark.parametrize("factory", BUILTINS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad", [["a", "b"], ("a",), 3, "", b"a", 1.5])
def test_a_bad_metric_is_refused_when_the_verifier_is_built(factory, bad):
    with pytest.raises(VerifierArgumentError) as info:
        factory(metric=bad)
    message = str(info.value)
    assert message.startswith(f"{factory.__name__}: metric must be")
    assert repr(bad) in message and "or None" in message
    assert info.value.argument == "metric" and info.value.value == bad


def test_a_list_of_metrics_is_pointed_at_the_hypothesis_metrics():
    with pytest.raises(VerifierArgumentError, match=r"metrics=\[\.\.\.\]"):
        welch_t_test(metric=["a", "b"])


@pytest.mark.parametrize("factory", BUILTINS, ids=lambda f: f.__name__)
def test_a_metric_name_or_none_is_accepted(factory):
    assert factory(metric="a").params == {"metric": "a"}
    assert factory(metric=None).params == {"metric": None}


# -- 3. no small-sample note about an interval never computed -------------------------
def test_mann_whitney_with_one_value_has_no_note_about_a_ci():
    for treatment_values in ([2.0], [2.0, 3.0, 4.0]):
        result = mann_whitney()({"a": [1.0]}, {"a": treatment_values})
        assert all(math.isnan(end) for end in result["ci"])
        assert not any("SmallSampleWarning" in note for note in result.get("warnings", []))


def test_mann_whitney_and_wilcoxon_keep_the_note_for_a_computed_small_ci():
    for test in (mann_whitney(), wilcoxon()):
        result = test({"a": [1.0, 2.0, 3.5]}, {"a": [2.0, 3.5, 5.0]})
        assert not any(math.isnan(end) for end in result["ci"])
        assert any(note.startswith("SmallSampleWarning") for note in result["warnings"])


def test_bootstrap_ci_without_an_interval_has_no_small_sample_note():
    result = bootstrap_ci()({"a": [1.0, 1.0, 1.0]}, {"a": [2.0, 2.0, 2.0]})  # BCa degenerate
    assert all(math.isnan(end) for end in result["ci"])
    assert not any("SmallSampleWarning" in note for note in result.get("warnings", []))
    computed = bootstrap_ci()({"a": [1.0, 2.0, 3.5]}, {"a": [2.0, 3.5, 5.0]})
    assert any(note.startswith("SmallSampleWarning") for note in computed["warnings"])


# -- 4. MetricSamples and the crystallize.hypothesis module -----------------------------
def test_metric_samples_is_importable_from_the_package_and_the_module():
    import crystallize
    from crystallize.hypothesis import MetricSamples

    assert crystallize.MetricSamples is MetricSamples
    assert "MetricSamples" in crystallize.__all__
    samples = MetricSamples({"a": [1.0, 2.0]}, {"a": [0, 1]})
    assert samples == {"a": [1.0, 2.0]} and samples.replicates == {"a": [0, 1]}


def test_the_docs_say_how_to_import_from_the_hypothesis_module():
    from pathlib import Path

    text = Path(__file__).parent.parent.joinpath("docs", "statistics.md").read_text()
    flat = " ".join(text.split())
    assert "from crystallize.hypothesis import MetricSamples, Hypothesis" in flat
    assert "`MetricSamples` (`crystallize.hypothesis`)" not in flat
    assert "the `@hypothesis` decorator" in flat
