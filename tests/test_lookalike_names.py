"""Names that differ but look the same (surrounding whitespace, Unicode normal forms)
would show as identical rows in every table: they are refused."""

from __future__ import annotations

import pytest

from crystallize import Experiment, SeedPlugin, data_source, pipeline_step, treatment
from crystallize.exceptions import ExperimentValidationError

CAFE_NFC = "caf\u00e9"
CAFE_NFD = "cafe\u0301"


@data_source
def source(ctx):
    return 1


@pipeline_step()
def bump(data, *, delta=0):
    return data, {"value": data + delta}


def _experiment(*treatments, name="names") -> Experiment:
    return Experiment(
        datasource=source(), pipeline=[bump()], treatments=list(treatments), plugins=[SeedPlugin(seed=1)], name=name
    )


def _problem(experiment: Experiment) -> str:
    with pytest.raises(ExperimentValidationError) as caught:
        experiment.validate()
    return str(caught.value)


def test_names_equal_after_nfc_normalisation_clash():
    message = _problem(_experiment(treatment(CAFE_NFC, {"delta": 1}), treatment(CAFE_NFD, {"delta": 2})))
    assert "look the same" in message
    assert r"'caf\xe9'" in message and r"'cafe\u0301'" in message  # both, told apart
    assert "rename one" in message


def test_a_name_in_either_normal_form_alone_is_fine():
    for name in (CAFE_NFC, CAFE_NFD):
        result = _experiment(treatment(name, {"delta": 1})).run()
        assert list(result.metrics.treatments) == [name]


def test_lookalikes_differing_also_by_case_are_refused_once():
    message = _problem(_experiment(treatment(CAFE_NFC, {"delta": 1}), treatment("CAFE\u0301", {"delta": 2})))
    assert message.count("rename one") == 1


@pytest.mark.parametrize("name", ["a ", " a", "a\u00a0", "\u3000a"])
def test_treatment_names_with_surrounding_whitespace_are_refused(name):
    experiment = _experiment(treatment(name, {"delta": 1}))
    message = _problem(experiment)
    assert f"treatment name {name!r} starts or ends with whitespace" in message
    assert "write 'a'" in message
    with pytest.raises(ExperimentValidationError):
        experiment.run()


def test_whitespace_inside_a_treatment_name_is_fine():
    result = _experiment(treatment("lr 0.1", {"delta": 1})).run()
    assert list(result.metrics.treatments) == ["lr 0.1"]


@pytest.mark.parametrize("name", ["grid ", " grid"])
def test_experiment_names_with_surrounding_whitespace_are_refused(name):
    message = _problem(_experiment(treatment("a", {"delta": 1}), name=name))
    assert "starts or ends with whitespace" in message
    assert "'grid'" in message


def test_treatments_differing_by_surrounding_whitespace_clash():
    message = _problem(_experiment(treatment("a", {"delta": 1}), treatment("a ", {"delta": 2})))
    assert "treatment names 'a' and 'a ' look the same" in message
