"""``crystallize delete`` and ``compact``, and the history commands' edge cases."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

from cli_assertions import assert_one_line_user_error

from crystallize.store import list_runs, open_store


def _store_runs(experiment="numbers", count=1, *, root="data", version=None, payload=0):
    """Store ``count`` finished runs of ``experiment`` (each with a ``v<version>`` folder
    when ``version`` is given); return their ids, oldest first."""
    ids = []
    with open_store(root) as store:
        for _ in range(count):
            run = store.create_run(
                experiment=experiment, fingerprint="f", spec={"blob": "x" * payload}, replicates=1,
                conditions=["baseline"], base_seed=1, artifact_version=version,
            )
            store.finish_run(run.run_id, "completed")
            ids.append(run.run_id)
    if version is not None:
        folder = os.path.join(root, experiment, f"v{version}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "model.txt"), "w") as handle:
            handle.write("weights")
    return ids


def _pretend_running(run_id, pid):
    with sqlite3.connect("data/crystallize.db") as conn:
        conn.execute(
            "UPDATE runs SET status = 'running', ended_at = NULL, pid = ?, heartbeat_at = ? WHERE run_id = ?",
            (pid, time.time(), run_id),
        )
    conn.close()


def _other_process():
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


# -- history polish --------------------------------------------------------------------------
def test_runs_of_an_experiment_never_run_is_an_empty_list(cli, make_experiment):
    make_experiment("numbers")
    proc = cli("runs", "numbers")
    assert proc.returncode == 0, proc.stderr
    assert "No runs of 'numbers' yet" in proc.stdout and "crystallize run numbers" in proc.stdout
    as_json = cli("runs", "numbers", "--json")
    assert (as_json.returncode, json.loads(as_json.stdout)) == (0, [])
    _store_runs("other")  # a store with other experiments' runs: still none of these
    assert json.loads(cli("runs", "numbers", "--json").stdout) == []
    assert_one_line_user_error(cli("runs", "numbrs"), "no stored runs of 'numbrs'")  # unknown: an error


def test_runs_says_how_many_more_there_are(cli, make_experiment):
    make_experiment("numbers")
    _store_runs(count=23)
    proc = cli("runs", "numbers")
    assert proc.returncode == 0, proc.stderr
    assert "showing 20 of 23 runs; see more with --limit N or --all" in proc.stdout
    assert "showing 5 of 23" in cli("runs", "numbers", "--limit", "5").stdout
    every = cli("runs", "numbers", "--all")
    assert "showing" not in every.stdout and every.stdout.count("completed") == 23
    as_json = cli("runs", "numbers", "--json")
    assert len(json.loads(as_json.stdout)) == 20 and "showing 20 of 23" in as_json.stderr
    assert len(json.loads(cli("runs", "numbers", "--json", "--all").stdout)) == 23


def test_a_prefix_of_another_experiments_run_says_whose_run_it_is(cli, make_experiment):
    make_experiment("one")
    make_experiment("two")
    (run_id,) = _store_runs("one")
    _store_runs("two")
    for given in (run_id, run_id[:6]):
        assert_one_line_user_error(
            cli("show", "two", "--run", given), f"run '{run_id}' belongs to experiment 'one', not 'two'"
        )


def test_resuming_a_run_still_going_names_the_command_line_option(cli, make_experiment):
    make_experiment("numbers")
    first = cli("run", "numbers", "--json")
    run_id = json.loads(first.stdout)["run_id"]
    other = _other_process()
    try:
        _pretend_running(run_id, other.pid)
        proc = cli("run", "numbers", "--strategy", "resume")
        assert_one_line_user_error(proc, f"run {run_id} of 'numbers'", f"process {other.pid}", "--strategy rerun")
        assert "strategy='rerun'" not in proc.stderr
    finally:
        other.kill()
        other.wait()


# -- delete and compact ----------------------------------------------------------------------
def test_delete_named_runs_with_their_artifacts(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    (old,) = _store_runs(version=0)
    (new,) = _store_runs(version=1)
    proc = cli("delete", "numbers", old[:6], "--yes")
    assert proc.returncode == 0, proc.stderr
    assert old in proc.stdout and new not in proc.stdout
    assert "Deleted 1 run(s) of 'numbers'" in proc.stdout and "1 artifact folder(s)" in proc.stdout
    assert "reclaimed" in proc.stdout
    assert [run.run_id for run in list_runs("data", "numbers")] == [new]
    assert sorted(p.name for p in (tmp_path / "data" / "numbers").iterdir()) == ["v1"]


def test_delete_asks_first_unless_yes(cli, make_experiment):
    make_experiment("numbers")
    ids = _store_runs(count=3)
    command = [*cli_command(), "delete", "numbers", "--keep", "1"]
    declined = subprocess.run(command, input="n\n", capture_output=True, text=True, env=_env())
    assert declined.returncode == 0, declined.stderr
    assert "Delete 2 run(s) of 'numbers'?" in declined.stdout and "Nothing deleted." in declined.stdout
    assert len(list_runs("data", "numbers")) == 3
    closed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_env())
    assert closed.returncode == 2 and "add --yes" in closed.stderr and "Traceback" not in closed.stderr
    dry = subprocess.run([*command, "--dry-run"], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_env())
    assert dry.returncode == 0 and ids[0] in dry.stdout and "Nothing deleted (--dry-run)." in dry.stdout
    accepted = subprocess.run(command, input="y\n", capture_output=True, text=True, env=_env())
    assert accepted.returncode == 0, accepted.stderr
    assert [run.run_id for run in list_runs("data", "numbers")] == [ids[2]]


def test_delete_user_errors(cli, make_experiment):
    make_experiment("numbers")
    ids = _store_runs(count=2)
    assert_one_line_user_error(cli("delete", "numbers", "--yes"), "say which runs to delete", "--keep 0")
    assert_one_line_user_error(
        cli("delete", "numbers", "--status", "faild", "--yes"), "unknown status 'faild'", "Did you mean 'failed'?"
    )
    assert_one_line_user_error(cli("delete", "numbers", "ffffff", "--yes"), "no run with id 'ffffff'")
    other = _other_process()
    try:
        _pretend_running(ids[1], other.pid)
        assert_one_line_user_error(
            cli("delete", "numbers", "--keep", "0", "--yes"), f"run {ids[1]} of 'numbers' is still running"
        )
        assert_one_line_user_error(cli("compact"), "still running")
    finally:
        other.kill()
        other.wait()
    assert len(list_runs("data", "numbers")) == 2
    nothing = cli("delete", "numbers", "--status", "failed", "--yes")
    assert nothing.returncode == 0 and "Nothing to delete" in nothing.stdout


def test_compact_shrinks_the_store(cli, make_experiment, tmp_path):
    make_experiment("numbers")
    _store_runs(count=30, payload=100_000)
    deleted = cli("delete", "numbers", "--keep", "1", "--yes", "--no-compact")
    assert deleted.returncode == 0, deleted.stderr
    size = (tmp_path / "data" / "crystallize.db").stat().st_size
    proc = cli("compact")
    assert proc.returncode == 0, proc.stderr
    assert "Compacted data/crystallize.db: reclaimed" in proc.stdout
    assert (tmp_path / "data" / "crystallize.db").stat().st_size < size - 2_000_000
    assert cli("compact", "numbers").returncode == 0
    assert_one_line_user_error(cli("compact", "--root", "nowhere"), "--root nowhere does not exist")
    # A misspelt name is an error, not a compaction of ./data reported as success.
    assert_one_line_user_error(cli("compact", "numbrs"), "no stored runs of 'numbrs'")


def cli_command():
    return [sys.executable, "-m", "crystallize.cli"]


def _env():
    environment = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "CRYSTALLIZE_DEBUG": ""}
    environment.pop("FORCE_COLOR", None)
    return environment


def test_a_store_deleted_during_the_run_is_not_called_marked_failed():
    from types import SimpleNamespace

    from crystallize.cli.run import _stored_status

    lost = SimpleNamespace(info={"store_error": "the run store 'data/crystallize.db' was deleted during the run, so none of its records were kept"})
    assert _stored_status(lost) == "Nothing of it is in the store; "
    assert _stored_status(SimpleNamespace(info={"store_error": "disk full"})) == "The run is marked failed; "


def test_paths_are_shown_as_the_link_not_its_target(tmp_path, monkeypatch):
    from crystallize.cli.targets import display

    monkeypatch.chdir(tmp_path)
    (tmp_path / "outside").mkdir()
    (tmp_path / "data" / "study").mkdir(parents=True)
    (tmp_path / "data" / "study" / "v1").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert display("data/study/v1") == "data/study/v1"
    assert display(tmp_path) == "."


def test_compacting_an_experiment_never_run_says_it_has_not_run(cli, make_experiment):
    make_experiment("numbers")
    proc = cli("compact", "numbers")
    assert_one_line_user_error(
        proc, "'numbers' has not been run yet, so there is nothing to compact", "crystallize run numbers"
    )
    assert "--root" not in proc.stderr
