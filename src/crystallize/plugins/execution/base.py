"""The execution-plugin base class shared by every scheduling strategy."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.plugins.hookspec import BasePlugin

if TYPE_CHECKING:
    from crystallize.experiment import Experiment


def replicate_indices(experiment: Experiment, replicate_fn: Callable[[int], Any]) -> Sequence[int]:
    """The replicate indices to run: the runner's pending ones, else all of them."""
    pending = getattr(replicate_fn, "replicates", None)
    if pending is not None:
        return pending
    return range(experiment.replicates)


class ExecutionPlugin(BasePlugin):
    """Base class of execution strategies.

    Subclasses implement :meth:`iter_results`, a generator yielding ``replicate_fn(rep)``
    for every index — in completion order when they run concurrently. Closing the
    generator early (a ``break`` in ``experiment.stream()``, ``fail_fast``) must cancel
    what has not started. :meth:`run_experiment_loop` (the hook) collects it in a list; a
    subclass may override the hook instead, and its results are used (not streamed: they
    arrive when it returns).
    """

    #: ``"serial"``, ``"thread"``, ``"process"``, ``"async"`` or ``"ray"``.
    executor_type: str = "serial"

    def iter_results(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        """Yield ``replicate_fn(rep)`` for each index in ``replicates``."""
        raise NotImplementedError(
            f"{type(self).__name__} schedules no replicates: implement iter_results(experiment, "
            "replicate_fn, replicates), a generator yielding replicate_fn(rep) for each index, "
            "or run_experiment_loop(experiment, replicate_fn), returning their results."
        )

    def run_experiment_loop(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any]
    ) -> list[Any]:
        """Run every replicate and return the results (completion order)."""
        return list(self.iter_results(experiment, replicate_fn, replicate_indices(experiment, replicate_fn)))


__all__ = ["ExecutionPlugin", "replicate_indices"]
