"""Resume after a crash: a run killed with SIGKILL keeps its finished replicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step, treatment
from crystallize.store import list_runs, load_result, open_store

STUDY = textwrap.dedent(
    """
    import os, random, sys, time
    from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step, treatment

    LOG = os.environ["COMPUTE_LOG"]

    @data_source
    def draw(ctx):
        return random.random()

    @pipeline_step()
    def slow(data, ctx, *, delta=0.0):
        with open(LOG, "a") as fh:
            fh.write(f"{ctx['condition']},{ctx['replicate']}\\n")
        time.sleep(float(os.environ.get("STEP_SLEEP", "0.02")))
        return data + delta, {"value": data + delta}

    def build(replicates=40):
        return Experiment(
            datasource=draw(), pipeline=Pipeline([slow()]),
            treatments=[treatment("up", {"delta": 1.0})],
            plugins=[SeedPlugin(seed=99)], replicates=replicates, name="crashy",
        )

    if __name__ == "__main__":
        build().run(strategy=sys.argv[1] if len(sys.argv) > 1 else "rerun")
    """
)


@pytest.fixture
def study(tmp_path, monkeypatch):
    (tmp_path / "study_module.py").write_text(STUDY)
    log = tmp_path / "computed.log"
    monkeypatch.setenv("COMPUTE_LOG", str(log))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("study_module", None)
    import study_module

    yield study_module, log
    sys.modules.pop("study_module", None)


def computed(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    rows = [line.split(",") for line in log.read_text().splitlines() if line]
    return [(c, int(r)) for c, r in rows]


def test_kill_then_resume_keeps_finished_replicates(study, tmp_path):
    module, log = study
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "study_module.py")], cwd=tmp_path, env=os.environ.copy()
    )
    deadline = time.time() + 60
    while len(computed(log)) < 30 and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.25)  # let the writer commit what finished
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = computed(log)
    assert 30 <= len(before) < 80, "the run was killed part-way"

    with open_store("data") as store:
        (run,) = store.list_runs("crashy")
        assert run.status == "interrupted"  # its process is gone
        stored = {(r.condition, r.replicate) for r in store.load_records(run.run_id)}
    assert len(stored) >= 25

    log.write_text("")
    result = module.build().run(strategy="resume")
    recomputed = set(computed(log))
    assert not recomputed & stored, "replicates stored before the kill were computed again"
    assert recomputed | stored == {(c, r) for c in ("baseline", "up") for r in range(40)}
    assert len(result.metrics.baseline.metrics["value"]) == 40
    assert len(result.metrics.treatments["up"].metrics["value"]) == 40
    assert result.run_id == run.run_id and result.info["resumed"] == len(stored)

    log.write_text("")
    again = module.build().run(strategy="resume")
    assert computed(log) == []
    assert again.metrics.baseline.metrics == result.metrics.baseline.metrics

    module.build().run(strategy="rerun")
    assert len(computed(log)) == 80
    assert len(list_runs("data", "crashy")) == 2


def test_resume_identical_seeds_and_values_as_uninterrupted(study):
    module, log = study
    module.build(replicates=3).run()
    # more replicates than before: resuming runs only the missing ones, with the same seeds
    resumed = module.build(replicates=6).run(strategy="resume")
    assert resumed.info["resumed"] == 6 and resumed.info["computed"] == 6
    full = module.build(replicates=6).run()
    assert resumed.metrics.baseline.metrics == full.metrics.baseline.metrics
    assert resumed.metrics.treatments["up"].metrics == full.metrics.treatments["up"].metrics
    assert len(computed(log)) == 6 + 6 + 12


@data_source
def source(ctx, offset=0.0):
    return offset


@pipeline_step()
def ident(data, ctx):
    return data, {"value": data}


def test_changed_spec_starts_a_new_run_and_says_so(caplog):
    Experiment(datasource=source(), pipeline=Pipeline([ident()]), name="spec", replicates=2).run()
    caplog.set_level("INFO", logger="crystallize")
    result = Experiment(
        datasource=source(offset=1.0), pipeline=Pipeline([ident()]), name="spec", replicates=2
    ).run(strategy="resume")
    assert result.info["resumed"] == 0
    assert any("Not resuming" in r.getMessage() and "datasource.params.offset" in r.getMessage()
               for r in caplog.records)
    assert len(list_runs("data", "spec")) == 2


def test_failed_replicates_are_retried_on_resume(tmp_path):
    flag = tmp_path / "broken"
    flag.write_text("yes")

    @pipeline_step()
    def flaky(data, ctx):
        if ctx["replicate"] == 1 and flag.exists():
            raise RuntimeError("transient")
        return data, {"value": data}

    globals()["flaky"] = flaky
    build = lambda: Experiment(datasource=source(), pipeline=Pipeline([flaky()]), name="flaky",  # noqa: E731
                               replicates=3, plugins=[SeedPlugin(seed=1)])
    first = build().run()
    assert [e.replicate for e in first.errors] == [1]
    flag.unlink()
    second = build().run(strategy="resume")
    assert not second.errors and second.info["computed"] == 1
    assert second.run_id == first.run_id


def test_history_loads_results_back():
    experiment = Experiment(datasource=source(), pipeline=Pipeline([ident()]), name="hist",
                            treatments=[treatment("t", {"x": 1})], replicates=3)
    result = experiment.run()
    runs = list_runs("data", "hist")
    assert [r.run_id for r in runs] == [result.run_id]
    assert runs[0].status == "completed" and runs[0].n_records == 6
    loaded = load_result(result.run_id)
    assert loaded.metrics.baseline.metrics == result.metrics.baseline.metrics
    assert loaded.provenance == result.provenance
    assert loaded.experiment == "hist" and loaded.base_seed == result.base_seed


def test_resuming_with_more_replicates_records_the_new_count():
    build = lambda n: Experiment(datasource=source(), pipeline=Pipeline([ident()]), name="grow",  # noqa: E731
                                 replicates=n, plugins=[SeedPlugin(seed=1)])
    first = build(3).run()
    second = build(5).run(strategy="resume")
    assert second.run_id == first.run_id and second.info["computed"] == 2
    (run,) = list_runs("data", "grow")
    assert run.replicates == 5 and run.n_records == 5


def test_resuming_with_fewer_replicates_starts_a_new_run_and_keeps_the_stored_one():
    build = lambda n: Experiment(datasource=source(), pipeline=Pipeline([ident()]), name="shrink",  # noqa: E731
                                 replicates=n, plugins=[SeedPlugin(seed=1)])
    first = build(4).run()
    fewer = build(2).run(strategy="resume")
    assert fewer.run_id != first.run_id and fewer.info["computed"] == 2
    stored = {run.run_id: run for run in list_runs("data", "shrink")}
    assert (stored[first.run_id].replicates, stored[first.run_id].n_records) == (4, 4)
    assert (stored[fewer.run_id].replicates, stored[fewer.run_id].n_records) == (2, 2)


def test_fewer_replicates_with_a_drawn_seed_repeat_the_stored_numbers():
    import random as _random

    @pipeline_step()
    def draw(data, ctx):
        return data, {"x": _random.random()}

    build = lambda n: Experiment(datasource=source(), pipeline=Pipeline([draw()]), name="drawn",  # noqa: E731
                                 replicates=n, plugins=[SeedPlugin()])
    first = build(4).run()
    fewer = build(3).run(strategy="resume")
    assert fewer.run_id != first.run_id and fewer.base_seed == first.base_seed
    assert fewer.metrics.baseline.metrics["x"] == first.metrics.baseline.metrics["x"][:3]


def _pretend_running(run_id, pid):
    """Mark the stored run as being driven right now by process ``pid``."""
    import sqlite3

    conn = sqlite3.connect("data/crystallize.db")
    with conn:
        conn.execute(
            "UPDATE runs SET status = 'running', ended_at = NULL, pid = ?, heartbeat_at = ? "
            "WHERE run_id = ?",
            (pid, time.time(), run_id),
        )
    conn.close()


def _live_build():
    return Experiment(datasource=source(), pipeline=Pipeline([ident()]), name="live",
                      replicates=3, plugins=[SeedPlugin(seed=1)])


def test_resume_refuses_a_run_still_going_in_another_process():
    from crystallize.store import RunInProgressError

    first = _live_build().run()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _pretend_running(first.run_id, other.pid)
        with pytest.raises(RunInProgressError) as raised:
            _live_build().run(strategy="resume")
        message = str(raised.value)
        assert first.run_id in message and f"process {other.pid}" in message
        assert "Wait for it to finish" in message and "strategy='rerun'" in message
        (run,) = list_runs("data", "live")
        assert (run.status, run.pid) == ("running", other.pid)  # left alone
    finally:
        other.kill()
        other.wait()
    resumed = _live_build().run(strategy="resume")  # its driver is gone: resume takes over
    assert resumed.run_id == first.run_id and resumed.info["computed"] == 0


def test_resume_takes_over_a_run_this_process_left_running():
    first = _live_build().run()
    _pretend_running(first.run_id, os.getpid())  # e.g. its final status could not be stored
    resumed = _live_build().run(strategy="resume")
    assert resumed.run_id == first.run_id


def test_resume_does_not_mix_artifacts_with_a_later_unversioned_run_of_the_same_name(caplog):
    from crystallize import Artifact

    @pipeline_step()
    def writes(data, ctx, *, tag="A", out: Artifact = Artifact("m.txt")):
        out.write(f"{tag}:{ctx['replicate']}")
        return data

    build = lambda tag, n: Experiment(datasource=source(), pipeline=Pipeline([writes(tag=tag)]),  # noqa: E731
                                      name="shared", replicates=n, plugins=[SeedPlugin(seed=1)])
    first = build("A", 2).run()
    build("B", 2).run()  # same name, other experiment: v0 now holds B's files
    resumed = build("A", 4).run(strategy="resume")
    assert resumed.run_id != first.run_id
    assert "a later run" in caplog.text
    files = sorted(Path("data/shared/v0/baseline").glob("*/m.txt"))
    assert [f.read_text() for f in files] == [f"A:{r}" for r in range(4)]


@pipeline_step()
def fail_once(data, ctx, *, marker="x"):
    if ctx["replicate"] == 1 and FAILING_ONCE:
        raise RuntimeError("first attempt fails")
    return data, {"v": data}


FAILING_ONCE: list[bool] = []


def test_a_run_sharing_its_artifact_directory_with_a_later_run_is_resumed_when_no_files_could_mix(
    tmp_path, monkeypatch, caplog
):
    """Neither run wrote a file, so nothing in v0 can be mixed up: the crashed run goes on
    (the case with files, refused, is the test above)."""
    from crystallize import ArtifactPlugin

    monkeypatch.chdir(tmp_path)

    def build(versioned, marker):
        return Experiment(
            datasource=source(),
            pipeline=Pipeline([fail_once(marker=marker)]),
            plugins=[ArtifactPlugin(versioned=versioned), SeedPlugin(seed=1)],
            replicates=2,
            name="shared",
        )

    FAILING_ONCE.append(True)
    first = build(True, "x").run()
    FAILING_ONCE.clear()
    assert len(first.errors) == 1
    build(False, "y").run()  # another unversioned run takes over the same v0
    runs = {run.run_id: run for run in list_runs("data", "shared")}
    assert runs[first.run_id].artifact_version == 0
    resumed = build(True, "x").run(strategy="resume")
    assert resumed.run_id == first.run_id and not resumed.errors
    assert "has replaced its artifacts" not in caplog.text


def _writes_seed(marker="x"):
    from crystallize import Artifact

    @pipeline_step()
    def writes_seed(data, ctx, *, out: Artifact = Artifact("seed.txt"), tag=marker):
        out.write(str(ctx["seed_used"]))
        return data, {"seed": ctx["seed_used"]}

    return writes_seed()


def test_a_run_whose_files_a_deleted_later_run_rewrote_is_not_resumed(tmp_path, monkeypatch, caplog):
    """An unversioned run, then a later one (another seed) rewriting v0, then that later
    run deleted: v0 holds the deleted run's files, so the first run cannot go on as if
    they were its own (its consumers would read the other run's data)."""
    from crystallize import ArtifactPlugin
    from crystallize.store.maintenance import delete_runs

    monkeypatch.chdir(tmp_path)

    def build(seed):
        return Experiment(
            datasource=source(), pipeline=Pipeline([_writes_seed()]), replicates=2, name="rewritten",
            plugins=[ArtifactPlugin(), SeedPlugin(seed=seed)],
        )

    first = build(1).run()
    time.sleep(1.2)  # beyond the slack allowed between a run's last sign of life and its files
    later = build(99).run()
    delete_runs("data", "rewritten", [later.run_id])
    resumed = build(1).run(strategy="resume")
    assert resumed.run_id != first.run_id
    assert "was written again after it stopped" in caplog.text
    files = sorted(Path("data/rewritten/v0/baseline").glob("*/seed.txt"))
    assert [f.read_text() for f in files] == [str(s) for s in resumed.metrics.baseline.metrics["seed"]]


def test_a_run_missing_one_of_its_files_is_not_resumed(tmp_path, monkeypatch, caplog):
    from crystallize import ArtifactPlugin

    monkeypatch.chdir(tmp_path)
    build = lambda: Experiment(  # noqa: E731
        datasource=source(), pipeline=Pipeline([_writes_seed()]), replicates=2, name="pruned",
        plugins=[ArtifactPlugin(), SeedPlugin(seed=1)],
    )
    first = build().run()
    assert build().run(strategy="resume").run_id == first.run_id  # untouched: resumed
    Path("data/pruned/v0/baseline/1/seed.txt").unlink()
    assert build().run(strategy="resume").run_id != first.run_id
    assert "seed.txt, which it wrote, is gone" in caplog.text


def test_resume_of_a_run_this_process_still_streams_points_at_the_stream():
    from crystallize.store import RunInProgressError

    first = _live_build()
    stream = iter(first.stream())
    next(stream)  # a notebook cell peeking at the first record, left open
    try:
        with pytest.raises(RunInProgressError) as raised:
            _live_build().run(strategy="resume")  # a later cell, a new Experiment object
        message = str(raised.value)
        assert "this process is still running it" in message and "stream.close()" in message
        assert "kill" not in message and "stop that process" not in message
    finally:
        stream.close()
    resumed = _live_build().run(strategy="resume")
    assert resumed.info["resumed"] >= 1
