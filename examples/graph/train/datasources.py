"""Noisy points on a line."""

from __future__ import annotations

import random

from crystallize import data_source


@data_source
def noisy_line(ctx, n: int = 50, slope: float = 1.0, intercept: float = 0.0, noise: float = 1.0) -> list:
    """``n`` points ``(x, slope * x + intercept + noise)`` with x uniform in [0, 10]."""
    points = []
    for _ in range(n):
        x = random.uniform(0.0, 10.0)
        points.append((x, slope * x + intercept + random.gauss(0.0, noise)))
    return points
