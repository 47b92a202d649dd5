"""Pre-registration integrity does not trust wall clocks: repeated attempts and the
registration-before-data order hold when a clock steps back or two hosts' clocks differ,
and every HYPOTHESIS_CHANGED_AFTER_DATA says why."""

from __future__ import annotations

import random
import sqlite3
import time
import types

from crystallize import explore
from crystallize.confirm import registrations
from crystallize.confirm.explore import (
    HYPOTHESIS_CHANGED_AFTER_DATA,
    REPEATED_ATTEMPT,
    VALID,
    Exploration,
)
from crystallize.confirm.expression import parse_hypothesis
from crystallize.store import DB_FILENAME, Preregistration

CONFIGS = {"a": {"skill": 0}, "b": {"skill": 1}}


def trial(config, ctx):
    ctx.record("score", config["skill"] + random.gauss(0, 1))


def test_repeated_attempt_is_counted_when_the_clock_steps_back(monkeypatch):
    exploration = explore(trial, CONFIGS, replicates=3)
    first = exploration.crystallize("b.score > a.score", replicates=4)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3600)  # the clock steps back 1 h
    second = exploration.crystallize("b.score > a.score", replicates=4)
    assert second.registration.created_at < first.registration.created_at  # the clock did step
    assert second.integrity == [REPEATED_ATTEMPT]
    assert second.attempt == 2
    assert [r.registration_id for r in second.earlier_registrations] == [first.registration.registration_id]
    listed = registrations("data", exploration_run=exploration.run_id, hypothesis="b.score > a.score")
    assert [r.registration_id for r in listed] == [
        first.registration.registration_id, second.registration.registration_id,
    ]


def test_registration_clock_ahead_of_the_replicates_is_not_a_violation(monkeypatch):
    import crystallize.store.preregistration_rows as rows

    exploration = explore(trial, CONFIGS, replicates=3)
    real = time.time  # the registration's clock 2 s ahead of the replicates' (another host)
    monkeypatch.setattr(rows, "time", types.SimpleNamespace(time=lambda: real() + 2))
    confirmation = exploration.crystallize("b.score > a.score", replicates=4)
    assert confirmation.registration.created_at > min(r.started_at for r in confirmation.result.records)
    assert confirmation.integrity == VALID and confirmation.integrity_details == []


def test_data_that_existed_before_the_registration_is_flagged_with_a_reason(monkeypatch):
    exploration = explore(trial, CONFIGS, replicates=3)
    unregistered = Preregistration("0" * 12, "trial.confirm", "b.score > a.score", 0.0, {})
    earlier = exploration._run_confirmation(parse_hypothesis("b.score > a.score"), 4, 12345, unregistered)
    monkeypatch.setattr(Exploration, "_run_confirmation", lambda *args: earlier)  # data seen before
    confirmation = exploration.crystallize("b.score > a.score", replicates=4)
    assert confirmation.integrity == [HYPOTHESIS_CHANGED_AFTER_DATA]
    [detail] = confirmation.integrity_details
    assert earlier.run_id in detail and confirmation.registration.registration_id in detail
    assert detail in confirmation.report()


def test_stored_hypothesis_edited_is_flagged_with_a_reason(monkeypatch):
    exploration = explore(trial, CONFIGS, replicates=3)
    original = Exploration._run_confirmation

    def then_edit(self, comparison, replicates, seed, registration):
        result = original(self, comparison, replicates, seed, registration)
        with sqlite3.connect(f"data/{DB_FILENAME}") as conn:
            conn.execute("UPDATE preregistrations SET hypothesis = 'b.score != a.score' "
                         "WHERE registration_id = ?", (registration.registration_id,))
        return result

    monkeypatch.setattr(Exploration, "_run_confirmation", then_edit)
    confirmation = exploration.crystallize("b.score > a.score", replicates=4)
    assert confirmation.integrity == [HYPOTHESIS_CHANGED_AFTER_DATA]
    [detail] = confirmation.integrity_details
    assert "'b.score != a.score'" in detail and "'b.score > a.score'" in detail
