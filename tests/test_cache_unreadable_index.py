"""A step cache whose folder cannot be used only costs recomputation, never replicates."""

from __future__ import annotations

import random

from crystallize import ArtifactPlugin, Experiment, Pipeline, SeedPlugin, data_source, pipeline_step


@data_source
def draws(ctx):
    return [random.random() for _ in range(3)]


@pipeline_step(cacheable=True)
def total(values, ctx):
    return values, {"total": sum(values)}


def test_a_file_where_the_cache_folder_belongs_is_a_miss_not_a_failure(tmp_path) -> None:
    (tmp_path / ".cache").write_text("mine", encoding="utf-8")
    experiment = Experiment(
        datasource=draws(), pipeline=Pipeline([total()]), replicates=3, name="cached",
        plugins=[SeedPlugin(seed=1), ArtifactPlugin(root_dir=str(tmp_path))],
    )
    result = experiment.run()
    assert result.errors == []
    assert len(result.metrics.baseline["total"]) == 3
    assert (tmp_path / ".cache").read_text(encoding="utf-8") == "mine"  # the user's file is kept
