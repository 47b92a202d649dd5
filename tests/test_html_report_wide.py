"""The HTML report of wide runs: long condition names and many conditions."""

from __future__ import annotations

import html
import re
import warnings

import pytest

from crystallize.hypothesis import HypothesisResult
from crystallize.record import ReplicateRecord
from crystallize.reporting_html import render_html
from crystallize.reporting_html.plots import distribution_plot, forest_plot, short_labels
from crystallize.reporting_html.summary import hypothesis_rows, summarize
from crystallize.result import Result

DESCRIPTIVE = "_with_a_very_descriptive_configuration_name" * 4
#: Names that differ at the start, at the end, and only in the middle.
LONG_NAMES = (
    [f"lr{i}{DESCRIPTIVE}" for i in (1, 2, 3)]
    + [f"learning_rate_sweep{DESCRIPTIVE}_lr{i:07d}" for i in range(3)]
    + [f"sweep{DESCRIPTIVE[:60]}_{kind}_{DESCRIPTIVE[:60]}" for kind in ("adam", "sgd")]
)
LONG_METRIC = "validation_accuracy_of_the_model_on_the_held_out_split_" * 5
TEXT = re.compile(r'<g id="text_\d+">\s*<!-- (.*?) -->\s*<g (?:style="[^"]*" )?transform="translate\(([-\d.e]+) ')


def _texts(svg: str) -> list[tuple[str, float]]:
    """Every text of the plot (matplotlib writes it as a comment) and the x where it starts."""
    return [(html.unescape(text), float(x)) for text, x in TEXT.findall(svg)]


def _comparisons(treatments: list[str]) -> HypothesisResult:
    results = {
        name: {
            "metric": LONG_METRIC, "p_value": 0.01 * index, "significant": index % 2 == 0,
            "difference": index / 10, "ci": [index / 10 - 1, index / 10 + 1],
            "ci_of": "difference in means", "ci_level": 0.95,
        }
        for index, name in enumerate(treatments)
    }
    return HypothesisResult("h", results, list(results), {}, [LONG_METRIC], None)


def _plots(names: list[str]) -> list[str]:
    """The distribution plot and the forest plot of conditions ``baseline`` + ``names``."""
    summaries = [summarize(n, [1.0 + i, 2.0 + i, 3.5 + i]) for i, n in enumerate(["baseline", *names])]
    forest = forest_plot(hypothesis_rows(_comparisons(names)), "f")
    assert forest is not None
    return [distribution_plot(LONG_METRIC, summaries, "m"), forest]


@pytest.mark.parametrize("which", ["distribution", "forest"])
def test_long_names_get_short_distinct_labels(which):
    svg = _plots(LONG_NAMES)[which == "forest"]
    labels = [text for text, _ in _texts(svg) if ("…" in text or text in LONG_NAMES) and "accuracy" not in text]
    assert len(labels) == len(LONG_NAMES), labels
    assert len(set(labels)) == len(labels), f"two conditions share a label: {labels}"
    assert all(len(label) <= 40 for label in labels), labels
    for label, name in zip(labels, reversed(LONG_NAMES), strict=True):  # drawn bottom up
        head, _, tail = label.partition("…")
        assert name.startswith(head), (label, name)
        assert name.endswith(tail.rpartition("…")[2]), (label, name)
    assert any("lr1_" in label for label in labels) and any("lr0000002" in label for label in labels)
    assert any("adam" in label for label in labels) and any("sgd" in label for label in labels)


def test_short_labels_are_distinct_for_distinct_names():
    middle = [f"{'x' * 40}{i}{'y' * 40}" for i in range(12)]
    alike = ["b", " b", "c" * 40, "c" * 40 + " ", "d" * 39 + "e" + "d" * 40, "d" * 40 + "e" + "d" * 39]
    for names in (LONG_NAMES, middle, alike):
        labels = short_labels(names)
        assert len({label.strip() for label in labels}) == len(names), labels
        assert all(len(label) <= 32 for label in labels), labels
    assert short_labels(["baseline", "t10"]) == ["baseline", "t10"]


def test_short_names_are_labelled_in_full():
    svg = _plots(["small", "t10"])[0]
    assert {"baseline", "small", "t10"} <= {text for text, _ in _texts(svg)}


def test_long_names_leave_room_for_their_labels():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svgs = _plots(LONG_NAMES)
    assert not [str(w.message) for w in caught if "collapsed" in str(w.message)]
    for svg in svgs:
        width = float(re.search(r'<svg[^>]* width="([\d.]+)pt"', svg).group(1))
        for text, x in _texts(svg):
            assert 0 <= x < width, f"{text!r} starts at x={x}, outside the plot (0..{width})"


def test_a_long_metric_name_is_shortened_on_the_axis():
    svg = _plots(["a", "b"])[0]
    axis = [text for text, _ in _texts(svg) if text.startswith("validation")]
    assert len(axis) == 1 and len(axis[0]) <= 100 and "…" in axis[0]


def _wide_result(treatments: int) -> Result:
    names = ["baseline", *(f"t{i:04d}" for i in range(treatments))]
    records = [
        ReplicateRecord(c, r, r, {"m": [index + r / 3]}, []) for index, c in enumerate(names) for r in range(3)
    ]
    return Result(records, names, experiment="wide")


def test_plots_of_many_conditions_are_capped_and_say_so():
    summaries = [summarize(f"c{i:04d}", [i, i + 1.0, i + 2.5]) for i in range(600)]
    svg = distribution_plot("m", summaries, "m")
    labels = [text for text, _ in _texts(svg) if re.fullmatch(r"c\d{4}", text)]
    assert labels[-1] == "c0000" and len(labels) == 200, "the first 200 conditions, baseline first (top)"
    notes = [text for text, _ in _texts(svg) if "of 600 conditions" in text]
    assert notes == ["showing the first 200 of 600 conditions; the table lists all"]

    treatments = [f"t{i:04d}" for i in range(600)]
    svg = forest_plot(hypothesis_rows(_comparisons(treatments)), "f")
    labels = [text for text, _ in _texts(svg) if re.fullmatch(r"t\d{4}", text)]
    assert sorted(labels) == treatments[:200], "the 200 best-ranked treatments"
    notes = [text for text, _ in _texts(svg) if "of 600 treatments" in text]
    assert notes == ["showing the 200 best-ranked of 600 treatments; the table lists all"]


def test_a_report_of_thousands_of_treatments_stays_bounded():
    page = render_html(_wide_result(600))
    plot = page[page.index("<svg"):page.index("</svg>")]
    assert len(plot) < 1_000_000, f"{len(plot):,} characters"
    height = float(re.search(r'<svg[^>]* height="([\d.]+)pt"', plot).group(1))
    assert height < 200 * 72, f"{height / 72:.0f} inches tall"
    table = page[page.index("</figure>"):page.index('<section id="hypotheses"')]
    assert table.count("<tr>") == 1 + 601, "the table lists every condition"


def test_table_name_cells_wrap_and_keep_the_full_name_as_a_tooltip():
    names = ["baseline", "lr1" + DESCRIPTIVE, "a <b> & c"]
    records = [ReplicateRecord(c, r, r, {"m": [float(r + i)]}, []) for i, c in enumerate(names) for r in range(3)]
    page = render_html(Result(records, names, experiment="wide"))
    metrics = page[page.index('<section id="metrics"'):page.index('<section id="hypotheses"')]
    for name in names:
        cell = f'<td><span class="name" title="{html.escape(name)}">{html.escape(name)}</span></td>'
        assert cell in metrics
    css = page[page.index("<style>"):page.index("</style>")]
    rule = re.search(r"\.name\s*\{([^}]*)\}", css)
    assert rule and "overflow-wrap: anywhere" in rule.group(1) and "max-width" in rule.group(1)
