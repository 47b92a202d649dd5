"""The text report's ``Best:`` line names only a treatment that was really ranked."""

from __future__ import annotations

from crystallize import (
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
def values(ctx):
    return [1.0, 2.0, 3.0]


@pipeline_step()
def shift(data, *, effect=0.0):
    shifted = [x + effect for x in data]
    return shifted, {"total": sum(shifted)}


@verifier
def picky(baseline, treatment):
    """Fails for treatments whose mean total is below 10; otherwise a significant result."""
    totals = treatment["total"]
    if sum(totals) / len(totals) < 10:
        raise ValueError("too small to judge")
    return {"p_value": 0.01, "significant": True}


def _experiment(hypothesis: Hypothesis, replicates: int = 3) -> Experiment:
    return Experiment(
        datasource=values(),
        pipeline=Pipeline([shift()]),
        treatments=[treatment("big", {"effect": 5.0}), treatment("small", {"effect": 0.0})],
        hypotheses=[hypothesis],
        replicates=replicates,
        plugins=[SeedPlugin(seed=1)],
    )


def test_no_best_treatment_when_every_comparison_failed():
    # One replicate per condition: Welch's t-test fails for every treatment.
    result = _experiment(Hypothesis(verifier=welch_t_test(), metrics="total", name="t"), replicates=1).run()
    hyp = result.get_hypothesis("t")
    assert all("error" in output for output in hyp.results.values())
    assert hyp.best is None  # ranking still lists them (last), but nothing was ranked

    text = result.report()

    assert "InsufficientSamplesError" in text
    assert "Best: big" not in text and "Best: small" not in text
    assert "Best: none (every comparison failed, so no treatment could be ranked" in text


def test_best_skips_treatments_whose_comparison_failed():
    result = _experiment(Hypothesis(verifier=picky(), metrics="total", name="picky")).run()

    text = result.report()

    assert "error: ValueError: too small to judge" in text  # 'small' failed
    assert "Best: big" in text


def test_no_best_treatment_when_the_ranker_failed_everywhere():
    def broken_ranker(output):
        raise KeyError("no_such_key")

    hyp = Hypothesis(verifier=picky(), metrics="total", name="ranked", ranker=broken_ranker)
    result = _experiment(hyp, replicates=3).run()

    text = result.report()

    assert "Best: big" not in text and "Best: small" not in text
    assert "Best: none (no treatment could be ranked: the ranker raised" in text


def test_report_summarises_metrics_holding_nan_and_infinity():
    from crystallize.reporting import metric_summary

    assert metric_summary([1.0, float("nan"), 3.0]) == "2 ± 1.414 (n=2, 1 NaN/±inf left out)"
    assert metric_summary([float("inf"), float("nan")]) == "n=2 (none finite: NaN or ±inf)"
    assert metric_summary(["a", None]) == "n=2 (non-numeric)"


@pipeline_step()
def sometimes_nan(data, ctx):
    value = float("nan") if ctx["replicate"] == 1 else float(ctx["replicate"])
    return data, {"total": value}


def test_text_report_of_a_run_with_a_nan_metric():
    result = Experiment(datasource=values(), pipeline=Pipeline([sometimes_nan()]), replicates=3,
                        plugins=[SeedPlugin(seed=1)]).run()
    assert "1 ± 1.414 (n=2, 1 NaN/±inf left out)" in result.report()


def test_treatments_tied_by_a_correction_are_ranked_by_their_raw_p_value():
    from crystallize.hypothesis import Hypothesis
    from crystallize.stats import welch_t_test

    baseline = {"score": [0.0, 0.1, -0.1, 0.05, -0.05]}
    treatments = {  # "weak" is listed first and has the larger raw p-value
        "weak": {"score": [0.10, 0.20, 0.00, 0.15, 0.05]},
        "strong": {"score": [0.11, 0.21, 0.01, 0.16, 0.06]},
    }
    for correction in ("holm", "fdr_bh"):
        verdict = Hypothesis(verifier=welch_t_test(), metrics="score", correction=correction).verify(baseline, treatments)
        adjusted = {t: verdict.results[t]["p_value_adjusted"] for t in treatments}
        assert adjusted["weak"] == adjusted["strong"]  # the tie this is about
        assert verdict.ranking == ["strong", "weak"]
        assert verdict.best == "strong"


@verifier
def gain_with_details(baseline, treatment):
    """A custom verifier with numbers of its own and a non-metric dict."""
    before, after = sum(baseline["total"]), sum(treatment["total"])
    return {"gain": after - before, "significant": after > before, "details": {"n": len(treatment["total"])}}


def test_the_text_report_shows_a_custom_verifiers_own_numbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _experiment(Hypothesis(verifier=gain_with_details(), metrics="total", name="gain")).run()
    table = result.report().split("Hypothesis 'gain'")[1]
    assert "other" in table.splitlines()[1]
    assert "gain=45" in table and "gain=0" in table


@verifier
def gain_only(baseline, treatment):
    """No verdict, just numbers (and a dict that is not a metric's entry)."""
    return {"gain": sum(treatment["total"]) - sum(baseline["total"]), "details": {"n": 3}}


def test_a_verifier_output_holding_a_dict_is_one_row_in_both_reports(tmp_path, monkeypatch):
    from crystallize.reporting_html.summary import hypothesis_rows

    monkeypatch.chdir(tmp_path)
    result = _experiment(Hypothesis(verifier=gain_only(), metrics="total", name="gain")).run()
    rows = hypothesis_rows(result.get_hypothesis("gain"))
    assert [(r.treatment, r.metric) for r in rows] == [("big", "total"), ("small", "total")]
    assert dict(rows[0].other) == {"gain": 45.0}
