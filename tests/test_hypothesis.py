"""Hypotheses end to end: verifiers, corrections, ranking, errors, exports."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from rich.console import Console
from statsmodels.stats.multitest import multipletests

from crystallize import (
    Experiment,
    Hypothesis,
    Pipeline,
    SeedPlugin,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
    verifier,
)
from crystallize.exceptions import MissingMetricError
from crystallize.reporting import format_value
from crystallize.stats import mann_whitney, welch_t_test


@data_source
def noisy(ctx):
    import numpy as np

    return np.random.normal(0.0, 1.0, size=20)


@pipeline_step()
def shift(values, ctx, *, effect=0.0):
    return values + effect, {"mean": float((values + effect).mean()), "max": float((values + effect).max())}


def build(hypotheses, replicates=8, **kwargs):
    return Experiment(
        datasource=noisy(),
        pipeline=Pipeline([shift()]),
        treatments=[treatment("big", {"effect": 2.0}), treatment("small", {"effect": 0.1}),
                    treatment("none", {"effect": 0.0})],
        hypotheses=hypotheses,
        replicates=replicates,
        plugins=[SeedPlugin(seed=5)],
        **kwargs,
    )


def test_builtin_verifier_with_holm_matches_statsmodels():
    @hypothesis(verifier=welch_t_test(), metrics="mean", correction="holm")
    def shifted(result):
        return result["p_value_adjusted"]

    result = build([shifted]).run()
    hyp = result.get_hypothesis("shifted")
    raw = [hyp.results[t]["p_value"] for t in ("big", "small", "none")]
    expected = multipletests(raw, method="holm")[1]
    assert [hyp.results[t]["p_value_adjusted"] for t in ("big", "small", "none")] == pytest.approx(expected)
    assert hyp.ranking[0] == "big" and hyp.results["big"]["significant"] is True
    assert hyp.results["none"]["significant"] is False


def test_several_metrics_and_plain_hypothesis_object():
    h = Hypothesis(verifier=mann_whitney(), metrics=["mean", "max"], name="both", correction="bonferroni")
    hyp = build([h]).run().get_hypothesis("both")
    big = hyp.results["big"]
    assert set(big) >= {"mean", "max"}
    assert big["mean"]["p_value_adjusted"] == pytest.approx(min(1.0, big["mean"]["p_value"] * 6))


def test_missing_metric_names_it_and_what_exists():
    h = Hypothesis(verifier=welch_t_test(), metrics="accuracy", name="acc")
    with pytest.raises(MissingMetricError) as info:
        build([h]).run()
    message = str(info.value)
    assert "accuracy" in message and "mean" in message and "max" in message
    assert info.value.result.metrics.baseline.metrics["mean"]  # nothing computed is lost


def test_verifier_errors_become_per_treatment_entries():
    @verifier
    def picky(baseline, treatment):
        if sum(treatment["mean"]) < 1:
            raise ValueError("too small to judge")
        return {"p_value": 0.01, "significant": True}

    h = Hypothesis(verifier=picky(), metrics="mean", name="picky")
    hyp = build([h]).run().get_hypothesis("picky")
    assert hyp.results["big"]["p_value"] == 0.01
    assert "too small to judge" in hyp.results["none"]["error"]
    assert hyp.ranking[0] == "big" and set(hyp.ranking[1:]) == {"small", "none"}


def test_too_few_samples_is_an_error_entry_not_a_crash():
    h = Hypothesis(verifier=welch_t_test(), metrics="mean", name="t")
    hyp = build([h], replicates=1).run().get_hypothesis("t")
    assert all("InsufficientSamplesError" in hyp.results[t]["error"] for t in hyp.results)


def test_run_level_hypotheses_override():
    h = Hypothesis(verifier=welch_t_test(), metrics="mean", name="override")
    result = build([]).run(hypotheses=[h])
    assert result.get_hypothesis("override") is not None


def test_report_shows_effect_ci_p_adjusted_and_verdict():
    h = Hypothesis(verifier=welch_t_test(), metrics="mean", name="shift", correction="fdr_bh")
    text = build([h]).run().report()
    for needle in ("Hypothesis 'shift'", "effect", "CI", "p adj", "significant", "not significant",
                   "mean ± sd", "(n=8)", "Best: big"):
        assert needle in text


def test_report_labels_the_difference_its_ci_and_the_effect_size():
    h = Hypothesis(verifier=welch_t_test(), metrics="mean", name="shift")
    result = build([h]).run()
    text = result.report()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("treatment"))
    assert header.split()[:6] == ["treatment", "metric", "difference", "CI", "effect", "size"]
    big = result.get_hypothesis("shift").results["big"]
    row = next(line for line in lines[lines.index(header):] if line.startswith("big "))
    assert format_value(big["difference"]) in row and format_value(big["ci"]) in row
    assert f"{format_value(big['effect_size'])} hedges_g" in row
    assert "CI: 95% interval of the difference in means" in text


def test_to_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    result = build([]).run()
    path = tmp_path / "r.parquet"
    result.to_parquet(path)
    frame = pd.read_parquet(path)
    assert len(frame) == 32 and set(frame.condition) == {"baseline", "big", "small", "none"}


def test_print_tree_renders_steps_and_seeds():
    result = build([], replicates=2).run()
    buffer = io.StringIO()
    result.print_tree(console=Console(file=buffer, width=200))
    text = buffer.getvalue()
    assert "shift" in text and "seed 5" in text and "reads effect=2.0" in text


def test_verifier_with_parentheses_works_as_without():
    from crystallize import verifier

    @verifier()
    def larger(baseline, treatment, *, metric="total"):
        return {"gain": sum(treatment[metric]) - sum(baseline[metric])}

    check = larger(metric="m")
    assert check({"m": [1, 2]}, {"m": [3, 4]}) == {"gain": 4}
    with pytest.raises(TypeError, match="metrc"):
        larger(metrc="m")


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_an_empty_or_blank_hypothesis_name_is_refused(name):
    with pytest.raises(ValueError, match="give the hypothesis a name with visible characters"):
        hypothesis(verifier=welch_t_test(), metrics="m", name=name)
    with pytest.raises(ValueError, match="give the hypothesis a name with visible characters"):
        Hypothesis(verifier=welch_t_test(), metrics="m", ranker=lambda r: 0.0, name=name)


def test_a_hypothesis_name_left_out_is_the_rankers_name():
    def lower_p(result):
        return result.get("p_value", 1)

    assert hypothesis(verifier=welch_t_test(), metrics="m")(lower_p).name == "lower_p"
    assert hypothesis(verifier=welch_t_test(), metrics="m", name=None)(lower_p).name == "lower_p"
    assert Hypothesis(verifier=welch_t_test(), metrics="m").name == "hypothesis"
    assert Hypothesis(verifier=welch_t_test(), metrics="m", name="h").name == "h"
    with pytest.raises(TypeError, match="must be a string"):
        Hypothesis(verifier=welch_t_test(), metrics="m", name=5)
