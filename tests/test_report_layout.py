"""The text report's hypothesis table: a failed comparison keeps the table narrow (its
message goes below), and ``Best:`` says when the best treatment is not significant."""

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

LONG_MESSAGE = "the metric 'total' holds a confusion matrix, not a number; " * 4


@data_source
def values(ctx):
    return [1.0, 2.0, 3.0]


@pipeline_step()
def shift(data, *, effect=0.0):
    shifted = [x + effect for x in data]
    return shifted, {"total": sum(shifted)}


@verifier
def judged(baseline, treatment, *, significant_from=10.0, fail_below=None):
    """p = 0.01 (significant) for a mean total from ``significant_from`` on, else p = 0.4;
    raises a long error below ``fail_below``."""
    mean = sum(treatment["total"]) / len(treatment["total"])
    if fail_below is not None and mean < fail_below:
        raise ValueError(LONG_MESSAGE)
    big = mean >= significant_from
    return {"p_value": 0.01 if big else 0.4, "significant": big}


@verifier
def unflagged(baseline, treatment):
    """A p-value but no verdict of its own."""
    return {"p_value": 0.5 if sum(treatment["total"]) < 30 else 0.2}


def _run(verifier_):
    experiment = Experiment(
        datasource=values(),
        pipeline=Pipeline([shift()]),
        treatments=[treatment("big", {"effect": 5.0}), treatment("small", {"effect": 0.0})],
        hypotheses=[Hypothesis(verifier=verifier_, metrics="total", name="h")],
        replicates=3,
        plugins=[SeedPlugin(seed=1)],
    )
    return experiment.run()


def _report(verifier_) -> str:
    return _run(verifier_).report()


def _lines_of(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_best_says_when_no_treatment_is_significant():
    text = _report(judged(significant_from=100.0))
    assert _lines_of(text, "Best:") == ["Best: big (not significant)"]


def test_a_significant_best_has_no_note():
    assert _lines_of(_report(judged()), "Best:") == ["Best: big"]


def test_best_of_a_verifier_without_a_verdict_has_no_note():
    assert _lines_of(_report(unflagged()), "Best:") == ["Best: big"]


def test_a_failed_comparison_keeps_the_table_narrow_and_its_message_below():
    text = _report(judged(fail_below=10.0))
    table = text.split("Hypothesis 'h'", 1)[1].splitlines()[1:5]  # header, rule, big, small

    assert table[3].split()[0] == "small" and table[3].endswith("error (see below)")
    assert max(len(line) for line in table) < 100
    below = text.split(table[3], 1)[1]
    assert f"small: error: ValueError: {LONG_MESSAGE.strip()}" in below
    assert _lines_of(text, "Best:") == ["Best: big"]


def _html(verifier_) -> str:
    return _run(verifier_).to_html()


def test_the_html_report_also_says_when_the_best_is_not_significant():
    assert "Best ranked: <strong>big</strong> (not significant)" in _html(judged(significant_from=100.0))
    assert "Best ranked: <strong>big</strong></p>" in _html(judged())
