"""Tests for binary (success/failure) metrics: Fisher's exact test and the chi-squared test.

Values must be 0/1 or ``True``/``False``, one per replicate. Both tests work on the
2×2 table::

                 successes   failures
    treatment        a           b
    baseline         c           d

``mean_*`` are success proportions and ``difference`` is their difference (treatment
minus baseline). ``ci`` is the Newcombe (hybrid score) interval of that difference from
``statsmodels.stats.proportion.confint_proportions_2indep``; ``effect_size`` is the
conditional maximum-likelihood odds ratio from ``scipy.stats.contingency.odds_ratio``
(> 1 means the treatment succeeds more often), with its exact interval as
``odds_ratio_ci``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import VerificationError, VerifierArgumentError
from crystallize.stats._arguments import (
    builtin_verifier,
    check_alpha,
    check_alternative,
    check_flag,
)
from crystallize.stats._common import (
    Samples,
    _replicates_of,
    as_values,
    base_result,
    ci_tuple,
    collect_warnings,
    finish,
    per_metric,
    plain,
    require_samples,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = ["chi2", "fisher_exact"]

_PROPORTION_CI = "difference in proportions (Newcombe score interval)"
_check_correction = functools.partial(check_flag, argument="correction")


def _check_two_sided(alternative: object, test: str) -> str:
    """Return ``alternative`` if it is ``"two-sided"``; chi2 has no one-sided form."""
    alternative = check_alternative(alternative, test)
    if alternative != "two-sided":
        raise VerifierArgumentError(
            f"{test}: only alternative='two-sided' is possible (the chi-squared statistic "
            f"has no direction), got {alternative!r}. Use fisher_exact(alternative="
            f"{alternative!r}) for a one-sided test of a binary metric.",
            verifier=test,
            argument="alternative",
            value=alternative,
        )
    return alternative


def _binary_values(raw: Sequence[Any], *, test: str, metric: str, condition: str) -> np.ndarray:
    """Validated 0/1 float array for one condition."""
    import numpy as np

    values = as_values(raw, test=test, metric=metric, condition=condition)
    require_samples(values.size, 1, test=test, metric=metric, condition=condition)
    bad = np.flatnonzero((values != 0) & (values != 1))
    if bad.size:
        index = int(bad[0])
        raise VerificationError(
            f"{test} needs binary values (0/1 or True/False) but metric '{metric}' in the "
            f"{condition} condition has {plain(raw[index])!r} at replicate "
            f"{_replicates_of(raw, [index])[0]}. Record "
            "success as 1 and failure as 0, or use welch_t_test / mann_whitney for "
            "continuous metrics."
        )
    return values


def _table(baseline: np.ndarray, treatment: np.ndarray) -> list[list[int]]:
    """The 2×2 table ``[[treatment successes, failures], [baseline successes, failures]]``."""
    t_success = int(treatment.sum())
    b_success = int(baseline.sum())
    return [
        [t_success, int(treatment.size) - t_success],
        [b_success, int(baseline.size) - b_success],
    ]


def _binary_summary(table: list[list[int]], alpha: float) -> dict[str, Any]:
    """Odds ratio (conditional MLE + exact CI) and Newcombe CI of the proportion difference."""
    from scipy.stats.contingency import odds_ratio
    from statsmodels.stats.proportion import confint_proportions_2indep

    (t_success, t_fail), (b_success, b_fail) = table
    ratio = odds_ratio(table, kind="conditional")
    ratio_ci = ratio.confidence_interval(confidence_level=1 - alpha)
    low, high = confint_proportions_2indep(
        t_success,
        t_success + t_fail,
        b_success,
        b_success + b_fail,
        method="newcomb",
        compare="diff",
        alpha=alpha,
    )
    return {
        "effect_size": float(ratio.statistic),
        "effect_size_name": "odds_ratio",
        "odds_ratio_ci": ci_tuple(ratio_ci.low, ratio_ci.high),
        "ci": ci_tuple(low, high),
        "ci_of": _PROPORTION_CI,
        "ci_level": 1 - alpha,
        "table": [list(row) for row in table],
    }


@builtin_verifier()
def fisher_exact(
    baseline: Samples,
    treatment: Samples,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    metric: str | None = None,
) -> dict[str, Any]:
    """Fisher's exact test: does the treatment succeed more (or less) often?

    ``scipy.stats.fisher_exact`` on the 2×2 success/failure table (see
    :mod:`crystallize.stats.binary`). Exact for any sample size, so it is the test to
    pick for binary metrics with few replicates.

    Args:
        baseline: ``{metric: [0/1 values]}`` of the baseline condition.
        treatment: ``{metric: [0/1 values]}`` of the treatment condition.
        alpha: significance level; also sets the CIs' confidence to ``1 - alpha``.
        alternative: ``"two-sided"``, ``"greater"`` (treatment odds of success larger)
            or ``"less"``.
        metric: the metric to test; ``None`` tests every metric in the samples.

    Returns:
        The common result keys (see :mod:`crystallize.stats`) with ``effect_size_name``
        ``"odds_ratio"`` (conditional MLE; NaN when no condition has both outcomes,
        0 or inf with empty cells), ``odds_ratio_ci``, ``ci`` the Newcombe interval of
        the difference in success proportions, and ``table``. Several metrics give
        ``{metric: result}``.

    Raises:
        InsufficientSamplesError: a condition has no values.
        VerificationError: values other than 0/1 or NaN values.
        VerifierArgumentError: an invalid parameter value, raised as soon as the
            verifier is built (``TypeError`` for an unknown parameter name).
    """
    test = "fisher_exact"
    alpha = check_alpha(alpha, test)
    alternative = check_alternative(alternative, test)

    def compute(name: str, raw_b: Sequence[Any], raw_t: Sequence[Any]) -> dict[str, Any]:
        from scipy.stats import fisher_exact as scipy_fisher_exact

        b = _binary_values(raw_b, test=test, metric=name, condition="baseline")
        t = _binary_values(raw_t, test=test, metric=name, condition="treatment")
        table = _table(b, t)
        with collect_warnings() as notes:
            res = scipy_fisher_exact(table, alternative=alternative)
            summary = _binary_summary(table, alpha)
        result = base_result(
            test=test,
            metric=name,
            alpha=alpha,
            alternative=alternative,
            baseline=b,
            treatment=t,
        )
        result.update(summary)
        return finish(result, res.pvalue, alpha, notes)

    return per_metric(
        test=test, baseline=baseline, treatment=treatment, metric=metric, compute=compute
    )


@builtin_verifier(alternative=_check_two_sided, correction=_check_correction)
def chi2(
    baseline: Samples,
    treatment: Samples,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    metric: str | None = None,
    correction: bool = True,
) -> dict[str, Any]:
    """Chi-squared test of independence between condition and outcome.

    ``scipy.stats.chi2_contingency`` on the 2×2 success/failure table (see
    :mod:`crystallize.stats.binary`), with Yates' continuity correction unless
    ``correction=False``. A large-sample approximation: use it when every expected cell
    count is at least about 5, otherwise prefer :func:`fisher_exact`. The chi-squared
    statistic has no direction, so only ``alternative="two-sided"`` is accepted; use
    :func:`fisher_exact` for one-sided questions.

    Args:
        baseline: ``{metric: [0/1 values]}`` of the baseline condition.
        treatment: ``{metric: [0/1 values]}`` of the treatment condition.
        alpha: significance level; also sets the CIs' confidence to ``1 - alpha``.
        alternative: must be ``"two-sided"``.
        metric: the metric to test; ``None`` tests every metric in the samples.
        correction: apply Yates' continuity correction.

    Returns:
        The common result keys (see :mod:`crystallize.stats`) with ``effect_size_name``
        ``"odds_ratio"``, ``odds_ratio_ci``, ``ci`` the Newcombe interval of the
        difference in success proportions, ``table``, ``statistic`` (chi-squared), ``dof`` and
        ``yates_correction``. Several metrics give ``{metric: result}``.

    Raises:
        InsufficientSamplesError: a condition has no values.
        VerificationError: values other than 0/1, NaN values, or an outcome that never
            (or always) occurs in both conditions.
        VerifierArgumentError: a one-sided alternative or another invalid
            parameter value, raised as soon as the verifier is built
            (``TypeError`` for an unknown parameter name).
    """
    test = "chi2"
    alpha = check_alpha(alpha, test)
    alternative = _check_two_sided(alternative, test)
    correction = _check_correction(correction, test)

    def compute(name: str, raw_b: Sequence[Any], raw_t: Sequence[Any]) -> dict[str, Any]:
        from scipy.stats import chi2_contingency

        b = _binary_values(raw_b, test=test, metric=name, condition="baseline")
        t = _binary_values(raw_t, test=test, metric=name, condition="treatment")
        table = _table(b, t)
        if table[0][0] + table[1][0] == 0 or table[0][1] + table[1][1] == 0:
            outcome = "0" if table[0][0] + table[1][0] == 0 else "1"
            raise VerificationError(
                f"chi2: every value of metric '{name}' is {outcome} in both conditions, so "
                "the chi-squared test is undefined (an expected count is zero). There is "
                "no evidence of a difference; fisher_exact handles this case (p = 1)."
            )
        with collect_warnings() as notes:
            res = chi2_contingency(table, correction=correction)
            summary = _binary_summary(table, alpha)
        result = base_result(
            test=test,
            metric=name,
            alpha=alpha,
            alternative=alternative,
            baseline=b,
            treatment=t,
        )
        result.update(summary)
        result.update(
            statistic=float(res.statistic), dof=int(res.dof), yates_correction=correction
        )
        return finish(result, res.pvalue, alpha, notes)

    return per_metric(
        test=test, baseline=baseline, treatment=treatment, metric=metric, compute=compute
    )
