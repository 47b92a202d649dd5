"""A resumed run runs its failed replicates again in empty folders: what a failed attempt
wrote is no result, and the new attempt may not write every one of those files."""

from __future__ import annotations

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
)

FAILING: set[int] = set()  # mutable state, not code: the resumed run is the same run


@data_source
def replicate_number(ctx):
    return ctx["replicate"]


@pipeline_step()
def fit(data, *, model: Artifact = Artifact("model.txt"), dump: Artifact = Artifact("dump.txt")):
    if data in FAILING:
        dump.write("half-trained state of a failed attempt")
        raise RuntimeError("diverged")
    model.write(f"model-{data}")
    return data, {"value": data}


def _experiment(tmp_path) -> Experiment:
    return Experiment(
        datasource=replicate_number(), pipeline=Pipeline([fit()]), replicates=3, name="fits",
        plugins=[ArtifactPlugin(root_dir=str(tmp_path)), SeedPlugin(seed=1)],
    )


def test_a_resumed_failed_replicate_starts_in_an_empty_folder(tmp_path):
    FAILING.add(1)
    first = _experiment(tmp_path).run()
    assert [e.replicate for e in first.errors] == [1]
    folder = tmp_path / "fits" / "v0" / "baseline"
    assert (folder / "1" / "dump.txt").exists()
    written_before = (folder / "0" / "model.txt").stat().st_mtime_ns

    FAILING.clear()
    resumed = _experiment(tmp_path).run(strategy="resume")

    assert resumed.run_id == first.run_id and not resumed.errors
    assert sorted(p.name for p in (folder / "1").iterdir()) == ["model.txt"]  # the dump is gone
    assert (folder / "0" / "model.txt").stat().st_mtime_ns == written_before  # finished ones untouched
    assert not [p for p in folder.iterdir() if ".trash-" in p.name]
