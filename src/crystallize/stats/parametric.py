"""t-tests: Welch's two-sample t-test and the paired t-test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from crystallize.stats._arguments import builtin_verifier, check_alpha, check_alternative
from crystallize.stats._common import (
    Samples,
    base_result,
    ci_tuple,
    collect_warnings,
    finish,
    no_variation_notes,
    on_common_scale,
    paired_values,
    per_metric,
    two_samples,
    unscaled,
)
from crystallize.stats.effect_sizes import cohens_dz, hedges_g

__all__ = ["paired_t_test", "welch_t_test"]


def welch_difference_ci(b: Any, t: Any, confidence_level: float) -> tuple[float, float]:
    """Welch's t-interval for mean(treatment) − mean(baseline) (``(nan, nan)`` when a
    condition has fewer than 2 values), computed on a common power-of-two scale (see
    :func:`~crystallize.stats._common.on_common_scale`), so its ends are ±inf only when
    they lie beyond the largest float."""
    from scipy.stats import ttest_ind

    if len(b) < 2 or len(t) < 2:
        return (math.nan, math.nan)
    b, t, exponent = on_common_scale(b, t)
    interval = ttest_ind(t, b, equal_var=False).confidence_interval(confidence_level=confidence_level)
    return ci_tuple(unscaled(interval.low, exponent), unscaled(interval.high, exponent))


@builtin_verifier()
def welch_t_test(
    baseline: Samples,
    treatment: Samples,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    metric: str | None = None,
) -> dict[str, Any]:
    """Welch's t-test: do the two conditions have different means?

    ``scipy.stats.ttest_ind(treatment, baseline, equal_var=False)``. Assumes independent
    replicates and roughly normal means (fine for moderate sample sizes by the central
    limit theorem); does not assume equal variances. The default choice for continuous
    metrics.

    Args:
        baseline: ``{metric: [values]}`` of the baseline condition.
        treatment: ``{metric: [values]}`` of the treatment condition.
        alpha: significance level; also sets the CI's confidence to ``1 - alpha``.
        alternative: ``"two-sided"``, ``"greater"`` (treatment mean larger) or ``"less"``.
        metric: the metric to test; ``None`` tests every metric in the samples.

    Returns:
        The common result keys (see :mod:`crystallize.stats`) with ``effect_size_name``
        ``"hedges_g"``, ``ci`` the two-sided Welch CI of the difference in means, plus
        ``statistic`` (t) and ``df`` (Welch–Satterthwaite degrees of freedom). Several
        metrics give ``{metric: result}``.

    Raises:
        InsufficientSamplesError: fewer than 2 values in a condition.
        VerificationError: NaN values.
        VerifierArgumentError: an invalid parameter value, raised as soon as the
            verifier is built (``TypeError`` for an unknown parameter name).
    """
    test = "welch_t_test"
    alpha = check_alpha(alpha, test)
    alternative = check_alternative(alternative, test)

    def compute(name: str, raw_b: Sequence[Any], raw_t: Sequence[Any]) -> dict[str, Any]:
        from scipy.stats import ttest_ind

        b, t = two_samples(raw_b, raw_t, test=test, metric=name, minimum=2)
        # t, p, df and g are scale-free: computed on a common power-of-two scale, their
        # variances neither overflow (values near 1e308) nor underflow (near 1e-300).
        b_scaled, t_scaled, exponent = on_common_scale(b, t)
        with collect_warnings() as notes:
            res = ttest_ind(t_scaled, b_scaled, equal_var=False, alternative=alternative)
            two_sided = ttest_ind(t_scaled, b_scaled, equal_var=False)
            interval = two_sided.confidence_interval(confidence_level=1 - alpha)
            effect = hedges_g(b_scaled, t_scaled)  # inside: its numpy warnings are reported
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
            df=float(res.df),
            effect_size=effect,
            effect_size_name="hedges_g",
            ci=ci_tuple(unscaled(interval.low, exponent), unscaled(interval.high, exponent)),
            ci_of="difference in means",
            ci_level=1 - alpha,
        )
        degenerate, undefined = no_variation_notes(b, t, paired=False, test=test)
        return finish(result, math.nan if undefined else res.pvalue, alpha, [*degenerate, *notes])

    return per_metric(
        test=test, baseline=baseline, treatment=treatment, metric=metric, compute=compute
    )


@builtin_verifier()
def paired_t_test(
    baseline: Samples,
    treatment: Samples,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    metric: str | None = None,
) -> dict[str, Any]:
    """Paired t-test: is the mean of the per-replicate differences non-zero?

    ``scipy.stats.ttest_rel(treatment, baseline)``. Each treatment value is paired with
    the baseline value of the same replicate, which is right when replicate *i* of both
    conditions shares its seed or data split: pairing removes that shared noise and makes
    the test more sensitive. In a run, a replicate with a value in only one condition is
    left out (see :func:`~crystallize.stats._common.paired_values`); plain lists pair
    value *i* with value *i*. Assumes the differences are roughly normal.

    Args:
        baseline: ``{metric: [values]}`` of the baseline condition.
        treatment: ``{metric: [values]}`` of the treatment, same length as the baseline.
        alpha: significance level; also sets the CI's confidence to ``1 - alpha``.
        alternative: ``"two-sided"``, ``"greater"`` (treatment larger) or ``"less"``.
        metric: the metric to test; ``None`` tests every metric in the samples.

    Returns:
        The common result keys (see :mod:`crystallize.stats`) with ``effect_size_name``
        ``"cohens_dz"`` (mean difference over the SD of the differences), ``ci`` the
        two-sided t CI of the mean paired difference, plus ``statistic`` (t), ``df`` and
        ``n_pairs``. Several metrics give ``{metric: result}``.

    Raises:
        InsufficientSamplesError: fewer than 2 pairs.
        VerificationError: unequal lengths or NaN values.
        VerifierArgumentError: an invalid parameter value, raised as soon as the
            verifier is built (``TypeError`` for an unknown parameter name).
    """
    test = "paired_t_test"
    alpha = check_alpha(alpha, test)
    alternative = check_alternative(alternative, test)

    def compute(name: str, raw_b: Sequence[Any], raw_t: Sequence[Any]) -> dict[str, Any]:
        from scipy.stats import ttest_rel

        b, t, pairing = paired_values(name, baseline, treatment, test=test)
        # As in welch_t_test; on the common scale t - b cannot overflow either.
        b_scaled, t_scaled, exponent = on_common_scale(b, t)
        with collect_warnings() as notes:
            res = ttest_rel(t_scaled, b_scaled, alternative=alternative)
            two_sided = ttest_rel(t_scaled, b_scaled)
            interval = two_sided.confidence_interval(confidence_level=1 - alpha)
            effect = cohens_dz(b_scaled, t_scaled)
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
            df=float(res.df),
            n_pairs=int(b.size),
            effect_size=effect,
            effect_size_name="cohens_dz",
            ci=ci_tuple(unscaled(interval.low, exponent), unscaled(interval.high, exponent)),
            ci_of="mean paired difference",
            ci_level=1 - alpha,
        )
        degenerate, undefined = no_variation_notes(b, t, paired=True, test=test)
        p_value = math.nan if undefined else res.pvalue
        return finish(result, p_value, alpha, [*degenerate, *notes], pairing)

    return per_metric(
        test=test, baseline=baseline, treatment=treatment, metric=metric, compute=compute
    )
