"""Text output of a Result (tree, chart, report) on streams that cannot write every
character, and laid out by display width (CJK and emoji take two columns)."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest
from rich.cells import cell_len
from rich.console import Console

from crystallize import Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.terminal_chart import terminal_chart

SCRIPT = '''
from crystallize import Experiment, Pipeline, data_source, pipeline_step, treatment

@data_source
def index(ctx):
    return ctx["replicate"]

@pipeline_step()
def measure(data, ctx, *, shift=0):
    return data, {"score": data + shift}

result = Experiment(
    datasource=index(), pipeline=Pipeline([measure()]),
    treatments=[treatment("double_中文", {"shift": 2})], replicates=4, name="enc",
).run()
result.print_tree(max_replicates=1)
result.print_chart()
'''


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252", "utf-8"])
def test_print_tree_and_chart_choose_characters_the_stream_can_write(tmp_path, encoding):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, cwd=tmp_path,
        env={"PYTHONIOENCODING": encoding, "COLUMNS": "100", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    text = proc.stdout.decode(encoding)
    if encoding == "utf-8":
        assert "→" in text and "◆" in text and "double_中文" in text
    else:
        assert "->" in text and "double_????" in text
        assert "o" in text and "#" in text  # the mean marker and the tallest histogram bar


@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def measure(data, ctx, *, shift=0):
    return data, {"précision_中": 0.9899 + data / 1000 + shift, "size": data}


@pytest.fixture(scope="module")
def wide_result(tmp_path_factory):
    from crystallize import ArtifactPlugin

    return Experiment(
        datasource=index(),
        pipeline=Pipeline([measure()]),
        treatments=[treatment("double_中文", {"shift": 0.001}), treatment("café_☕", {"shift": 0.002})],
        replicates=6,
        plugins=[ArtifactPlugin(root_dir=tmp_path_factory.mktemp("wide") / "data")],
        name="wide",
    ).run()


@pytest.mark.parametrize("width", [40, 60, 80])
def test_chart_never_cuts_numbers(wide_result, width):
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(terminal_chart(wide_result, "précision_中"))
    text = buffer.getvalue()
    assert "…" not in text
    assert all(cell_len(line) <= width for line in text.splitlines()), text
    assert "0.9924" in text.split()  # the baseline's mean, whole
    assert all(line.count("[") == line.count("]") for line in text.splitlines())
    if width >= 80:
        assert text.splitlines()[1].split()[-1] == "n"


def _column_starts(line: str) -> list[int]:
    """The display columns at which the cells of a table line start."""
    starts, previous = [], " "
    for index, char in enumerate(line):
        if char != " " and line[index - 2 : index] in ("  ", "") and previous == " ":
            starts.append(cell_len(line[:index]))
        previous = char
    return starts


def test_report_tables_align_wide_names(wide_result):
    lines = wide_result.report().splitlines()
    table = lines[lines.index("Metrics (mean ± sd)") + 1 :][:5]
    assert len({tuple(_column_starts(line)) for line in table}) == 1, "\n".join(table)


def test_for_encoding_keeps_what_the_encoding_can_write():
    from crystallize.terminal_chart import for_encoding

    assert for_encoding("a × b → c ± d", "utf-8") == "a × b → c ± d"
    assert for_encoding("a × b → c ± d", "cp1252") == "a × b -> c ± d"
    assert for_encoding("a × b → c ± d 中", "ascii") == "a x b -> c +/- d ??"
    assert for_encoding("█◆─┃░", "ascii") == "#o-|="
