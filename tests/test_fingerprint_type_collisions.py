"""Values a step can tell apart must give different run fingerprints.

A run is resumed when its fingerprint matches, so two values with one fingerprint make
``strategy="resume"`` return results computed with the other value: ``{1: 5.0}`` and
``{"1": 5.0}``, ``[1, 2]`` and ``(1, 2)``, a set or a path and a string spelling it.
Plain JSON values (what a YAML config holds) keep the spec and fingerprint they had.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import hashlib
import json
import math
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from crystallize import (
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    resource_factory,
    treatment,
)
from crystallize.fingerprint import code_hash, fingerprint, spec_differences, spec_of
from crystallize.store import open_store
from crystallize.store.serialize import dumps, loads


class Color(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    LOW = 1


class Mode(enum.StrEnum):
    FAST = "fast"


Point = collections.namedtuple("Point", "x y")


def scale(x):
    return 2 * x


def make_resource(ctx):
    return object()


@data_source
def src(ctx):
    return 0


@pipeline_step()
def step(data, ctx, *, val=None, fixed=None):
    return data


def _experiment(where, value):
    common = dict(datasource=src(), plugins=[SeedPlugin(seed=1)], replicates=1, name="collide")
    if where == "treatment":
        return Experiment(pipeline=Pipeline([step()]), initial_ctx={"val": 0},
                          treatments=[treatment("t", {"val": value})], **common)
    if where == "initial_ctx":
        return Experiment(pipeline=Pipeline([step()]), initial_ctx={"val": value}, **common)
    return Experiment(pipeline=Pipeline([step(fixed=value)]), **common)


def _fp(where, value):
    return fingerprint(spec_of(_experiment(where, value)))


def _shown(value):
    """How ``value`` is written in the spec (as stored: JSON)."""
    return json.loads(json.dumps(spec_of(_experiment("initial_ctx", value))["initial_ctx"]["val"]))


ARRAY = np.zeros(2000)
BIG_LIST = [0.5] * 20000
HUGE_INT = 10**5000

#: Pairs of values a step tells apart that earlier versions wrote alike in the spec.
PAIRS = [
    ({1: 5.0}, {"1": 5.0}),
    ({False: None}, {"False": None}),
    ({None: 1}, {"None": 1}),
    ({1.5: "a"}, {"1.5": "a"}),
    ({1: "a"}, {1.0: "a"}),
    ({(1, 2): "a"}, {"(1, 2)": "a"}),
    ([], ()),
    ([1, 2], (1, 2)),
    ({"k": (0.1, 0.2)}, {"k": [0.1, 0.2]}),
    (Point(1, 2), (1, 2)),
    (collections.OrderedDict(a=1), {"a": 1}),
    (collections.defaultdict(int), {}),
    ({"a", "b"}, "set(str:'a',str:'b')"),
    (frozenset({"a"}), "frozenset(str:'a')"),
    (b"ab", "b'ab'"),
    (decimal.Decimal("0.1"), "Decimal('0.1')"),
    (pathlib.PurePosixPath("/x"), "PurePosixPath('/x')"),
    (datetime.date(2024, 1, 2), "datetime.date(2024, 1, 2)"),
    (Color.RED, "<Color.RED: 1>"),
    (Level.LOW, 1),
    (Mode.FAST, "fast"),
    (np.float32(0.5), "np.float32(0.5)"),
    (np.int64(3), 3),
    (scale, {"callable": "scale", "code": code_hash(scale)}),
]


@pytest.mark.parametrize("where", ["treatment", "initial_ctx", "step param"])
@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a!r}-vs-{b!r}"[:60] for a, b in PAIRS])
def test_values_a_step_tells_apart_have_different_fingerprints(where, a, b):
    assert _fp(where, a) != _fp(where, b)


@pytest.mark.parametrize("where", ["treatment", "initial_ctx", "step param"])
def test_a_digested_value_and_a_string_spelling_its_digest_differ(where):
    for value in (ARRAY, BIG_LIST, HUGE_INT, "z" * 20000):
        text = _shown(value)
        text = text if isinstance(text, str) else json.dumps(text)
        assert text.startswith("<") and "#" in text  # the digest form
        assert _fp(where, value) != _fp(where, text)


#: Values that are not plain JSON data (or are, but look like a non-plain value's form).
NOT_PLAIN = [
    (1, 2), [(1, 2)], {1: 5.0}, {"a": {2: "b"}}, {"a", "b"}, frozenset({1, 2}), b"ab",
    decimal.Decimal("0.1"), pathlib.PurePosixPath("/x"), Color.RED, Level.LOW, Mode.FAST,
    np.float32(0.5), Point(1, 2), scale, resource_factory(make_resource), ARRAY, BIG_LIST, HUGE_INT,
    {"__tuple__": [1, 2]}, {"__items__": [[1, 5.0]]}, {"callable": "scale", "code": code_hash(scale)},
]


@pytest.mark.parametrize("value", NOT_PLAIN, ids=[f"{i}-{type(v).__name__}" for i, v in enumerate(NOT_PLAIN)])
def test_no_value_has_the_fingerprint_of_the_plain_data_its_spec_shows(value):
    """Whatever form a value takes in the spec, the plain JSON data of that very form
    (a user could write it in a YAML config) has another fingerprint."""
    shown = _shown(value)
    assert _fp("initial_ctx", value) != _fp("initial_ctx", shown)


def test_non_string_keys_and_tuples_stay_readable_in_the_spec():
    assert "5.0" in json.dumps(_shown({1: 5.0})) and "0.2" in json.dumps(_shown((0.1, 0.2)))
    assert "PurePosixPath('/x')" in json.dumps(_shown(pathlib.PurePosixPath("/x")))
    assert "'cat'" in json.dumps(_shown({"cat", "dog"}))


def test_a_change_inside_a_tuple_or_a_dict_with_int_keys_is_named():
    def spec(value):
        return spec_of(_experiment("initial_ctx", value))

    assert spec_differences(spec((1, 2)), spec((1, 3))) == ["initial_ctx.val[1]"]
    assert spec_differences(spec({1: 5.0, 2: 1.0}), spec({1: 5.0, 2: 2.0})) == ["initial_ctx.val[2]"]
    assert spec_differences(spec({1: 5.0}), spec({"1": 5.0})) == ["initial_ctx.val"]
    assert spec_differences(spec((1, 2)), spec([1, 2])) == ["initial_ctx.val"]
    assert spec_differences(spec(pathlib.PurePosixPath("/a")), spec(pathlib.PurePosixPath("/b"))) == [
        "initial_ctx.val"
    ]
    # a code digest inside a tuple is still named as one (the resume message tells code edits apart)
    assert spec_differences(spec(("f", scale)), spec(("f", make_resource)))[0].startswith("initial_ctx.val[1]")


#: Plain JSON data of every kind: its spec parts keep the fingerprints earlier versions
#: gave them (computed before the type-exact forms), so its runs stay resumable.
PLAIN = {
    "lr": 0.1, "n": 3, "big": 10**30, "neg": -7, "flag": True, "off": False, "none": None, "name": "résumé",
    "inf": math.inf, "layers": [64, 32, [1, 2.5, None]], "empty_list": [], "empty_dict": {},
    "nested": {"b": {"c": [None, False, {"d": "e"}]}, "1": "one", "None": 0, "a.b": [1]},
    "look_alikes": ["set(str:'a',str:'b')", "PosixPath('/x')", "b'ab'", "<Color.RED: 1>", "<list of 3>",
                    "(1, 2)", "[1, 2]"],
    "near_shapes": {"callable": "f", "name": "g"}, "near_tags": {"__tuple": [1], "tuple": [1, 2], "_items_": 1},
    "text": "x" * 5000, "nums": list(range(500)),
    "huge_list": [0.5] * 20000, "huge_text": "y" * 20000, "huge_dict": {str(i): i for i in range(5000)},
}


def test_plain_json_data_keeps_its_fingerprint():
    experiment = Experiment(
        datasource=src(), pipeline=Pipeline([step(fixed={"k": [1, 2], "x": [0.1, {"y": "z"}]})]),
        initial_ctx=PLAIN, treatments=[treatment("t", {"lr": 0.2, "layers": [8], "nested": {"q": [1, {"r": None}]}})],
        plugins=[SeedPlugin(seed=3)], replicates=2, name="pins",
    )
    spec = spec_of(experiment)
    assert fingerprint(spec["initial_ctx"]) == "058d5d8b8ff099b2473b533090c3c533"
    assert fingerprint(spec["treatments"]) == "a1938351159c5d7433ce2a2d78f01e4d"
    assert fingerprint(spec["steps"][0]["params"]) == "8b7ce68bcf2e626df1eb1d590f0c51b7"
    assert fingerprint({"s": spec["seed"]}) == "5777af34a4ebf6312f76030040a6edbd"
    assert spec["initial_ctx"]["huge_list"] == "<list of 20000 #b3857d1c8d4dfad88c41682a719f3596>"
    assert spec["initial_ctx"]["nested"] == PLAIN["nested"]


# -- end to end: resume ---------------------------------------------------------------------------


@pipeline_step()
def score(data, ctx, *, weights=None):
    return data, {"w1": weights.get(1, -1.0)}


def _weighted(weights):
    return Experiment(datasource=src(), pipeline=Pipeline([score()]), initial_ctx={"weights": {}},
                      treatments=[treatment("w", {"weights": weights})], replicates=3, name="twin")


def test_resume_after_an_int_key_became_a_string_key_computes_afresh(caplog):
    first = _weighted({1: 5.0}).run()
    assert first.metrics.treatments["w"].metrics["w1"] == [5.0, 5.0, 5.0]
    caplog.set_level("INFO", logger="crystallize")
    resumed = _weighted({"1": 5.0}).run(strategy="resume")
    assert resumed.run_id != first.run_id and resumed.info["resumed"] == 0
    assert resumed.metrics.treatments["w"].metrics["w1"] == [-1.0, -1.0, -1.0]  # the step saw the str key
    [message] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Not resuming")]
    assert "the experiment changed since (treatments.w.weights)" in message


def test_resume_with_the_same_int_keys_still_resumes():
    first = _weighted({1: 5.0, 2: 1.0}).run()
    resumed = _weighted({2: 1.0, 1: 5.0}).run(strategy="resume")  # another order, the same dict
    assert resumed.run_id == first.run_id and resumed.info["computed"] == 0


def _store_as_an_earlier_version(run_id, value):
    """Rewrite a stored run as versions without type-exact forms stored it: ``value``
    (the run's ``val``) written as they wrote it, and their fingerprint of that spec."""
    with open_store("data") as store, store.transaction(write=True) as conn:
        spec = loads(conn.execute("SELECT spec FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0])
        spec["initial_ctx"]["val"] = value
        text = json.dumps({k: v for k, v in spec.items() if k != "code_digests"}, sort_keys=True, default=repr)
        digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        conn.execute("UPDATE runs SET spec = ?, fingerprint = ? WHERE run_id = ?", (dumps(spec), digest, run_id))


@pytest.mark.parametrize(("value", "old_form"), [((1, 2), [1, 2]), ({1: 5.0}, {"1": 5.0}), ({"a"}, "set(str:'a')")])
def test_a_run_stored_with_the_old_form_of_a_value_is_not_resumed_but_replaced(caplog, value, old_form):
    first = _experiment("initial_ctx", value).run()
    _store_as_an_earlier_version(first.run_id, old_form)
    caplog.set_level("INFO", logger="crystallize")
    result = _experiment("initial_ctx", value).run(strategy="resume")
    assert result.run_id != first.run_id and result.info["resumed"] == 0 and not result.errors
    [message] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Not resuming")]
    assert message == (f"Not resuming run {first.run_id} of 'collide': the experiment changed since "
                       "(initial_ctx.val); starting a new run")


def test_a_run_stored_with_plain_values_by_an_earlier_version_is_resumed():
    first = _experiment("initial_ctx", {"a": [1, 2], "b": None}).run()
    _store_as_an_earlier_version(first.run_id, {"a": [1, 2], "b": None})
    result = _experiment("initial_ctx", {"a": [1, 2], "b": None}).run(strategy="resume")
    assert result.run_id == first.run_id


# -- stable across processes ----------------------------------------------------------------------

HASH_SEED_SCRIPT = textwrap.dedent(
    """
    from crystallize import Experiment, Pipeline, data_source, pipeline_step
    from crystallize.fingerprint import fingerprint, spec_of

    @data_source
    def src(ctx):
        return 1

    @pipeline_step()
    def use(data, ctx, *, table=None):
        return data

    keys = {("a", 1): 1, frozenset({"x", "y", "z"}): 2, "s": 3, 1: 4, None: 5, 2.5: 6, ("b",): {"q", "r"}}
    values = {"keys": keys, "pair": ("p", frozenset({"m", "n", "o"})), "tags": {"k", "l", "j"}}
    experiment = Experiment(datasource=src(), pipeline=Pipeline([use(table={3: ("u", "v")})]), initial_ctx=values)
    print(fingerprint(spec_of(experiment)))
    """
)


def test_type_exact_forms_do_not_depend_on_the_hash_seed(tmp_path):
    script = tmp_path / "hash_seed_forms.py"
    script.write_text(HASH_SEED_SCRIPT)
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def test_a_large_dict_with_int_keys_is_digested():
    big = {i: float(i) for i in range(50_000)}
    shown = _shown(big)
    assert isinstance(shown, str) and shown.startswith("<dict of 50000 #")
    changed = dict(big)
    changed[49_999] = 0.0
    assert _fp("initial_ctx", big) != _fp("initial_ctx", changed)
    assert _fp("initial_ctx", big) != _fp("initial_ctx", {str(k): v for k, v in big.items()})
