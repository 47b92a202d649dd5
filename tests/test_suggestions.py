"""Misspelt names get the likely intended one: a name differing only in letter case first."""

from __future__ import annotations

from crystallize.cli.errors import suggest
from crystallize.utils.text import closest, did_you_mean


def test_a_name_differing_only_in_case_is_suggested():
    assert closest("ALPHA", ["alpha", "beta"]) == "alpha"
    assert closest("Shifted", ["baseline", "shifted"]) == "shifted"
    assert suggest("ALPHA", ["alpha", "beta"]) == " Did you mean 'alpha'?"
    assert did_you_mean("SHIFTED", ["shifted", "baseline"], what="treatments") == "; did you mean 'shifted'?"


def test_misspellings_in_another_case_are_still_close():
    assert closest("TRAIN_modl", ["train_model", "evaluate"]) == "train_model"
    assert closest("alpah", ["alpha"]) == "alpha"


def test_nothing_alike_gives_no_suggestion():
    assert closest("zzz", ["alpha", "beta"]) is None
    assert suggest("zzz", []) == ""
