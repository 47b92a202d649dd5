"""Paired tests pair values by replicate, even when some replicates failed."""

from __future__ import annotations

import pytest
from scipy.stats import ttest_rel
from scipy.stats import wilcoxon as scipy_wilcoxon

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Hypothesis,
    Pipeline,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.stats import paired_t_test, wilcoxon

FAILS = {("baseline", 1), ("t", 3)}  # a different replicate fails in each condition


@data_source
def replicate_index(ctx):
    return ctx["replicate"]


@pipeline_step()
def measure(r, ctx, *, delta=0.0):
    if (ctx["condition"], r) in FAILS:
        raise RuntimeError("flaky")
    # shared per-replicate noise (100 r) plus a small, varying treatment effect
    return r, {"score": 100.0 * r + delta * (1 + r % 3)}


def _run(verifier):
    experiment = Experiment(
        datasource=replicate_index(),
        pipeline=Pipeline([measure()]),
        treatments=[treatment("t", {"delta": 1.0})],
        hypotheses=[Hypothesis(verifier=verifier, metrics="score", name="h")],
        replicates=12,
        plugins=[ArtifactPlugin(root_dir=None)],
    )
    return experiment.run()


@pytest.mark.parametrize(("verifier", "scipy_test"), [(paired_t_test(), ttest_rel), (wilcoxon(), scipy_wilcoxon)])
def test_failed_replicates_do_not_shift_the_pairs(verifier, scipy_test):
    result = _run(verifier)
    assert len(result.errors) == 2
    out = result.get_hypothesis("h").results["t"]
    kept = [r for r in range(12) if r not in (1, 3)]
    baseline = [100.0 * r for r in kept]
    treated = [100.0 * r + (1 + r % 3) for r in kept]
    assert out["n_pairs"] == len(kept) == 10
    assert out["difference"] == pytest.approx(sum(t - b for b, t in zip(baseline, treated, strict=True)) / 10)
    assert out["p_value"] == pytest.approx(scipy_test(treated, baseline).pvalue)
    assert any("1, 3" in note and "only one condition" in note for note in out["warnings"])


def test_value_replicates_are_kept_per_metric():
    result = _run(paired_t_test())
    assert result.metrics.baseline.value_replicates["score"] == [r for r in range(12) if r != 1]
    assert result.metrics.treatments["t"].value_replicates["score"] == [r for r in range(12) if r != 3]


def test_plain_dicts_still_pair_by_position():
    out = paired_t_test()({"m": [1.0, 2.0, 4.0]}, {"m": [2.0, 3.5, 5.0]})
    assert out["n_pairs"] == 3 and "warnings" not in out


def test_runs_without_hypotheses_never_work_out_value_replicates():
    experiment = Experiment(
        datasource=replicate_index(), pipeline=Pipeline([measure()]), replicates=3,
        plugins=[ArtifactPlugin(root_dir=None)],
    )
    result = experiment.run()
    assert result.metrics.baseline._value_replicates is None  # per-record work, only on demand
    assert result.metrics.baseline.value_replicates["score"] == [0, 2]


def test_replicates_in_another_order_are_paired_without_a_note():
    """Hand-built samples whose replicates differ only in order leave nothing out."""
    from crystallize.hypothesis import MetricSamples

    baseline = MetricSamples({"m": [1.0, 2.0, 3.0]}, {"m": [0, 1, 2]})
    treated = MetricSamples({"m": [3.5, 1.2, 2.3]}, {"m": [2, 0, 1]})
    out = paired_t_test()(baseline, treated)
    assert out["p_value"] == pytest.approx(ttest_rel([1.2, 2.3, 3.5], [1.0, 2.0, 3.0]).pvalue, rel=1e-12)
    assert not any("PairedByReplicate" in note for note in out.get("warnings", []))


@pytest.mark.parametrize("verifier", [paired_t_test(), wilcoxon()], ids=["paired_t_test", "wilcoxon"])
def test_too_few_pairs_after_failures_says_which_replicates_were_left_out(verifier):
    """One pair is left of four replicates: the error names the three left out, not only
    "run more replicates"."""
    from crystallize.exceptions import InsufficientSamplesError
    from crystallize.hypothesis import MetricSamples

    baseline = MetricSamples({"m": [1.0, 2.0, 3.0]}, {"m": [1, 2, 3]})  # replicate 0 failed
    treated = MetricSamples({"m": [1.5, 2.5]}, {"m": [0, 2]})  # replicates 1 and 3 failed
    with pytest.raises(InsufficientSamplesError) as info:
        verifier(baseline, treated)
    message = str(info.value)
    assert "but got 1" in message
    assert "PairedByReplicate: replicate(s) 0, 1, 3 have a value of 'm' in only one condition" in message
