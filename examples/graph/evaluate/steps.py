"""Score the upstream model on the test points."""

from __future__ import annotations

from crystallize import pipeline_step


@pipeline_step()
def prediction_error(data: dict) -> tuple[float, dict]:
    """Mean squared error of ``data["model"]`` (from `train`) on ``data["test"]``."""
    model, points = data["model"], data["test"]
    errors = [(model["slope"] * x + model["intercept"] - y) ** 2 for x, y in points]
    mse = sum(errors) / len(errors)
    return mse, {"mse": mse}
