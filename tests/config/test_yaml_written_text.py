"""YAML the package writes for the user (``crystallize new``'s config.yaml, hints in
error messages) reads back, by config.yaml's YAML 1.2 rules, as what was meant."""

from __future__ import annotations

import datetime
import math

import pytest

from crystallize.config import load_experiment
from crystallize.config.loader import declared_name
from crystallize.config.schema import aliased_source_hint
from crystallize.config.yaml_io import dump_config_text, load_config_text

#: Strings that YAML 1.2 (and some YAML 1.1) reads unquoted as something else, and some it does not.
TRICKY = [
    "1e3", "2e-1", "0o17", "0x1F", "010", "123", "-0", "1_000", ".inf", "-.inf", ".nan", ".NaN",
    "true", "False", "null", "~", "", "2020-01-01", "yes", "off", "12:30", "<<", "a: b", "#x", " x", "plain", "é",
]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("flow", [True, False, None])
def test_dumped_strings_read_back_as_the_same_strings(text, flow):
    for data in ({"a": text}, {text: 1}, [text], {"a": {"b": [text]}}):
        assert load_config_text(dump_config_text(data, default_flow_style=flow)) == data


def test_dumped_other_values_read_back_alike():
    values = [1e17, 1.5, 1e-7, -0.0, math.inf, -math.inf, 10, -3, 2**70, True, False, None, datetime.date(2020, 1, 1)]
    for value in values:
        back = load_config_text(dump_config_text({"a": value}))["a"]
        assert back == value and type(back) is type(value)
    assert math.isnan(load_config_text(dump_config_text({"a": math.nan}))["a"])


def test_dumped_numeric_strings_are_quoted_plain_words_are_not():
    assert dump_config_text({"name": "1e3"}) == "name: '1e3'\n"
    assert dump_config_text({"name": "study"}) == "name: study\n"
    assert dump_config_text({"b": 1, "a": 2}) == "b: 1\na: 2\n"  # keys keep their order


def test_the_aliased_source_hint_quotes_what_would_read_as_a_number():
    hint = aliased_source_hint("numbers", {"n": "1e3", "m": 10, "s": "yes"})
    entry = hint.split("write ", 2)[-1]
    assert entry == "numbers: {numbers: {n: '1e3', m: 10, s: yes}}"
    assert load_config_text(entry) == {"numbers": {"numbers": {"n": "1e3", "m": 10, "s": "yes"}}}
    entry = aliased_source_hint("010", {"n": 1}).split("write ", 2)[-1]
    assert load_config_text(entry) == {"010": {"010": {"n": 1}}}


NAMES = ["1e3", "2e-1", "0o17", "123", "010", "true", "null", "2020-01-01", "yes", "study"]


@pytest.mark.parametrize("example", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_new_experiments_keep_their_names(tmp_path, monkeypatch, name, example):
    from crystallize.cli.scaffold import scaffold

    monkeypatch.chdir(tmp_path)
    folder = scaffold(name, example=example)

    assert load_config_text((folder / "config.yaml").read_text(encoding="utf-8"))["name"] == name
    assert declared_name(folder / "config.yaml") == name
    assert load_experiment(folder).name == name
