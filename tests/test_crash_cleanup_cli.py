"""``crystallize delete`` stopped while deleting says what is known (nothing deleted, or
every run deleted and only their folders' removal stopped), and the next ``delete`` of the
experiment removes what a stopped deletion left, even when no run of it is left."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from crystallize.cli.main import main
from crystallize.store import list_runs
from crystallize.store.sqlite import SQLiteRunStore

CONFIG = """\
name: train
replicates: 2
datasource: numbers
steps: [fit]
outputs:
  model: {file_name: model.txt}
plugins:
  seed: {seed: 1}
  artifacts: {versioned: true}
"""

DATASOURCES = """\
from crystallize import data_source


@data_source
def numbers(ctx):
    return [1.0, 2.0]
"""

STEPS = """\
from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def fit(data, ctx, model: Artifact):
    model.write("w" * 1000)
    return data, {"fit": sum(data)}
"""


@pytest.fixture
def two_runs(tmp_path):
    folder = tmp_path / "experiments" / "train"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (folder / "datasources.py").write_text(DATASOURCES, encoding="utf-8")
    (folder / "steps.py").write_text(STEPS, encoding="utf-8")
    for _ in range(2):
        assert main(["run", "train"]) == 0
    assert sorted(p.name for p in (tmp_path / "data" / "train").iterdir()) == ["v0", "v1"]
    return tmp_path / "data"


def _interrupted_deletion(monkeypatch, *, after_commit):
    """Run ``crystallize delete train --keep 0 --yes`` with Ctrl+C just before (or just
    after) the deleting transaction commits; return its exit code."""
    real = SQLiteRunStore.delete_runs

    def ctrl_c(self, *args, **kwargs):
        if after_commit:
            real(self, *args, **kwargs)
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(SQLiteRunStore, "delete_runs", ctrl_c)
        return main(["delete", "train", "--keep", "0", "--yes"])


def test_ctrl_c_once_the_runs_are_deleted_says_so_and_the_next_delete_finishes(two_runs, monkeypatch, capsys):
    capsys.readouterr()
    assert _interrupted_deletion(monkeypatch, after_commit=True) == 130
    err = capsys.readouterr().err
    assert err.strip() == (
        "Interrupted after the 2 run(s) were deleted, while their artifact folders were being "
        "removed; the next delete or compact removes what is left of them: crystallize compact --root data"
    )
    assert list_runs(two_runs, "train") == []

    assert main(["delete", "train", "--keep", "0", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Removed 2 artifact folder(s) of 'train' that no stored run uses" in out
    assert "data/train/v0" in out and "data/train/v1" in out
    assert not (two_runs / "train").exists()


def test_ctrl_c_before_the_runs_are_deleted_says_nothing_was(two_runs, monkeypatch, capsys):
    capsys.readouterr()
    assert _interrupted_deletion(monkeypatch, after_commit=False) == 130
    assert capsys.readouterr().err.strip() == "Interrupted while deleting; nothing was deleted."
    assert len(list_runs(two_runs, "train")) == 2
    assert sorted(p.name for p in (two_runs / "train").iterdir()) == ["v0", "v1"]
    assert not list((two_runs / "train").rglob(".crystallize-deleted"))  # no marks left


def test_a_dry_run_lists_the_leftovers_and_removes_nothing(two_runs, monkeypatch, capsys):
    assert _interrupted_deletion(monkeypatch, after_commit=True) == 130
    capsys.readouterr()
    assert main(["delete", "train", "--keep", "0", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Would remove 2 artifact folder(s) of 'train' that no stored run uses" in out
    assert sorted(p.name for p in (two_runs / "train").iterdir()) == ["v0", "v1"]


def test_a_python_experiment_killed_while_deleting(tmp_path):
    """The audit's case: an experiment defined in Python (no folder to find it by), every
    run deleted by a ``delete`` killed after its commit; the next ``delete`` cleans up."""
    script = textwrap.dedent(
        """
        from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step
        from crystallize.artifacts import Artifact

        @data_source
        def src(ctx):
            return ctx["replicate"]

        @pipeline_step()
        def save(data, ctx, out: Artifact):
            out.write(b"x" * 1000)
            return data, {"v": data}

        for _ in range(2):
            Experiment(datasource=src(), pipeline=Pipeline([save(out=Artifact("out.bin"))]),
                       plugins=[ArtifactPlugin(root_dir="data", versioned=True)], replicates=2,
                       name="demo").run()

        import os, signal
        from crystallize.store import delete_runs
        from crystallize.store.sqlite import SQLiteRunStore

        real = SQLiteRunStore.delete_runs

        def delete_then_die(self, *args, **kwargs):
            real(self, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)

        SQLiteRunStore.delete_runs = delete_then_die
        delete_runs("data", "demo", keep_last=0)
        """
    )
    if sys.platform == "win32":
        pytest.skip("SIGKILL")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=300)
    assert done.returncode == -9
    assert sorted(p.name for p in (tmp_path / "data" / "demo").iterdir()) == ["v0", "v1"]
    assert main(["delete", "demo", "--keep", "0", "-y", "--root", "data"]) == 0
    assert not (tmp_path / "data" / "demo").exists()


def test_an_experiment_without_runs_or_leftovers_still_says_nothing_to_delete(two_runs, capsys):
    assert main(["delete", "train", "--keep", "0", "--yes"]) == 0
    capsys.readouterr()
    assert main(["delete", "train", "--keep", "0", "--yes"]) == 0
    assert capsys.readouterr().out.startswith("Nothing to delete: no runs of 'train' yet")
