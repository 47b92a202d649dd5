"""The report's hypothesis table and the chart fit the width of stdout (``COLUMNS``, else
the terminal's) as ``list``, ``runs`` and ``diff`` do: the free-text ``other`` column (a
verifier's own outputs: ``method=BCa, n_resamples=9999, seed=0, ...``) wraps between
words; names, numbers, p-values, intervals and verdicts are never cut or wrapped. When
they alone are wider than the terminal, the lines are longer rather than cut.

``result.report()`` away from a terminal (a file, a pipe, a notebook) fits
``TABLE_WIDTH`` (120) unless ``COLUMNS`` says otherwise.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from crystallize import (
    Experiment,
    Hypothesis,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    reporting,
    treatment,
    verifier,
)
from crystallize.record import ReplicateRecord
from crystallize.reporting import TABLE_WIDTH, render_report
from crystallize.result import Result
from crystallize.terminal_chart import terminal_chart

UNBOUNDED = 10**6

CONFIG = '''
name: alpha
replicates: 6
datasource: numbers
steps: [add_delta, total]
treatments:
  shifted: {delta: 3.0}
  doubled_again: {delta: 6.0}
hypotheses:
  - name: bigger
    verifier: {bootstrap_ci: {}}
    metrics: total
    correction: holm
plugins:
  seed: {seed: 5}
'''


# -- reading a table back ----------------------------------------------------------------------
def hypothesis_table(text: str) -> list[str]:
    """The lines of the (first) hypothesis table in ``text``: its header, the dashes under
    it, and its rows (wrapped rows go on over lines that start blank)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("treatment "))
    end = start + 2
    while end < len(lines) and lines[end].strip() and not lines[end].startswith(("CI:", "Best:", "  !")):
        end += 1
    return lines[start:end]


def cells(table: list[str]) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of ``table`` as cells, by the columns its dashes mark; a
    cell wrapped over several lines is joined back with single spaces."""
    spans = [m.span() for m in re.finditer(r"-+", table[1])]

    def split(line: str) -> list[str]:
        ends = [start for start, _ in spans[1:]] + [len(line)]
        return [line[start:end].strip() for (start, _), end in zip(spans, ends, strict=True)]

    header = split(table[0])
    rows: list[list[str]] = []
    for line in table[2:]:
        parts = split(line)
        if parts[0] or not rows:
            rows.append(parts)
        else:  # a wrapped row goes on
            rows[-1] = [" ".join(filter(None, (a, b))) for a, b in zip(rows[-1], parts, strict=True)]
    return header, rows


def widest(lines: list[str]) -> int:
    return max(cell_len(line) for line in lines)


def assert_same_table(narrow: list[str], wide: list[str]) -> None:
    """``narrow`` holds every cell of ``wide`` whole: the fixed columns are on each row's
    first line exactly as in ``wide`` (never cut or wrapped), and the ``other`` text reads
    the same once its lines are joined."""
    header, rows = cells(narrow)
    wide_header, wide_rows = cells(wide)
    assert header == wide_header, (narrow, wide)
    assert rows == wide_rows, "\n".join(narrow)
    first_lines = [line for line in narrow[2:] if not line.startswith(" ")]
    assert len(first_lines) == len(wide_rows)
    other = header.index("other")
    for line, row in zip(first_lines, wide_rows, strict=True):
        assert line.split()[: len(" ".join(row[:other]).split())] == " ".join(row[:other]).split(), line


# -- crystallize show / run --------------------------------------------------------------------
def test_show_wraps_the_other_column_to_fit_the_terminal(cli, make_experiment):
    make_experiment("alpha", config=CONFIG)
    ran = cli("run", "alpha", env={"COLUMNS": "135"})
    assert ran.returncode == 0, ran.stderr
    assert widest(hypothesis_table(ran.stdout)) <= 135, ran.stdout  # run prints the report too

    wide = cli("show", "alpha", "--no-chart", env={"COLUMNS": "1000"})
    assert wide.returncode == 0, wide.stderr
    wide_table = hypothesis_table(wide.stdout)
    header, rows = cells(wide_table)
    assert header[-1] == "other" and "n_resamples=9999," in rows[0][-1].split(), wide.stdout
    assert widest(wide_table) > 135, "the table must need wrapping at 135 for this test to mean anything"

    at_135 = cli("show", "alpha", "--no-chart", env={"COLUMNS": "135"})
    table = hypothesis_table(at_135.stdout)
    assert widest(table) <= 135, at_135.stdout
    assert len(table) > len(wide_table), "the other column wraps"
    assert_same_table(table, wide_table)
    assert all(line == line.rstrip() for line in table)

    # At 80 the names and numbers alone are wider: the other column narrows to its
    # longest item and the lines are longer than 80, never cut.
    at_80 = cli("show", "alpha", "--no-chart", env={"COLUMNS": "80"})
    table = hypothesis_table(at_80.stdout)
    assert_same_table(table, wide_table)
    fixed = wide_table[1].rindex(" ") + 1  # where the other column starts
    longest_item = max(cell_len(word) for row in rows for word in row[-1].split())
    assert widest(table) == fixed + longest_item, at_80.stdout


# -- result.report() / render_report -----------------------------------------------------------
@data_source
def values(ctx):
    return [1.0, 2.0, 3.0]


@pipeline_step()
def shift(data, *, effect=0.0):
    shifted = [x + effect for x in data]
    return shifted, {"total": sum(shifted)}


@verifier
def resampled(baseline, treatment):
    """Every column a built-in verifier fills, and a verifier's own outputs."""
    gain = sum(treatment["total"]) / len(treatment["total"]) - sum(baseline["total"]) / len(baseline["total"])
    return {
        "p_value": 0.0123456, "significant": gain > 1, "difference": gain, "ci": (gain - 0.61803, gain + 0.31415),
        "effect_size": 1.2345, "effect_size_name": "hedges_g", "alpha": 0.05,
        "method": "BCa", "n_resamples": 9999, "seed": 0,
        "note": "resampled within each replicate of the treatment",
    }


@pytest.fixture(scope="module")
def result():
    experiment = Experiment(
        datasource=values(),
        pipeline=Pipeline([shift()]),
        treatments=[treatment("big", {"effect": 5.0}), treatment("smaller", {"effect": 0.5})],
        hypotheses=[Hypothesis(verifier=resampled(), metrics="total", name="h", correction="holm")],
        replicates=3,
        plugins=[SeedPlugin(seed=1)],
    )
    return experiment.run()


def test_the_unwrapped_table_is_wider_than_the_widths_tested(result):
    assert widest(hypothesis_table(render_report(result, width=UNBOUNDED))) > 135


@pytest.mark.parametrize("width", [135, 120, 115])
def test_the_hypothesis_table_fits_the_width_given(result, width):
    wide = hypothesis_table(render_report(result, width=UNBOUNDED))
    table = hypothesis_table(render_report(result, width=width))
    assert widest(table) <= width, "\n".join(table)
    assert_same_table(table, wide)


@pytest.mark.parametrize("width", [100, 80, 60, 20])
def test_too_narrow_a_width_makes_longer_lines_not_cut_numbers(result, width):
    wide = hypothesis_table(render_report(result, width=UNBOUNDED))
    table = hypothesis_table(render_report(result, width=width))
    assert_same_table(table, wide)
    for number in ("0.01235", "1.234 hedges_g", "significant", "smaller"):
        assert any(number in line for line in table), (number, table)
    # every word of the other column is whole, each wrapped line as narrow as it goes
    fixed = wide[1].rindex(" ") + 1
    longest = max(cell_len(word) for row in cells(wide)[1] for word in row[-1].split())
    assert widest(table) == fixed + longest, "\n".join(table)


def test_report_fits_columns(result, monkeypatch):
    monkeypatch.setenv("COLUMNS", "135")
    assert reporting.report_width() == 135
    assert result.report() == render_report(result, width=135)
    assert widest(hypothesis_table(result.report())) <= 135


def test_report_away_from_a_terminal_fits_table_width(result, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("sys.stdout", io.StringIO())  # a file: no terminal to ask
    assert reporting.report_width() == TABLE_WIDTH
    report = result.report()
    assert report == render_report(result, width=TABLE_WIDTH)
    assert widest(hypothesis_table(report)) <= TABLE_WIDTH
    assert_same_table(hypothesis_table(report), hypothesis_table(render_report(result, width=UNBOUNDED)))


def test_a_table_that_fits_is_unchanged(result):
    wide = render_report(result, width=UNBOUNDED)
    natural = widest(hypothesis_table(wide))
    assert render_report(result, width=natural) == wide


def test_the_metrics_table_follows_a_narrow_terminal(monkeypatch):
    metrics = ["loss", "accuracy", "f1", "recall"]
    records = [
        ReplicateRecord(c, r, r, {m: [float(r + 2 * i + j)] for j, m in enumerate(metrics)}, [])
        for i, c in enumerate(("baseline", "t")) for r in range(3)
    ]
    result = Result(records, ["baseline", "t"], experiment="wide")
    monkeypatch.setenv("COLUMNS", "60")
    lines = result.report().splitlines()
    header = lines[lines.index("Metrics (mean ± sd)") + 1]
    assert header.split() == ["condition", "metric", "mean", "±", "sd"]  # a row per condition × metric
    monkeypatch.setenv("COLUMNS", "200")  # never wider than TABLE_WIDTH: as before on wide terminals
    lines = result.report().splitlines()
    assert lines[lines.index("Metrics (mean ± sd)") + 1].split() == ["condition", *metrics]


# -- the chart ---------------------------------------------------------------------------------
def spread_result(scale: float) -> Result:
    records = [
        ReplicateRecord(c, r, r, {"score": [scale * (r * 1.37 + i * 3.1 - 5)]}, [])
        for i, c in enumerate(("baseline", "doubled_with_a_longer_name")) for r in range(6)
    ]
    return Result(records, ["baseline", "doubled_with_a_longer_name"], experiment="chart")


@pytest.mark.parametrize("scale", [1.0, -123456.0, 1e-7])
@pytest.mark.parametrize("width", [*range(60, 90), 135])
def test_the_chart_never_cuts_its_axis_or_header(scale, width):
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(terminal_chart(spread_result(scale)), crop=False)
    text = console.file.getvalue()
    assert "…" not in text, text
    lines = text.splitlines()
    assert widest(lines) <= width or "distrib" not in text, text
    if "distrib" in text:  # the distribution column is there: so is its axis, whole
        values = [scale * (r * 1.37 + i * 3.1 - 5) for i in range(2) for r in range(6)]
        low, high = (f"{v:.2e}" if abs(v) < 1e-3 or abs(v) >= 1e6 else f"{v:.4g}" for v in (min(values), max(values)))
        assert low in text.split() and high in text.split(), text
