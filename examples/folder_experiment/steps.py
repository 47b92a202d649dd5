"""Pipeline steps of the smoothing experiment (named in config.yaml under ``steps:``)."""

from __future__ import annotations

from crystallize import pipeline_step
from crystallize.artifacts import Artifact


@pipeline_step()
def add_noise(data: dict) -> dict:
    """Combine the two datasources into the clean and the noisy signal."""
    clean = data["clean"]
    return {"clean": clean, "noisy": [c + n for c, n in zip(clean, data["noise"], strict=True)]}


@pipeline_step()
def smooth(data: dict, *, window: int = 1) -> dict:
    """Centred moving average of the noisy signal over ``window`` samples."""
    noisy, half = data["noisy"], window // 2
    smoothed = []
    for i in range(len(noisy)):
        part = noisy[max(0, i - half) : i + half + 1]
        smoothed.append(sum(part) / len(part))
    return {**data, "smoothed": smoothed}


@pipeline_step()
def score(data: dict, ctx, summary: Artifact) -> tuple[dict, dict]:
    """Record the mean squared error against the clean signal; write a summary file."""
    pairs = list(zip(data["smoothed"], data["clean"], strict=True))
    mse = sum((s - c) ** 2 for s, c in pairs) / len(pairs)
    summary.write({"condition": ctx["condition"], "replicate": ctx["replicate"], "mse": mse})
    return data, {"mse": mse}
