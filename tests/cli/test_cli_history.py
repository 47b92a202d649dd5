"""``crystallize show``, ``runs`` and ``diff``: past runs from the store."""

from __future__ import annotations

import json

from cli_assertions import assert_one_line_user_error


def _run_id(cli, *args: str, code: int = 0) -> str:
    proc = cli("run", "numbers", "--json", *args)
    assert proc.returncode == code, proc.stderr
    return json.loads(proc.stdout)["run_id"]


def test_runs_lists_past_runs(cli, make_experiment):
    make_experiment("numbers")
    first = _run_id(cli)
    second = _run_id(cli, "--set", "fail_on=0", code=1)
    proc = cli("runs", "numbers")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index(second) < out.index(first)  # newest first
    assert "completed" in out
    rows = json.loads(cli("runs", "numbers", "--json").stdout)
    assert [r["run_id"] for r in rows] == [second, first]
    assert rows[0]["errors"] == 3 and rows[1]["errors"] == 0
    assert rows[0]["records"] == 9


def test_show_prints_the_latest_report_and_a_chart(cli, make_experiment):
    make_experiment("numbers")
    first = _run_id(cli)
    second = _run_id(cli, "--set", "replicates=2")
    proc = cli("show", "numbers")
    assert proc.returncode == 0, proc.stderr
    assert f"Run {second} of 'numbers' · completed" in proc.stdout
    assert "Metrics (mean ± sd)" in proc.stdout
    assert "distribution" in proc.stdout and "95% CI" in proc.stdout  # the terminal chart
    older = cli("show", "numbers", "--run", first[:6], "--no-chart")
    assert f"Run {first} of 'numbers'" in older.stdout
    assert "distribution" not in older.stdout


def test_diff_two_runs_shows_config_and_metric_changes(cli, make_experiment):
    make_experiment("numbers")
    a = _run_id(cli)
    b = _run_id(cli, "--set", "treatments.shifted.delta=10")
    proc = cli("diff", a, b)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "treatments.shifted.delta: 3.0 → 10" in out
    assert "mean A" in out and "mean B" in out and "delta" in out
    data = json.loads(cli("diff", a, b, "--json").stdout)
    assert data["config"] == [{"path": "treatments.shifted.delta", "a": 3.0, "b": 10}]
    rows = {(r["condition"], r["metric"]): r for r in data["metrics"]}
    assert abs(rows["shifted", "total"]["delta"] - 6 * 7) < 1e-9
    assert abs(rows["baseline", "total"]["delta"]) < 1e-9


def test_diff_two_treatments_of_one_run(cli, make_experiment):
    make_experiment("numbers")
    run = _run_id(cli)
    data = json.loads(cli("diff", run, "--treatments", "shifted", "doubled", "--json").stdout)
    assert data["config"] == [{"path": "delta", "a": 3.0, "b": 6.0}]
    (row,) = data["metrics"]
    assert (row["condition_a"], row["condition_b"]) == ("shifted", "doubled")
    assert abs(row["delta"] - 6 * 3) < 1e-9
    text = cli("diff", run, "--treatments", "baseline", "shifted").stdout
    assert "baseline → shifted" in text


ROOT_COMMANDS = {
    "runs": ("runs", "numbers"),
    "show": ("show", "numbers"),
    "report": ("report", "numbers"),
    "diff": ("diff", "aaaa", "bbbb"),
}


def test_root_must_be_the_data_directory(cli, make_experiment):
    make_experiment("numbers")
    _run_id(cli)
    for name, args in ROOT_COMMANDS.items():
        proc = cli(*args, "--root", "data/crystallize.db")
        assert_one_line_user_error(
            proc, "--root data/crystallize.db is a file", "must be the data directory holding crystallize.db",
            "Use: --root data",
        )
        assert "Run it first" not in proc.stderr, name
        assert_one_line_user_error(cli(*args, "--root", "nowhere"), "--root nowhere does not exist")
        assert_one_line_user_error(cli(*args, "--root", "experiments"), "--root experiments holds no crystallize.db")


def test_a_directory_named_crystallize_db_is_not_a_store(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    (tmp_path / "data" / "crystallize.db").mkdir(parents=True)
    for args in ROOT_COMMANDS.values():
        proc = cli(*args)
        assert_one_line_user_error(proc, "data/crystallize.db is a directory, not a run store")
        assert "Run it first" not in proc.stderr
        assert_one_line_user_error(cli(*args, "--root", "data"), "data/crystallize.db is a directory")


def test_show_checks_the_metric_before_printing(cli, make_experiment):
    make_experiment("numbers")
    run = _run_id(cli)
    proc = cli("show", "numbers", "--metric", "totl")
    assert_one_line_user_error(proc, f"run '{run}' has no metric 'totl'. Did you mean 'total'? Known metrics: total.")
    assert proc.stdout == ""
    assert cli("show", "numbers", "--metric", "total").returncode == 0


PRINTING_STEPS = '''
from crystallize import pipeline_step

print("hello from steps.py")  # runs whenever the folder is imported


@pipeline_step()
def add_delta(data, *, delta=0.0):
    return [x + delta for x in data]


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}
'''


def test_json_output_is_not_mixed_with_prints_of_imported_modules(cli, make_experiment):
    make_experiment("numbers", steps=PRINTING_STEPS)
    run = cli("run", "numbers", "--json")
    assert run.returncode == 0, run.stderr
    run_id = json.loads(run.stdout)["run_id"]
    assert "hello from steps.py" in run.stderr
    proc = cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)  # stdout holds only the JSON
    assert "hello from steps.py" in proc.stderr  # list loads the folders
    for args in (("runs", "numbers", "--json"), ("diff", run_id, run_id, "--json")):
        proc = cli(*args)
        assert proc.returncode == 0, (args, proc.stderr)
        json.loads(proc.stdout)
        assert "hello from steps.py" not in proc.stdout + proc.stderr, args  # reading runs imports nothing
    assert "hello from steps.py" in cli("list").stdout  # without --json prints stay on stdout


ELSEWHERE_CONFIG = '''
name: other
replicates: 2
datasource: numbers
steps: [add_delta, total]
treatments:
  shifted: {delta: 3.0}
plugins:
  seed: {seed: 5}
  artifacts: {root_dir: store}
'''


def test_history_commands_take_an_experiment_path(cli, make_experiment, tmp_path):
    """show, runs and report accept a folder or config.yaml, like run (and find its store)."""
    make_experiment("numbers")
    own = _run_id(cli)
    folder = make_experiment("other", config=ELSEWHERE_CONFIG)
    moved = tmp_path / "elsewhere" / "other"
    moved.parent.mkdir()
    folder.rename(moved)  # not discovered: only reachable by path
    proc = cli("run", "elsewhere/other", "--json")
    assert proc.returncode == 0, proc.stderr
    other = json.loads(proc.stdout)["run_id"]
    for path, run_id in (
        ("experiments/numbers", own),
        ("experiments/numbers/config.yaml", own),
        ("elsewhere/other", other),
        ("elsewhere/other/config.yaml", other),
    ):
        runs = cli("runs", path, "--json")
        assert runs.returncode == 0, (path, runs.stderr)
        assert [row["run_id"] for row in json.loads(runs.stdout)] == [run_id]
        show = cli("show", path, "--no-chart")
        assert show.returncode == 0, (path, show.stderr)
        assert f"Run {run_id} of " in show.stdout
        assert cli("show", path, "--run", run_id[:6], "--no-chart").returncode == 0, path
        report = cli("report", path, "-o", f"{run_id}.html")
        assert report.returncode == 0, (path, report.stderr)
        assert (tmp_path / f"{run_id}.html").is_file()
    assert "Runs of 'other' in store:" in cli("runs", "elsewhere/other").stdout
    assert_one_line_user_error(cli("runs", "elsewhere/gone"), "elsewhere/gone: no such file or folder")


def test_history_help_says_an_experiment_path_is_accepted(cli):
    for command in ("show", "runs", "report"):
        proc = cli(command, "--help")
        assert "name, or its folder / config.yaml" in proc.stdout, command


def test_a_data_path_that_is_a_file_is_named(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    (tmp_path / "data").write_text("not a directory")
    for command in (("runs", "numbers"), ("show", "numbers")):
        proc = cli(*command)
        assert_one_line_user_error(proc, "data is a file, not a data directory")
        assert "Run it first" not in proc.stderr
