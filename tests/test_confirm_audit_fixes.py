"""Audit fixes: failed confirmatory replicates, explained integrity violations, the test's
warnings, and quick_experiment's checks of the function and of what it returns."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest

from crystallize import explore, quick_experiment
from crystallize.confirm.explore import CODE_CHANGED, MISSING_REPLICATES, REUSED_SEEDS

STATE = {"fail": False}
FLAG = False


def breakable(config, ctx):
    """Records a score unless STATE says to fail."""
    if STATE["fail"]:
        raise RuntimeError("broken")
    ctx.record("score", ctx["replicate"] * 0.1 + config["mu"] + random.random())


def reads_flag(config, ctx):
    """Reads the global FLAG (part of its code fingerprint)."""
    ctx.record("score", random.gauss(config["mu"], 1.0) + (1 if FLAG else 0))


CONFIGS = {"a": {"mu": 0}, "b": {"mu": 1}}


# 1. every confirmatory replicate failed -----------------------------------------------


def test_all_failed_replicates_are_missing_and_the_verdict_says_they_failed(monkeypatch):
    exploration = explore(breakable, CONFIGS, replicates=5, seed=11)
    monkeypatch.setitem(STATE, "fail", True)
    confirmation = exploration.crystallize("b.score > a.score", replicates=6)

    assert not confirmation.supported
    assert confirmation.integrity == [MISSING_REPLICATES]
    [detail] = confirmation.integrity_details
    for config in ("a", "b"):
        assert f"replicate(s) 0, 1, 2, 3, 4, 5 of {config} failed" in detail
    assert "RuntimeError: broken" in detail
    error = confirmation.test["error"]
    assert "Run more replicates" not in error
    assert "0 of 6 registered replicates" in error and "failed" in error and "RuntimeError: broken" in error
    report = confirmation.report()
    assert "Integrity: MISSING_REPLICATES" in report and "Run more replicates" not in report


def test_a_replicate_that_did_not_record_is_told_apart_from_a_failed_one():
    def sparse(config, ctx):
        if ctx["replicate"] == 1 and config["mu"] == 1:
            raise RuntimeError("broken")
        if ctx["replicate"] != 2:
            ctx.record("score", random.random() + config["mu"])

    exploration = explore(sparse, CONFIGS, replicates=4, seed=11)
    confirmation = exploration.crystallize("b.score > a.score", replicates=6)
    [detail] = confirmation.integrity_details
    assert "replicate(s) 1 of b failed (first error: RuntimeError: broken" in detail
    assert "replicate(s) 2 of b did not record 'score'" in detail
    assert "replicate(s) 2 of a did not record 'score'" in detail


# 2. REUSED_SEEDS and CODE_CHANGED are explained ----------------------------------------


def test_reused_seeds_are_explained():
    exploration = explore(breakable, CONFIGS, replicates=5, seed=11)
    confirmation = exploration.crystallize("b.score > a.score", replicates=8, seed=11)
    assert confirmation.integrity == [REUSED_SEEDS]
    [detail] = confirmation.integrity_details
    assert detail.startswith("REUSED_SEEDS: 5 confirmatory replicate(s)")
    assert "replicate 0 = exploration replicate 0 (seed 11)" in detail


def test_changed_code_is_explained(monkeypatch):
    exploration = explore(reads_flag, CONFIGS, replicates=5, seed=11)
    monkeypatch.setattr(f"{__name__}.FLAG", True)  # same source, a global it reads changed
    confirmation = exploration.crystallize("b.score > a.score", replicates=8)
    assert confirmation.integrity == [CODE_CHANGED]
    [detail] = confirmation.integrity_details
    assert detail.startswith("CODE_CHANGED: the code fingerprint of reads_flag")
    assert confirmation.code_fingerprint["exploration"] in detail
    assert "values it reads (globals, helpers" in detail


# 3. the test always has its warnings -------------------------------------------------


@pytest.mark.parametrize("hypothesis", ["b.score > a.score", "median(b.score) > median(a.score)"])
def test_warnings_is_always_in_the_test(hypothesis):
    def clean(config, ctx):
        for _ in range(config["mu"]):  # not the same noise in both configs
            random.random()
        ctx.record("score", random.gauss(config["mu"] * 5, 1.0))

    exploration = explore(clean, CONFIGS, replicates=5, seed=11)
    confirmation = exploration.crystallize(hypothesis, replicates=30)
    assert confirmation.test["warnings"] == []


def test_warnings_is_in_the_test_when_no_test_ran(monkeypatch):
    exploration = explore(breakable, CONFIGS, replicates=5, seed=11)
    monkeypatch.setitem(STATE, "fail", True)
    confirmation = exploration.crystallize("b.score > a.score", replicates=3)
    assert "error" in confirmation.test and confirmation.test["warnings"] == []


# 4. quick_experiment checks the function's signature ------------------------------------


def test_a_function_without_ctx_is_refused_up_front():
    calls = []

    def trial(config):
        calls.append(config)

    with pytest.raises(TypeError, match=r"fn\(config, ctx\).*trial\(config\)"):
        quick_experiment(trial, CONFIGS, replicates=2)
    assert calls == []


@pytest.mark.parametrize("fn", [
    lambda config, ctx, extra=1: None,
    lambda *args: None,
    lambda config, *args, **kwargs: None,
    print,  # a builtin
])
def test_callables_that_take_config_and_ctx_are_accepted(fn):
    result = quick_experiment(fn, CONFIGS, replicates=1)
    assert not result.errors


# 5. returned values that are not numbers are not dropped silently ---------------------


def test_returned_non_numbers_warn_once_per_key():
    def trial(config, ctx):
        return {"flag": True, "name": "x", "m": np.array([1.0, 2.0]), "score": 1.0}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = quick_experiment(trial, CONFIGS, replicates=3)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 3  # once per key, not once per replicate
    for key, kind in (("flag", "bool"), ("name", "str"), ("m", "ndarray")):
        assert any(f"'{key}' as a {kind}, not a number" in m for m in messages)
    assert set(result.metrics.condition("b").metrics) == {"score"}
