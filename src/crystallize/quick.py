"""``quick_experiment``: no classes — a function run for each named config."""

from __future__ import annotations

import weakref
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
from crystallize.utils.text import function_label

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
    (Python or NumPy numbers, 0-d arrays; not bools) is recorded too, as a convenience.
    A returned value that is not a number (a bool, a string, an array...) is not
    recorded: a ``RuntimeWarning`` names its key and type, once per key. A returned name
    that ``fn`` already recorded in this call is not recorded again, so a replicate
    never counts it twice; returning a different value for it raises.
    """

    def __init__(self, fn: ConfigFunction) -> None:
        self.fn = fn
        self.params = {}

    @property
    def name(self) -> str:
        """The wrapped function's name."""
        return getattr(self.fn, "__name__", "fn")

    def __call__(self, config: Any, ctx: FrozenContext) -> Any:
        n_before = len(ctx.metrics.log)
        out = self.fn(config, ctx)
        if isinstance(out, Mapping):
            recorded = dict(ctx.metrics.log[n_before:])  # the last value of each name
            for key, value in out.items():
                name = str(key)
                number = _number(value)
                if number is None:
                    self._warn_not_recorded(name, value)
                elif name not in recorded:
                    ctx.record(name, number)
                elif not _same(recorded[name], number):
                    raise ValueError(
                        f"{self.name} recorded metric {name!r} with ctx.record ({recorded[name]!r}) "
                        f"and returned a different value ({number!r}); record each metric once "
                        "per replicate, either with ctx.record or in the returned dict"
                    )
        return out

    def _warn_not_recorded(self, name: str, value: Any) -> None:
        """Warn (once per key) that the returned ``name`` is not a number, so not recorded."""
        import warnings

        warned = _NOT_RECORDED.setdefault(self, set())  # not an attribute: no part of the step's state
        if name in warned:
            return
        warned.add(name)
        warnings.warn(
            f"{self.name} returned {name!r} as a {type(value).__name__}, not a number, so it is not "
            "recorded as a metric (a returned dict records numbers only: Python or NumPy numbers "
            "and 0-d arrays, not bools)",
            RuntimeWarning,
            stacklevel=2,
        )


#: ``{step: returned keys already warned about as not recorded}``, so each warns once.
_NOT_RECORDED: weakref.WeakKeyDictionary[ConfigCall, set[str]] = weakref.WeakKeyDictionary()


def _number(value: Any) -> Any:
    """``value`` as a recordable number (NumPy scalars kept, 0-d arrays unwrapped), or
    ``None`` when it is not a number (bools are not)."""
    import numbers

    if getattr(value, "ndim", None) == 0 and hasattr(value, "dtype"):  # a 0-d array
        value = value[()]
    if isinstance(value, numbers.Real) and not isinstance(value, bool):  # NumPy's bool_ is not Real
        return value
    return None


def _same(a: Any, b: Any) -> bool:
    """Whether two recorded numbers are the same value (NaN equals NaN)."""
    return a == b or (a != a and b != b)


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
    _check_signature(fn)
    if not isinstance(configs, Mapping) or not configs:
        raise ExperimentValidationError(
            "quick_experiment needs a non-empty mapping of configs, e.g. {'a': {...}, 'b': {...}}"
        )
    named = named_configs(configs)
    baseline = BASELINE if BASELINE in named else next(iter(named))
    return Experiment(
        datasource=config_source(),
        pipeline=Pipeline([ConfigCall(fn)]),
        initial_ctx={"config": named[baseline]},
        treatments=[Treatment(n, {"config": c}) for n, c in named.items() if n != baseline],
        replicates=replicates,
        plugins=[SeedPlugin(seed=seed), *(plugins or [])],
        name=name or function_label(fn, "quick_experiment"),
    ), baseline


def _check_signature(fn: Callable[..., Any]) -> None:
    """Raise TypeError when ``fn`` cannot be called as ``fn(config, ctx)`` (two positional
    arguments; ``*args`` and defaults are fine). A callable whose signature cannot be read
    (some builtins) is accepted as is."""
    import inspect

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(None, None)
    except TypeError as exc:
        raise TypeError(
            f"quick_experiment needs a function fn(config, ctx) that takes the config and the "
            f"context as two positional arguments; {function_label(fn, 'fn')}{signature} cannot be "
            f"called that way ({exc})"
        ) from None


def named_configs(configs: Mapping[Any, Any]) -> dict[str, Any]:
    """``configs`` keyed by the string of each name (``{1: ...}`` is config ``"1"``);
    raises ExperimentValidationError when two names have the same string."""
    named: dict[str, Any] = {}
    for key, config in configs.items():
        name = str(key)
        if name in named:
            raise ExperimentValidationError(
                f"Configs {name!r} clash: config names are used as strings, and two of the "
                f"names given are both {name!r}; rename one of them"
            )
        named[name] = config
    return named


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
    others are treatments. Config names are used as strings (``{1: ...}`` is ``"1"``). ``result.metrics.condition(name)`` finds any config by name.

    Raises:
        TypeError: ``fn`` is not callable, or cannot be called as ``fn(config, ctx)``.
        ExperimentValidationError: ``configs`` is empty or not a mapping, or two names clash.
    """
    return run_configs(*config_experiment(fn, configs, replicates, seed))


def run_configs(experiment: Experiment, baseline: str) -> Result:
    """Run a config experiment; its baseline config stays reachable by its own name."""
    result = experiment.run()
    result.metrics.aliases[baseline] = BASELINE
    result.info["baseline_config"] = baseline
    return result


__all__ = [
    "ConfigCall", "config_experiment", "config_source", "named_configs", "quick_experiment", "run_configs",
]
