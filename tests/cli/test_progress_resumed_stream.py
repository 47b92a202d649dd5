"""``crystallize run`` counts the replicates a resumed run finds in the store as done
before the first new one finishes: the engine tells the progress display of them."""

from __future__ import annotations

import io

from rich.console import Console

from crystallize import ArtifactPlugin, Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.cli.progress import RunProgress, Tracker
from crystallize.cli.run import run_with_progress
from crystallize.engine import display_stream


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def measure(data, ctx):
    return data, {"m": float(ctx["replicate"])}


def _experiment(root, replicates):
    return Experiment(
        datasource=zero(), pipeline=Pipeline([measure()]), treatments=[treatment("t", {"x": 1})],
        replicates=replicates, plugins=[ArtifactPlugin(root_dir=str(root))], name="resumable",
    )


def test_display_stream_tells_of_stored_records_before_the_first_new_one(tmp_path):
    _experiment(tmp_path, 2).run()
    events = []
    stream = display_stream(
        _experiment(tmp_path, 3), strategy="resume",
        on_resumed=lambda records: events.append(sorted((r.condition, r.replicate) for r in records)),
    )
    for record in stream:
        events.append((record.condition, record.replicate))
    assert events[0] == [("baseline", 0), ("baseline", 1), ("t", 0), ("t", 1)]
    assert sorted(events[1:]) == [("baseline", 2), ("t", 2)]
    assert stream.result.info["resumed"] == 4


def test_a_run_with_nothing_stored_tells_of_nothing(tmp_path):
    told = []
    records = list(display_stream(_experiment(tmp_path, 2), strategy="resume", on_resumed=told.append))
    assert told == [] and len(records) == 4


def test_the_command_counts_resumed_replicates_once_from_the_start(tmp_path, monkeypatch):
    _experiment(tmp_path, 2).run()
    seen = []
    real_resume, real_advance = Tracker.resume, Tracker.advance

    def resume(self, records):
        records = list(records)
        seen.append(("resumed", len(records)))
        real_resume(self, records)

    def advance(self, record):
        seen.append(("advance", self.done))
        real_advance(self, record)

    monkeypatch.setattr(Tracker, "resume", resume)
    monkeypatch.setattr(Tracker, "advance", advance)
    out = io.StringIO()
    result = run_with_progress(_experiment(tmp_path, 3), None, "resume", RunProgress(Console(file=out, width=120)))
    assert seen[0] == ("resumed", 4)
    assert seen[1] == ("advance", 4)  # the stored ones were counted before the first new one
    assert len(result.records) == 6
    assert "baseline: 3/3 done" in out.getvalue() and "t: 3/3 done" in out.getvalue()
