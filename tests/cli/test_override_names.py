"""``-t`` and ``--set treatments.NAME.KEY=value`` with treatment names that hold the
characters those options split on (``,``, ``.``, ``=``): the usual way to name a sweep."""

from __future__ import annotations

import json

import pytest

from crystallize import Experiment, SeedPlugin, data_source, pipeline_step
from crystallize.cli.errors import UserError
from crystallize.cli.overrides import (
    RunSettings,
    apply_settings,
    parse_assignments,
    select_treatments,
)
from crystallize.treatment import Treatment

SWEEP = ["delta=0.1,n=5", "delta=0.2,n=5", "t2", "t10", "lr_0.1", "lr=0.1", "a", "a,b", "a.b"]


@data_source
def source(ctx):
    return 1


@pipeline_step()
def bump(data, *, delta=0):
    return data + delta


def _experiment() -> Experiment:
    return Experiment(
        datasource=source(),
        pipeline=[bump()],
        plugins=[SeedPlugin(seed=3)],
        treatments=[Treatment(name, {"delta": index}) for index, name in enumerate(SWEEP)],
        name="grid",
    )


def _selected(*typed: str) -> list[str]:
    chosen = select_treatments(_experiment(), list(typed))
    return [t.name for t in chosen or []]


def _values_after(*sets: str) -> dict[str, dict]:
    experiment = _experiment()
    apply_settings([experiment], RunSettings(assignments=parse_assignments(list(sets))))
    return {t.name: t.values for t in experiment.treatments}


def _error(call, *args) -> str:
    with pytest.raises(UserError) as caught:
        call(*args)
    return str(caught.value)


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        (["delta=0.1,n=5"], ["delta=0.1,n=5"]),
        (["delta=0.1,n=5,t2"], ["delta=0.1,n=5", "t2"]),
        (["t2,delta=0.2,n=5"], ["t2", "delta=0.2,n=5"]),
        (["delta=0.1,n=5, delta=0.2,n=5"], ["delta=0.1,n=5", "delta=0.2,n=5"]),
        (["t2,t10", "lr=0.1"], ["t2", "t10", "lr=0.1"]),
        (["t2, baseline ,t10"], ["t2", "t10"]),
        (["a,b"], ["a,b"]),  # the longest known name wins
        (["a", "a,b"], ["a", "a,b"]),
        (["a,t2"], ["a", "t2"]),
    ],
)
def test_treatment_option_matches_whole_names_holding_commas(typed, names):
    assert _selected(*typed) == names


def test_unknown_treatment_option_part_says_how_names_are_split():
    message = _error(select_treatments, _experiment(), ["delta=0.3,n=5"])
    assert "no treatment 'delta=0.3'" in message
    assert "-t 'delta=0.3,n=5'" in message  # what was typed, and how it was read
    assert "one treatment per -t" in message
    assert "Did you mean 'delta=0.3" not in message


@pytest.mark.parametrize(
    ("setting", "name"),
    [
        ("treatments.lr_0.1.delta=70", "lr_0.1"),
        ("treatments.lr=0.1.delta=70", "lr=0.1"),
        ("treatments.delta=0.1,n=5.delta=70", "delta=0.1,n=5"),
        ("treatments.a.b.delta=70", "a.b"),  # the longest known name wins
        ("treatments.t2.delta=70", "t2"),
    ],
)
def test_set_reaches_treatments_whose_names_hold_dots_and_equals(setting, name):
    values = _values_after(setting)
    assert values[name] == {"delta": 70}
    assert sum(v == {"delta": 70} for v in values.values()) == 1


def test_set_falls_back_to_a_shorter_name_when_the_rest_is_the_key():
    values = _values_after("treatments.a.b=7")  # treatment 'a', key 'b' ('a.b' leaves no key)
    assert values["a"] == {"delta": SWEEP.index("a"), "b": 7}
    assert values["a.b"] == {"delta": SWEEP.index("a.b")}


def test_set_treatment_value_keeps_equals_signs_and_parses_yaml():
    values = _values_after("treatments.lr=0.1.label=x=y", "treatments.lr=0.1.sizes=[1, 2]")
    assert values["lr=0.1"] == {"delta": SWEEP.index("lr=0.1"), "label": "x=y", "sizes": [1, 2]}


def test_set_unknown_dotted_treatment_is_named_whole():
    message = _error(_values_after, "treatments.lr_0.2.delta=7")
    assert "unknown treatment 'lr_0.2'" in message
    assert "Did you mean 'lr_0.1'?" in message
    assert "treatments.NAME.KEY=value" in message


def test_set_known_treatment_without_a_key_says_how_to_write_it():
    message = _error(_values_after, "treatments.lr_0.1=7")
    assert "treatments.lr_0.1.KEY=value" in message
    assert "Did you mean 'lr_0.1'" not in message


def test_set_with_an_empty_key_part_is_still_refused():
    message = _error(_values_after, "treatments..delta=7")
    assert "empty part between dots" in message


SWEEP_CONFIG = '''
name: grid
replicates: 2
datasource: numbers
steps: [add_delta, total]
treatments:
  "delta=0.1,n=5": {delta: 0.1}
  "lr=0.1": {delta: 0.6}
  t2: {delta: 0.3}
plugins:
  seed: {seed: 7}
'''


def test_run_command_reaches_sweep_names(make_experiment, cli):
    make_experiment("grid", config=SWEEP_CONFIG)
    done = cli("run", "grid", "-t", "delta=0.1,n=5", "-t", "lr=0.1", "--set", "treatments.lr=0.1.delta=7", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(result["metrics"]) == ["baseline", "delta=0.1,n=5", "lr=0.1"]
    bad = cli("run", "grid", "--set", "treatments.lr=0.2.delta=7")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "unknown treatment" in bad.stderr and "lr=0.1" in bad.stderr
