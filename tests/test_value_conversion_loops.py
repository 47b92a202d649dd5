"""numpy scalars whose ``tolist()``/``item()`` gives them back (``np.longdouble``,
``np.clongdouble``) are converted, not looped over until a RecursionError: in the step
cache's keys, the statistics' plain values and the MLflow plugin's JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from crystallize.plugins.mlflow import _json_default
from crystallize.stats._common import plain
from crystallize.store.cache import _canonical, make_key, part_digests

#: True where np.longdouble holds more than a float (x86 Linux: 80-bit).
WIDER = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
wider_only = pytest.mark.skipif(not WIDER, reason="np.longdouble is a float64 here")

LONGDOUBLES = [
    np.longdouble("0.1"),
    np.longdouble(0.5),
    np.longdouble("nan"),
    np.longdouble("-inf"),
    np.longdouble(-0.0),
    np.finfo(np.longdouble).max,
    np.finfo(np.longdouble).smallest_subnormal,
    np.clongdouble(1 + 2j),
    np.clongdouble(np.longdouble("0.1") + 1j),
]


@pytest.mark.parametrize("value", LONGDOUBLES, ids=repr)
def test_cache_keys_of_such_values(value):
    key = make_key(params={"x": value}, data=[value])
    assert len(key) == 32 and key == make_key(params={"x": value}, data=[value])
    assert set(part_digests({"x": value})) == {"x"}


def test_a_longdouble_equal_to_a_python_number_has_its_key():
    assert make_key(x=np.longdouble(0.5)) == make_key(x=0.5)
    assert make_key(x=np.clongdouble(1 + 2j)) == make_key(x=1 + 2j)
    assert make_key(x=np.longdouble(-0.0)) == make_key(x=-0.0) != make_key(x=0.0)
    assert _canonical(np.longdouble("nan")) != _canonical(np.longdouble("nan"))  # nan, as float's
    assert math.isnan(_canonical(np.longdouble("nan")))


@wider_only
def test_longdoubles_float_would_round_alike_have_distinct_keys():
    near = np.longdouble("0.1")
    assert float(near) == float(np.longdouble(0.1))
    assert make_key(x=near) != make_key(x=np.longdouble(0.1)) == make_key(x=0.1)
    assert make_key(x=near) != make_key(x=np.nextafter(near, np.longdouble(1)))
    complex_near = np.clongdouble(near + 1j)
    assert make_key(x=complex_near) != make_key(x=np.clongdouble(0.1 + 1j))
    huge = np.finfo(np.longdouble).max  # beyond float range: not float's inf
    assert make_key(x=huge) != make_key(x=math.inf) and make_key(x=huge) != make_key(x=huge / 2)


def test_statistics_plain_values():
    out = plain({"p": np.longdouble("0.25"), "ci": (np.longdouble(1), np.clongdouble(1 + 2j)), "l": [np.float32(1.5)]})
    assert out == {"p": 0.25, "ci": (1.0, 1 + 2j), "l": [1.5]}
    assert type(out["p"]) is float and type(out["ci"][1]) is complex
    assert math.isnan(plain(np.longdouble("nan")))


def test_mlflow_json_of_such_values():
    text = json.dumps(
        {"p": np.longdouble("0.25"), "c": np.clongdouble(1 + 2j), "a": np.array([1, 2])}, default=_json_default
    )
    assert json.loads(text) == {"p": 0.25, "c": "np.clongdouble('1+2j')", "a": [1, 2]}


def test_mlflow_json_of_a_value_whose_conversion_or_repr_raises():
    class Odd:
        def tolist(self):
            raise RuntimeError("no tolist")

        def __repr__(self):
            raise RuntimeError("no repr")

    assert json.loads(json.dumps({"o": Odd()}, default=_json_default)) == {"o": "<Odd object: repr() failed>"}
