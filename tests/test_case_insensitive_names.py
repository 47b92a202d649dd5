"""Names that differ only by case are one file or folder on macOS and Windows.

Their file systems are case-insensitive by default, so ``Fast`` and ``fast`` (or
``Model.txt`` and ``model.txt``, or experiments ``Exp`` and ``exp``) would overwrite each
other there: refused or warned about wherever Crystallize can tell.
"""

from __future__ import annotations

import warnings

import pytest

from crystallize import (
    Artifact,
    ArtifactPlugin,
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)
from crystallize.exceptions import ExperimentValidationError, StoreError
from crystallize.store.artifacts import claim_version, reset_version_dir


@data_source
def zero(ctx):
    return 0


@pipeline_step()
def save(data, ctx, out: Artifact, *, lr=0.1):
    out.write(f"{ctx['condition']} lr={lr}".encode())
    return data, {"x": lr}


@pipeline_step()
def save_two(data, ctx, upper: Artifact, lower: Artifact):
    upper.write(b"upper")
    lower.write(b"lower")
    return data, {"x": 1.0}


def _experiment(root, name="exp", treatments=(), steps=None):
    return Experiment(
        datasource=zero(),
        pipeline=Pipeline(steps or [save(out=Artifact("model.txt"))]),
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(root))],
        treatments=list(treatments),
        replicates=1,
        name=name,
    )


def test_validate_refuses_treatments_differing_only_by_case(tmp_path):
    exp = _experiment(tmp_path, treatments=[treatment("Fast", {"lr": 0.9}), treatment("fast", {"lr": 0.01})])
    with pytest.raises(ExperimentValidationError) as info:
        exp.validate()
    message = str(info.value)
    assert "'Fast' and 'fast'" in message and "differ only by case" in message
    assert "macOS and Windows" in message


def test_validate_refuses_a_treatment_named_like_the_baseline_in_another_case(tmp_path):
    exp = _experiment(tmp_path, treatments=[treatment("Baseline", {"lr": 5.0})])
    with pytest.raises(ExperimentValidationError, match="'Baseline' differs from 'baseline' only by case"):
        exp.validate()
    assert not (tmp_path / "exp").exists()  # refused before anything was written


def test_exact_duplicates_keep_their_message(tmp_path):
    exp = _experiment(tmp_path, treatments=[treatment("a", {"lr": 1.0}), treatment("a", {"lr": 2.0})])
    with pytest.raises(ExperimentValidationError, match="treatment name 'a' is used more than once") as info:
        exp.validate()
    assert "case" not in str(info.value)


def test_artifact_names_of_one_replicate_differing_only_by_case_warn(tmp_path):
    steps = [save_two(upper=Artifact("Model.txt"), lower=Artifact("model.txt"))]
    with pytest.warns(UserWarning, match="'model.txt' and 'Model.txt'.*differ only by case") as caught:
        result = _experiment(tmp_path, steps=steps).run()
    assert not result.errors
    assert sum("differ only by case" in str(w.message) for w in caught) == 1  # one replicate, one clash
    replicate = tmp_path / "exp" / "v0" / "baseline" / "0"
    assert sorted(p.name for p in replicate.iterdir()) == ["Model.txt", "model.txt"]  # Linux keeps both


def test_distinct_artifact_names_do_not_warn(tmp_path):
    steps = [save_two(upper=Artifact("model.txt"), lower=Artifact("model.json"))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not _experiment(tmp_path, steps=steps).run().errors


def test_a_second_experiment_whose_name_differs_only_by_case_warns(tmp_path):
    assert not _experiment(tmp_path, "Exp").run().errors
    with pytest.warns(UserWarning, match="'exp'.*'Exp'.*differ only by case") as caught:
        assert not _experiment(tmp_path, "exp").run().errors
    assert any("macOS and Windows" in str(w.message) for w in caught)
    # On this case-sensitive file system both runs keep their own files.
    assert (tmp_path / "Exp" / "v0" / "baseline" / "0" / "model.txt").read_text() == "baseline lr=0.1"
    assert (tmp_path / "exp" / "v0" / "baseline" / "0" / "model.txt").exists()


def _case_insensitive_alias(root):
    """``root/exp`` resolving to ``root/Exp``, as on a case-insensitive file system."""
    assert not _experiment(root, "Exp").run().errors
    (root / "exp").symlink_to("Exp", target_is_directory=True)
    return root / "Exp" / "v0" / "baseline" / "0" / "model.txt"


def test_an_experiment_whose_folder_is_another_experiments_is_refused(tmp_path):
    kept = _case_insensitive_alias(tmp_path)
    with pytest.raises(StoreError, match=r"'exp'.*is the folder of experiment 'Exp'") as info:
        _experiment(tmp_path, "exp").run()
    assert "rename one of them" in str(info.value)
    assert kept.read_text() == "baseline lr=0.1"  # v0 of 'Exp' was not emptied


@pytest.mark.parametrize("claim", [lambda root: reset_version_dir(root, "exp", 0),
                                   lambda root: claim_version(root, "exp", True)])
def test_claiming_a_version_through_another_experiments_folder_is_refused(tmp_path, claim):
    kept = _case_insensitive_alias(tmp_path)
    with pytest.raises(StoreError, match="differ only by case"):
        claim(tmp_path)
    assert kept.exists() and sorted(p.name for p in (tmp_path / "Exp").iterdir()) == ["v0"]
