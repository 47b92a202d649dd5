"""Rank and permutation tests: Mann–Whitney U, Wilcoxon signed-rank, permutation test.

They make no normality assumption. The ``ci`` of Mann–Whitney and Wilcoxon is a seeded
percentile bootstrap interval of the difference in means (of the mean paired difference
for Wilcoxon; scipy has no rank-based interval), so they take ``seed`` and
``n_resamples`` too; the permutation test's ``ci`` is Welch's t-interval of the
difference in means (its ``seed`` and ``n_resamples`` drive the relabellings).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

from crystallize.stats._arguments import (
    builtin_verifier,
    check_alpha,
    check_alternative,
    check_choice,
    check_n_resamples,
    check_seed,
)
from crystallize.stats._common import (
    Samples,
    base_result,
    collect_warnings,
    finish,
    on_common_scale,
    paired_values,
    per_metric,
    rounding_ties,
    two_samples,
)
from crystallize.stats.effect_sizes import (
    hedges_g,
    matched_pairs_rank_biserial,
    rank_biserial,
)
from crystallize.stats.parametric import welch_difference_ci
from crystallize.stats.resampling import (
    bootstrap_difference_ci,
    permutation_p_value,
    small_sample_ci_note,
)

__all__ = ["mann_whitney", "permutation_test", "wilcoxon"]

_MWU_METHODS = ("auto", "exact", "asymptotic")
_ZERO_METHODS = ("wilcox", "pratt", "zsplit")
_check_method = functools.partial(check_choice, argument="method", choices=_MWU_METHODS)
_check_zero_method = functools.partial(check_choice, argument="zero_method", choices=_ZERO_METHODS)
_BOOTSTRAP_CI = "difference in means (percentile bootstrap)"
#: Below this many values per condition, a percentile-bootstrap interval is flagged: by
#: simulation a nominal 95% one covered 73-79% at 3 values, 83-87% at 4-5 and about 90%
#: at 10 (mann_whitney and wilcoxon on normal data, 270-600 runs per size).
SMALL_SAMPLE_CI = 10


def _small_sample_ci_note(n: int, ci: tuple[float, float]) -> list[str]:
    """A warning for a percentile-bootstrap ``ci`` computed from ``n`` values (per
    condition or pair) when ``n`` is small enough for it to be too narrow; none when no
    interval was computed (``ci`` is ``(nan, nan)``, as with a single value)."""
    return small_sample_ci_note(
        n,
        ci=ci,
        interval="percentile-bootstrap",
        below=SMALL_SAMPLE_CI,
        coverage="by simulation a nominal 95% one covered 73-79% at 3 values and 83-87% at 4-5",
        instead="Use welch_t_test's or paired_t_test's interval for the difference in means.",
    )


@builtin_verifier(method=_check_method)
def mann_whitney(
    baseline: Samples,
    treatment: Samples,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    metric: str | None = None,
    method: str = "auto",
    n_resamples: int = 9999,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Mann–Whitney U test: do treatment values tend to be larger (or smaller)?

    ``scipy.stats.mannwhitneyu(treatment, baseline)``. Compares ranks, so it is robust
    to outliers and skew and needs no normality; it tests whether a random treatment
    value exceeds a random baseline value more often than not, not whether the means
    differ. Pick it for heavy-tailed or ordinal metrics with independent replicates.

    Args:
        baseline: ``{metric: [values]}`` of the baseline condition.
        treatment: ``{metric: [values]}`` of the treatment condition.
        alpha: significance level; also sets the CI's confidence to ``1 - alpha``.
        alternative: ``"two-sided"``, ``"greater"`` (treatment tends to be larger) or
            ``"less"``.
        metric: the metric to test; ``None`` tests every metric in the samples.
        method: scipy's p-value method: ``"auto"`` (exact for small samples without
            ties), ``"exact"`` or ``"asymptotic"``.
        n_resamples: bootstrap resamples for ``ci``.
        seed: seed of the bootstrap for ``ci``.

    Returns:
        The common result keys (see :mod:`crystallize.stats`) with ``effect_size_name``
        ``"rank_biserial"`` (``2U/(n_baseline n_treatment) - 1`` where U is the
        treatment's U; positive means treatment values tend to be larger), ``statistic``
        (that U) and ``ci`` a percentile-bootstrap CI of the difference in means (NaN
        ends if a condition has a single value). Several metrics give
        ``{metric: result}``.

    Raises:
        InsufficientSamplesError: a condition has no values.
        VerificationError: NaN values.
        VerifierArgumentError: an invalid parameter value, raised as soon as the
            verifier is built (``TypeError`` for an unknown parameter name).
    """
    test = "mann_whitney"
    alpha = check_alpha(alpha, test)
    alternative = check_alternative(alternative, test)
    n_resamples = check_n_resamples(n_resamples, test)
    seed = check_seed(seed, test)
    method = _check_method(method, test)

    def compute(name: str, raw_b: Sequence[Any], raw_t: Sequence[Any]) -> dict[str, Any]:
        from scipy.stats import mannwhitneyu

        b, t = two_samples(raw_b, raw_t, test=test, metric=name, minimum=1)
        ranked_b, ranked_t, tied = rounding_ties(b, t, paired=False, test=test)
        with collect_warnings() as notes:
            res = mannwhitneyu(ranked_t, ranked_b, alternative=alternative, method=method)
            ci = bootstrap_difference_ci(
                b, t, confidence_level=1 - alpha, n_resamples=n_resamples, seed=seed
            )
        result = base_result(
            test=test,
            metric=name,
            alpha=alpha,
            alternative=alternative,
            baseline=b,
            treatment=t,
        )
        result.update(
            statistic=float(res.statistic),
            effect_size=rank_biserial(float(res.statistic), b.size, t.size),
            effect_size_name="rank_biserial",
            ci=ci,
            ci_of=_BOOTSTRAP_CI,
            ci_level=1 - alpha,
            method=method,
            n_resamples=n_resamples,
            seed=seed,
        )
        notes += tied + _small_sample_ci_note(min(b.size, t.size), ci)
        return finish(result, _all_tied_p_value(res.pvalue, ranked_b, ranked_t), alpha, notes)

    return per_metric(
        test=test, baseline=baseline, treatment=treatment, metric=metric, compute=compute
    )


def _all_tied_p_value(p_value: float, baseline: Any, treatment: Any) -> float:
    """``p_value``, or 1 when it is NaN because every value of both conditions is one and
    the same: scipy 1.18's normal approximation leaves that case undefined, where its exact
    distribution (and earlier scipy) gives 1, as nothing tells the conditions apart."""
    import numpy as np

    if math.isnan(p_value) and np.unique(np.concatenate([baseline, treatment])).size == 1:
        return 1.0
    return float(p_value)


def _signed_rank_differences(baseline: Any, treatment: Any) -> Any:
    """``treatment - baseline``, what scipy's signed-rank test ranks; halved when that
    overflows (values of opposite signs near the largest float), which keeps every sign,
    zero and order without the infinities that would tie distinct differences."""
    import numpy as np

    with np.errstate(over="ignore"):
        diff = treatment - baseline
    if np.isfinite(diff).all():
        return diff
    return treatment * 0.5 - baseline * 0.5


@builtin_verifier(zero_method=_check_zero_method)
def wilcoxon(
    baseline: Samples,
    treatment: Samples,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    metric: str | None = None,
    zero_method: str = "wilcox",
    n_resamples: int = 9999,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Wilcoxon signed-rank test on the paired differences (treatment - baseline).

    ``scipy.stats.wilcoxon(treatment, baseline)``. The rank-based counterpart of
    :func:`~crystallize.stats.paired_t_test`, pairing values the same way (by
    replicate in a run); assumes the differences are symmetric around their median, not
    normal.

    Args:
        baseline: ``{metric: [values]}`` of the baseline condition.
        treatment: ``{metric: [values]}`` of the treatment, same length as the baseline.
        alpha: significance level; also sets the CI's confidence to ``1 - alpha``.
        alternative: ``"two-sided"``, ``"greater"`` (differences tend to be positive) or
            ``"less"``.
        metric: the metric to test; ``None`` tests every metric in the samples.
        zero_method: how scipy treats zero differences: ``"wilcox"`` (drop them),
            ``"pratt"`` or ``"zsplit"``.
        n_resamples: bootstrap resamples for ``ci``.
        seed: seed of the bootstrap for ``ci``.

    Returns:
        The common result keys (see :mod:`crystallize.stats`) with ``effect_size_name``
        ``"rank_biserial"`` (matched pairs: ``(R+ - R-)/(R+ + R-)`` from scipy's signed
        rank sums; positive means the treatment tends to be larger), ``statistic``
        (scipy's statistic for the chosen alternative), ``r_plus``, ``r_minus``,
        ``n_pairs`` and ``ci`` a percentile-bootstrap CI of the mean paired difference.
        Several metrics give ``{metric: result}``.

    Raises:
        InsufficientSamplesError: fewer than 2 pairs.
        VerificationError: unequal lengths or NaN values.
        VerifierArgumentError: an invalid parameter value, raised as soon as the
            verifier is built (``TypeError`` for an unknown parameter name).
    """
    test = "wilcoxon"
    alpha = check_alpha(alpha, test)
    alternative = check_alternative(alternative, test)
    n_resamples = check_n_resamples(n_resamples, test)
    seed = check_seed(seed, test)
    zero_method = _check_zero_method(zero_method, test)

    def compute(name: str, raw_b: Sequence[Any], raw_t: Sequence[Any]) -> dict[str, Any]:
        from scipy.stats import wilcoxon as scipy_wilcoxon

        b, t, pairing = paired_values(name, baseline, treatment, test=test)
        ranked_b, ranked_t, tied = rounding_ties(b, t, paired=True, test=test)
        diff = _signed_rank_differences(ranked_b, ranked_t)
        with collect_warnings() as notes:
            res = scipy_wilcoxon(diff, zero_method=zero_method, alternative=alternative)
            # For a one-sided "greater" test scipy's statistic is the rank sum of the
            # positive differences; on the negated differences it is that of the negatives.
            r_plus = float(
                scipy_wilcoxon(diff, zero_method=zero_method, alternative="greater").statistic
            )
            r_minus = float(
                scipy_wilcoxon(-diff, zero_method=zero_method, alternative="greater").statistic
            )
            ci = bootstrap_difference_ci(
                b,
                t,
                confidence_level=1 - alpha,
                n_resamples=n_resamples,
                seed=seed,
                paired=True,
            )
        result = base_result(
            test=test,
            metric=name,
            alpha=alpha,
            alternative=alternative,
            baseline=b,
            treatment=t,
        )
        result.update(
            statistic=float(res.statistic),
            r_plus=r_plus,
            r_minus=r_minus,
            n_pairs=int(b.size),
            effect_size=matched_pairs_rank_biserial(r_plus, r_minus),
            effect_size_name="rank_biserial",
            ci=ci,
            ci_of="mean paired difference (percentile bootstrap)",
            ci_level=1 - alpha,
            zero_method=zero_method,
            n_resamples=n_resamples,
            seed=seed,
        )
        notes += tied + _small_sample_ci_note(min(b.size, t.size), ci)
        return finish(result, res.pvalue, alpha, notes, pairing)

    return per_metric(
        test=test, baseline=baseline, treatment=treatment, metric=metric, compute=compute
    )


@builtin_verifier()
def permutation_test(
    baseline: Samples,
    treatment: Samples,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    metric: str | None = None,
    n_resamples: int = 9999,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Permutation test of the difference in means.

    ``scipy.stats.permutation_test`` with the statistic mean(treatment) -
    mean(baseline), shuffling condition labels between independent replicates. When
    the number of distinct relabellings, C(n_baseline + n_treatment, n_baseline), is at
    most ``n_resamples``, scipy enumerates them all and the p-value is exact; otherwise
    it draws ``n_resamples`` random relabellings seeded with ``seed``. Assumes only that
    replicates are exchangeable under "no effect"; the best choice for small samples of
    any distribution.

    Args:
        baseline: ``{metric: [values]}`` of the baseline condition.
        treatment: ``{metric: [values]}`` of the treatment condition.
        alpha: significance level; also sets the CI's confidence to ``1 - alpha``.
        alternative: ``"two-sided"``, ``"greater"`` (treatment mean larger) or ``"less"``.
        metric: the metric to test; ``None`` tests every metric in the samples.
        n_resamples: random relabellings.
        seed: seed of the random generator; the same seed gives the same output.

    Returns:
        The common result keys (see :mod:`crystallize.stats`) with ``effect_size_name``
        ``"hedges_g"``, ``statistic`` (the mean difference), ``exact``, ``n_resamples``,
        ``seed`` and ``ci`` Welch's t-interval of the difference in means at confidence
        ``1 - alpha`` (with a handful of replicates a percentile bootstrap would cover far
        below its level). Several metrics give ``{metric: result}``.

    Raises:
        InsufficientSamplesError: a condition has fewer than 2 values.
        VerificationError: NaN values.
        VerifierArgumentError: an invalid parameter value, raised as soon as the
            verifier is built (``TypeError`` for an unknown parameter name).
    """
    test = "permutation_test"
    alpha = check_alpha(alpha, test)
    alternative = check_alternative(alternative, test)
    n_resamples = check_n_resamples(n_resamples, test)
    seed = check_seed(seed, test)

    def compute(name: str, raw_b: Sequence[Any], raw_t: Sequence[Any]) -> dict[str, Any]:
        b, t = two_samples(raw_b, raw_t, test=test, metric=name, minimum=2)  # scipy's requirement
        permuted_b, permuted_t, tied = rounding_ties(b, t, paired=False, test=test)
        with collect_warnings() as notes:
            p_value, statistic, exact = permutation_p_value(
                permuted_b, permuted_t, alternative=alternative, n_resamples=n_resamples, seed=seed
            )
            # Welch's interval, not a bootstrap one: with a handful of replicates (this
            # test's use case) percentile-bootstrap intervals cover far below their level.
            ci = welch_difference_ci(b, t, confidence_level=1 - alpha)
            # Inside the block, so its numpy warnings are reported, not printed. g is
            # scale-free, and on the common scale its variances cannot overflow.
            effect = hedges_g(*on_common_scale(b, t)[:2])
        result = base_result(
            test=test,
            metric=name,
            alpha=alpha,
            alternative=alternative,
            baseline=b,
            treatment=t,
        )
        result.update(
            statistic=statistic,
            effect_size=effect,
            effect_size_name="hedges_g",
            ci=ci,
            ci_of="difference in means (Welch t-interval)",
            ci_level=1 - alpha,
            exact=exact,
            n_resamples=n_resamples,
            seed=seed,
        )
        return finish(result, p_value, alpha, notes + tied)

    return per_metric(
        test=test, baseline=baseline, treatment=treatment, metric=metric, compute=compute
    )
