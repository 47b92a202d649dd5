"""Datasources of the smoothing experiment (named in config.yaml under ``datasource:``)."""

from __future__ import annotations

import math
import random

from crystallize import data_source


@data_source
def sine_wave(ctx, length: int = 100, periods: float = 1.0) -> list[float]:
    """The clean signal: ``periods`` periods of a sine over ``length`` samples."""
    return [math.sin(2 * math.pi * periods * i / length) for i in range(length)]


@data_source
def gaussian_noise(ctx, length: int = 100, scale: float = 1.0) -> list[float]:
    """Independent Gaussian noise (seeded per replicate by the SeedPlugin)."""
    return [random.gauss(0.0, scale) for _ in range(length)]
