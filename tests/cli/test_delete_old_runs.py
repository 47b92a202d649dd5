"""``crystallize delete`` of runs stored before Crystallize recorded their artifact folder.

Such runs (``artifact_version`` unknown) are deleted without their files, which no run
points to; the command says so instead of reporting ``0 artifact folder(s)`` as if there
were none.
"""

from __future__ import annotations

from crystallize.store import list_runs, open_store

NOTE = (
    "1 run(s) stored by an older Crystallize had no recorded artifact folder; "
    "their files, if any, stay under data/study/"
)


def _store_run(root, version):
    with open_store(root) as store:
        run = store.create_run(
            experiment="study", fingerprint="f", spec={}, replicates=1, conditions=["baseline"], base_seed=1,
            artifact_version=version,
        )
        store.finish_run(run.run_id, "completed")
    folder = root / "study" / f"v{version or 0}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.txt").write_text("weights")
    return run.run_id


def test_deleting_a_run_of_an_older_crystallize_says_its_files_stay(cli, tmp_path):
    data = tmp_path / "data"
    old = _store_run(data, None)  # as stored before the artifact folder was recorded
    for args in (("--dry-run",), ("--yes",)):
        proc = cli("delete", "study", "--keep", "0", *args)
        assert proc.returncode == 0, proc.stderr
        assert NOTE in proc.stdout, proc.stdout
    assert "Deleted 1 run(s) of 'study' and 0 artifact folder(s)" in proc.stdout
    assert list_runs(data) == [] and old not in proc.stderr
    assert (data / "study" / "v0" / "model.txt").read_text() == "weights"  # left, as documented


def test_runs_with_a_recorded_folder_get_no_note(cli, tmp_path):
    data = tmp_path / "data"
    _store_run(data, 1)
    _store_run(data, 2)
    proc = cli("delete", "study", "--keep", "1", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "older Crystallize" not in proc.stdout
    assert "Deleted 1 run(s) of 'study' and 1 artifact folder(s)" in proc.stdout
