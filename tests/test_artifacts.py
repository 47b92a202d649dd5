"""Artifacts written by steps: layout, atomic writes, versioning, name validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    ParallelExecution,
    Pipeline,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.store import list_runs


@data_source
def payload(ctx):
    return {"replicate": ctx["replicate"], "condition": ctx["condition"]}


@pipeline_step()
def save(data, ctx, *, report: Artifact, weights: Artifact = Artifact("model/weights.json", writer=lambda o: json.dumps(o).encode())):
    report.write(f"{data['condition']}:{data['replicate']}")
    weights.write({"w": data["replicate"]})
    return data


def build(plugin=None, **kwargs):
    return Experiment(
        datasource=payload(), pipeline=Pipeline([save()]), name="arty", replicates=2,
        treatments=[treatment("t", {"x": 1})], plugins=[plugin or ArtifactPlugin()], **kwargs,
    )


def test_files_land_in_the_layout_and_provenance():
    result = build().run()
    root = Path("data/arty/v0")
    assert (root / "baseline/0/report").read_text() == "baseline:0"
    assert (root / "t/1/report").read_text() == "t:1"
    assert json.loads((root / "t/1/model/weights.json").read_text()) == {"w": 1}
    assert result.provenance["t"][1]["steps"][0]["artifacts"] == ["report", "model/weights.json"]
    assert not list(root.rglob(".tmp*")), "no temporary files are left behind"


def test_unversioned_runs_replace_versioned_runs_keep(tmp_path):
    build().run()
    build().run()
    assert sorted(p.name for p in Path("data/arty").iterdir()) == ["v0"]
    versioned = ArtifactPlugin(root_dir="vdata", versioned=True)
    build(versioned).run()
    build(ArtifactPlugin(root_dir="vdata", versioned=True)).run()
    assert sorted(p.name for p in Path("vdata/arty").iterdir()) == ["v0", "v1"]
    assert (Path("vdata/arty/v0/baseline/0/report")).exists()


def test_custom_root_dir_holds_store_and_artifacts(tmp_path):
    build(ArtifactPlugin(root_dir=tmp_path / "elsewhere")).run()
    assert (tmp_path / "elsewhere/crystallize.db").exists()
    assert (tmp_path / "elsewhere/arty/v0/baseline/0/report").exists()
    assert len(list_runs(tmp_path / "elsewhere", "arty")) == 1
    assert not Path("data").exists()


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/../../b", "", "C:\\evil"])
def test_names_escaping_the_root_are_rejected_at_creation(name):
    with pytest.raises(ValueError):
        Artifact(name)


def test_artifacts_from_process_workers():
    result = build(ParallelExecution(max_workers=2, executor_type="process")).run()
    assert not result.errors
    assert Path("data/arty/v0/t/0/report").read_text() == "t:0"


def test_load_with_loader():
    @pipeline_step()
    def roundtrip(data, ctx, *, blob: Artifact = Artifact("blob", loader=lambda b: b.decode().upper())):
        blob.write("hello")
        return blob.load()

    globals()["roundtrip"] = roundtrip
    out = Experiment(datasource=payload(), pipeline=Pipeline([roundtrip()]), name="rt").run()
    assert not out.errors


def test_unbound_artifact_write_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not bound"):
        Artifact("x").write(b"1")


def test_two_processes_share_one_data_dir(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from crystallize import Experiment, Pipeline, data_source, pipeline_step

        @data_source
        def src(ctx):
            return ctx["replicate"]

        @pipeline_step()
        def step(data, ctx):
            return data, {"v": data}

        Experiment(datasource=src(), pipeline=Pipeline([step()]), name=sys.argv[1], replicates=300).run()
        """
    )
    (tmp_path / "job.py").write_text(script)
    procs = [subprocess.Popen([sys.executable, "job.py", name], cwd=tmp_path, env=os.environ.copy())
             for name in ("alpha", "beta")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    for name in ("alpha", "beta"):
        (run,) = list_runs(tmp_path / "data", name)
        assert run.status == "completed" and run.n_records == 300


def test_apply_and_debug_give_artifact_steps_a_scratch_location(tmp_path):
    import io

    from rich.console import Console

    experiment = build(ArtifactPlugin(root_dir=tmp_path / "data"))
    out = experiment.apply(treatment="t")
    assert out is not None
    experiment.debug(console=Console(file=io.StringIO()))
    # Nothing is kept: apply() and debug() store nothing, artifacts included.
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("report*"))
    with pytest.raises(ValueError, match=r"debug\(replicate=...\) must be a replicate index"):
        experiment.debug(replicate=-1)


# -- a resumed versioned run writes into its own v<N> ---------------------------------------

STOP_AT_REPLICATE: list[int] = []  # a replicate that cancels the run (not part of the spec)


@pipeline_step()
def seeded_file(data, ctx, *, out: Artifact = Artifact("out.txt")):
    if ctx["replicate"] in STOP_AT_REPLICATE:
        raise KeyboardInterrupt  # the run is cancelled, as by Ctrl-C
    out.write(str(ctx["seed_used"]))
    return data, {"seed": ctx["seed_used"]}


def _versioned(seed):
    from crystallize import SeedPlugin

    return Experiment(
        datasource=payload(), pipeline=Pipeline([seeded_file()]), name="versions", replicates=6,
        plugins=[ArtifactPlugin(root_dir="data", versioned=True), SeedPlugin(seed=seed)],
    )


def test_resuming_a_versioned_run_writes_into_its_own_version(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "STOP_AT_REPLICATE", [3])
    with pytest.raises(KeyboardInterrupt):
        _versioned(seed=1).run()  # run A stops half way, in v0
    monkeypatch.setattr(sys.modules[__name__], "STOP_AT_REPLICATE", [])
    run_b = _versioned(seed=2).run()  # run B completes, in v1
    b_files = {p: p.read_text() for p in Path("data/versions/v1").rglob("out.txt")}
    assert len(b_files) == 6

    resumed = _versioned(seed=1).run(strategy="resume")  # run A again

    assert resumed.info["resumed"] == 3
    assert resumed.info["artifact_version"] == 0
    assert run_b.info["artifact_version"] == 1
    assert {p: p.read_text() for p in Path("data/versions/v1").rglob("out.txt")} == b_files
    a_seeds = resumed.metrics.baseline.metrics["seed"]
    assert [Path(f"data/versions/v0/baseline/{r}/out.txt").read_text() for r in range(6)] == [
        str(s) for s in a_seeds
    ]
    versions = {run.run_id: run.artifact_version for run in list_runs("data", "versions")}
    assert versions == {resumed.run_id: 0, run_b.run_id: 1}


def test_artifact_steps_without_a_root_dir_are_refused_before_any_replicate(tmp_path):
    from crystallize.exceptions import ExperimentValidationError

    experiment = build(ArtifactPlugin(root_dir=None))
    with pytest.raises(ExperimentValidationError) as raised:
        experiment.run()
    message = str(raised.value)
    assert "step 'save' writes artifacts (report, weights)" in message
    assert "root_dir=None" in message and "ArtifactPlugin(root_dir=\"data\")" in message
    assert experiment.apply(data={"replicate": 0, "condition": "baseline"}) is not None  # scratch


def test_root_path_is_none_without_a_root_dir():
    assert ArtifactPlugin(root_dir=None).root_path is None
    assert ArtifactPlugin(root_dir="d").root_path == Path("d")


def test_emptying_a_symlinked_v0_removes_the_link_and_keeps_its_target(tmp_path):
    from crystallize.store.artifacts import reset_version_dir

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    (tmp_path / "data" / "study").mkdir(parents=True)
    (tmp_path / "data" / "study" / "v0").symlink_to(outside, target_is_directory=True)
    for _ in range(2):  # the second reset finds the first one's leftovers
        target = reset_version_dir(tmp_path / "data", "study", 0)
    assert target.is_dir() and not target.is_symlink()
    assert sorted(p.name for p in (tmp_path / "data" / "study").iterdir()) == ["v0"]  # no dangling trash link
    assert (outside / "precious.txt").read_text() == "keep me"
