"""Shared plumbing for the built-in verifiers: samples, metric selection, result shape
(their arguments are checked by :mod:`crystallize.stats._arguments`).

Nothing here imports numpy, scipy or statsmodels at module level; they are imported
inside the functions that need them so ``import crystallize.stats`` stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import numbers
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import (
    InsufficientSamplesError,
    MissingMetricError,
    VerificationError,
)
from crystallize.utils.moments import rescaling_exponent, unscaled

if TYPE_CHECKING:
    import numpy as np


Samples = Mapping[str, Sequence[Any]]
"""``{metric_name: [one value per replicate]}``, as handed to a verifier."""

MetricComputation = Callable[[str, Sequence[Any], Sequence[Any]], dict[str, Any]]

def metric_names(baseline: Samples, treatment: Samples, metric: str | None, test: str) -> list[str]:
    """The metrics to test: ``[metric]`` when given, else every metric in the samples.

    Raises:
        MissingMetricError: ``metric`` (or a metric of one condition) is missing from the
            other condition.
        VerificationError: the samples hold no metric at all.
    """
    if metric is not None:
        names = [metric]
    else:
        names = list(baseline) + [m for m in treatment if m not in baseline]
        if not names:
            raise VerificationError(
                f"{test}: the baseline and treatment samples hold no metrics. Name the "
                "metrics in the Hypothesis (metrics='score') and record them in a step."
            )
    for name in names:
        for condition, samples in (("baseline", baseline), ("treatment", treatment)):
            if name not in samples:
                known = ", ".join(sorted(samples)) or "none"
                raise MissingMetricError(
                    f"{test}: metric '{name}' is missing from the {condition} samples "
                    f"(they hold: {known}). Check the metric name or record it in every "
                    "condition."
                )
    return names


class ReplicateValues(list):
    """One metric's values that remember the replicate each came from (``replicates``),
    so that errors about a value name its replicate, not its position in the list."""

    __slots__ = ("replicates",)

    def __init__(self, values: Sequence[Any], replicates: Sequence[int]) -> None:
        super().__init__(values)
        self.replicates = list(replicates)


def _replicates_of(values: Any, positions: Sequence[int]) -> list[int]:
    """The replicates at ``positions`` of ``values`` (the positions themselves when the
    values do not know their replicates)."""
    known = getattr(values, "replicates", None)
    if known is None or len(known) != len(values):
        return [int(i) for i in positions]
    return [known[int(i)] for i in positions]


def as_values(values: Any, *, test: str, metric: str, condition: str) -> np.ndarray:
    """Convert one condition's replicate values to a 1-D float array, refusing bad input.

    Booleans become 0.0/1.0. Strings, nested sequences and non-finite values (NaN, None,
    inf) raise :class:`~crystallize.exceptions.VerificationError` naming the metric (and
    the replicate, when ``values`` is a :class:`ReplicateValues`).
    """
    import numpy as np

    where = f"{test}: metric '{metric}' in the {condition} condition"
    if isinstance(values, str | bytes) or not hasattr(values, "__len__"):
        raise VerificationError(
            f"{where} must be a sequence with one number per replicate, got {values!r}."
        )
    for index, value in enumerate(values):
        if isinstance(value, str | bytes):
            raise VerificationError(
                f"{where} holds the string {value!r} at replicate {_replicates_of(values, [index])[0]}; values must be "
                "numbers. Record numeric metrics (convert before ctx.metrics.add)."
            )
    try:
        array, overflowed = _float_array(values)
    except (TypeError, ValueError) as exc:
        raise VerificationError(
            f"{where} holds values that are not numbers ({exc}); record one number per replicate."
        ) from exc
    if array.ndim != 1:
        raise VerificationError(
            f"{where} must hold one number per replicate, but the values have shape "
            f"{array.shape}. Record a single scalar per replicate (e.g. a mean)."
        )
    _warn_inexact_integers(values, array, where)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        too_large = " (a number too large for a float counts as infinite)" if overflowed else ""
        shown = ", ".join(map(str, _replicates_of(values, bad[:10]))) + (" ..." if bad.size > 10 else "")
        raise VerificationError(
            f"{where} has NaN, missing (None) or infinite values{too_large} at replicate(s) "
            f"{shown}. Statistical tests need finite numbers: fix or drop the failed "
            "replicates before verifying."
        )
    return array


def _warn_inexact_integers(values: Sequence[Any], array: np.ndarray, where: str) -> None:
    """Warn (``RuntimeWarning``) when an integer of ``values`` is not exactly its float in
    ``array``: the tests compare 64-bit floats, which cannot tell integers beyond 2**53
    apart from their neighbours, so such values may count as equal (ties, no variance)."""
    import warnings

    from crystallize.utils.callers import user_stacklevel

    for value, as_float in zip(values, array.tolist(), strict=True):
        exact = (
            not isinstance(value, numbers.Integral) or isinstance(value, bool)
            or not math.isfinite(as_float) or int(value) == int(as_float)
        )
        if not exact:
            warnings.warn(
                f"{where}: the integer {int(value)} is compared as the float {as_float!r}: "
                "statistics use 64-bit floats, which cannot tell apart integers beyond 2**53 "
                "that close, so such values may count as equal. Record them less a common "
                "offset (e.g. minus the smallest value) to compare them exactly.",
                RuntimeWarning,
                stacklevel=user_stacklevel(),
            )
            return


def _float_array(values: Sequence[Any]) -> tuple[np.ndarray, bool]:
    """``values`` as a float array (``None`` as NaN), and whether some number was too
    large for a float (``10**400``): such a number becomes ±inf, as ``report()`` counts it.

    Raises:
        TypeError, ValueError: a value that is not a number.
    """
    import numpy as np

    try:
        return np.asarray([np.nan if v is None else v for v in values], dtype=float), False
    except OverflowError:
        from crystallize.reporting import as_float

        def number(value: Any) -> Any:
            if value is None:
                return np.nan
            converted = as_float(value)
            return value if converted is None else converted

        return np.asarray([number(v) for v in values], dtype=float), True


def require_samples(
    n: int, needed: int, *, test: str, metric: str, condition: str, unit: str = "values"
) -> None:
    """Raise :class:`InsufficientSamplesError` when ``n < needed``."""
    if n < needed:
        raise InsufficientSamplesError(
            f"{test} needs at least {needed} {unit} for metric '{metric}' in the {condition} "
            f"condition, but got {n}. Run more replicates (e.g. replicates={max(needed, 5)} "
            "or more) or choose a test that needs fewer values."
        )


def two_samples(
    raw_baseline: Sequence[Any], raw_treatment: Sequence[Any], *, test: str, metric: str, minimum: int
) -> tuple[np.ndarray, np.ndarray]:
    """Both conditions' values as float arrays, each with at least ``minimum`` values."""
    baseline = as_values(raw_baseline, test=test, metric=metric, condition="baseline")
    treatment = as_values(raw_treatment, test=test, metric=metric, condition="treatment")
    require_samples(baseline.size, minimum, test=test, metric=metric, condition="baseline")
    require_samples(treatment.size, minimum, test=test, metric=metric, condition="treatment")
    return baseline, treatment


def require_paired(baseline: np.ndarray, treatment: np.ndarray, *, test: str, metric: str) -> None:
    """Raise unless the two conditions have the same number of values (and at least 2)."""
    if baseline.size != treatment.size:
        raise VerificationError(
            f"{test} is a paired test and needs the same number of values in both "
            f"conditions for metric '{metric}' (value i of the baseline is paired with "
            f"value i of the treatment), but the baseline has {baseline.size} and the "
            f"treatment {treatment.size}. Use the same replicates for every condition, or "
            "use an unpaired test such as welch_t_test or mann_whitney."
        )
    require_samples(
        int(baseline.size),
        2,
        test=test,
        metric=metric,
        condition="baseline and treatment",
        unit="paired values",
    )


def paired_values(
    name: str, baseline: Samples, treatment: Samples, *, test: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Metric ``name`` of both conditions as paired float arrays, and notes about pairing.

    When both samples know the replicate of each value (a
    :class:`~crystallize.hypothesis.MetricSamples`, as verifiers get them in a run) and
    each replicate gave one value, values are paired by replicate: a replicate with a
    value in only one condition (it failed, or did not record the metric, in the other)
    is left out and named in a note. Otherwise value *i* is paired with value *i*.
    """
    raw_b, raw_t = _known_replicates(baseline, name), _known_replicates(treatment, name)
    notes: list[str] = []
    reps_b = getattr(baseline, "replicates", {}).get(name)
    reps_t = getattr(treatment, "replicates", {}).get(name)
    if (
        reps_b is not None
        and reps_t is not None
        and list(reps_b) != list(reps_t)
        and _one_value_each(reps_b, raw_b)
        and _one_value_each(reps_t, raw_t)
    ):
        by_replicate = dict(zip(reps_t, raw_t, strict=True))
        common = [(r, value, by_replicate[r]) for r, value in zip(reps_b, raw_b, strict=True) if r in by_replicate]
        unmatched = sorted(set(reps_b).symmetric_difference(reps_t))
        paired = [r for r, _, _ in common]
        raw_b = ReplicateValues([b for _, b, _ in common], paired)
        raw_t = ReplicateValues([t for _, _, t in common], paired)
        if unmatched:  # else the replicates were only in another order: nothing left out
            notes.append(
                f"PairedByReplicate: replicate(s) {', '.join(map(str, unmatched))} have a value of "
                f"'{name}' in only one condition (the replicate failed, or did not record it, in "
                "the other) and were left out of the pairs."
            )
    b = as_values(raw_b, test=test, metric=name, condition="baseline")
    t = as_values(raw_t, test=test, metric=name, condition="treatment")
    try:
        require_paired(b, t, test=test, metric=name)
    except InsufficientSamplesError as exc:
        if not notes:
            raise
        # too few pairs because replicates failed in one condition: say so, or "run more
        # replicates" alone would hide the failures that left them out
        raise InsufficientSamplesError(f"{exc} {notes[0]}") from None
    return b, t, notes


def _one_value_each(replicates: Sequence[int], values: Sequence[Any]) -> bool:
    """Whether every replicate gave exactly one of ``values`` (pairing by replicate works)."""
    return len(replicates) == len(values) == len(set(replicates))


ROUNDING = 10 * sys.float_info.epsilon
"""Values whose spread (max - min) is at most this fraction of their magnitude are equal
up to float rounding: the tolerance (about 10 ulps) below which scipy warns of
"precision loss ... data are nearly identical"."""


def within_rounding(values: Any, scale: float | None = None) -> bool:
    """Whether ``values`` are all equal up to float rounding.

    True when their spread (``numpy.ptp``) is at most :data:`ROUNDING` times ``scale``,
    by default the largest magnitude among them (so all-zero values are equal, while
    tiny values that really differ, like 1e-20 and 2e-20, are not).
    """
    import numpy as np

    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return True
    if scale is None:
        scale = float(np.max(np.abs(array)))
    return bool(np.ptp(array) <= ROUNDING * scale)


def no_variation(baseline: Any, treatment: Any, *, paired: bool) -> str | None:
    """How the values fail to vary between replicates, up to float rounding.

    ``"equal"``: every value of both conditions is the same (``paired``: every paired
    difference is 0). ``"constant"``: each condition is constant but the two differ
    (``paired``: every paired difference is the same non-zero number). ``None``: the
    values vary. Each paired difference is judged against the magnitude of the two values
    it was computed from, whose rounding it carries (one pair of huge values does not make
    the exact differences of the others look like rounding).
    """
    import numpy as np

    # On a common power-of-two scale: t - b and the spreads cannot overflow there.
    b, t, _ = on_common_scale(baseline, treatment)
    if paired:
        diff = t - b
        tolerance = ROUNDING * np.maximum(np.abs(b), np.abs(t))  # each difference's rounding
        if np.all(np.abs(diff) <= tolerance):
            return "equal"
        # Constant: one number lies within half of every difference's tolerance (for
        # values of one magnitude: the differences' spread is at most that tolerance).
        half = tolerance / 2
        low = np.max(diff - half, initial=-np.inf)
        high = np.min(diff + half, initial=np.inf)
        return "constant" if low <= high else None
    if not (within_rounding(b) and within_rounding(t)):
        return None
    return "equal" if within_rounding(np.concatenate([b, t])) else "constant"


def rounding_ties(
    baseline: np.ndarray, treatment: np.ndarray, *, paired: bool, test: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The values a rank or permutation test compares: as given, unless the two
    conditions differ only by float rounding (every value of both, or every paired
    difference, is the same up to rounding, see :func:`no_variation`), when they are
    compared as the identical values they stand for, with a ``ConstantMetricWarning``.

    Those tests order values exactly, so ``[0.3] * 6`` against ``[0.1 + 0.2] * 6`` would
    otherwise come out perfectly separated and "significant", while the t-tests and the
    effect sizes judge the same values equal.
    """
    import numpy as np

    if no_variation(baseline, treatment, paired=paired) != "equal":
        return baseline, treatment, []
    if paired:
        tied_b, tied_t = baseline, baseline.copy()
    else:
        value = baseline.flat[0]
        tied_b, tied_t = np.full_like(baseline, value), np.full_like(treatment, value)
    if np.array_equal(tied_b, baseline) and np.array_equal(tied_t, treatment):
        return baseline, treatment, []  # identical already: nothing to say
    b, _, exponent = on_common_scale(baseline, treatment)
    values = (
        "every paired difference (treatment - baseline) is 0"
        if paired
        else f"every value in both conditions is {unscaled(float(b.mean()), exponent):.6g}"
    )
    return tied_b, tied_t, [
        f"ConstantMetricWarning: the conditions differ only by float rounding: {values} (up "
        f"to float rounding), so {test} compares them as equal values. Differences of a few "
        "ulps come from computing the same number another way (0.1 + 0.2 against 0.3), not "
        "from the treatment."
    ]


def no_variation_notes(
    baseline: np.ndarray, treatment: np.ndarray, *, paired: bool, test: str
) -> tuple[list[str], bool]:
    """Warnings for a t-test on values that do not vary between replicates, and whether
    the test is undefined for them (its p-value is then NaN, not a rounding artefact).

    scipy divides by a variance that is zero or pure rounding error there: the p-value
    comes out NaN, 0 or absurdly small, and the effect size infinite.
    """
    kind = no_variation(baseline, treatment, paired=paired)
    if kind is None:
        return [], False
    advice = (
        "Check that the replicates really differ (seeds, data splits): a metric that is "
        "the same in every replicate needs no test."
    )
    b, t, exponent = on_common_scale(baseline, treatment)
    if paired:
        difference = 0.0 if kind == "equal" else unscaled(float((t - b).mean()), exponent)
        values = f"every paired difference (treatment - baseline) is {difference:.6g}"
    elif kind == "equal":
        values = f"every value in both conditions is {unscaled(float(b.mean()), exponent):.6g}"
    else:
        values = (
            f"every baseline value is {unscaled(float(b.mean()), exponent):.6g} and every "
            f"treatment value {unscaled(float(t.mean()), exponent):.6g}"
        )
    if kind == "equal":
        return [
            f"UndefinedTestWarning: the p-value is NaN because the metric does not vary: "
            f"{values} (up to float rounding), so {test} is undefined (its effect size is NaN "
            f"too). {advice}"
        ], True
    valid = "wilcoxon" if paired else "permutation_test"
    return [
        f"ConstantMetricWarning: the metric does not vary between replicates: {values} (up "
        f"to float rounding), so {test} has no variance to weigh the difference against and "
        "its p-value (0 or absurdly small) and effect size (infinite) are not meaningful. "
        f"{advice} {valid} gives a valid p-value for such values."
    ], False


def base_result(
    *,
    test: str,
    metric: str,
    alpha: float,
    alternative: str,
    baseline: np.ndarray,
    treatment: np.ndarray,
) -> dict[str, Any]:
    """The keys every built-in result shares (sizes, means and their difference).

    The means are taken on a common power-of-two scale (:func:`on_common_scale`), so they
    are finite whenever the values are, and the difference is ±inf only when it really
    exceeds the largest float (:func:`finish` then says so).
    """
    b, t, exponent = on_common_scale(baseline, treatment)
    mean_b = float(b.mean())
    mean_t = float(t.mean())
    return {
        "test": test,
        "metric": metric,
        "alpha": alpha,
        "alternative": alternative,
        "n_baseline": int(baseline.size),
        "n_treatment": int(treatment.size),
        "mean_baseline": unscaled(mean_b, exponent),
        "mean_treatment": unscaled(mean_t, exponent),
        "difference": unscaled(mean_t - mean_b, exponent),
    }


def finish(
    result: dict[str, Any],
    p_value: Any,
    alpha: float,
    notes: Sequence[str],
    data_notes: Sequence[str] = (),
) -> dict[str, Any]:
    """Set ``p_value``/``significant``, attach warnings and make it JSON-friendly.

    ``notes`` are the warnings captured from the computation; ``data_notes`` come first
    and say how the data was prepared (e.g. replicates left out of the pairs).
    """
    p = float(p_value)
    result["p_value"] = p
    result["significant"] = bool(p < alpha)
    if math.isnan(p) and not any(note.startswith("UndefinedTestWarning") for note in notes):
        notes = [
            *notes,
            "UndefinedTestWarning: the p-value is NaN, so the test is undefined for these values "
            "(usually no variation: every value, or every paired difference, is the same).",
        ]
    notes = [*notes, *_overflow_notes(result)]
    if notes or data_notes:
        result["warnings"] = [*data_notes, *notes]
    return plain(result)


def _overflow_notes(result: Mapping[str, Any]) -> list[str]:
    """A warning naming the means, difference or ``ci`` ends of ``result`` that are ±inf.

    A built-in verifier's values are finite (``as_values`` refuses others) and are
    computed on a common power-of-two scale, so an infinite one is a true overflow: its
    value lies beyond the largest float.
    """
    infinite = [
        key
        for key in ("mean_baseline", "mean_treatment", "difference")
        if isinstance(result.get(key), float) and math.isinf(result[key])
    ]
    ci = result.get("ci")
    if isinstance(ci, tuple) and any(isinstance(end, float) and math.isinf(end) for end in ci):
        infinite.append("ci")
    if not infinite:
        return []
    return [
        f"RuntimeWarning: overflow: the {_joined(infinite)} exceed the largest float "
        f"({sys.float_info.max:.6g}) in magnitude and are reported as ±inf. The p-value and "
        "effect size are unaffected: they were computed on the values divided by a power of "
        "two. Record the metric in larger units to see these values."
    ]


def _joined(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


SCALE_LIMIT = 128
"""The verifiers rescale samples whose largest magnitude is at least ``2**SCALE_LIMIT``
(about 3.4e38) or below ``2**-SCALE_LIMIT`` (but not 0). Inside that range, sums, squares,
variances and their squares (Welch's degrees of freedom, the BCa acceleration's cubes)
neither overflow nor underflow, and no value is rescaled, so results are unchanged."""


def scale_exponent(*samples: Any) -> int:
    """The exponent ``e`` by which :func:`on_common_scale` divides ``samples`` (``2**e``):
    0 unless their largest magnitude is outside the range of :data:`SCALE_LIMIT`, else
    the one that brings it into ``[0.5, 1)``."""
    import numpy as np

    largest = max((float(np.max(np.abs(s))) for s in samples if np.size(s)), default=0.0)
    return rescaling_exponent(largest, SCALE_LIMIT)


def on_common_scale(baseline: Any, treatment: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """``(baseline / 2**e, treatment / 2**e, e)`` with ``e`` from :func:`scale_exponent`.

    Every statistic the verifiers compute from values (means, differences, variances,
    t, p-values, Hedges' g, resampling intervals) is scale-equivariant, and dividing by a
    power of two is exact, so computing on the rescaled values and multiplying intervals
    and means back by ``2**e`` (:func:`unscaled`) gives the same results without
    overflowing (``1e308 + 1e308``) or underflowing (the variance of values near 1e-200).
    Ordinary samples come back as they are (``e == 0``). Values over 2**1022 times
    smaller than the largest lose precision or become 0, far below its rounding.
    """
    import numpy as np

    b = np.asarray(baseline, dtype=float)
    t = np.asarray(treatment, dtype=float)
    exponent = scale_exponent(b, t)
    if exponent == 0:
        return b, t, 0
    return np.ldexp(b, -exponent), np.ldexp(t, -exponent), exponent


def plain(value: Any) -> Any:
    """Recursively turn numpy scalars/arrays into plain Python floats, ints, bools, lists.

    A numpy scalar with no Python equivalent (``np.longdouble``/``np.clongdouble``, whose
    ``tolist()`` gives it back) becomes the nearest ``float``/``complex``.
    """
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool | str | None.__class__):
        return value
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalar or array
        converted = value.tolist()
        if type(converted) is not type(value):
            return plain(converted)
        if isinstance(value, numbers.Real):  # np.longdouble: tolist() gives it back
            return float(value)
        return complex(value) if isinstance(value, numbers.Complex) else value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def ci_tuple(low: Any, high: Any) -> tuple[float, float]:
    """A ``(low, high)`` tuple of plain floats."""
    return (float(low), float(high))


@contextlib.contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Record warnings the calling thread raises inside the block into a list of unique messages.

    Degenerate data (e.g. identical values) makes scipy warn and return NaN; the verifier
    reports those warnings under the ``warnings`` key instead of printing them. Warnings of
    other threads are left to them (see :mod:`crystallize.utils.warnings_capture`).
    """
    from crystallize.utils.warnings_capture import capture_warnings

    notes: list[str] = []
    with capture_warnings() as caught:
        yield notes
    for item in caught:
        message = " ".join(str(item.message).split())
        text = f"{item.category.__name__}: {message}"
        if text not in notes:
            notes.append(text)


@functools.cache
def _rng_keyword(func: Callable[..., Any]) -> str:
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - scipy functions have signatures
        return "random_state"
    return "rng" if "rng" in parameters else "random_state"


def seeded(func: Callable[..., Any], seed: int | None) -> dict[str, Any]:
    """Keyword arguments seeding a scipy resampling function.

    Newer scipy takes ``rng=``, older releases ``random_state=``; both accept a
    :class:`numpy.random.Generator`, which is built from ``seed``.
    """
    import numpy as np

    return {_rng_keyword(func): np.random.default_rng(seed)}


def per_metric(
    *,
    test: str,
    baseline: Samples,
    treatment: Samples,
    metric: str | None,
    compute: MetricComputation,
) -> dict[str, Any]:
    """Run ``compute`` for each selected metric.

    Returns the flat result when one metric is tested, else ``{metric: flat result}``.
    """
    if not isinstance(baseline, Mapping) or not isinstance(treatment, Mapping):
        raise VerificationError(
            f"{test} expects baseline and treatment as {{metric: [values...]}} dicts, got "
            f"{type(baseline).__name__} and {type(treatment).__name__}."
        )
    names = metric_names(baseline, treatment, metric, test)
    results = {}
    for name in names:
        raw_b, raw_t = _known_replicates(baseline, name), _known_replicates(treatment, name)
        result = compute(name, raw_b, raw_t)
        notes = _repeated_values_note(name, raw_b, raw_t)
        if notes:
            result["warnings"] = [*notes, *result.get("warnings", [])]
        results[name] = result
    return results[names[0]] if len(names) == 1 else results


def _known_replicates(samples: Samples, name: str) -> Any:
    """``samples[name]``, as :class:`ReplicateValues` when ``samples`` knows the replicates."""
    values = samples[name]
    replicates = getattr(samples, "replicates", {}).get(name)
    if replicates is None or len(replicates) != len(values):
        return values
    return ReplicateValues(values, replicates)


def _repeated_values_note(name: str, *conditions: Any) -> list[str]:
    """A warning when some replicate gave several values of ``name``: every built-in test
    counts each value as an independent replicate, which overstates the evidence."""
    repeated: set[int] = set()
    for values in conditions:
        replicates = getattr(values, "replicates", None) or []
        seen: set[int] = set()
        for replicate in replicates:
            if replicate in seen:
                repeated.add(replicate)
            seen.add(replicate)
    if not repeated:
        return []
    shown = ", ".join(map(str, sorted(repeated)[:10])) + (" ..." if len(repeated) > 10 else "")
    return [
        f"RepeatedValues: replicate(s) {shown} gave several values of '{name}', and the test "
        "counts every value as an independent replicate, which overstates the evidence "
        "(values of one replicate are not independent). Record one value per replicate "
        "for hypotheses (e.g. the last epoch's, or the mean) under its own metric name."
    ]
