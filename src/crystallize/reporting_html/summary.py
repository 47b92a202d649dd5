"""Numbers behind the reports: per-condition summaries and hypothesis comparison rows.

Pure data, no rendering: the HTML report and the terminal chart both build on it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crystallize.utils.moments import SUM_LIMIT, mean_sd, rescaling_exponent, unscaled

if TYPE_CHECKING:
    from crystallize.hypothesis import HypothesisResult
    from crystallize.result import Result

def numeric_values(values: Iterable[Any]) -> list[float]:
    """The finite numbers among ``values`` (bools count as 0/1; a number too large for a
    float counts as ±inf, so it is skipped like NaN; other types are skipped)."""
    return _numbers(values)[0]


def _numbers(values: Iterable[Any]) -> tuple[list[float], list[Any]]:
    """:func:`numeric_values` as floats (to plot and place), and the same values with the
    integers a float cannot hold exactly (beyond ``2**53``) as Python ints, for the mean,
    sd and CI (:func:`~crystallize.utils.moments.mean_sd` summarises them exactly); the
    second list is the first when there are none."""
    from crystallize.reporting import as_float, exact_integer

    out: list[float] = []
    exact: list[Any] | None = None
    for value in values:
        if isinstance(value, str | bytes):
            continue
        number = as_float(value)
        if number is not None and math.isfinite(number):
            kept = number if type(value) is float else exact_integer(value, number)
            if kept is not number and exact is None:
                exact = list(out)  # the first such integer: keep the exact values from here on
            if exact is not None:
                exact.append(kept)
            out.append(number)
    return out, (out if exact is None else exact)


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float] | None:
    """Two-sided t-based confidence interval of the mean, or ``None`` for fewer than 2 values.

    Args:
        values: the sample (integers beyond ``2**53`` may be Python ints: their sd is
            then exact, see :func:`~crystallize.utils.moments.mean_sd`).
        level: the confidence level (0.95 for a 95% interval).

    Returns:
        ``(low, high)`` = mean ± t(level, n-1) · sd / √n, with the critical value from
        ``scipy.special.stdtrit`` (the quantile ``scipy.stats.t.ppf`` computes, without
        the much slower import of ``scipy.stats``).
    """
    n = len(values)
    if n < 2:
        return None
    from scipy.special import stdtrit

    scaled, exponent = _rescaled(values)
    mean, sd = mean_sd(scaled)
    half = float(stdtrit(n - 1, 0.5 + level / 2)) * sd / math.sqrt(n)
    return (unscaled(mean - half, exponent), unscaled(mean + half, exponent))


def _rescaled(values: Sequence[float]) -> tuple[Sequence[float], int]:
    """``values`` divided by ``2**exponent`` and that exponent, so that sums,
    differences and interpolations of them stay finite (``exponent`` is 0, and ``values``
    returned as they are, for ordinary magnitudes)."""
    exponent = rescaling_exponent(max(map(abs, values), default=0.0), SUM_LIMIT)
    if not exponent:
        return values, 0
    return [math.ldexp(value, -exponent) for value in values], exponent


@dataclass(frozen=True, slots=True)
class ConditionSummary:
    """Descriptive statistics of one condition's values for one metric.

    Attributes:
        condition: the condition name.
        values: the finite numeric values, in replicate order.
        n: how many values.
        mean: their mean.
        sd: sample standard deviation (0 for a single value).
        ci: 95% t-based CI of the mean, ``None`` for fewer than 2 values.
        minimum, q1, median, q3, maximum: the five-number summary.
        skipped: values that were not finite numbers (non-numeric, NaN, inf).
    """

    condition: str
    values: tuple[float, ...]
    n: int
    mean: float
    sd: float
    ci: tuple[float, float] | None
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    skipped: int = 0


def summarize(condition: str, raw: Sequence[Any]) -> ConditionSummary | None:
    """Summarize one condition's raw metric values; ``None`` when none is a finite number."""
    values, exact = _numbers(raw)
    if not values:
        return None
    scaled, exponent = _rescaled(values)
    ordered = sorted(values)
    mean, sd = mean_sd(exact)
    if len(values) > 1:
        quartiles = statistics.quantiles(sorted(scaled), n=4, method="inclusive")
        q1, median, q3 = (unscaled(q, exponent) for q in quartiles)
    else:
        q1 = median = q3 = values[0]
    return ConditionSummary(
        condition=condition,
        values=tuple(values),
        n=len(values),
        mean=mean,
        sd=sd,
        ci=mean_ci(exact),
        minimum=ordered[0],
        q1=q1,
        median=median,
        q3=q3,
        maximum=ordered[-1],
        skipped=len(raw) - len(values),
    )


def metric_names(result: Result) -> list[str]:
    """Every metric recorded by any condition, in first-seen order."""
    names: dict[str, None] = {}  # an ordered set
    for cm in result.metrics.conditions().values():
        names.update(dict.fromkeys(cm.metrics))
    return list(names)


def empty_summary(condition: str, skipped: int) -> ConditionSummary:
    """The summary of a condition whose ``skipped`` values of a metric are none of them
    finite numbers: ``n`` 0, no values, NaN statistics and no CI."""
    nan = math.nan
    return ConditionSummary(condition, (), 0, nan, nan, None, nan, nan, nan, nan, nan, skipped)


def metric_summaries(result: Result, metric: str, *, include_empty: bool = False) -> list[ConditionSummary]:
    """One summary per condition (baseline first) that has numeric values for ``metric``.

    With ``include_empty``, a condition that recorded values of ``metric`` but no finite
    number among them (all NaN, ±inf or non-numeric) is listed too, as an
    :func:`empty_summary` (``n`` 0, ``skipped`` its count), for the tables that count
    every value."""
    out = []
    for name, cm in result.metrics.conditions().items():
        raw = cm.metrics.get(metric, [])
        summary = summarize(name, raw)
        if summary is not None:
            out.append(summary)
        elif include_empty and len(raw):
            out.append(empty_summary(name, len(raw)))
    return out


@dataclass(frozen=True, slots=True)
class ComparisonRow:
    """One treatment-vs-baseline comparison of a hypothesis, flattened for display.

    Attributes:
        treatment: the treatment compared with the baseline.
        metric: the metric compared.
        effect_size: the verifier's effect size, if any; ``effect_size_name`` names it.
        difference: treatment minus baseline (the point estimate ``ci`` brackets).
        ci: the verifier's confidence interval; ``ci_of`` says of what, ``ci_level`` at
            which confidence.
        p_value: raw p-value; ``p_value_adjusted`` after the hypothesis' correction.
        significant: the verifier's verdict (``None`` when it gave none).
        error: why this treatment could not be verified, else ``None``.
        other: scalar outputs of custom verifiers that have no column of their own.
        notes: warnings the verifier reported.
    """

    treatment: str
    metric: str
    effect_size: float | None = None
    effect_size_name: str | None = None
    difference: float | None = None
    ci: tuple[float, float] | None = None
    ci_of: str | None = None
    ci_level: float | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = None
    significant: bool | None = None
    error: str | None = None
    other: tuple[tuple[str, Any], ...] = ()
    notes: tuple[str, ...] = ()


def _number(value: Any) -> float | None:
    from crystallize.reporting import as_float

    if isinstance(value, bool) or value is None:
        return None
    return as_float(value)


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        low, high = _number(value[0]), _number(value[1])
        if low is not None and high is not None:
            return (low, high)
    return None


def _row(treatment: str, metric: str, entry: Mapping[str, Any]) -> ComparisonRow:
    from crystallize.reporting import other_fields

    significant = entry.get("significant")
    other = other_fields(entry)
    notes = entry.get("warnings") or ()
    level = _number(entry.get("ci_level"))
    return ComparisonRow(
        treatment=treatment,
        metric=str(entry.get("metric") or metric),
        effect_size=_number(entry.get("effect_size")),
        effect_size_name=entry.get("effect_size_name"),
        difference=_number(entry.get("difference")),
        ci=_interval(entry.get("ci")),
        ci_of=entry.get("ci_of"),
        ci_level=level,
        p_value=_number(entry.get("p_value")),
        p_value_adjusted=_number(entry.get("p_value_adjusted")),
        significant=bool(significant) if significant is not None else None,
        error=str(entry["ranking_error"]) if entry.get("ranking_error") else None,
        other=other,
        notes=tuple(str(n) for n in notes) if isinstance(notes, list | tuple) else (str(notes),),
    )


def hypothesis_rows(hyp: HypothesisResult) -> list[ComparisonRow]:
    """Flatten a hypothesis result into rows, best-ranked treatment first.

    Flat verifier outputs give one row per treatment; outputs nested per metric
    (``{metric: {...}}``) give one row per treatment × metric.
    """
    from crystallize.reporting import metric_entries

    rows: list[ComparisonRow] = []
    default_metric = ", ".join(hyp.metrics)
    ranked = set(hyp.ranking)
    order = list(hyp.ranking) + [t for t in hyp.results if t not in ranked]
    for treatment in order:
        output = hyp.results.get(treatment, {})
        if "error" in output:
            rows.append(ComparisonRow(treatment, default_metric, error=str(output["error"])))
            continue
        rows += [_row(treatment, str(metric), entry) for metric, entry in metric_entries(hyp, output)]
    return rows


__all__ = [
    "ComparisonRow",
    "ConditionSummary",
    "empty_summary",
    "hypothesis_rows",
    "mean_ci",
    "metric_names",
    "metric_summaries",
    "numeric_values",
    "summarize",
]
