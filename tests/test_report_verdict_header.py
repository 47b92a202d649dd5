"""The report's hypothesis line says what "significant" was judged against.

A verdict of "significant" next to p = 0.07 is only readable when the report says the
test used alpha = 0.1, and a one-sided test must say which side it tested.
"""

from __future__ import annotations

import random

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
from crystallize.stats import mann_whitney, welch_t_test


@data_source
def values(ctx):
    return [1.0, 2.0, 3.0]


@pipeline_step()
def shift(data, *, effect=0.0):
    total = sum(data) + effect + random.random()  # seeded per replicate by SeedPlugin
    return data, {"total": total, "other": -total}


@verifier
def bare(baseline, treatment):
    """A custom verifier that reports neither alpha nor alternative."""
    return {"p_value": 0.5, "significant": False}


def _header(hypothesis: Hypothesis) -> str:
    result = Experiment(
        datasource=values(),
        pipeline=Pipeline([shift()]),
        treatments=[treatment("big", {"effect": 5.0}), treatment("small", {"effect": 0.5})],
        hypotheses=[hypothesis],
        replicates=4,
        plugins=[SeedPlugin(seed=1)],
    ).run()
    text = result.report()
    return next(line for line in text.splitlines() if line.startswith("Hypothesis '"))


def test_header_shows_alpha_alternative_and_correction() -> None:
    header = _header(
        Hypothesis(
            verifier=welch_t_test(alpha=0.1, alternative="greater"),
            metrics="total",
            correction="bonferroni",
            name="h",
        )
    )
    assert header.startswith("Hypothesis 'h' on total")
    assert "alpha: 0.1" in header
    assert "alternative: greater (treatment > baseline)" in header
    assert "correction: bonferroni" in header


def test_header_shows_the_defaults_too() -> None:
    header = _header(Hypothesis(verifier=welch_t_test(), metrics="total", name="h"))
    assert header == "Hypothesis 'h' on total, alpha: 0.05, alternative: two-sided"


def test_header_reads_alpha_from_per_metric_results() -> None:
    header = _header(
        Hypothesis(verifier=mann_whitney(alpha=0.01, alternative="less"), metrics=["total", "other"], name="h")
    )
    assert header.startswith("Hypothesis 'h' on total, other")
    assert "alpha: 0.01" in header and "alternative: less (treatment < baseline)" in header


def test_header_of_a_verifier_without_alpha_stays_plain() -> None:
    header = _header(Hypothesis(verifier=bare(), metrics="total", name="h", correction="holm"))
    assert header == "Hypothesis 'h' on total, correction: holm"


def test_html_report_shows_what_the_verdicts_were_judged_against() -> None:
    # As the text report's header: alpha, the alternative and the correction.
    from crystallize.reporting_html import render_html

    result = Experiment(
        datasource=values(),
        pipeline=Pipeline([shift()]),
        treatments=[treatment("big", {"effect": 5.0})],
        hypotheses=[Hypothesis(verifier=welch_t_test(alpha=0.1, alternative="greater"), metrics="total",
                               correction="holm", name="h")],
        replicates=4,
        plugins=[SeedPlugin(seed=1)],
    ).run()
    page = render_html(result)
    assert (
        '<p class="meta">metrics: total; alpha: 0.1; alternative: greater (treatment &gt; baseline); '
        "correction: holm</p>"
    ) in page
