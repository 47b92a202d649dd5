"""copy.copy / copy.deepcopy of hypotheses, verifiers and experiments whose ranker or
verifier is defined inside a function (code review: copying went through the
pickle-by-reference ``__reduce__`` and raised PicklingError, "worker processes need it
defined at module scope", although nothing is sent to a worker)."""

from __future__ import annotations

import copy
import pickle

import pytest

from crystallize import (
    ArtifactPlugin,
    Experiment,
    Hypothesis,
    Pipeline,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
    verifier,
)
from crystallize.hypothesis import Verifier

SAMPLES = ({"m": [1.0, 2.0, 3.0]}, {"m": [2.0, 3.0, 5.0]})


@data_source
def source(ctx):
    return 1.0


@pipeline_step()
def step(data, ctx, *, delta=0.0):
    return data, {"m": data + delta + ctx["replicate"]}


def local_hypothesis() -> Hypothesis:
    """A hypothesis built where the experiment is built: ranker and verifier are local."""

    @verifier
    def gain(baseline, treatment, *, scale=1.0):
        gained = (sum(treatment["m"]) - sum(baseline["m"])) * scale
        return {"gain": gained, "p_value": 0.5 / (1 + abs(gained))}

    @hypothesis(verifier=gain(scale=2.0), metrics="m", name="better")
    def better(result):
        return result["p_value"]

    return better


def _as_dict(h: Hypothesis) -> dict:
    return {"name": h.name, "metrics": h.metrics, "correction": h.correction,
            "verifier": repr(h.verifier), "verifier_fn": h.verifier.fn, "ranker": h.ranker}


def test_a_shallow_copy_of_a_hypothesis_with_a_local_ranker_shares_its_parts():
    original = local_hypothesis()
    clone = copy.copy(original)
    assert type(clone) is Hypothesis and clone is not original
    assert _as_dict(clone) == _as_dict(original)
    assert clone.ranker is original.ranker and clone.metrics is original.metrics
    assert clone.verify(*SAMPLES[:1], {"t": SAMPLES[1]}) == original.verify(SAMPLES[0], {"t": SAMPLES[1]})


def test_a_deep_copy_of_a_hypothesis_with_a_local_ranker_is_independent():
    original = local_hypothesis()
    clone = copy.deepcopy(original)
    assert _as_dict(clone) == _as_dict(original)
    assert clone.ranker is original.ranker  # functions are shared, as deepcopy does
    assert clone.verifier is not original.verifier and clone.verifier.fn is original.verifier.fn
    clone.metrics.append("other")
    clone.verifier.params["scale"] = 3.0
    assert original.metrics == ["m"] and original.verifier.params == {"scale": 2.0}
    result = copy.deepcopy(original).verify(SAMPLES[0], {"t": SAMPLES[1]})
    assert result == original.verify(SAMPLES[0], {"t": SAMPLES[1]})
    assert result.results["t"]["gain"] == 8.0


def test_a_verifier_defined_in_a_function_copies():
    check = local_hypothesis().verifier
    for clone in (copy.copy(check), copy.deepcopy(check)):
        assert isinstance(clone, Verifier) and clone is not check
        assert clone.fn is check.fn and clone.params == check.params
        assert clone.params is not check.params
        assert clone(*SAMPLES) == check(*SAMPLES)


def test_a_deep_copy_keeps_objects_shared_within_the_hypothesis_shared():
    original = local_hypothesis()
    pair = copy.deepcopy([original, original.verifier])
    assert pair[0].verifier is pair[1]  # deepcopy's memo: one copy per object


def test_an_experiment_with_a_local_hypothesis_deep_copies_and_runs(tmp_path):
    experiment = Experiment(
        datasource=source(),
        pipeline=Pipeline([step()]),
        treatments=[treatment("up", {"delta": 1.0})],
        hypotheses=[local_hypothesis()],
        plugins=[ArtifactPlugin(root_dir=str(tmp_path / "data"))],
        replicates=3,
        name="local_copy",
    )
    clone = copy.deepcopy(experiment)
    assert clone.hypotheses[0] is not experiment.hypotheses[0]
    assert clone.hypotheses[0].ranker is experiment.hypotheses[0].ranker
    result = clone.run()
    assert result.get_hypothesis("better").results["up"]["gain"] == 6.0
    assert copy.copy(experiment).hypotheses == experiment.hypotheses


def test_pickling_a_local_ranker_still_says_to_move_it_to_module_scope():
    with pytest.raises(pickle.PicklingError, match="module scope"):
        pickle.dumps(local_hypothesis())
