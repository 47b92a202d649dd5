"""The p-values of verifier outputs: reading, checking, correcting and ranking by them.

A verifier's output for one treatment is flat (``{"p_value": ..., ...}``) or holds one
result per metric (``{metric: {"p_value": ..., ...}}``), or both. :class:`~crystallize.
hypothesis.Hypothesis` checks each treatment's p-values (:func:`check_p_values`),
adjusts those of all its treatments together (:func:`apply_correction`) and ranks by
them, breaking ties by the raw p-value and the size of the effect (:func:`raw_p`,
:func:`effect_magnitude`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from crystallize.exceptions import VerificationError


def p_for_ranking(result: Mapping[str, Any]) -> float | None:
    return as_p_value(result.get("p_value_adjusted", result.get("p_value")))


def raw_p(result: Mapping[str, Any]) -> float:
    """The unadjusted p-value of a treatment's result (the smallest over its metrics);
    ``inf`` when there is none, so it sorts last among tied scores."""
    values = [as_p_value(result.get("p_value"))]
    values += [as_p_value(v.get("p_value")) for v in result.values() if isinstance(v, Mapping)]
    usable = [p for p in values if p is not None and not math.isnan(p)]
    return min(usable) if usable else math.inf


def effect_magnitude(result: Mapping[str, Any]) -> float:
    """How large a treatment's ``effect_size`` is (the largest over its metrics): its
    absolute value, or for an ``odds_ratio`` its distance from 1 (``|log OR|``). 0 when
    there is no numeric one, so such a treatment sorts last among tied scores."""
    entries = [result, *(v for v in result.values() if isinstance(v, Mapping))]
    return max((_magnitude(entry) for entry in entries), default=0.0)


def _magnitude(entry: Mapping[str, Any]) -> float:
    """The size of one result's ``effect_size`` (any real number, read as p-values are)."""
    value = as_p_value(entry.get("effect_size"))
    if value is None or math.isnan(value):
        return 0.0
    if entry.get("effect_size_name") == "odds_ratio":
        return abs(math.log(value)) if value > 0 else math.inf
    return abs(value)


def as_p_value(value: Any) -> float | None:
    """``value`` as a float p-value: any real number (NumPy's too), not a bool or text."""
    if value is None or isinstance(value, str | bytes) or type(value).__name__ in ("bool", "bool_"):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def p_value_slots(output: dict[str, Any]) -> list[dict[str, Any]]:
    """The dicts of one treatment's output holding a ``p_value``: the output itself, or
    its per-metric nested results."""
    if as_p_value(output.get("p_value")) is not None:
        return [output]
    return [v for v in output.values() if isinstance(v, dict) and as_p_value(v.get("p_value")) is not None]


#: How far outside [0, 1] a p-value may lie through rounding (an exact test summing
#: probabilities gives 1.0000000000000002): such a value is clipped into [0, 1].
P_VALUE_ROUNDING = 1e-9


def check_p_values(output: dict[str, Any], hypothesis: str, verifier_name: str, treatment: str) -> None:
    """Raise :class:`~crystallize.exceptions.VerificationError` when a numeric ``p_value``
    of one treatment's verifier ``output`` (flat, per metric ``{metric: {...}}``, or
    both) lies outside [0, 1]: 1.5, -0.1 or inf is no probability, so no verdict,
    ranking or correction may rest on it. A value off by rounding alone (within
    :data:`P_VALUE_ROUNDING`) is clipped into [0, 1] instead. NaN (a test undefined for
    its data) is allowed, and so is ``None`` (no p-value: the default ranker and the
    corrections skip it); a ``p_value`` that is something else but no number (``"0.01"``,
    ``[0.01]``, ``True``) is refused too: a correction would silently leave it out.
    """
    slots = [(output, "")] + [
        (value, f" (metric '{metric}')") for metric, value in output.items() if isinstance(value, dict)
    ]
    for slot, where in slots:
        raw = slot.get("p_value")
        p = as_p_value(raw)
        if p is None and raw is not None:
            raise VerificationError(
                f"Hypothesis '{hypothesis}': verifier '{verifier_name}' returned p_value {raw!r} "
                f"({type(raw).__name__}) for treatment '{treatment}'{where}, but a p-value must be "
                "a number in [0, 1] (NaN, or None, when the test gives none). Fix the verifier, "
                "e.g. float(p); no verdict was drawn for this treatment."
            )
        if p is None or math.isnan(p) or 0.0 <= p <= 1.0:
            continue
        if -P_VALUE_ROUNDING <= p <= 1.0 + P_VALUE_ROUNDING:
            slot["p_value"] = min(max(p, 0.0), 1.0)
            continue
        raise VerificationError(
            f"Hypothesis '{hypothesis}': verifier '{verifier_name}' returned p_value {p!r} for treatment "
            f"'{treatment}'{where}, but a p-value must lie in [0, 1] (or be NaN when the test "
            "is undefined). Fix the verifier so 'p_value' is a probability; no verdict was "
            "drawn for this treatment."
        )


def apply_correction(results: dict[str, dict[str, Any]], method: str, alpha: float = 0.05) -> None:
    """Adjust every p-value of the family: all treatments × metrics of one hypothesis.

    A treatment whose verification failed still counts, with p-values of 1 (as many as
    the other treatments have), so a failure never makes the others look stronger.
    ``significant`` is recomputed at each result's own ``alpha``, else at ``alpha`` (the
    verifier's ``alpha`` parameter, if it has one).
    """
    from crystallize.stats.corrections import adjust_p_values

    per_treatment = [p_value_slots(output) for output in results.values() if "error" not in output]
    slots = [slot for found in per_treatment for slot in found]
    if not slots:
        return
    failed = sum("error" in output for output in results.values())
    placeholders = [1.0] * (failed * max(len(found) for found in per_treatment))
    adjusted = adjust_p_values([as_p_value(s["p_value"]) for s in slots] + placeholders, method)
    for slot, p_adj in zip(slots, adjusted, strict=False):  # placeholders are not written back
        slot["p_value_adjusted"] = p_adj
        slot["significant"] = bool(p_adj < float(slot.get("alpha", alpha)))
        slot["correction"] = method


__all__ = [
    "P_VALUE_ROUNDING",
    "apply_correction",
    "as_p_value",
    "check_p_values",
    "effect_magnitude",
    "p_for_ranking",
    "p_value_slots",
    "raw_p",
]
