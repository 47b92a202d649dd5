"""Multiple-comparison corrections for the p-values of one hypothesis.

:class:`~crystallize.hypothesis.Hypothesis` calls :func:`adjust_p_values` with every
p-value it collected (across treatments and metrics) when it has a ``correction``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator, Sequence

METHODS = ("holm", "bonferroni", "fdr_bh")
"""Supported correction names, as accepted by ``statsmodels.stats.multitest.multipletests``."""

__all__ = ["METHODS", "adjust_p_values"]


def adjust_p_values(p_values: Sequence[float], method: str) -> list[float]:
    """Adjust a family of p-values for multiple comparisons.

    Uses ``statsmodels.stats.multitest.multipletests``. ``"holm"`` and ``"bonferroni"``
    control the family-wise error rate; ``"fdr_bh"`` (Benjamini–Hochberg) controls the
    false discovery rate.

    A NaN p-value (a test that could not be computed, e.g. on constant data) stays NaN
    but still counts as a member of the family (as if its p-value were 1), which keeps
    the correction conservative.

    Args:
        p_values: the unadjusted p-values, each in [0, 1] or NaN.
        method: ``"holm"``, ``"bonferroni"`` or ``"fdr_bh"``.

    Returns:
        The adjusted p-values, in the input order, as plain floats.

    Raises:
        ValueError: unknown ``method`` or a p-value outside [0, 1].

    Example:
        >>> adjust_p_values([0.01, 0.04, 0.03], "holm")
        [0.03, 0.06, 0.06]
    """
    if method not in METHODS:
        raise ValueError(f"Unknown correction {method!r}; choose one of {', '.join(METHODS)}.")
    values: list[float] = []
    for index, p in enumerate(p_values):
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise ValueError(f"p-value #{index} is {p!r}, not a number.")
        p = float(p)
        if not math.isnan(p) and not 0.0 <= p <= 1.0:
            raise ValueError(f"p-value #{index} is {p}, outside [0, 1]; is it really a p-value?")
        values.append(p)
    if not values:
        return []
    from statsmodels.stats.multitest import multipletests

    missing = [math.isnan(p) for p in values]
    filled = [1.0 if gap else p for p, gap in zip(values, missing, strict=True)]
    with _frozen_heap():
        adjusted = multipletests(filled, method=method)[1]
    return [math.nan if gap else float(p) for p, gap in zip(adjusted, missing, strict=True)]


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Freeze the objects the garbage collector tracks for the duration of the block.

    statsmodels' Holm branch calls ``gc.collect()``: with a large ``Result`` alive (a
    million tracked objects) that took 0.6 s per call. A collection ignores frozen
    objects, so it only examines the few made inside the block. ``gc.unfreeze()`` puts
    them all back (into the oldest generation), even on an exception: nothing is freed
    or kept alive by the freeze, cyclic garbage among them is only collected later.
    When objects are frozen already (by the application before forking, say, or by
    Python 3.12 itself at start-up), they are left as they are and nothing is frozen
    here, as ``unfreeze`` would thaw them too: Holm then pays the full collection.
    """
    import gc

    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
