import json

import pandas as pd
import pytest

from crystallize import (
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
    verifier,
)


@data_source
def base(ctx):
    return ctx["replicate"]


@pipeline_step()
def score(data, ctx, *, bonus=0):
    return data, {"score": data + bonus}


@verifier
def mean_gap(baseline, treatment, *, metric="score"):
    b = sum(baseline[metric]) / len(baseline[metric])
    t = sum(treatment[metric]) / len(treatment[metric])
    return {"gap": t - b, "p_value": 0.01 if t > b else 0.5, "significant": t > b}


@hypothesis(verifier=mean_gap(), metrics="score")
def bigger_gap_first(result):
    return -result["gap"]


def run():
    experiment = Experiment(
        datasource=base(),
        pipeline=Pipeline([score()]),
        treatments=[treatment("small", {"bonus": 1}), treatment("large", {"bonus": 5})],
        hypotheses=[bigger_gap_first],
        replicates=3,
        plugins=[SeedPlugin(seed=11)],
        name="result-test",
    )
    return experiment.run()


def test_metrics_and_hypothesis_access():
    result = run()
    assert result.metrics.baseline.metrics["score"] == [0, 1, 2]
    assert result.metrics.treatments["large"].metrics["score"] == [5, 6, 7]
    hyp = result.get_hypothesis("bigger_gap_first")
    assert hyp.results["large"]["gap"] == 5 and hyp.results["small"]["gap"] == 1
    assert hyp.ranking == ["large", "small"]
    assert result.get_hypothesis("nope") is None


def test_a_misspelt_treatment_or_metric_lists_the_names_there_are():
    import pickle

    import pytest

    result = run()
    with pytest.raises(KeyError, match=r"no treatment named 'Large'; there are: 'small', 'large'"):
        result.metrics.treatments["Large"]
    with pytest.raises(KeyError, match=r"no metric named 'scor'; there are: 'score'"):
        result.metrics.baseline.metrics["scor"]
    assert result.metrics.treatments.get("Large") is None and "large" in result.metrics.treatments
    copy = pickle.loads(pickle.dumps(result.metrics.treatments))
    assert {name: m.metrics for name, m in copy.items()} == {"small": {"score": [1, 2, 3]}, "large": {"score": [5, 6, 7]}}
    with pytest.raises(KeyError, match="no treatment named 'x'"):
        copy["x"]
    assert json.loads(json.dumps(result.to_dict()))["metrics"]["large"] == {"score": [5, 6, 7]}
    with pytest.raises(KeyError, match=r"no condition named 'Large'; there are: 'baseline', 'small', 'large'"):
        result.provenance["Large"]
    assert len(result.provenance["large"]) == 3 and json.dumps(result.provenance)


def test_to_dict_and_json_round_trip(tmp_path):
    result = run()
    data = result.to_dict()
    assert data["metrics"]["baseline"]["score"] == [0, 1, 2]
    assert data["hypotheses"][0]["ranking"] == ["large", "small"]
    path = tmp_path / "r.json"
    text = result.to_json(path)
    assert json.loads(path.read_text()) == json.loads(text)
    assert json.loads(text)["base_seed"] == 11


@pipeline_step()
def numpy_score(data, ctx):
    import numpy as np

    return data, {"count": np.int64(data), "curve": np.arange(2) + data, "pair": (data, 1)}


def test_to_dict_is_plain_json_even_with_numpy_metrics():
    result = Experiment(
        datasource=base(), pipeline=Pipeline([numpy_score()]), replicates=2, plugins=[SeedPlugin(seed=1)]
    ).run()
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    metrics = data["metrics"]["baseline"]
    assert metrics["count"] == [0, 1] and type(metrics["count"][0]) is int
    assert metrics["curve"] == [[0, 1], [1, 2]] and metrics["pair"] == [[0, 1], [1, 1]]


def test_to_dataframe_one_row_per_condition_and_replicate():
    frame = run().to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 9
    assert list(frame.columns[:5]) == ["condition", "replicate", "seed", "error", "duration"]
    large = frame[frame.condition == "large"]
    assert large.score.tolist() == [5, 6, 7]
    assert large.seed.tolist() == [11, 11 + 31337, 11 + 2 * 31337]


def test_provenance_per_condition_and_replicate():
    prov = run().provenance
    assert set(prov) == {"baseline", "small", "large"}
    entry = prov["small"][1]
    assert entry["replicate"] == 1 and entry["seed_used"] == 11 + 31337
    step = entry["steps"][0]
    assert step["name"] == "score" and step["ctx_reads"] == {"bonus": 1}
    assert step["metrics"] == {"score": [2]}
    from crystallize.utils.hashing import content_hash

    assert step["input_hash"] == step["output_hash"] == content_hash(1)
    assert step["cache_hit"] is False and step["duration"] >= 0


def test_report_is_readable_text():
    text = run().report()
    assert "baseline" in text and "large" in text and "bigger_gap_first" in text
    assert "score" in text and "(n=3)" in text


@data_source
def fresh_list(ctx):
    return [ctx["replicate"]]


@pipeline_step()
def append_in_place(data, ctx):
    data.append(1)  # same object back, different content
    return data


@pipeline_step()
def pass_through(data, ctx):
    return data


def test_step_returning_its_input_keeps_the_digest_only_when_it_cannot_change():
    from crystallize.utils.hashing import content_hash

    mutated = Experiment(
        datasource=fresh_list(), pipeline=Pipeline([append_in_place()]), plugins=[SeedPlugin(seed=1)]
    ).run()
    step = mutated.provenance["baseline"][0]["steps"][0]
    assert step["input_hash"] == content_hash([0]) != step["output_hash"] == content_hash([0, 1])

    untouched = Experiment(
        datasource=base(), pipeline=Pipeline([pass_through(), pass_through()]), plugins=[SeedPlugin(seed=1)]
    ).run()
    steps = untouched.provenance["baseline"][0]["steps"]
    assert [s["output_hash"] for s in steps] == [content_hash(0)] * 2


def test_metrics_recorded_before_a_replicate_failed_are_not_evidence():
    from crystallize import (
        ArtifactPlugin,
        Experiment,
        Hypothesis,
        Pipeline,
        data_source,
        pipeline_step,
        treatment,
        verifier,
    )

    @data_source
    def index(ctx):
        return ctx["replicate"]

    @pipeline_step()
    def evaluate(r, ctx, *, boost=0.0):
        return r, {"acc": 0.5 + boost + (100.0 if ctx["condition"] == "t" and r < 2 else 0.0)}

    @pipeline_step()
    def save(r, ctx):
        if ctx["condition"] == "t" and r < 2:
            raise OSError("disk full: this replicate's result is invalid")
        return r

    seen = {}

    @verifier
    def keep(baseline, treatment):
        seen.update(baseline=list(baseline["acc"]), treatment=list(treatment["acc"]))
        return {"p_value": 1.0}

    result = Experiment(
        datasource=index(), pipeline=Pipeline([evaluate(), save()]), replicates=4,
        treatments=[treatment("t", {"boost": 0.25})],
        hypotheses=[Hypothesis(verifier=keep(), metrics="acc", name="h")],
        plugins=[ArtifactPlugin(root_dir=None)],
    ).run()
    assert [(e.condition, e.replicate) for e in result.errors] == [("t", 0), ("t", 1)]
    assert result.metrics.treatments["t"].metrics["acc"] == [0.75, 0.75]
    assert result.metrics.treatments["t"].value_replicates["acc"] == [2, 3]
    assert seen["treatment"] == [0.75, 0.75] and len(seen["baseline"]) == 4
    assert "(n=2)" in result.report()


@pipeline_step()
def class_counts(data, ctx):
    import numpy as np

    labels, counts = np.unique(np.array([0, 1, 1, 2]), return_counts=True)
    ctx.record("class_counts", dict(zip(labels, counts, strict=True)))  # numpy keys and values
    return data


def test_numpy_dict_keys_reach_the_json_export_and_the_store():
    from crystallize.store import load_result

    result = Experiment(datasource=base(), pipeline=Pipeline([class_counts()]), replicates=2).run()
    expected = [{"0": 1, "1": 2, "2": 1}] * 2
    assert result.to_dict()["metrics"]["baseline"]["class_counts"] == expected
    assert json.loads(result.to_json())["metrics"]["baseline"]["class_counts"] == expected
    assert "store_error" not in result.info and not result.warnings
    stored = load_result(result.run_id)
    assert len(stored.records) == 2 and stored.metrics.baseline.metrics["class_counts"] == expected


@pipeline_step()
def train_metrics(data, ctx):
    if data == 1:
        raise RuntimeError("diverged")
    return data, {"error": 0.12, "duration": 42.0, "seed": 5, "score": 1.0}


def test_to_dataframe_keeps_its_fixed_columns_when_metrics_share_their_names():
    import pytest

    result = Experiment(
        datasource=base(), pipeline=Pipeline([train_metrics()]), replicates=2, plugins=[SeedPlugin(seed=3)]
    ).run()
    with pytest.warns(UserWarning, match="'error', 'duration', 'seed'.*metric:error"):
        frame = result.to_dataframe()
    assert list(frame.columns) == [
        "condition", "replicate", "seed", "error", "duration",
        "metric:error", "metric:duration", "metric:seed", "score",
    ]
    assert frame.seed.tolist() == [r.seed for r in result.records]
    assert frame.duration.tolist() == [r.duration for r in result.records]
    assert frame.error[0] is None and "diverged" in frame.error[1]
    assert frame["metric:error"][0] == 0.12 and frame["metric:seed"][0] == 5


@pipeline_step()
def flaky(data, ctx):
    if data == 1:
        raise RuntimeError("diverged")
    return data, {"score": 1.0}


def test_to_dataframe_error_column_holds_none_for_replicates_that_succeeded():
    frame = Experiment(datasource=base(), pipeline=Pipeline([flaky()]), replicates=2).run().to_dataframe()
    assert frame.error.tolist()[0] is None and frame.error.isna().tolist() == [True, False]


@pipeline_step()
def tagged(data, ctx):
    ctx.record("acc", 0.99, tags={"split": "train"})
    ctx.record("acc", 0.70, tags={"split": "val"})
    ctx.record("loss", 0.1)
    return data


def test_metric_tags_reach_every_export_and_survive_the_store():
    from crystallize.store import load_result

    result = Experiment(datasource=base(), pipeline=Pipeline([tagged()]), replicates=2).run()
    tags = {"acc": [{"split": "train"}, {"split": "val"}], "loss": [None]}
    assert [p["metric_tags"] for p in result.provenance["baseline"]] == [tags, tags]
    data = result.to_dict()
    assert data["metric_tags"] == {"baseline": {"acc": tags["acc"] * 2, "loss": [None, None]}}
    assert data["provenance"]["baseline"][1]["metric_tags"] == tags
    assert json.loads(result.to_json())["metric_tags"] == data["metric_tags"]
    assert result.to_dataframe().metric_tags.tolist() == [tags, tags]
    stored = load_result(result.run_id)
    assert [p["metric_tags"] for p in stored.provenance["baseline"]] == [tags, tags]
    assert stored.to_dict()["metric_tags"] == data["metric_tags"]


@pipeline_step()
def untagged_first(data, ctx):
    ctx.metrics.add("x", 1)  # before the replicate's first tagged value
    ctx.record("acc", 0.5, tags={"split": "val"})
    return data, {"y": 2}


def test_metric_tags_cover_metrics_recorded_before_the_first_tag():
    from crystallize.store import load_result

    result = Experiment(datasource=base(), pipeline=Pipeline([untagged_first()]), replicates=1).run()
    tags = {"x": [None], "acc": [{"split": "val"}], "y": [None]}
    assert result.provenance["baseline"][0]["metric_tags"] == tags
    assert result.to_dataframe().metric_tags.tolist() == [tags]
    assert result.to_dict()["metric_tags"] == {"baseline": tags}
    assert load_result(result.run_id).provenance["baseline"][0]["metric_tags"] == tags


def test_untagged_runs_export_no_metric_tags():
    result = run()
    assert "metric_tags" not in result.to_dict()
    assert "metric_tags" not in result.provenance["baseline"][0]
    assert "metric_tags" not in result.to_dataframe().columns


@pipeline_step()
def huge(data, ctx):
    return data, {"count": 10**400 if data == 2 else data, "loss": None if data == 1 else 1.0}


def test_report_counts_none_values_and_survives_ints_too_large_for_a_float():
    from crystallize.reporting import metric_summary

    assert metric_summary([0.0, None, 2.0]) == "1 ± 1.414 (n=2, 1 None left out)"
    assert metric_summary([0, 2, 10**400]) == "1 ± 1.414 (n=2, 1 NaN/±inf left out)"
    assert metric_summary([1.0, float("nan"), None, "x"]) == "1 (n=1, 1 NaN/±inf, 1 None, 1 non-numeric left out)"

    text = Experiment(datasource=base(), pipeline=Pipeline([huge()]), replicates=3).run().report()
    assert "0.5 ± 0.7071 (n=2, 1 NaN/±inf left out)" in text and "(n=2, 1 None left out)" in text


@pipeline_step()
def mixed_tags(data, ctx):
    ctx.record("acc", 0.9, tags={"split": "train"})
    ctx.record("acc", 0.7, tags={"split": 3} if data else None)  # tag values of two types
    return data


def test_to_parquet_writes_metric_tags_as_json_text(tmp_path):
    pytest.importorskip("pyarrow")
    result = Experiment(datasource=base(), pipeline=Pipeline([mixed_tags()]), replicates=2).run()
    result.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert [json.loads(text) for text in back.metric_tags] == [r.metric_tags for r in result.records]


@pipeline_step()
def always_fails(data, ctx):
    raise ValueError(f"bad replicate {data}")


def test_the_report_lists_ten_errors_and_says_where_the_others_are():
    from crystallize import ArtifactPlugin

    result = Experiment(
        datasource=base(), pipeline=Pipeline([always_fails()]), replicates=12,
        plugins=[ArtifactPlugin(root_dir=None)],
    ).run()
    text = result.report()
    assert "Errors (12)" in text and "bad replicate 9" in text and "bad replicate 10" not in text
    assert "... and 2 more (all in result.errors, or: crystallize show NAME --tracebacks)" in text
