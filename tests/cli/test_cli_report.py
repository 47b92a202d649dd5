"""``crystallize report`` (HTML file from the store) and live events during ``run``."""

from __future__ import annotations

import json
from pathlib import Path

EMITTING_STEPS = '''
from crystallize import pipeline_step


@pipeline_step()
def add_delta(data, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def total(data, ctx):
    ctx.emit("progress", done=ctx["replicate"])
    return data, {"total": sum(data)}
'''


def test_report_writes_a_self_contained_html_file(cli, make_experiment):
    make_experiment("numbers", hypothesis=True)
    run_id = json.loads(cli("run", "numbers", "--json").stdout)["run_id"]
    proc = cli("report", "numbers", "-o", "out/report.html")
    assert proc.returncode == 0, proc.stderr
    assert run_id in proc.stdout
    page = Path("out/report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "bigger" in page and run_id in page
    for condition in ("baseline", "shifted", "doubled"):
        assert condition in page


def test_report_of_an_unknown_experiment_is_a_user_error(cli, make_experiment):
    make_experiment("numbers")
    proc = cli("report", "nope")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_run_shows_emitted_events(cli, make_experiment):
    make_experiment("numbers", steps=EMITTING_STEPS)
    proc = cli("run", "numbers")
    assert proc.returncode == 0, proc.stderr
    assert "[baseline #0] progress done=0" in proc.stdout
    assert "[doubled #2] progress done=2" in proc.stdout
    quiet = cli("run", "numbers", "--json")
    json.loads(quiet.stdout)  # events go to stderr with --json
    assert "progress done=" in quiet.stderr
