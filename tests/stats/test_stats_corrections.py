"""adjust_p_values against statsmodels' multipletests called directly."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.multitest import multipletests

from crystallize.stats import adjust_p_values

P = [0.001, 0.04, 0.03, 0.2, 0.012, 0.5]


@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh"])
def test_matches_multipletests(method: str) -> None:
    out = adjust_p_values(P, method)
    assert out == pytest.approx(list(multipletests(P, method=method)[1]))
    assert all(type(p) is float for p in out)


def test_empty_and_single() -> None:
    assert adjust_p_values([], "holm") == []
    assert adjust_p_values([0.02], "bonferroni") == pytest.approx([0.02])


def test_nan_stays_nan_and_counts_in_the_family() -> None:
    out = adjust_p_values([0.01, math.nan, 0.02], "bonferroni")
    assert math.isnan(out[1])
    assert out[0] == pytest.approx(0.03)
    assert out[2] == pytest.approx(0.06)


def test_errors() -> None:
    with pytest.raises(ValueError, match="Unknown correction 'sidak'"):
        adjust_p_values([0.1], "sidak")
    with pytest.raises(ValueError, match="outside"):
        adjust_p_values([0.1, 1.5], "holm")
    with pytest.raises(ValueError, match="not a number"):
        adjust_p_values([0.1, "0.2"], "holm")  # type: ignore[list-item]
