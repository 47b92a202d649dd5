"""Treatments in config.yaml: plain context values, or another datasource / steps / pipeline."""

from __future__ import annotations

import pytest

from crystallize import Experiment
from crystallize.exceptions import ConfigError

RESHAPING = """
replicates: 4
datasource: numbers
steps: [add_delta, total]
treatments:
  shifted: {delta: 3.0}
  constant_source:
    datasource: {constant: {value: 2.0, n: 3}}
  scaled:
    steps: {add_delta: {scale: {factor: 0.0}}}
    values: {unused: 1}
  only_total:
    pipeline: [total]
hypotheses:
  - name: differs
    verifier: welch_t_test
    metrics: total
plugins:
  seed: {seed: 5}
"""


def test_reshaping_treatments_run_and_are_compared(make_folder):
    experiment = Experiment.from_yaml(make_folder("demo", RESHAPING))
    by_name = {t.name: t for t in experiment.treatments}
    assert by_name["shifted"].values == {"delta": 3.0} and not by_name["shifted"].reshapes
    assert by_name["constant_source"].datasource is not None
    assert set(by_name["scaled"].steps) == {"add_delta"} and by_name["scaled"].values == {"unused": 1}
    result = experiment.run()
    assert not result.errors
    assert result.metrics.treatments["constant_source"].metrics["total"] == [6.0] * 4
    assert result.metrics.treatments["scaled"].metrics["total"] == [0.0] * 4
    assert result.metrics.treatments["only_total"].metrics["total"] == result.metrics.baseline.metrics["total"]
    assert set(result.get_hypothesis("differs").results) == {"shifted", "constant_source", "scaled", "only_total"}


def test_swapping_an_unknown_step_is_a_clear_error(make_folder):
    config = RESHAPING.replace("steps: {add_delta: {scale: {factor: 0.0}}}", "steps: {add_delt: scale}")
    with pytest.raises(ConfigError, match="swaps step 'add_delt'.*did you mean 'add_delta'"):
        Experiment.from_yaml(make_folder("demo", config))


def test_unknown_treatment_datasource_is_a_clear_error(make_folder):
    config = RESHAPING.replace("datasource: {constant: {value: 2.0, n: 3}}", "datasource: constnt")
    with pytest.raises(ConfigError, match="no datasource named 'constnt'"):
        Experiment.from_yaml(make_folder("demo", config))


def test_steps_and_pipeline_together_is_an_error(make_folder):
    config = RESHAPING.replace("    pipeline: [total]", "    pipeline: [total]\n    steps: {total: total}")
    with pytest.raises(ConfigError, match="either steps"):
        Experiment.from_yaml(make_folder("demo", config))


CONTEXT_STEPS = '''
from crystallize import pipeline_step


@pipeline_step()
def total(data, ctx):
    keys = ("steps", "values", "lr")
    return data, {"total": sum(data), **{k: ctx[k] for k in keys if k in ctx}}
'''


def _values(make_folder, treatments: str) -> dict:
    config = f"datasource: numbers\nsteps: [total]\ntreatments:\n{treatments}"
    experiment = Experiment.from_yaml(make_folder("demo", config, steps=CONTEXT_STEPS))
    (treatment,) = experiment.treatments
    return treatment


@pytest.mark.parametrize(
    ("written", "values"),
    [
        ("{steps: 1000}", {"steps": 1000}),
        ("{values: 3}", {"values": 3}),
        ("{steps: 1000, lr: 0.1}", {"steps": 1000, "lr": 0.1}),
        ("{pipeline: 5, datasource: 2}", {"pipeline": 5, "datasource": 2}),
    ],
)
def test_part_names_with_other_shapes_are_context_values(make_folder, written, values):
    treatment = _values(make_folder, f"  t: {written}\n")
    assert treatment.values == values and not treatment.reshapes


def test_a_context_value_named_like_a_part_reaches_the_steps(make_folder):
    config = "datasource: numbers\nsteps: [total]\ntreatments:\n  long: {steps: 1000}\n"
    result = Experiment.from_yaml(make_folder("demo", config, steps=CONTEXT_STEPS)).run()
    assert not result.errors
    assert result.metrics.treatments["long"].metrics["steps"] == [1000]


def test_values_sets_context_keys_named_like_parts(make_folder):
    treatment = _values(make_folder, "  t: {values: {steps: {a: 1}, pipeline: [x]}}\n")
    assert treatment.values == {"steps": {"a": 1}, "pipeline": ["x"]} and not treatment.reshapes


def test_null_values_beside_a_reshaping_part(make_folder):
    treatment = _values(make_folder, "  t: {values: null, datasource: constant}\n")
    assert treatment.values == {} and treatment.datasource is not None


@pytest.mark.parametrize(
    ("written", "named"),
    [
        ("{steps: {total: total}, valeus: {factor: 2}}", "'valeus' (did you mean 'values'?)"),
        ("{pipeline: [total], lr: 0.1}", "'lr' is no part"),
        ("{values: {lr: 1}, datasrc: numbers}", "'datasrc' (did you mean 'datasource'?)"),
    ],
)
def test_a_part_in_its_shape_beside_an_unknown_key_is_refused(make_folder, written, named):
    """Read as context values, such a treatment would silently run like the baseline."""
    folder = make_folder("demo", f"datasource: numbers\nsteps: [total]\ntreatments:\n  t: {written}\n")
    with pytest.raises(ConfigError) as raised:
        Experiment.from_yaml(folder)
    message = str(raised.value)
    assert "treatments.t" in message and named in message and "put context values under values:" in message
    assert "(line 4)" in message
