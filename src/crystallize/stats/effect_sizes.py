"""Effect sizes reported next to the p-values.

These are definitions built on numpy summaries (means, variances with ``ddof=1``) or on
a test statistic computed by scipy; none of them is a statistical test. Every effect
size is signed so that **positive means the treatment is larger than the baseline**.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from crystallize.stats._common import no_variation, on_common_scale

__all__ = [
    "cohens_d",
    "cohens_dz",
    "hedges_correction",
    "hedges_g",
    "matched_pairs_rank_biserial",
    "rank_biserial",
]


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` with 0/0 -> NaN and x/0 -> signed infinity."""
    if denominator > 0:
        return numerator / denominator
    if numerator == 0:
        return math.nan
    return math.copysign(math.inf, numerator)


def _without_spread(kind: str | None, difference: float) -> float | None:
    """The standardised difference of values without spread (``kind`` from
    :func:`~crystallize.stats._common.no_variation`): NaN when they are all equal,
    +/-inf (the sign of ``difference``) when constant but different; ``None`` when they
    vary."""
    if kind is None:
        return None
    return math.nan if kind == "equal" else math.copysign(math.inf, difference)


def cohens_d(baseline: Sequence[float], treatment: Sequence[float]) -> float:
    """Cohen's d: mean difference (treatment - baseline) over the pooled standard deviation.

    The pooled variance weights each condition's sample variance (``ddof=1``) by its
    degrees of freedom.

    Args:
        baseline: the baseline's replicate values.
        treatment: the treatment's replicate values.

    Returns:
        The standardised difference; NaN when there are fewer than 3 values in total or
        both conditions are constant and equal, +/-inf when both are constant but differ
        ("constant" up to float rounding, see
        :func:`~crystallize.stats._common.no_variation`: rounding noise is no spread).
    """
    b, t, _ = on_common_scale(baseline, treatment)  # d is scale-free: no overflow
    df = b.size + t.size - 2
    if b.size < 1 or t.size < 1 or df < 1:
        return math.nan
    degenerate = _without_spread(no_variation(b, t, paired=False), float(t.mean() - b.mean()))
    if degenerate is not None:
        return degenerate
    ss_b = float(b.var(ddof=1)) * (b.size - 1) if b.size > 1 else 0.0
    ss_t = float(t.var(ddof=1)) * (t.size - 1) if t.size > 1 else 0.0
    pooled_sd = math.sqrt((ss_b + ss_t) / df)
    return _ratio(float(t.mean() - b.mean()), pooled_sd)


def hedges_correction(df: int) -> float:
    """The exact small-sample bias correction J(df) = Γ(df/2) / (√(df/2) Γ((df-1)/2)).

    Args:
        df: degrees of freedom of the pooled variance (``n1 + n2 - 2``).

    Returns:
        The factor multiplying Cohen's d, or NaN when ``df < 2`` (undefined there).
    """
    if df < 2:
        return math.nan
    return math.exp(math.lgamma(df / 2) - 0.5 * math.log(df / 2) - math.lgamma((df - 1) / 2))


def hedges_g(baseline: Sequence[float], treatment: Sequence[float]) -> float:
    """Hedges' g: Cohen's d times the exact small-sample correction :func:`hedges_correction`.

    Less biased than d for the small replicate counts typical of experiments.

    Args:
        baseline: the baseline's replicate values.
        treatment: the treatment's replicate values.

    Returns:
        The corrected standardised difference (NaN when fewer than 4 values in total).
    """
    d = cohens_d(baseline, treatment)
    correction = hedges_correction(len(baseline) + len(treatment) - 2)
    if math.isnan(correction) or math.isnan(d):
        return math.nan
    return d * correction


def cohens_dz(baseline: Sequence[float], treatment: Sequence[float]) -> float:
    """Cohen's d_z for paired values: mean of (treatment - baseline) over its SD (``ddof=1``).

    Args:
        baseline: the baseline's replicate values, paired by index with ``treatment``.
        treatment: the treatment's replicate values.

    Returns:
        The standardised mean paired difference (NaN for fewer than 2 pairs or when all
        differences are equal to zero, +/-inf when they are equal but non-zero; "equal" up
        to float rounding, see :func:`~crystallize.stats._common.no_variation`).
    """
    b, t, _ = on_common_scale(baseline, treatment)  # d_z is scale-free: no overflow
    diff = t - b
    if diff.size < 2:
        return math.nan
    degenerate = _without_spread(no_variation(b, t, paired=True), float(diff.mean()))
    if degenerate is not None:
        return degenerate
    return _ratio(float(diff.mean()), float(diff.std(ddof=1)))


def rank_biserial(u_treatment: float, n_baseline: int, n_treatment: int) -> float:
    """Rank-biserial correlation from the Mann–Whitney U of the treatment sample.

    ``r = 2 U / (n1 n2) - 1``, which equals P(T > B) - P(T < B) over all
    (treatment, baseline) pairs, ties counting half. It ranges from -1 (every baseline
    value is larger) to +1 (every treatment value is larger).

    Args:
        u_treatment: U statistic of the treatment sample, as returned by
            ``scipy.stats.mannwhitneyu(treatment, baseline)``.
        n_baseline: number of baseline values.
        n_treatment: number of treatment values.

    Returns:
        The rank-biserial correlation.
    """
    return 2.0 * float(u_treatment) / (n_baseline * n_treatment) - 1.0


def matched_pairs_rank_biserial(r_plus: float, r_minus: float) -> float:
    """Matched-pairs rank-biserial correlation ``(R+ - R-) / (R+ + R-)``.

    ``R+`` and ``R-`` are the Wilcoxon signed-rank sums of the positive and negative
    paired differences (treatment - baseline). Ranges from -1 to +1; 0 when every
    difference is zero.

    Args:
        r_plus: sum of ranks of positive differences.
        r_minus: sum of ranks of negative differences.

    Returns:
        The correlation.
    """
    total = float(r_plus) + float(r_minus)
    if total == 0:
        return 0.0
    return (float(r_plus) - float(r_minus)) / total
