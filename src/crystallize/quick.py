"""``quick_experiment``: no classes — a function run for each named config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from crystallize.datasource import data_source
from crystallize.exceptions import ExperimentValidationError
from crystallize.pipeline import Pipeline
from crystallize.pipeline_step import PipelineStep
from crystallize.plugins.seed import SeedPlugin
from crystallize.result import Result
from crystallize.treatment import BASELINE, Treatment
from crystallize.utils.context import FrozenContext

if TYPE_CHECKING:
    from crystallize.experiment import Experiment

ConfigFunction = Callable[[Any, FrozenContext], Any]


@data_source
def config_source(ctx: FrozenContext) -> Any:
    """The datasource of quick experiments: the condition's config."""
    return ctx["config"]


class ConfigCall(PipelineStep):
    """The single step of a quick experiment: ``fn(config, ctx)``.

    ``fn`` records metrics with ``ctx.record(name, value)``; a returned dict of numbers
    is recorded too, as a convenience.
    """

    def __init__(self, fn: ConfigFunction) -> None:
        self.fn = fn
        self.params = {}

    @property
    def name(self) -> str:
        """The wrapped function's name."""
        return getattr(self.fn, "__name__", "fn")

    def __call__(self, config: Any, ctx: FrozenContext) -> Any:
        out = self.fn(config, ctx)
        if isinstance(out, Mapping):
            for key, value in out.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    ctx.record(str(key), value)
        return out


def config_experiment(
    fn: ConfigFunction,
    configs: Mapping[str, Any],
    replicates: int = 1,
    seed: int | None = None,
    name: str | None = None,
    plugins: list[Any] | None = None,
) -> tuple[Experiment, str]:
    """Build the Experiment behind :func:`quick_experiment` (also used by ``explore``).

    The config named ``"baseline"``, else the first one, is the baseline condition;
    every other config is a treatment of its name.
    """
    from crystallize.experiment import Experiment

    if not callable(fn):
        raise TypeError(f"quick_experiment needs a function fn(config, ctx), got {fn!r}")
    if not isinstance(configs, Mapping) or not configs:
        raise ExperimentValidationError(
            "quick_experiment needs a non-empty mapping of configs, e.g. {'a': {...}, 'b': {...}}"
        )
    names = [str(n) for n in configs]
    baseline = BASELINE if BASELINE in configs else names[0]
    return Experiment(
        datasource=config_source(),
        pipeline=Pipeline([ConfigCall(fn)]),
        initial_ctx={"config": configs[baseline]},
        treatments=[Treatment(n, {"config": configs[n]}) for n in names if n != baseline],
        replicates=replicates,
        plugins=[SeedPlugin(seed=seed), *(plugins or [])],
        name=name or getattr(fn, "__name__", "quick_experiment"),
    ), baseline


def quick_experiment(
    fn: ConfigFunction,
    configs: Mapping[str, Any],
    replicates: int = 1,
    seed: int | None = None,
) -> Result:
    """Run ``fn(config, ctx)`` for each named config over seeded replicates.

    Example::

        def train(config, ctx):
            ctx.record("score", config["lr"] * random.random())

        result = quick_experiment(train, {"a": {"lr": 0.1}, "b": {"lr": 0.2}}, replicates=5)
        result.metrics.condition("b").metrics["score"]

    The config named ``"baseline"``, else the first, is the baseline condition; the
    others are treatments. ``result.metrics.condition(name)`` finds any config by name.
    """
    return run_configs(*config_experiment(fn, configs, replicates, seed))


def run_configs(experiment: Experiment, baseline: str) -> Result:
    """Run a config experiment; its baseline config stays reachable by its own name."""
    result = experiment.run()
    result.metrics.aliases[baseline] = BASELINE
    result.info["baseline_config"] = baseline
    return result


__all__ = ["ConfigCall", "config_experiment", "config_source", "quick_experiment", "run_configs"]
