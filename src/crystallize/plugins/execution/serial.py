"""SerialExecution: one replicate after another in the calling thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.plugins.execution.base import ExecutionPlugin

if TYPE_CHECKING:
    from crystallize.experiment import Experiment


class SerialExecution(ExecutionPlugin):
    """Run replicates one after another in the calling thread (the default)."""

    executor_type = "serial"

    def __init__(self) -> None:
        pass

    def iter_results(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        """Yield each replicate's records as they finish (see :meth:`ExecutionPlugin.iter_results`);
        a replicate stopped midway (a Ctrl+C) yields the conditions it finished first.

        The run's own runner yields each condition's record as soon as it finishes
        (``iter_conditions``), so progress moves within a replicate.
        """
        from crystallize.replicate import finished_before

        by_condition = getattr(replicate_fn, "iter_conditions", None)
        if by_condition is not None:
            for rep in replicates:
                yield from by_condition(rep)
            return
        for rep in replicates:
            try:
                records = replicate_fn(rep)
            except BaseException as exc:
                finished = finished_before(exc)
                if finished:
                    yield finished
                raise
            yield records


__all__ = ["SerialExecution"]
