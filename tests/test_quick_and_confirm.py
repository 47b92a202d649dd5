"""quick_experiment, explore() and pre-registered confirmatory runs."""

from __future__ import annotations

import importlib
import random
import sys
import textwrap

import pytest

from crystallize import explore, quick_experiment
from crystallize.confirm import HypothesisSyntaxError, parse_hypothesis
from crystallize.confirm.explore import CODE_CHANGED, REUSED_SEEDS, VALID, replicate_seeds
from crystallize.exceptions import ExperimentValidationError
from crystallize.store import open_store


def score(config, ctx):
    ctx.record("score", config["skill"] + random.gauss(0, 1.0))


def test_quick_experiment_runs_each_named_config():
    result = quick_experiment(score, {"a": {"skill": 0}, "b": {"skill": 5}}, replicates=4, seed=2)
    a = result.metrics.condition("a").metrics["score"]
    b = result.metrics.condition("b").metrics["score"]
    assert len(a) == len(b) == 4 and min(b) > max(a)
    assert result.metrics.treatments["b"].metrics["score"] == b
    assert result.metrics.baseline.metrics["score"] == a
    with pytest.raises(KeyError, match="'c'"):
        result.metrics.condition("c")


def test_quick_experiment_records_a_returned_dict():
    result = quick_experiment(lambda cfg, ctx: {"twice": cfg * 2}, {"one": 1, "two": 2})
    assert result.metrics.condition("two").metrics["twice"] == [4]


@pytest.mark.parametrize(
    "text, op, agg",
    [("b.score > a.score", ">", "mean"), ("median(b.score) < median(a.score)", "<", "median"),
     ("mean(x.acc) != mean(y.acc)", "!=", "mean")],
)
def test_hypothesis_language(text, op, agg):
    parsed = parse_hypothesis(text)
    assert parsed.op == op and parsed.aggregate == agg


@pytest.mark.parametrize("text", ["b.score >> a.score", "b.score > a.loss", "b.score", "b.s > b.s",
                                  "mean(b.s) > median(a.s)", "import os"])
def test_bad_hypotheses_are_clear_errors(text):
    with pytest.raises(HypothesisSyntaxError):
        parse_hypothesis(text)


def test_confirmation_is_supported_valid_and_preregistered_first():
    seen = []

    def checked(config, ctx):
        if "preregistration" in ctx:
            with open_store("data") as store:  # the record must exist before any replicate
                record = store.get_preregistration(ctx["preregistration"])
            seen.append(record.hypothesis)
        score(config, ctx)

    exploration = explore(checked, {"a": {"skill": 0}, "b": {"skill": 2}}, replicates=5)
    confirmation = exploration.crystallize("b.score > a.score", replicates=25)
    assert confirmation.supported and confirmation.integrity == VALID
    assert seen and set(seen) == {"b.score > a.score"}
    assert not set(confirmation.seeds["exploration"]) & set(confirmation.seeds["confirmation"])
    assert confirmation.registration.created_at < min(r.started_at for r in confirmation.result.records)
    text = confirmation.report()
    for needle in (confirmation.exploration_run, confirmation.confirmation_run,
                   confirmation.registration.registration_id, "code fingerprint", "git commit"):
        assert needle in text
    import re

    assert re.search(r"written at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC", text)


def test_unsupported_hypothesis():
    exploration = explore(score, {"a": {"skill": 0}, "b": {"skill": 0}}, replicates=3)
    confirmation = exploration.crystallize("b.score > a.score", replicates=10)
    assert not confirmation.supported


def test_reused_seeds_are_reported():
    exploration = explore(score, {"a": {"skill": 0}, "b": {"skill": 1}}, replicates=5, seed=100)
    confirmation = exploration.crystallize("b.score > a.score", replicates=5, seed=100)
    assert REUSED_SEEDS in confirmation.integrity


def test_seeds_never_overlap_by_default():
    exploration = explore(score, {"a": {"skill": 0}, "b": {"skill": 1}}, replicates=20)
    for _ in range(3):
        confirmation = exploration.crystallize("b.score > a.score", replicates=20)
        assert not replicate_seeds(exploration.base_seed, 20) & set(confirmation.seeds["confirmation"])


def test_editing_the_function_reports_code_changed(tmp_path, monkeypatch):
    source = textwrap.dedent(
        """
        import random

        def noise():
            return random.gauss(0, 1)

        def trial(config, ctx):
            ctx.record("score", config["skill"] + noise())
        """
    )
    (tmp_path / "trial_module.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("trial_module", None)
    import trial_module

    exploration = explore(trial_module.trial, {"a": {"skill": 0}, "b": {"skill": 3}}, replicates=4)
    (tmp_path / "trial_module.py").write_text(source.replace("gauss(0, 1)", "gauss(0, 2)"))
    unloaded = exploration.crystallize("b.score > a.score", replicates=10)
    assert CODE_CHANGED not in unloaded.integrity  # the edit is not loaded: the explored code ran
    importlib.reload(trial_module)  # a re-run cell: trial now calls the edited noise()
    confirmation = exploration.crystallize("b.score > a.score", replicates=10)
    assert CODE_CHANGED in confirmation.integrity
    sys.modules.pop("trial_module", None)


def test_unknown_config_or_metric_is_a_clear_error():
    exploration = explore(score, {"a": {"skill": 0}, "b": {"skill": 1}}, replicates=2)
    with pytest.raises(ExperimentValidationError, match="config 'c'"):
        exploration.crystallize("c.score > a.score")
    with pytest.raises(ExperimentValidationError, match="metric 'loss'"):
        exploration.crystallize("b.loss > a.loss")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"replicates": 1}, r"replicates=\.\.\.\) must be an int >= 2"),
        ({"replicates": 0}, r"replicates=\.\.\.\) must be an int >= 2"),
        ({"alpha": 5}, r"crystallize: alpha must be a number strictly between 0 and 1"),
        ({"seed": -4}, r"crystallize\(seed=\.\.\.\) must be a non-negative int"),
    ],
)
def test_unusable_confirmation_settings_register_nothing(settings, message):
    exploration = explore(score, {"a": {"skill": 0}, "b": {"skill": 1}}, replicates=2)
    with pytest.raises(ValueError, match=message):
        exploration.crystallize("b.score > a.score", **settings)
    with open_store("data") as store, store.transaction() as conn:
        assert conn.execute("SELECT COUNT(*) FROM preregistrations").fetchone() == (0,)


def test_a_lambda_is_explored_and_confirmed_under_portable_names():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not portable on Windows" name warning
        exploration = explore(lambda config, ctx: score(config, ctx), {"a": {"skill": 0}, "b": {"skill": 2}}, replicates=3)
        confirmation = exploration.crystallize("b.score > a.score", replicates=6)
    assert confirmation.result.experiment == "lambda.confirm"
    assert confirmation.registration.experiment == "lambda.confirm"
