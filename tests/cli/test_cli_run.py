"""``crystallize run``: report, exit codes, --json, --set, strategies, caching, executors."""

from __future__ import annotations

import json
import os
import subprocess

from cli_support import crystallize_command


def _json(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_run_prints_the_report_and_exits_0(cli, make_experiment):
    make_experiment("numbers", hypothesis=True)
    proc = cli("run", "numbers")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Experiment: numbers" in out
    assert "Hypothesis 'bigger'" in out
    assert "9 record(s) (9 computed, 0 resumed) · 0 error(s) · stored in data" in out
    # not a terminal: plain progress lines, one per finished condition
    assert "numbers: running 3 condition(s) × 3 replicate(s)" in out
    assert "numbers · shifted: 3/3 done, 0 error(s)" in out
    assert "Traceback" not in proc.stderr


def test_a_failing_replicate_gives_a_non_zero_exit(cli, make_experiment):
    make_experiment("numbers")
    proc = cli("run", "numbers", "--set", "fail_on=1")
    assert proc.returncode == 1
    assert "replicate chosen to fail" in proc.stdout  # the report lists the error
    assert "3 replicate(s) failed; see the report." in proc.stderr
    assert "Traceback" not in proc.stderr


def test_json_prints_only_the_result(cli, make_experiment):
    make_experiment("numbers")
    data = _json(cli("run", "numbers", "--json"))
    assert data["experiment"] == "numbers"
    assert set(data["metrics"]) == {"baseline", "shifted", "doubled"}
    assert len(data["metrics"]["baseline"]["total"]) == 3


def test_set_overrides_a_treatment_value_and_replicates(cli, make_experiment):
    make_experiment("numbers")
    plain = _json(cli("run", "numbers", "--json"))
    changed = _json(cli("run", "numbers", "--json", "--set", "treatments.shifted.delta=100", "--set", "replicates=2"))
    assert len(changed["metrics"]["shifted"]["total"]) == 2
    assert len(changed["metrics"]["baseline"]["total"]) == 2
    # same seeds: shifting each of the 6 numbers by 100 instead of 3 adds 6 * 97 to the total
    for before, after in zip(plain["metrics"]["shifted"]["total"], changed["metrics"]["shifted"]["total"], strict=False):
        assert abs(after - before - 6 * 97) < 1e-9
    assert changed["metrics"]["doubled"]["total"][:2] == plain["metrics"]["doubled"]["total"][:2]


def test_set_context_value_seed_and_treatment_selection(cli, make_experiment):
    make_experiment("numbers")
    data = _json(cli("run", "numbers", "--json", "--set", "delta=1", "--seed", "11", "-t", "doubled"))
    assert set(data["metrics"]) == {"baseline", "doubled"}
    assert data["base_seed"] == 11
    rerun = _json(cli("run", "numbers", "--json", "--set", "delta=0", "--seed", "11", "-t", "doubled"))
    for with_delta, without in zip(data["metrics"]["baseline"]["total"], rerun["metrics"]["baseline"]["total"], strict=True):
        assert abs(with_delta - without - 6) < 1e-9  # baseline got delta=1 from the context


def test_resume_computes_nothing_the_second_time(cli, make_experiment):
    make_experiment("numbers")
    first = _json(cli("run", "numbers", "--json", "--strategy", "resume"))
    second = _json(cli("run", "numbers", "--json", "--strategy", "resume"))
    assert first["info"]["computed"] == 9
    assert second["info"]["computed"] == 0
    assert second["info"]["resumed"] == 9
    assert second["run_id"] == first["run_id"]


def test_no_cache_turns_the_step_cache_off(cli, make_experiment):
    make_experiment("numbers")
    cli("run", "numbers", "--json")
    cached = _json(cli("run", "numbers", "--json"))
    uncached = _json(cli("run", "numbers", "--json", "--no-cache"))

    def hits(data: dict) -> int:
        return sum(step["cache_hit"] for reps in data["provenance"].values() for rep in reps for step in rep["steps"])

    assert hits(cached) == 9  # add_delta is cacheable
    assert hits(uncached) == 0


def test_executor_and_workers_replace_the_execution_plugin(cli, make_experiment):
    make_experiment("numbers")
    serial = _json(cli("run", "numbers", "--json"))
    parallel = cli("run", "numbers", "--json", "--executor", "process", "--workers", "2")
    data = _json(parallel)
    assert data["metrics"] == serial["metrics"]  # same seeds, same numbers


def test_running_a_graph_runs_upstream_first(cli, make_graph):
    make_graph()
    proc = cli("run", "evaluate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.index("== train ==") < proc.stdout.index("== evaluate ==")
    data = _json(cli("run", "evaluate", "--json", "--strategy", "resume"))
    assert set(data) == {"train", "evaluate"}
    assert data["train"]["info"]["computed"] == 0


def test_run_by_path(cli, make_experiment):
    make_experiment("numbers", replicates=1)
    proc = cli("run", "experiments/numbers/config.yaml", "--json")
    assert _json(proc)["experiment"] == "numbers"


MISSPELLED_METRIC = '''
name: numbers
replicates: 2
datasource: numbers
steps: [add_delta, total]
treatments:
  shifted: {delta: 3.0}
hypotheses:
  - name: bigger
    verifier: {welch_t_test: {alternative: greater}}
    metrics: totl
plugins:
  seed: {seed: 5}
'''


def test_a_misspelled_hypothesis_metric_names_the_stored_run(cli, make_experiment):
    make_experiment("numbers", config=MISSPELLED_METRIC)
    for args in ((), ("--json",)):
        proc = cli("run", "numbers", *args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        error = proc.stderr.strip().splitlines()[-1]
        assert error.startswith("Error: Hypothesis 'bigger' reads metric 'totl'")
        (stored,) = [run for run in json.loads(cli("runs", "numbers", "--json").stdout) if run["run_id"] in error]
        assert stored["status"] == "completed" and stored["records"] == 4
        assert f"The run is stored as {stored['run_id']}" in error
        assert f"crystallize show numbers --run {stored['run_id']}" in error
    shown = cli("show", "numbers", "--run", stored["run_id"], "--no-chart")
    assert shown.returncode == 0 and "total" in shown.stdout


def test_records_that_cannot_be_stored_are_an_error_not_a_stored_run(make_experiment, monkeypatch, capsys):
    from crystallize.cli.main import main
    from crystallize.exceptions import StoreError
    from crystallize.store.sqlite import SQLiteRunStore

    def refuse(self, run_id, records):  # what a damaged database file does to a write
        raise StoreError("database disk image is malformed")

    make_experiment("numbers")
    monkeypatch.setattr(SQLiteRunStore, "append_records", refuse)
    assert main(["run", "numbers"]) == 1
    out, err = capsys.readouterr()
    assert "Experiment: numbers" in out  # the results are still shown
    assert "NOT stored (see the error below)" in out and "stored in data" not in out
    assert "could not all be written to data: " in err and "database disk image is malformed" in err
    assert "Traceback" not in err


def test_a_closed_stdout_does_not_cancel_the_run(cli, make_experiment, tmp_path):
    """``crystallize run NAME | head -1``: the run finishes and is stored; no error, exit 0."""
    make_experiment("numbers", replicates=4)
    env = {**os.environ, "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    proc = subprocess.Popen(
        [*crystallize_command(), "run", "numbers", "--set", "pause=0.1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert "numbers: running 3 condition(s)" in proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, like `| head -1`
    code = proc.wait(timeout=120)
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert "Error" not in stderr and "Traceback" not in stderr and "Exception" not in stderr, stderr
    (row,) = json.loads(cli("runs", "numbers", "--json").stdout)
    assert row["status"] == "completed" and row["records"] == 12 and row["errors"] == 0


def test_summary_line_counts_cache_hits():
    from crystallize.cli.run import summary_line
    from crystallize.result import Result

    hits = Result([], ["baseline"], run_id="abc", info={"computed": 4, "resumed": 0, "cache_hits": 12})
    assert summary_line(hits, "data") == "Run abc · 0 record(s) (4 computed, 0 resumed) · 12 cache hit(s) · 0 error(s) · stored in data"
    none = Result([], ["baseline"], run_id="abc", info={"computed": 4, "resumed": 0, "cache_hits": 0})
    assert "cache hit" not in summary_line(none, "data")
