"""``crystallize report`` (HTML file from the store) and live events during ``run``."""

from __future__ import annotations

import json
from pathlib import Path

from cli_assertions import assert_one_line_user_error

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


def _stored_run(cli, make_experiment) -> str:
    make_experiment("numbers")
    proc = cli("run", "numbers", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["run_id"]


def test_report_refuses_to_overwrite_a_file_that_is_not_a_report(cli, make_experiment):
    _stored_run(cli, make_experiment)
    config = Path("experiments/numbers/config.yaml")
    before = config.read_text(encoding="utf-8")
    proc = cli("report", "numbers", "-o", str(config))
    assert_one_line_user_error(proc, "experiments/numbers/config.yaml already exists", "--force")
    assert config.read_text(encoding="utf-8") == before
    other_html = Path("page.html")
    other_html.write_text("<!DOCTYPE html>\n<html><body>mine</body></html>\n", encoding="utf-8")
    assert_one_line_user_error(cli("report", "numbers", "-o", "page.html"), "page.html already exists")
    assert "mine" in other_html.read_text(encoding="utf-8")


def test_report_replaces_an_earlier_report_and_anything_with_force(cli, make_experiment):
    run_id = _stored_run(cli, make_experiment)
    assert cli("report", "numbers").returncode == 0
    again = cli("report", "numbers")  # an earlier report is replaced without --force
    assert again.returncode == 0, again.stderr
    assert f"Wrote the report of run {run_id} of 'numbers' to report.html" in again.stdout
    notes = Path("notes.txt")
    notes.write_text("keep me", encoding="utf-8")
    forced = cli("report", "numbers", "-o", "notes.txt", "--force")
    assert forced.returncode == 0, forced.stderr
    assert notes.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_output_path_mistakes_are_user_errors(cli, make_experiment):
    _stored_run(cli, make_experiment)
    cases = {
        "experiments": "cannot write the report to experiments: it is a directory",
        "": "-o/--output is empty",
        "experiments/numbers/config.yaml/r.html": "experiments/numbers/config.yaml is a file, not a directory",
    }
    if Path("/proc/self").is_dir():  # procfs takes no new files, even from root
        cases["/proc/r.html"] = "cannot write the report to /proc/r.html: the folder /proc does not accept"
    for output, message in cases.items():
        assert_one_line_user_error(cli("report", "numbers", "-o", output), message)
    assert not Path("report.html").exists() and not Path("experiments/report.html").exists()


def test_report_without_permission_is_a_user_error(make_experiment, monkeypatch, capsys):
    import errno

    from crystallize.cli.main import main

    make_experiment("numbers")
    assert main(["run", "numbers", "--json"]) == 0
    capsys.readouterr()
    import os

    real_open = os.open

    def refuse(path, flags, *args, **kwargs):  # root ignores read-only folders, so simulate one
        if Path(path).parent.name == "locked" and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    assert main(["report", "numbers", "-o", "locked/r.html"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "Error: cannot write the report to locked/r.html: no permission to write locked/r.html; "
        "choose another path with -o/--output."
    )
