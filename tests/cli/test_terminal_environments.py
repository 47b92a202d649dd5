"""The command under other locales, encodings, terminal widths and odd file descriptors.

A display problem (an encoding that lacks a character, a narrow terminal, a closed stdin)
must never stop a run or cut a number, and ``--json`` must keep stdout to the JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import unicodedata

import pytest
from cli_support import crystallize_command

from crystallize.store import list_runs

UNICODE_CONFIG = '''
name: uni
replicates: 3
datasource: numbers
steps: [add_delta, total]
treatments:
  "double_中文": {delta: 3.0}
  "café_☕": {delta: 6.0}
plugins:
  seed: {seed: 5}
'''

NOISY_STEPS = '''
import os
import subprocess

from crystallize import pipeline_step

os.system("echo imported steps")


@pipeline_step()
def add_delta(data, *, delta=0.0):
    subprocess.run(["echo", "tool output"], check=True)
    return [x + delta for x in data]


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}
'''

#: The characters the command uses that an ASCII stdout cannot write.
NON_ASCII = ("×", "·", "±", "→", "█", "◆", "─", "┃", "░", "…")


def _assert_no_crash(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "UnicodeEncodeError" not in proc.stderr and "Traceback" not in proc.stderr


def _encoded(cli, encoding: str):
    """``cli`` with stdout and stderr in ``encoding`` (decoded from it: what it wrote must be valid)."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*crystallize_command(), *args], cwd=os.getcwd(), capture_output=True, timeout=120,
            env={**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "PYTHONIOENCODING": encoding},
        )
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(encoding), proc.stderr.decode(encoding, "replace")
        )

    return run


def test_an_encoding_without_the_names_characters_does_not_stop_the_run(cli, make_experiment):
    make_experiment("uni", config=UNICODE_CONFIG)
    proc = _encoded(cli, "cp1252")("run", "uni")
    _assert_no_crash(proc)
    (run,) = list_runs("data", "uni")
    assert (run.status, run.n_records) == ("completed", 9)
    assert "double_????" in proc.stdout  # the name, replaced where cp1252 cannot write it


@pytest.mark.parametrize("encoding", ["ascii", "cp1252", "latin-1"])
def test_commands_fall_back_to_ascii_symbols(cli, make_experiment, encoding):
    make_experiment("numbers", hypothesis=True)
    encoded = _encoded(cli, encoding)
    run = encoded("run", "numbers")
    _assert_no_crash(run)
    cli("run", "numbers", "--set", "treatments.shifted.delta=4")
    first, second = [r.run_id for r in list_runs("data", "numbers")]
    outputs = {}
    for args in (("show", "numbers"), ("list",), ("runs", "numbers"), ("diff", first, second)):
        proc = encoded(*args)
        _assert_no_crash(proc)
        outputs[args[0]] = proc.stdout
    if encoding == "ascii":
        assert "running 3 condition(s) x 3 replicate(s)" in run.stderr + run.stdout
        assert "+/-" in outputs["show"] and "#" in outputs["show"]
        assert "->" in outputs["diff"]
        for text in outputs.values():
            assert not any(char in text for char in NON_ASCII)
    if encoding == "cp1252":
        assert "±" in outputs["show"] and "█" not in outputs["show"]


def test_json_stdout_holds_only_the_json_even_from_subprocesses(cli, make_experiment):
    make_experiment("noisy", steps=NOISY_STEPS)
    proc = cli("run", "noisy", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["experiment"] == "noisy"
    assert "tool output" in proc.stderr and "imported steps" in proc.stderr
    for args in (("list", "--json"), ("runs", "noisy", "--json")):
        listed = cli(*args)
        assert listed.returncode == 0, listed.stderr
        json.loads(listed.stdout)
    after = cli("run", "noisy", "-n", "1")  # the file descriptor is back: the report on stdout
    assert "Experiment: noisy" in after.stdout


def _cells(text: str) -> list[str]:
    return text.split()


def _chart(stdout: str, metric: str) -> str:
    """The chart of ``metric`` at the end of ``crystallize show``'s output."""
    lines = [line.rstrip() for line in stdout.splitlines()]
    return "\n".join(lines[len(lines) - lines[::-1].index(metric) :])


def test_narrow_terminals_never_cut_numbers_or_run_ids(cli, make_experiment):
    make_experiment("numbers")
    cli("run", "numbers")
    cli("run", "numbers", "--set", "treatments.shifted.delta=4")
    first, second = [r.run_id for r in list_runs("data", "numbers")]
    from crystallize.store import load_result

    means = {
        f"{sum(values) / len(values):.4g}"
        for values in (load_result(first, "data").metrics.conditions()[c].metrics["total"]
                       for c in ("baseline", "shifted", "doubled"))
    }
    for columns in ("40", "60"):
        env = {"COLUMNS": columns}
        runs = cli("runs", "numbers", env=env)
        assert first in runs.stdout and second in runs.stdout, runs.stdout
        show = cli("show", "numbers", "--run", first, env=env)
        chart = _chart(show.stdout, "total")
        assert "…" not in chart, chart
        assert means <= set(_cells(chart)), chart
        assert all(line.count("[") == line.count("]") for line in chart.splitlines()), chart
        diff = cli("diff", first, second, env=env)
        assert "…" not in diff.stdout, diff.stdout
        assert means <= set(_cells(diff.stdout)), diff.stdout
        listing = cli("list", env=env)
        assert "numbers" in _cells(listing.stdout) and "experiment" in _cells(listing.stdout), listing.stdout


def test_chart_keeps_the_n_column_at_80_columns_with_wide_names(cli, make_experiment):
    config = UNICODE_CONFIG.replace("steps: [add_delta, total]", "steps: [add_delta, precision]")
    steps = '''
from crystallize import pipeline_step


@pipeline_step()
def add_delta(data, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def precision(data):
    return data, {"précision_中": 0.98987 + sum(data) / 1000}
'''
    make_experiment("uni", config=config, steps=steps)
    assert cli("run", "uni").returncode == 0
    show = cli("show", "uni", env={"COLUMNS": "80"})
    chart = _chart(show.stdout, "précision_中")
    header = chart.splitlines()[0].split()
    assert header[-1] == "n", chart
    assert "…" not in chart


def test_delete_with_stdin_closed_asks_for_yes(cli, make_experiment, tmp_path):
    make_experiment("numbers", replicates=1)
    cli("run", "numbers")
    cli("run", "numbers")
    proc = subprocess.run(
        ["sh", "-c", 'exec "$@" 0<&-', "sh", *crystallize_command(), "delete", "numbers", "--keep", "1"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "Error: no answer to the question (stdin is closed); add --yes to delete without asking"
    )
    assert len(list_runs("data", "numbers")) == 2


def test_c_locale_runs_an_experiment_in_a_non_ascii_folder(cli, make_experiment, tmp_path):
    folder = make_experiment("numbers", replicates=1)
    project = tmp_path / "mon projet é 中文"
    project.mkdir()
    os.rename(tmp_path / "experiments", project / "experiments")
    proc = cli(
        "run", str(project / "experiments" / folder.name), "--json",
        env={"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "", "PYTHONCOERCECLOCALE": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["experiment"] == "numbers"


def test_c_locale_reads_non_ascii_names_as_utf8(cli, make_experiment):
    make_experiment("café", replicates=1, config=UNICODE_CONFIG.replace("name: uni", "name: café"))
    c_locale = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    assert cli("run", "café").returncode == 0  # (a C locale cannot create the folder data/café)
    runs = cli("runs", "café", env=c_locale)
    assert runs.returncode == 0, runs.stderr
    assert "Runs of 'caf?'" in runs.stdout
    show = cli("show", "café", "-m", "total", env=c_locale)
    assert show.returncode == 0, show.stderr


def test_names_typed_in_decomposed_unicode_find_the_stored_ones(cli, make_experiment):
    make_experiment("café", replicates=1, config=UNICODE_CONFIG.replace("name: uni", "name: café"))
    assert cli("run", "café").returncode == 0
    decomposed = unicodedata.normalize("NFD", "café")
    assert decomposed != "café"
    runs = cli("runs", decomposed)
    assert runs.returncode == 0, runs.stderr
    assert "Runs of 'café'" in runs.stdout
    show = cli("show", decomposed)
    assert show.returncode == 0, show.stderr
    treatment = cli("run", decomposed, "-t", unicodedata.normalize("NFD", "café_☕"), "--json")
    assert treatment.returncode == 0, treatment.stderr
    run_id = json.loads(treatment.stdout)["run_id"]
    diff = cli("diff", run_id, "--treatments", "baseline", unicodedata.normalize("NFD", "café_☕"))
    assert diff.returncode == 0, diff.stderr
    assert "baseline → café_☕" in diff.stdout


def test_new_says_names_must_be_ascii(cli):
    proc = cli("new", "café")
    assert proc.returncode == 2
    assert "ASCII letters" in proc.stderr


def test_a_failing_progress_display_does_not_stop_the_run(capsys):
    from rich.console import Console

    from crystallize.cli.progress import RunProgress
    from crystallize.record import ReplicateRecord

    class Broken:
        encoding = "utf-8"

        def write(self, text):
            raise OSError(5, "Input/output error")

        def flush(self):
            pass

    with RunProgress(Console(file=Broken())).track("exp", ["baseline"], 2) as tracker:
        for replicate in range(2):
            tracker.advance(ReplicateRecord("baseline", replicate, 0, {"m": [1.0]}, []))
    assert tracker.done == 2 and tracker.broken
    assert capsys.readouterr().err.count("warning: the progress display failed (OSError") == 1
