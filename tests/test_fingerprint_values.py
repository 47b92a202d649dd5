"""How context values, step parameters and treatment values enter the run fingerprint."""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import uuid
import warnings

import numpy as np
import pandas as pd
import pytest

from crystallize import Experiment, Pipeline, SeedPlugin, data_source, pipeline_step, treatment
from crystallize import fingerprint as fingerprint_module
from crystallize.fingerprint import code_hash, fingerprint, param_digest, spec_differences, spec_of
from crystallize.utils.hashing import content_hash


class Color(enum.Enum):
    RED = 1


class Cfg:  # a plain user object, without __repr__
    def __init__(self, lr):
        self.lr = lr


@data_source
def src(ctx):
    return 1


@pipeline_step()
def use(data, ctx, *, scale=2, table=None, weights=None):
    return data, {"v": data}


def _experiment(initial_ctx=None, treatments=(), **params):
    return Experiment(
        datasource=src(), pipeline=Pipeline([use(**params)]), initial_ctx=initial_ctx or {},
        treatments=list(treatments), plugins=[SeedPlugin(seed=3)], replicates=2, name="values",
    )


def _fp(initial_ctx=None, **params):
    return fingerprint(spec_of(_experiment(initial_ctx, **params)))


PLAIN = {"lr": 0.1, "n": 3, "big": 10**30, "neg": -7, "flag": True, "none": None, "name": "résumé",
         "layers": [64, 32, [1, 2.5]], "pair": (1, "a"), "opts": {"b": {"c": [None, False]}, 1: "one"},
         "text": "x" * 5000, "nums": list(range(500))}
EXACT = {"path": pathlib.PurePosixPath("/data/x.csv"), "when": datetime.date(2024, 1, 2),
         "at": datetime.datetime(2024, 1, 2, 3, 4, 5), "color": Color.RED, "raw": b"\x00ab",
         "z": 1 + 2j, "dec": decimal.Decimal("0.10"), "frac": fractions.Fraction(1, 3), "span": range(3),
         "id": uuid.UUID(int=5), "delta": datetime.timedelta(seconds=3)}


def test_plain_values_keep_the_fingerprint_of_earlier_versions():
    # Digests computed with the previous version: runs it stored stay resumable.
    plain = {key: value for key, value in PLAIN.items() if key not in ("pair", "opts")}
    experiment = _experiment(plain, [treatment("t", {"lr": 0.2, "layers": [8]})], scale=3, table={"k": [1, 2]})
    spec = spec_of(experiment)
    assert fingerprint(spec["initial_ctx"]) == "956591e26777be0a7644382cc7df756f"
    assert fingerprint(spec["treatments"]) == "fe8e1aa455d36b1263c587bfdd037e4d"
    assert fingerprint(spec["steps"][0]["params"]) == "1d8dedd46b25d7e7c4bbb2d4ed7fe24c"


def test_tuples_int_keys_and_exact_reprs_have_pinned_type_exact_forms():
    # Earlier versions wrote these like lists, string keys and strings (their runs are
    # not resumed: a new run starts); the type-exact forms are pinned from here on.
    spec = spec_of(_experiment({**PLAIN, **EXACT}))
    assert fingerprint(spec["initial_ctx"]) == "a67d73e259a3bfab4d62c8e9129533c2"
    assert spec["initial_ctx"]["lr"] == 0.1
    assert spec["initial_ctx"]["path"] == {"__repr__": "PurePosixPath('/data/x.csv')"}
    assert spec["initial_ctx"]["pair"] == {"__tuple__": [1, "a"]}
    assert spec["initial_ctx"]["opts"] == {"__items__": [["b", {"c": [None, False]}], [1, "one"]]}


@pytest.mark.parametrize("where", ["initial_ctx", "params"])
def test_a_change_inside_a_large_array_or_frame_changes_the_fingerprint(where):
    def fp(changed):
        weights = np.zeros(2000)
        table = pd.DataFrame({"x": np.zeros(2000)})
        if changed == "weights":
            weights[1000] = 5.0
        if changed == "table":
            table.loc[1000, "x"] = 5.0
        values = {"weights": weights, "table": table}
        return spec_of(_experiment(values) if where == "initial_ctx" else _experiment(**values))

    base, weights, table = fp(None), fp("weights"), fp("table")
    assert len({fingerprint(base), fingerprint(weights), fingerprint(table)}) == 3
    assert fingerprint(base) == fingerprint(fp(None))
    prefix = "initial_ctx" if where == "initial_ctx" else "steps[0].params"
    assert spec_differences(base, weights) == [f"{prefix}.weights"]
    assert spec_differences(base, table) == [f"{prefix}.table"]
    shown = (base["initial_ctx"] if where == "initial_ctx" else base["steps"][0]["params"])["weights"]
    assert "..." not in shown and "numpy.ndarray" in shown and "(2000,)" in shown and "float64" in shown


def test_resume_after_an_array_changed_computes_afresh():
    def run(value, strategy):
        weights = np.zeros(2000)
        weights[1000] = value

        @pipeline_step()
        def total(data, ctx, *, weights):
            return data, {"total": float(weights.sum())}

        experiment = Experiment(datasource=src(), pipeline=Pipeline([total()]), initial_ctx={"weights": weights},
                                plugins=[SeedPlugin(seed=3)], replicates=2, name="stale")
        return experiment.run(strategy=strategy)

    run(0.0, "rerun")
    resumed = run(5.0, "resume")
    assert resumed.info["resumed"] == 0
    assert resumed.metrics.baseline.metrics["total"] == [5.0, 5.0]


def test_sets_and_plain_objects_are_digested_by_content():
    assert _fp({"labels": {"cat", "dog"}}) == _fp({"labels": {"dog", "cat"}})
    assert _fp({"labels": {"cat", "dog"}}) != _fp({"labels": {"cat", "cow"}})
    assert _fp({"labels": {"cat", "dog"}}) != _fp({"labels": ["cat", "dog"]})
    assert _fp({"cfg": Cfg(0.1)}) == _fp({"cfg": Cfg(0.1)})
    assert _fp({"cfg": Cfg(0.1)}) != _fp({"cfg": Cfg(0.2)})
    assert spec_of(_experiment({"labels": {"cat", "dog"}}))["initial_ctx"]["labels"] == {
        "__set__": "set(str:'cat',str:'dog')"  # still readable
    }


HASH_SEED_SCRIPT = textwrap.dedent(
    """
    import numpy as np, pandas as pd
    from crystallize import Experiment, Pipeline, data_source, pipeline_step
    from crystallize.fingerprint import fingerprint, spec_of

    class Cfg:
        def __init__(self):
            self.lr = 0.1
            self.tags = {"a", "b", "c", "d", "e", "f"}

    @data_source
    def src(ctx):
        return 1

    @pipeline_step()
    def use(data, ctx, *, labels=None):
        return data

    values = {"labels": {"cat", "dog", "bird", "fish", "cow"}, "nested": [frozenset({"x", "y", "z"})],
              "cfg": Cfg(), "weights": np.arange(3000.0),
              "table": pd.DataFrame({"s": ["a", "b"] * 1000, "x": range(2000)}),
              "big_set": {str(i) for i in range(5000)},
              # a dict built from a set: its order follows the hash seed, its content does not
              "by_label": {label: 1.0 for label in {"cat", "dog", "bird", "fish", "cow"}}}
    experiment = Experiment(datasource=src(), pipeline=Pipeline([use(labels={"p", "q", "r"})]), initial_ctx=values)
    print(fingerprint(spec_of(experiment)))
    """
)


def test_fingerprints_do_not_depend_on_the_hash_seed(tmp_path):
    script = tmp_path / "hash_seed_study.py"
    script.write_text(HASH_SEED_SCRIPT)
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def test_large_values_are_digested_not_copied_into_the_spec():
    ids = list(range(3_000_000))
    spec = spec_of(_experiment({"ids": ids, "text": "y" * 1_000_000, "lr": 0.1, "small": [1, 2]}))
    assert len(json.dumps(spec)) < 2000
    assert spec["initial_ctx"]["lr"] == 0.1 and spec["initial_ctx"]["small"] == [1, 2]
    assert spec["initial_ctx"]["ids"].startswith("<list")
    changed = list(ids)
    changed[2_000_000] = -1
    other = spec_of(_experiment({"ids": changed, "text": "y" * 1_000_000, "lr": 0.1, "small": [1, 2]}))
    assert spec_differences(spec, other) == ["initial_ctx.ids"]


def test_huge_ints_are_digested_instead_of_written_out():
    assert _fp({"k": 10**5000}) != _fp({"k": 10**5000 + 1})
    assert _fp({"k": 10**5000}) == _fp({"k": 10**5000})
    experiment = _experiment({"k": 10**5000})
    result = experiment.run()
    assert not result.errors

    namespace: dict = {"K": 10**5000}
    exec("def step(data):\n    return data + K\n", namespace)
    first = code_hash(namespace["step"])
    namespace["K"] += 1
    assert code_hash(namespace["step"]) != first


def test_a_value_that_cannot_be_digested_warns_once_and_is_never_resumed(monkeypatch):
    monkeypatch.setattr(fingerprint_module, "_WARNED", set())
    experiment = _experiment({"lock": threading.Lock()})
    with pytest.warns(UserWarning, match=r"initial_ctx\.lock.*lock") as caught:
        first = fingerprint(spec_of(experiment))
    assert len(caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = fingerprint(spec_of(experiment))  # no second warning
    assert first != second


def test_param_digest_keeps_its_digests():
    for value in ([1, 2, "a"], {"a": (1, 2.5)}, np.arange(10), pd.DataFrame({"x": [1, 2]})):
        assert param_digest(value) == content_hash(value)


class Tags(set):
    pass


def test_a_set_in_the_spec_is_digested_whatever_its_order():
    forward, backward = [str(i) for i in range(100)], [str(i) for i in reversed(range(100))]

    def shown(value):
        return spec_of(_experiment({"value": value}))["initial_ctx"]["value"]

    assert shown([set(forward)]) == shown([set(backward)])
    assert shown(Tags(forward)) == shown(Tags(backward)) != shown(set(forward))
    assert shown(Cfg(frozenset(forward))) == shown(Cfg(frozenset(backward)))
    assert shown({"a"}) != shown(frozenset({"a"})) != shown(("a",))


def test_a_lowered_int_digit_limit_is_respected(monkeypatch):
    """With ``sys.set_int_max_str_digits(1000)``, a 2000-digit context value is digested,
    not turned into decimal text (which would raise ValueError)."""
    import sys

    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(1000)
    try:
        shown = spec_of(_experiment({"big": 10**2000}))["initial_ctx"]["big"]
    finally:
        sys.set_int_max_str_digits(previous)
    assert shown.startswith("<int") and "#" in shown
