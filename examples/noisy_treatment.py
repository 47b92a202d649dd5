"""Does a fertilizer make plants grow taller? A small but genuine study.

Each replicate grows a fresh plot of 25 plants whose heights are noisy (plant-to-plant
variation plus a per-plot soil effect). The baseline gets no fertilizer; ``fertilizer``
adds a modest effect and ``compost`` a small one. Every condition of a replicate uses the
same seed, so the plots differ only by the treatment. Thirty replicates per condition, a
one-sided Welch t-test with Holm correction across the two treatments, and the report
says which effect the data support.

Run it with ``make demo`` or ``python examples/noisy_treatment.py``.
"""

from __future__ import annotations

import numpy as np

from crystallize import (
    Experiment,
    Pipeline,
    SeedPlugin,
    data_source,
    hypothesis,
    pipeline_step,
    treatment,
)
from crystallize.stats import welch_t_test


@data_source
def plot_of_plants(ctx, plants: int = 25):
    """Baseline heights (cm) of one plot: a soil effect shared by the plot plus noise."""
    soil = np.random.normal(0.0, 1.0)
    return 30.0 + soil + np.random.normal(0.0, 4.0, size=plants)


@pipeline_step()
def fertilize(heights, ctx, *, growth_boost: float = 0.0):
    """Each plant responds to the fertilizer differently; the average response is the boost."""
    response = np.random.normal(growth_boost, 0.5 * abs(growth_boost) + 1e-9, size=heights.size)
    return heights + response


@pipeline_step()
def measure(heights, ctx):
    """Record the plot's mean height and the share of plants taller than 32 cm."""
    ctx.metrics.add("tall_share", float(np.mean(heights > 32.0)))
    return heights, {"mean_height": float(np.mean(heights))}


@hypothesis(verifier=welch_t_test(alternative="greater"), metrics="mean_height", correction="holm")
def taller_plants(result):
    """Rank treatments by their (adjusted) p-value: the most convincing first."""
    return result["p_value_adjusted"]


def build_experiment(replicates: int = 30) -> Experiment:
    """The fertilizer study: baseline, a fertilizer and compost."""
    return Experiment(
        datasource=plot_of_plants(),
        pipeline=Pipeline([fertilize(), measure()]),
        treatments=[
            treatment("fertilizer", {"growth_boost": 1.5}),
            treatment("compost", {"growth_boost": 0.3}),
        ],
        hypotheses=[taller_plants],
        replicates=replicates,
        plugins=[SeedPlugin(seed=2024)],
        name="fertilizer_study",
    )


def main() -> None:
    result = build_experiment().run()
    print(result.report())
    verdict = result.get_hypothesis("taller_plants").results
    print()
    for name, outcome in verdict.items():
        word = "grows taller plants" if outcome["significant"] else "shows no reliable effect"
        print(f"{name}: {word} (difference {outcome['difference']:+.2f} cm, "
              f"adjusted p = {outcome['p_value_adjusted']:.3g})")


if __name__ == "__main__":
    main()
