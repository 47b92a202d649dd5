"""``Result.to_dict()``/``to_json()`` never fail on a metric value: one that holds itself
(a list appended to itself) or whose ``__repr__`` raises is given as its text, as the
run store keeps it."""

from __future__ import annotations

import json
import warnings

import pytest

from crystallize import Experiment, Pipeline, data_source, pipeline_step
from crystallize.store import load_result


class NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class NoRepr2(NoRepr):
    """Its ``tolist()`` raises too: the text is all there is."""

    def tolist(self):
        raise RuntimeError("no tolist")


@data_source
def one(ctx):
    return 1


@pipeline_step()
def odd_values(data, ctx):
    loop = [1]
    loop.append(loop)
    looped_dict: dict = {"a": 1}
    looped_dict["self"] = looped_dict
    return data, {"loop": loop, "dict": looped_dict, "norepr": NoRepr(), "notolist": NoRepr2(), "deep": [loop, 2]}


EXPECTED = {
    "loop": [[1, "[1, [...]]"]],
    "dict": [{"a": 1, "self": "{'a': 1, 'self': {...}}"}],
    "norepr": ["<NoRepr object: repr() failed>"],
    "notolist": ["<NoRepr2 object: repr() failed>"],
    "deep": [[[1, "[1, [...]]"], 2]],
}


@pytest.fixture
def result():
    experiment = Experiment(datasource=one(), pipeline=Pipeline([odd_values()]), replicates=1, name="odd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the store says it keeps them as text
        return experiment.run()


def test_to_dict_gives_such_values_as_their_text(result):
    assert result.to_dict()["metrics"]["baseline"] == EXPECTED


@pytest.mark.parametrize("indent", [2, None, 4])  # orjson, orjson compact, json
def test_to_json_gives_such_values_as_their_text(result, indent):
    assert json.loads(result.to_json(indent=indent))["metrics"]["baseline"] == EXPECTED


def test_the_text_is_what_the_store_keeps(result):
    stored = load_result(result.run_id, "data")
    assert stored.to_dict()["metrics"] == result.to_dict()["metrics"]


def test_a_value_met_twice_but_not_inside_itself_is_converted_each_time():
    from crystallize.result import _plain

    shared = [1.5, 2]
    assert _plain({"a": shared, "b": [shared, shared]}) == {"a": [1.5, 2], "b": [[1.5, 2], [1.5, 2]]}
