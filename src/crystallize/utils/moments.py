"""Rescaling by powers of two, and a mean and standard deviation that never overflow.

``statistics.fmean`` raises ``OverflowError`` when the running sum of large finite values
passes the largest float (two metric values of ``1e308``), and differences of values of
opposite sign can overflow to ``inf`` although both values are finite; variances of
values near ``1e-200`` underflow to 0. Samples holding values that large (or that small)
are divided by a power of two first — exact, unlike any other factor — and the results
multiplied back with :func:`unscaled`. Ordinary samples are not rescaled, so their
results are unchanged to the last bit. The statistics (``crystallize.stats``) rescale
their samples the same way.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

#: :func:`mean_sd` rescales samples whose largest magnitude is not within
#: ``[2**-SUM_LIMIT, 2**SUM_LIMIT)``: a sum of up to 2**63 values below that stays finite.
SUM_LIMIT = 960


def rescaling_exponent(largest: float, limit: int) -> int:
    """``e`` such that dividing by ``2**e`` brings the magnitude ``largest`` into
    ``[0.5, 1)`` when it is outside ``[2**-limit, 2**limit)``, else ``0`` (no rescaling;
    nor for ``0``)."""
    if largest == 0.0 or 2.0**-limit <= largest < 2.0**limit:
        return 0
    return math.frexp(largest)[1]


def unscaled(value: float, exponent: int) -> float:
    """``value * 2**exponent`` as a float, exact unless it is beyond the largest float
    (then ±inf); NaN stays NaN. Undoes a rescaling by :func:`rescaling_exponent`."""
    value = float(value)
    if exponent == 0:
        return value
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """``(mean, sample standard deviation)`` of finite floats (``sd`` is ``0.0`` for one
    value); see the module docstring for why this never raises ``OverflowError``.

    Raises:
        statistics.StatisticsError: ``values`` is empty.
    """
    exponent = rescaling_exponent(max(map(abs, values), default=0.0), SUM_LIMIT)
    if exponent:
        values = [math.ldexp(value, -exponent) for value in values]
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return unscaled(mean, exponent), unscaled(sd, exponent)


__all__ = ["SUM_LIMIT", "mean_sd", "rescaling_exponent", "unscaled"]
