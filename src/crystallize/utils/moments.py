"""Rescaling by powers of two, and a mean and standard deviation that never overflow.

``statistics.fmean`` raises ``OverflowError`` when the running sum of large finite values
passes the largest float (two metric values of ``1e308``), and differences of values of
opposite sign can overflow to ``inf`` although both values are finite; variances of
values near ``1e-200`` underflow to 0. Samples holding values that large (or that small)
are divided by a power of two first — exact, unlike any other factor — and the results
multiplied back with :func:`unscaled`. Ordinary samples are not rescaled, so their
results are unchanged to the last bit. The statistics (``crystallize.stats``) rescale
their samples the same way.

Integers a float cannot hold exactly (beyond ``2**53``: ids, nanosecond timestamps) are
summarised exactly by :func:`mean_sd`, not through floats, which would make distinct
values equal (``2**60 + 1`` and ``2**60`` are the same float) and their spread 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from numbers import Integral

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
    """``(mean, sample standard deviation)`` of finite numbers (``sd`` is ``0.0`` for one
    value); see the module docstring for why this never raises ``OverflowError``.

    Integers (Python's or NumPy's) among ``values`` that a float cannot hold exactly are
    summarised exactly (both results then correctly rounded to floats): ``2**60 + 0..3``
    have sd 1.29, where their floats, all ``2**60``, have sd 0. Samples of floats (and
    of smaller integers) take the float path, unchanged.

    Raises:
        statistics.StatisticsError: ``values`` is empty.
    """
    if _needs_exact(values):
        exact = _exact_mean_sd(values)
        if exact is not None:
            return exact
    exponent = rescaling_exponent(max(map(abs, values), default=0.0), SUM_LIMIT)
    if exponent:
        values = [math.ldexp(value, -exponent) for value in values]
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return unscaled(mean, exponent), unscaled(sd, exponent)


def _needs_exact(values: Sequence[float]) -> bool:
    """True when an integer among ``values`` is one a float cannot hold exactly; decided
    in C passes for floats and Python ints (the common cases)."""
    kinds = set(map(type, values))
    if kinds <= {float}:
        return False
    if kinds <= {float, int, bool}:
        ints = [value for value in values if type(value) is int]
        if not ints or (min(ints) >= -(2**53) and max(ints) <= 2**53):
            return False
    return any(map(_inexact_integer, values))


def _inexact_integer(value: object) -> bool:
    """True for an integer (not a bool) that a float cannot hold exactly."""
    if not isinstance(value, Integral) or isinstance(value, bool):
        return False
    number = int(value)
    if -(2**53) <= number <= 2**53:
        return False
    try:
        return int(float(number)) != number
    except OverflowError:  # beyond the float range
        return True


def _exact_mean_sd(values: Sequence[float]) -> tuple[float, float] | None:
    """``(mean, sd)`` of ``values`` by exact (rational) arithmetic, each correctly rounded
    to a float; ``None`` when one is beyond the float range (the rescaled float path
    then gives it)."""
    exact = [int(value) if isinstance(value, Integral) else value for value in values]
    try:
        mean = float(statistics.mean(exact))
        sd = float(statistics.stdev(exact)) if len(exact) > 1 else 0.0
    except OverflowError:
        return None
    return mean, sd


__all__ = ["SUM_LIMIT", "mean_sd", "rescaling_exponent", "unscaled"]
