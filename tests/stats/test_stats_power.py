"""replicates_needed against statsmodels' TTestIndPower called directly."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import TTestIndPower

from crystallize.stats import replicates_needed


@pytest.mark.parametrize("effect_size", [0.3, 0.5, 0.8, 1.5])
@pytest.mark.parametrize(
    ("alternative", "sm_alternative"),
    [("two-sided", "two-sided"), ("greater", "larger"), ("less", "larger")],
)
def test_matches_statsmodels(effect_size: float, alternative: str, sm_alternative: str) -> None:
    expected = TTestIndPower().solve_power(
        effect_size=effect_size, alpha=0.05, power=0.8, alternative=sm_alternative
    )
    n = replicates_needed(effect_size, alternative=alternative)
    assert n == math.ceil(expected)
    assert isinstance(n, int)


def test_power_and_alpha_are_used() -> None:
    expected = TTestIndPower().solve_power(effect_size=0.5, alpha=0.01, power=0.9)
    assert replicates_needed(0.5, alpha=0.01, power=0.9) == math.ceil(expected)
    assert replicates_needed(0.5, power=0.9) > replicates_needed(0.5, power=0.8)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_huge_effects_need_the_minimum_without_warnings(alternative: str) -> None:
    # statsmodels' root finder returns NaN (and warns) here; power at n=2 already suffices
    for effect_size in (10.0, 20.0, 100.0):
        assert replicates_needed(effect_size, alternative=alternative) == 2


def test_never_increases_with_the_effect_size() -> None:
    needed = [replicates_needed(d) for d in (0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 50.0)]
    assert needed == sorted(needed, reverse=True)


def test_an_unconverged_root_is_not_taken_for_the_answer(monkeypatch) -> None:
    # statsmodels 0.14 returns its last guess (10.0, with a ConvergenceWarning) where
    # newer versions return NaN; the answer must still be the smallest n with the power.
    medium = math.ceil(TTestIndPower().solve_power(effect_size=0.5, alpha=0.05, power=0.8))
    monkeypatch.setattr(TTestIndPower, "solve_power", lambda self, **kwargs: 10.0)
    assert replicates_needed(4.0, alternative="greater") == 2
    assert replicates_needed(0.5) == medium


def test_a_power_statsmodels_cannot_compute_does_not_confirm_a_guess(monkeypatch) -> None:
    # statsmodels 0.14 with scipy 1.15: the root finder gives up at its guess 10 and the
    # power of 9 replicates comes out NaN, which is no evidence that 9 fall short.
    power = TTestIndPower.power
    monkeypatch.setattr(TTestIndPower, "solve_power", lambda self, **kwargs: 10.0)
    monkeypatch.setattr(
        TTestIndPower, "power",
        lambda self, **kwargs: math.nan if kwargs["nobs1"] == 9 else power(self, **kwargs),
    )
    assert replicates_needed(20.0) == 2


@pytest.mark.parametrize("bad", [0, -0.5, math.nan, math.inf, "big"])
def test_bad_effect_size(bad) -> None:
    with pytest.raises(ValueError, match="effect_size"):
        replicates_needed(bad)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("alpha", {"alpha": 0}),
        ("alpha", {"alpha": 1}),
        ("power", {"power": 1.2}),
        ("power", {"power": 0}),
        ("alternative", {"alternative": "larger"}),
    ],
)
def test_bad_parameters(name: str, kwargs: dict) -> None:
    with pytest.raises(ValueError, match=name):
        replicates_needed(0.5, **kwargs)
