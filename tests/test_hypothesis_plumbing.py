"""How hypotheses treat what runs record: repeated values, custom verifiers, alphas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ttest_ind
from statsmodels.stats.multitest import multipletests

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Hypothesis,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
    verifier,
)
from crystallize.stats import welch_t_test


@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def epochs(r, ctx, *, shift=0.0):
    for epoch in range(4):  # one value per epoch: not independent replicates
        ctx.metrics.add("loss", 1.0 / (epoch + 1) + shift + 0.01 * r)
    return r, {"final": 0.25 + shift + 0.01 * r * (1 + shift)}


def _run(hypotheses, treatments=None):
    return Experiment(
        datasource=index(), pipeline=Pipeline([epochs()]), replicates=5,
        treatments=treatments or [treatment("up", {"shift": 0.5}), treatment("same", {"shift": 0.0})],
        hypotheses=hypotheses, plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=None)],
    ).run()


def test_several_values_per_replicate_are_flagged():
    result = _run([Hypothesis(verifier=welch_t_test(), metrics=["loss", "final"], name="h")])
    out = result.get_hypothesis("h").results["up"]
    assert out["loss"]["n_baseline"] == 20
    assert any(w.startswith("RepeatedValues: replicate(s) 0, 1, 2, 3, 4") for w in out["loss"]["warnings"])
    assert not any("RepeatedValues" in w for w in out["final"].get("warnings", []))


P_VALUES = {"up": 0.0216, "same": 0.51}


@verifier
def fixed_p(baseline, treatment, *, alpha=0.05, as_numpy=False):
    p = P_VALUES["up" if treatment["final"][0] > 0.5 else "same"]
    p = np.float32(p) if as_numpy else p
    return {"p_value": p, "significant": bool(p < alpha)}


def test_a_correction_keeps_the_verifiers_own_alpha():
    h = Hypothesis(verifier=fixed_p(alpha=0.01), metrics="final", name="strict", correction="holm")
    out = _run([h]).get_hypothesis("strict").results["up"]
    assert out["p_value_adjusted"] == pytest.approx(multipletests([0.0216, 0.51], method="holm")[1][0])
    assert out["p_value_adjusted"] > 0.01 and out["significant"] is False


def test_numpy_p_values_are_corrected_and_ranked():
    h = Hypothesis(verifier=fixed_p(as_numpy=True), metrics="final", name="np", correction="holm")
    verdict = _run([h], [treatment("same", {"shift": 0.0}), treatment("up", {"shift": 0.5})]).get_hypothesis("np")
    expected = multipletests([0.51, 0.0216], method="holm")[1]
    assert verdict.results["up"]["p_value_adjusted"] == pytest.approx(expected[1], rel=1e-6)
    assert verdict.best == "up"


@pipeline_step()
def nan_in_replicate_three(r, ctx):
    if ctx["condition"] == "baseline" and r == 0:
        raise RuntimeError("flaky")
    return r, {"a": float("nan") if r == 3 else float(r)}


def test_errors_name_the_replicate_not_the_position():
    result = Experiment(
        datasource=index(), pipeline=Pipeline([nan_in_replicate_three()]), replicates=5,
        treatments=[treatment("t", {"x": 1})],
        hypotheses=[Hypothesis(verifier=welch_t_test(), metrics="a", name="h")],
        plugins=[ArtifactPlugin(root_dir=None)],
    ).run()
    error = result.get_hypothesis("h").results["t"]["error"]
    assert "baseline condition has NaN" in error and "replicate(s) 3" in error


def test_a_verifier_metric_the_hypothesis_does_not_pass_is_refused():
    with pytest.raises(ValueError, match="tests metric 'score'.*only 'loss'"):
        Hypothesis(verifier=welch_t_test(metric="score"), metrics="loss")


def test_pooled_values_match_scipy_on_what_was_tested():
    # the warning does not change the numbers: they are the pooled test, as documented
    result = _run([Hypothesis(verifier=welch_t_test(), metrics="loss", name="h")])
    base = result.metrics.baseline.metrics["loss"]
    up = result.metrics.treatments["up"].metrics["loss"]
    out = result.get_hypothesis("h").results["up"]
    assert out["p_value"] == pytest.approx(ttest_ind(up, base, equal_var=False).pvalue)


def test_the_text_report_shows_each_comparisons_warnings():
    result = _run([Hypothesis(verifier=welch_t_test(), metrics="loss", name="h")])
    report = result.report()
    assert "! up / loss: RepeatedValues: replicate(s) 0, 1, 2, 3, 4" in report
