"""Large runs keep step provenance in the store, not in memory, and load it on demand."""

from __future__ import annotations

from crystallize import Experiment, Pipeline, data_source, pipeline_step, treatment
from crystallize.record import STEPS_IN_STORE
from crystallize.session import LIGHT_RECORDS_FROM


@data_source
def index(ctx):
    return ctx["replicate"]


@pipeline_step()
def double(data, ctx):
    return data * 2, {"value": data * 2}


def build(replicates):
    return Experiment(datasource=index(), pipeline=Pipeline([double()]), name="big",
                      treatments=[treatment("t", {"x": 1})], replicates=replicates)


def test_large_run_records_leave_steps_in_the_store():
    replicates = LIGHT_RECORDS_FROM // 2
    result = build(replicates).run()
    assert len(result.records) == 2 * replicates
    assert result.records[0].steps is STEPS_IN_STORE
    assert result.metrics.treatments["t"].metrics["value"][:3] == [0, 2, 4]
    assert len(result.to_dataframe()) == 2 * replicates
    assert "(n=5000)" in result.report()
    provenance = result.provenance  # loaded back from the store
    assert provenance["t"][7]["steps"][0]["name"] == "double"
    assert provenance["t"][7]["steps"][0]["metrics"] == {"value": [14]}
    assert result.records[0].steps is STEPS_IN_STORE  # read from the store, not kept


def test_small_runs_keep_everything_in_memory():
    result = build(10).run()
    assert result.records[0].steps[0].name == "double"
