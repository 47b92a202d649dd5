"""Test points on the true line y = 2x + 1; the noise level comes from the context."""

from __future__ import annotations

import random

from crystallize import data_source


@data_source
def test_points(ctx, n: int = 100) -> list:
    """``n`` test points with Gaussian noise of scale ``ctx["noise"]`` (0.5 by default)."""
    noise = ctx.get("noise", 0.5)
    points = []
    for _ in range(n):
        x = random.uniform(0.0, 10.0)
        points.append((x, 2.0 * x + 1.0 + random.gauss(0.0, noise)))
    return points
