"""Built-in plugins check their constructor arguments when they are made."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    LoggingPlugin,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
)
from crystallize.plugins.seed import check_seed


@data_source
def draws(ctx):
    return float(np.random.random())


@pipeline_step()
def record(value, ctx):
    return value, {"draw": value}


def run_draws(plugin: SeedPlugin, replicates: int = 2):
    experiment = Experiment(
        datasource=draws(),
        pipeline=Pipeline([record()]),
        plugins=[plugin, ArtifactPlugin(root_dir=None)],
        replicates=replicates,
    )
    return experiment.run()


# -- SeedPlugin ---------------------------------------------------------------------


@pytest.mark.parametrize("auto_seed", [True, False])
def test_negative_seed_rejected_at_construction(auto_seed):
    with pytest.raises(ValueError, match=r"SeedPlugin seed must be a non-negative int, got -1; .*seed=None") as info:
        SeedPlugin(seed=-1, auto_seed=auto_seed)
    assert "-1" in str(info.value)


@pytest.mark.parametrize("seed", [2**32, 2**32 + 5, 1_795_000_000_123])  # a timestamp in ms
def test_a_seed_beyond_32_bits_is_reduced_as_the_seed_page_says(seed):
    plugin = SeedPlugin(seed=seed)
    assert plugin.seed == seed  # the argument as given
    result = run_draws(plugin, replicates=3)
    assert result.errors == [] and result.base_seed == seed % 2**32
    assert [r.seed for r in result.records] == [(seed + r * 31337) % 2**32 for r in range(3)]
    same = run_draws(SeedPlugin(seed=seed % 2**32), replicates=3)
    assert same.metrics.baseline.metrics == result.metrics.baseline.metrics
    fixed = run_draws(SeedPlugin(seed=seed, auto_seed=False))
    assert [r.seed for r in fixed.records] == [seed % 2**32] * 2


@pytest.mark.parametrize("seed", [0, 2**32 - 1])
def test_seed_bounds_accepted_and_seed_numpy(seed):
    result = run_draws(SeedPlugin(seed=seed, auto_seed=False))
    assert result.errors == []
    assert [record.seed for record in result.records] == [seed, seed]
    np.random.seed(seed)
    expected = float(np.random.random())
    assert result.metrics.baseline.metrics["draw"] == [expected, expected]


@pytest.mark.parametrize("seed", [True, 3.0, "42", [1]])
def test_seed_of_wrong_type_rejected(seed):
    with pytest.raises(TypeError, match="SeedPlugin seed must be a non-negative int"):
        SeedPlugin(seed=seed)


def test_numpy_integer_seed_accepted_as_int():
    plugin = SeedPlugin(seed=np.int64(1234))
    assert plugin.seed == 1234 and type(plugin.seed) is int
    result = run_draws(plugin, replicates=3)
    assert [r.seed for r in result.records] == [(1234 + r * 31337) % 2**32 for r in range(3)]


def test_seed_none_still_accepted():
    assert SeedPlugin(seed=None).seed is None
    assert SeedPlugin().seed is None


@pytest.mark.parametrize("auto_seed", ["no", 0, None, np.bool_(False)])
def test_non_bool_auto_seed_rejected(auto_seed):
    with pytest.raises(TypeError, match="SeedPlugin auto_seed must be True or False"):
        SeedPlugin(seed=1, auto_seed=auto_seed)


def test_check_seed_is_reusable_for_other_arguments():
    assert check_seed(7) == 7
    assert check_seed(np.uint32(2**32 - 1)) == 2**32 - 1
    assert check_seed(2**40) == 2**40  # reduced where it is used
    with pytest.raises(ValueError, match=r"apply\(\) seed must be a non-negative int"):
        check_seed(-3, "apply() seed")
    with pytest.raises(TypeError, match=r"^seed must be a non-negative int"):
        check_seed(False)
    with pytest.raises(TypeError, match="seed must be a non-negative int"):
        check_seed(None)


# -- ArtifactPlugin -----------------------------------------------------------------


@pytest.mark.parametrize("root_dir", [5, b"data", ["data"]])
def test_artifact_root_dir_of_wrong_type_rejected_at_construction(root_dir):
    with pytest.raises(TypeError, match=r"ArtifactPlugin root_dir must be a str, an os\.PathLike"):
        ArtifactPlugin(root_dir=root_dir)


def test_artifact_root_dir_accepts_str_pathlike_and_none(tmp_path):
    class Where(os.PathLike):
        def __fspath__(self):
            return str(tmp_path / "custom")

    assert ArtifactPlugin().root_dir == "data"
    assert ArtifactPlugin(root_dir=tmp_path).root_dir == tmp_path
    assert ArtifactPlugin(root_dir=None).root_dir is None
    assert ArtifactPlugin(root_dir=Where()).root_path == Path(tmp_path / "custom")


def test_artifact_versioned_must_be_bool():
    with pytest.raises(TypeError, match="ArtifactPlugin versioned must be True or False"):
        ArtifactPlugin(versioned="yes")
    assert ArtifactPlugin(versioned=True).versioned is True


# -- LoggingPlugin ------------------------------------------------------------------


@pytest.mark.parametrize("level", [-5, -1, True, 3.5, None, "LOUD", "Level 7"])
def test_unknown_log_level_rejected(level):
    with pytest.raises(ValueError, match=r"Unknown log_level .*non-negative int"):
        LoggingPlugin(log_level=level)


def test_misspelt_log_level_suggests_the_closest():
    with pytest.raises(ValueError, match="did you mean 'DEBUG'"):
        LoggingPlugin(log_level="DEBGU")


@pytest.mark.parametrize(
    ("level", "number"),
    [("INFO", logging.INFO), ("debug", logging.DEBUG), ("Warning", logging.WARNING), (0, 0), (15, 15)],
)
def test_known_log_levels_accepted(level, number):
    plugin = LoggingPlugin(log_level=level)
    assert plugin.log_level == level

    @pipeline_step()
    def note_level(value, ctx):
        return value, {"level": logging.getLogger("crystallize").level}

    result = Experiment(datasource=draws(), pipeline=Pipeline([note_level()]), plugins=[plugin]).run()
    assert result.metrics.baseline.metrics["level"] == [number]  # the level applies while the run is in flight


def test_logging_verbose_must_be_bool():
    with pytest.raises(TypeError, match="LoggingPlugin verbose must be True or False"):
        LoggingPlugin(verbose="no")
    assert LoggingPlugin(verbose=True).verbose is True


def test_a_seed_and_its_32_bit_reduction_are_the_same_experiment():
    from crystallize.fingerprint import fingerprint, spec_of

    def spec(seed):
        experiment = Experiment(datasource=draws(), pipeline=Pipeline([record()]), plugins=[SeedPlugin(seed=seed)])
        return fingerprint(spec_of(experiment))

    assert spec(2**32 + 5) == spec(5) != spec(6)
