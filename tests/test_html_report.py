"""The self-contained HTML report of a real Result."""

from __future__ import annotations

import html
import random
import re
import shutil
import statistics
import subprocess

import pytest
from scipy import stats

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Hypothesis,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.reporting_html import render_html, write_html
from crystallize.reporting_html.summary import hypothesis_rows, mean_ci, summarize
from crystallize.stats import welch_t_test
from crystallize.store import load_result

ODD = "odd <b>&$x$"  # HTML and matplotlib mathtext metacharacters in a condition name
FAILURE = "sensor <offline> & unplugged"


@data_source
def noise(ctx):
    return random.gauss(0.0, 1.0)


@pipeline_step()
def measure(data, ctx, *, shift=0.0):
    if ctx["condition"] == ODD and ctx["replicate"] == 2:
        raise RuntimeError(FAILURE)
    return data, {"score": data + shift, "latency": abs(data) + 1.0, "label": "x"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    experiment = Experiment(
        datasource=noise(),
        pipeline=Pipeline([measure()]),
        treatments=[treatment("mild", {"shift": 0.2}), treatment(ODD, {"shift": 2.5})],
        hypotheses=[
            Hypothesis(welch_t_test(metric="score"), "score", name="score_rises", correction="holm"),
            Hypothesis(welch_t_test(), ["score", "latency"], name="both_metrics"),
        ],
        replicates=8,
        plugins=[SeedPlugin(seed=3), ArtifactPlugin(root_dir=root / "data")],
        name="report <demo>",
    )
    result = experiment.run()
    return result, render_html(result), root


def test_every_condition_hypothesis_and_plot_is_there(run):
    result, page, _root = run
    assert page.startswith("<!DOCTYPE html>")
    for condition in ("baseline", "mild", ODD):
        assert html.escape(condition) in page
    for name in ("score_rises", "both_metrics", "score", "latency"):
        assert f"<h3>{name}</h3>" in page
    # one distribution plot per numeric metric + forest plots (1 + 2 metrics)
    assert page.count("<svg") == 2 + 3
    assert "label" in page and "No finite numbers to plot" in page
    assert html.escape(result.run_id) in page


def test_page_is_self_contained(run):
    _result, page, _root = run
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<script" not in page.lower()
    assert "@import" not in page
    references = re.findall(r"url\(\s*['\"]?([^)'\"]*)", page)
    references += re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert references and all(ref.startswith("#") for ref in references), "only in-page references"
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert "<link" not in page.lower()


def test_user_strings_are_escaped(run):
    _result, page, _root = run
    assert ODD not in page and "<b>" not in page
    assert html.escape(FAILURE) in page and FAILURE not in page
    assert "report &lt;demo&gt;" in page


def test_errors_are_listed_with_condition_replicate_and_step(run):
    result, page, _root = run
    assert len(result.errors) == 1
    errors = page[page.index('<section id="errors"'):]
    errors = errors[: errors.index("</section>")]
    assert "Errors (1 failed replicate)" in errors
    assert f"<td>{html.escape(ODD)}</td><td>2</td><td>measure</td>" in errors
    assert "RuntimeError" in errors and "traceback" in errors


def test_hypothesis_table_shows_effect_ci_p_and_verdict(run):
    result, page, _root = run
    hyp = result.get_hypothesis("score_rises")
    rows = {r.treatment: r for r in hypothesis_rows(hyp)}
    strong = rows[ODD]
    assert strong.p_value == pytest.approx(hyp.results[ODD]["p_value"])
    assert strong.p_value_adjusted is not None and strong.significant is True
    assert strong.ci == pytest.approx(tuple(hyp.results[ODD]["ci"]))
    section = page[page.index('<section id="hypotheses"'):page.index('<section id="errors"')]
    assert "hedges_g" in section and "significant" in section and "difference in means" in section
    nested = hypothesis_rows(result.get_hypothesis("both_metrics"))
    assert {(r.treatment, r.metric) for r in nested} == {
        (t, m) for t in ("mild", ODD) for m in ("score", "latency")
    }


def test_means_and_cis_use_the_t_distribution(run):
    result, page, _root = run
    values = result.metrics.baseline.metrics["score"]
    summary = summarize("baseline", values)
    expected = stats.t.interval(
        0.95, len(values) - 1, loc=statistics.fmean(values), scale=stats.sem(values)
    )
    assert summary.ci == pytest.approx(expected)
    assert summary.mean == pytest.approx(statistics.fmean(values))
    assert mean_ci([1.0]) is None
    low, high = mean_ci([1.0, 2.0, 3.0], level=0.9)
    assert (low, high) == pytest.approx(stats.t.interval(0.9, 2, loc=2.0, scale=stats.sem([1, 2, 3])))
    assert f"{summary.mean:.4g}" in page


def test_run_config_seeds_timings_and_fingerprint(run):
    result, page, _root = run
    for anchor in ("run", "seeds", "timings"):
        assert f'<section id="{anchor}">' in page
    assert "SeedPlugin(seed=3)" in page
    seeds = {r.seed for r in result.records}
    assert all(f"<td>{s}</td>" in page for s in seeds)
    assert result.info["fingerprint"]
    assert f"<code>{result.info['fingerprint']}</code>" in page


def test_write_html_and_a_stored_result(run, tmp_path):
    result, _page, root = run
    path = write_html(load_result(result.run_id, root / "data"), tmp_path / "nested" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "score_rises" in text and html.escape(FAILURE) in text
    assert re.search(r"started_at</td><td>\d{4}-\d\d-\d\dT", text)


def test_rendering_is_deterministic(run):
    result, page, _root = run
    assert render_html(result) == page


def test_result_without_metrics_or_hypotheses_still_renders():
    from crystallize.result import Result

    page = render_html(Result([], ["baseline"], experiment="empty"))
    assert "No metrics were recorded." in page and "No hypotheses were tested" in page
    assert "<svg" not in page


def test_one_replicate_per_condition_renders_its_plots():
    # No condition has a confidence interval with n = 1: the plot spans the values alone.
    result = Experiment(
        datasource=noise(), pipeline=Pipeline([measure()]), treatments=[treatment("mild", {"shift": 0.2})],
        replicates=1, plugins=[SeedPlugin(seed=3), ArtifactPlugin(root_dir=None)],
    ).run()
    page = render_html(result)
    assert page.count('<figure class="plot">') == 2  # score and latency


def test_custom_verifier_output_and_verification_errors():
    from crystallize.hypothesis import HypothesisResult
    from crystallize.record import ReplicateRecord
    from crystallize.result import Result

    records = [
        ReplicateRecord(c, r, r, {"m": [float(r + (c == "t"))]}, [])
        for c in ("baseline", "t", "u") for r in range(3)
    ]
    custom = HypothesisResult(
        "gap<check>", {"t": {"gap": 1.0, "p_value": 0.01, "significant": True},
                       "u": {"error": "InsufficientSamplesError: <2 values"}},
        ["t", "u"], {"t": 0.01}, ["m"], None,
    )
    broken = HypothesisResult("never", {}, [], {}, ["m"], None, error="metric 'm' <missing>")
    page = render_html(Result(records, ["baseline", "t", "u"], [custom, broken], experiment="custom"))
    assert "gap<check>" not in page and "gap&lt;check&gt;" in page
    assert "gap=1" in page, "scalar outputs of custom verifiers land in the 'other' column"
    assert "InsufficientSamplesError: &lt;2 values" in page
    assert "Could not be verified: metric &#x27;m&#x27; &lt;missing&gt;" in page
    assert page.count("<svg") == 1, "no CI in the custom output: no forest plot"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs a chromium binary")
def test_renders_in_headless_chromium(run, tmp_path):
    from PIL import Image

    _result, page, _root = run
    source = tmp_path / "report.html"
    source.write_text(page, encoding="utf-8")
    png = tmp_path / "shot.png"
    command = [
        shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
        "--window-size=1200,2000", source.as_uri(),
    ]
    subprocess.run(command, check=True, timeout=90, capture_output=True)
    assert png.exists() and png.stat().st_size > 20_000
    with Image.open(png) as image:
        assert image.size == (1200, 2000)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 100, "the page rendered as more than a blank canvas"

