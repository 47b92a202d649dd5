"""A custom verifier and ranker (built-in verifiers need no code: see crystallize.stats)."""

from __future__ import annotations

from statistics import mean

from crystallize import verifier


@verifier
def relative_improvement(baseline, treatment, *, metric: str = "mse", min_gain: float = 0.1) -> dict:
    """How much lower the treatment's mean ``metric`` is, relative to the baseline's."""
    before, after = mean(baseline[metric]), mean(treatment[metric])
    gain = (before - after) / before if before else 0.0
    return {"gain": gain, "significant": gain >= min_gain}


def by_gain(result: dict) -> float:
    """Rank treatments by gain, largest first (lower scores rank better)."""
    return -result["gain"]
