"""Honest verdicts of confirmatory runs: one value per replicate, paired tests of the
registered aggregate, config edits, repeated attempts, missing replicates, quick_experiment
inputs and git state."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats

from crystallize import explore, quick_experiment
from crystallize.confirm import registrations
from crystallize.confirm.explore import (
    CONFIG_CHANGED,
    MISSING_REPLICATES,
    REPEATED_ATTEMPT,
    VALID,
)
from crystallize.exceptions import ExperimentValidationError
from crystallize.store import open_store


def shared_noise(config, ctx):
    """Both configs draw the same large noise in a replicate (its seed), then their own."""
    common = random.normalvariate(0, 10)  # not gauss(): it caches its second draw
    for _ in range(config.get("skip", 0)):
        random.random()
    ctx.record("score", common + random.normalvariate(0, 0.5) + config.get("shift", 0))


def per_replicate(confirmation, config, metric="score"):
    """``{replicate: value}`` of ``config`` in the confirmation run."""
    baseline = confirmation.result.info["baseline_config"]
    condition = "baseline" if config == baseline else config
    return {r.replicate: r.metrics[metric][0] for r in confirmation.result.records
            if r.condition == condition and not r.error and metric in r.metrics}


# 1. one value per replicate -------------------------------------------------------------


def test_recording_and_returning_a_metric_counts_it_once():
    def trial(config, ctx):
        ctx.record("score", config["skill"] + random.gauss(0, 1))
        return {"score": ctx.metrics.as_dict()["score"][0]}

    result = quick_experiment(trial, {"a": {"skill": 0}, "b": {"skill": 1}}, replicates=4, seed=3)
    assert len(result.metrics.condition("b").metrics["score"]) == 4


def test_returning_a_different_value_than_recorded_is_an_error():
    def trial(config, ctx):
        ctx.record("score", 1.0)
        return {"score": 2.0}

    result = quick_experiment(trial, {"a": {}, "b": {}}, replicates=2, seed=3)
    errors = [r.error for r in result.records if r.error]
    assert errors and "score" in str(errors[0].message) and "once" in str(errors[0].message)


def test_a_metric_recorded_twice_per_replicate_is_refused_before_registration():
    def twice(config, ctx):
        ctx.record("score", random.gauss(0, 1))
        ctx.record("score", random.gauss(0, 1))

    exploration = explore(twice, {"a": {}, "b": {}}, replicates=3)
    with pytest.raises(ExperimentValidationError, match=r"'score'.*2 values.*once"):
        exploration.crystallize("b.score > a.score", replicates=10)
    assert registrations("data") == []


def test_a_metric_recorded_twice_only_in_the_confirmation_is_not_supported():
    def sneaky(config, ctx):
        ctx.record("score", config["skill"] + random.gauss(0, 1))
        if "preregistration" in ctx:
            ctx.record("score", config["skill"] + random.gauss(0, 1))

    exploration = explore(sneaky, {"a": {"skill": 0}, "b": {"skill": 3}}, replicates=3)
    confirmation = exploration.crystallize("b.score > a.score", replicates=10)
    assert not confirmation.supported
    assert "'score'" in confirmation.test["error"] and "once" in confirmation.test["error"]


# 2. medians ---------------------------------------------------------------------------


def skewed(config, ctx):
    value = random.expovariate(1.0) * config["scale"]
    for _ in range(config["skip"]):
        random.random()
    if config["skip"] and random.random() < 0.3:
        value += 100
    ctx.record("latency", value)


def test_median_hypothesis_reports_the_difference_of_medians():
    exploration = explore(skewed, {"fast": {"scale": 1, "skip": 0}, "slow": {"scale": 2, "skip": 1}},
                          replicates=4)
    confirmation = exploration.crystallize("median(fast.latency) < median(slow.latency)", replicates=30)
    fast = per_replicate(confirmation, "fast", "latency")
    slow = per_replicate(confirmation, "slow", "latency")
    expected = float(np.median(list(fast.values())) - np.median(list(slow.values())))
    assert confirmation.effect == pytest.approx(expected)
    assert "median" in confirmation.test["ci_of"]
    low, high = confirmation.ci
    assert low <= expected <= high
    assert "difference in medians" in confirmation.report()
    # The verdict is scipy's signed-rank test of the per-replicate differences.
    from scipy.stats import wilcoxon

    order = sorted(fast)
    differences = [fast[r] - slow[r] for r in order]
    assert confirmation.p_value == pytest.approx(wilcoxon(differences, alternative="less").pvalue)



def few_far_below(config, ctx):
    """b is a's value + 0.1 in 27 of 30 replicates, and far below it in the last 3."""
    replicate = ctx["replicate"]
    value = float(replicate + 1)
    if config["name"] == "b":
        value = value + 0.1 if replicate % 30 < 27 else -40.0
    ctx.record("score", value)


def test_median_verdict_is_withdrawn_when_the_medians_differ_the_other_way():
    # The signed-rank test sees 27 of 30 differences > 0 (p ~ 0.001), but median(b) is
    # 2.9 below median(a): "median(b) > median(a)" must not be SUPPORTED.
    exploration = explore(few_far_below, {"a": {"name": "a"}, "b": {"name": "b"}}, replicates=3)
    confirmation = exploration.crystallize("median(b.score) > median(a.score)", replicates=30, seed=0)
    assert confirmation.p_value < 0.01 and confirmation.effect == pytest.approx(-2.9)
    assert not confirmation.supported
    (warning,) = [w for w in confirmation.test["warnings"] if w.startswith("ContraryMedians")]
    assert "the medians differ the other way" in warning and "b - a = -2.9" in warning
    assert "NOT SUPPORTED" in confirmation.report() and "ContraryMedians" in confirmation.report()
    # Two-sided, the medians do differ: the verdict stands.
    assert exploration.crystallize("median(b.score) != median(a.score)", replicates=30, seed=0).supported

# 3. configs edited after exploration ---------------------------------------------------


def test_configs_are_frozen_at_exploration_and_edits_are_flagged():
    configs = {"a": {"skill": 0}, "b": {"skill": 0}}
    exploration = explore(shared_noise, configs, replicates=3)
    configs["b"]["skill"] = 3  # the caller's dict: the exploration keeps what it ran
    confirmation = exploration.crystallize("b.score > a.score", replicates=5)
    assert confirmation.registration.payload["configs"]["b"] == {"skill": 0}
    assert CONFIG_CHANGED not in confirmation.integrity

    exploration.configs["b"] = {"skill": 5}
    edited = exploration.crystallize("b.score > a.score", replicates=5)
    assert CONFIG_CHANGED in edited.integrity and not edited.valid
    assert "config 'b'" in edited.report()


# 4. common random numbers: a paired test -----------------------------------------------


def test_configs_sharing_replicate_seeds_are_compared_pairwise():
    exploration = explore(shared_noise, {"a": {"skip": 0}, "b": {"skip": 1, "shift": 1}}, replicates=3)
    confirmation = exploration.crystallize("b.score > a.score", replicates=10)
    a, b = per_replicate(confirmation, "a"), per_replicate(confirmation, "b")
    reps = sorted(a)
    expected = stats.ttest_rel([b[r] for r in reps], [a[r] for r in reps], alternative="greater")
    assert confirmation.test["n_pairs"] == 10
    assert confirmation.p_value == pytest.approx(expected.pvalue)
    assert confirmation.supported  # Welch's test, blind to the shared noise, is not significant


def test_pairs_are_formed_by_replicate_index_and_missing_ones_are_flagged():
    def flaky(config, ctx):
        if "preregistration" in ctx and config.get("skip") and ctx["replicate"] == 2:
            raise RuntimeError("flaky GPU")
        shared_noise(config, ctx)

    exploration = explore(flaky, {"a": {"skip": 0}, "b": {"skip": 1, "shift": 1}}, replicates=3)
    confirmation = exploration.crystallize("b.score > a.score", replicates=10)
    a, b = per_replicate(confirmation, "a"), per_replicate(confirmation, "b")
    reps = sorted(b)
    assert 2 not in reps and len(reps) == 9
    expected = stats.ttest_rel([b[r] for r in reps], [a[r] for r in reps], alternative="greater")
    assert confirmation.p_value == pytest.approx(expected.pvalue)
    assert MISSING_REPLICATES in confirmation.integrity
    text = confirmation.report()
    assert "9 of 10 registered" in text and "replicate(s) 2" in text


def test_median_test_is_paired_too():
    exploration = explore(shared_noise, {"a": {"skip": 0}, "b": {"skip": 1, "shift": 2}}, replicates=3)
    confirmation = exploration.crystallize("median(b.score) > median(a.score)", replicates=12)
    assert confirmation.test["n_pairs"] == 12 and confirmation.supported


# 5. repeated attempts -------------------------------------------------------------------


def test_repeated_attempts_are_counted_and_listed():
    exploration = explore(shared_noise, {"a": {"skip": 0}, "b": {"skip": 1}}, replicates=3)
    first = exploration.crystallize("b.score > a.score", replicates=4)
    assert first.valid and first.attempt == 1
    exploration.crystallize("a.score < b.score", replicates=4)  # the same test, written the other way
    exploration.crystallize("b.score != a.score", replicates=4)  # another hypothesis
    third = exploration.crystallize("b.score > a.score", replicates=4)
    assert REPEATED_ATTEMPT in third.integrity and not third.valid
    assert third.attempt == 3 and len(third.earlier_registrations) == 2
    assert "ATTEMPT 3 of 3: 2 earlier registrations" in third.report()
    listed = registrations("data", exploration_run=exploration.run_id, hypothesis="b.score > a.score")
    assert [r.registration_id for r in listed] == [
        *(r.registration_id for r in third.earlier_registrations), third.registration.registration_id
    ]
    assert len(registrations("data", exploration_run=exploration.run_id)) == 4


# 6. n tested vs registered, test warnings ----------------------------------------------


def test_report_states_n_and_shows_the_tests_warnings():
    def constant(config, ctx):
        ctx.record("const", 1.0)
        shared_noise(config, ctx)

    exploration = explore(constant, {"a": {"skip": 0}, "b": {"skip": 1}}, replicates=3)
    flat = exploration.crystallize("b.const > a.const", replicates=5)
    text = flat.report()
    assert "5 of 5 registered" in text and "UndefinedTestWarning" in text
    small = exploration.crystallize("median(b.score) > median(a.score)", replicates=3)
    assert "cannot reach significance" in small.report()


# 7. / 8. quick_experiment inputs ---------------------------------------------------------


def test_quick_experiment_accepts_non_string_config_names():
    result = quick_experiment(lambda c, ctx: {"v": c}, {1: 10, 2: 20}, replicates=2, seed=1)
    assert result.metrics.condition("1").metrics["v"] == [10, 10]
    assert result.metrics.condition("2").metrics["v"] == [20, 20]


def test_quick_experiment_refuses_names_that_clash_as_strings():
    with pytest.raises(ExperimentValidationError, match="'1'"):
        quick_experiment(lambda c, ctx: None, {1: 10, "1": 20})


def test_returned_numpy_numbers_are_recorded():
    def trial(config, ctx):
        return {"f32": np.float32(0.5), "i64": np.int64(3), "arr0": np.array(0.25), "flag": True, "s": "x"}

    metrics = quick_experiment(trial, {"a": {}, "b": {}}, replicates=2, seed=1).metrics.condition("a").metrics
    assert sorted(metrics) == ["arr0", "f32", "i64"]
    assert [float(v) for v in metrics["arr0"]] == [0.25, 0.25]


# 9. git state -----------------------------------------------------------------------------


def test_dirty_working_tree_is_recorded(tmp_path, monkeypatch):
    repo = tmp_path / "proj"
    repo.mkdir()
    source = textwrap.dedent(
        """
        import random

        def trial(config, ctx):
            ctx.record("score", config["skill"] + random.gauss(0, 1))
        """
    )
    (repo / "gitmod.py").write_text(source)

    def git(*args):
        subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args],
                       check=True, capture_output=True)

    git("init", "-q")
    git("add", "gitmod.py")
    git("commit", "-q", "-m", "init")
    monkeypatch.syspath_prepend(str(repo))
    sys.modules.pop("gitmod", None)
    import gitmod

    exploration = explore(gitmod.trial, {"a": {"skill": 0}, "b": {"skill": 1}}, replicates=2)
    clean = exploration.crystallize("b.score > a.score", replicates=3)
    assert clean.git_dirty is False and "uncommitted" not in clean.report()
    (repo / "notes.txt").write_text("changed")
    dirty = exploration.crystallize("b.score > a.score", replicates=3)
    assert dirty.git_dirty is True and dirty.registration.payload["git_dirty"] is True
    assert "uncommitted changes" in dirty.report()
    sys.modules.pop("gitmod", None)


def test_store_is_only_read_for_registrations():
    exploration = explore(shared_noise, {"a": {"skip": 0}, "b": {"skip": 1}}, replicates=2)
    exploration.crystallize("b.score > a.score", replicates=3)
    with open_store("data") as store, store.transaction() as conn:
        assert conn.execute("SELECT COUNT(*) FROM preregistrations").fetchone() == (1,)
    assert VALID == "VALID"
