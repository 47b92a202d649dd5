"""Fit the line and save the model for downstream experiments."""

from __future__ import annotations

from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def fit_line(points: list) -> tuple[dict, dict]:
    """Ordinary least squares; records the fitted slope."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    fitted = {"slope": slope, "intercept": mean_y - slope * mean_x}
    return fitted, {"slope": slope}


@pipeline_step()
def save_model(fitted: dict, model: Artifact) -> dict:
    """Write the fitted model through the ``model`` output (the parameter is named after it)."""
    model.write(fitted)
    return fitted
