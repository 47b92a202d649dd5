"""Planning helper: how many replicates a two-sample comparison needs."""

from __future__ import annotations

import math
import numbers

__all__ = ["replicates_needed"]

_SCAN_LIMIT = 1000
_STATSMODELS_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "larger"}


def _check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}.")
    return float(value)


def replicates_needed(
    effect_size: float,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: str = "two-sided",
) -> int:
    """Replicates per condition for a two-sample t-test to reach the requested power.

    Solves ``statsmodels.stats.power.TTestIndPower().solve_power`` for equal group sizes
    and rounds up. Use it before a run to choose ``replicates``; the answer is for
    :func:`~crystallize.stats.welch_t_test` with roughly equal variances and is a
    reasonable guide for the other two-sample tests.

    Args:
        effect_size: the smallest standardised difference (Cohen's d) worth detecting,
            > 0. For one-sided alternatives it is the size of the effect in the
            hypothesised direction (``"less"`` means "treatment lower by this much").
        alpha: significance level, in (0, 1).
        power: desired probability of detecting the effect, in (0, 1).
        alternative: ``"two-sided"``, ``"greater"`` or ``"less"``.

    Returns:
        Replicates needed per condition (at least 2, the minimum for a t-test).

    Raises:
        ValueError: ``effect_size <= 0``, ``alpha``/``power`` outside (0, 1), an unknown
            ``alternative``, or when statsmodels cannot solve the equation.

    Example:
        >>> replicates_needed(0.8)  # a large effect, two-sided, alpha 0.05, power 0.8
        26
    """
    if (
        isinstance(effect_size, bool)
        or not isinstance(effect_size, numbers.Real)
        or not math.isfinite(effect_size)
        or effect_size <= 0
    ):
        raise ValueError(
            f"effect_size must be a finite number > 0 (Cohen's d, e.g. 0.2 small, 0.5 "
            f"medium, 0.8 large), got {effect_size!r}."
        )
    alpha = _check_fraction("alpha", alpha)
    power = _check_fraction("power", power)
    if alternative not in _STATSMODELS_ALTERNATIVE:
        raise ValueError(
            f"Unknown alternative {alternative!r}; use 'two-sided', 'greater' or 'less'."
        )
    from statsmodels.stats.power import TTestIndPower

    from crystallize.utils.warnings_capture import capture_warnings

    analysis = TTestIndPower()
    kwargs = {
        "effect_size": float(effect_size),
        "alpha": alpha,
        "alternative": _STATSMODELS_ALTERNATIVE[alternative],
    }
    def achieved(n: int) -> float:
        """The power of ``n`` replicates per condition (NaN if statsmodels cannot say)."""
        value = float(analysis.power(nobs1=n, ratio=1.0, **kwargs))
        if math.isnan(value) and alternative == "two-sided":
            # The lower tail can underflow to NaN for enormous effects; the upper tail
            # alone (one-sided at alpha/2) is a lower bound on the two-sided power.
            value = float(
                analysis.power(
                    effect_size=float(effect_size), nobs1=n, ratio=1.0, alpha=alpha / 2, alternative="larger"
                )
            )
        return value

    # statsmodels warns when its root finder fails (checked below); those warnings are
    # recorded and dropped, for this thread only.
    with capture_warnings():
        nobs = float(analysis.solve_power(nobs1=None, power=power, ratio=1.0, **kwargs))
        if math.isfinite(nobs):
            n = max(2, math.ceil(nobs - 1e-9))
            # Trust the root finder only when its answer checks out: some statsmodels
            # versions return their last guess, not NaN, when they fail to converge (and
            # a NaN power of one replicate fewer proves nothing either way).
            if achieved(n) >= power and (n == 2 or achieved(n - 1) < power):
                return n
        # Very large effects reach the power with a handful of replicates, where the root
        # finder has nothing to bracket: walk up from the t-test minimum.
        for n in range(2, _SCAN_LIMIT + 1):
            if achieved(n) >= power:
                return n
    raise ValueError(
        f"statsmodels could not solve for the number of replicates (effect_size="
        f"{effect_size}, alpha={alpha}, power={power}). Check that the effect size is a "
        "standardised difference (Cohen's d), not a raw difference."
    )
