"""Records arriving from the execution plugin, checked against what the run asked for.

Whatever executor runs the replicates (a built-in one or a user's ``run_experiment_loop``),
each pending condition × replicate reaches the driver exactly once: duplicates are dropped
and pairs never returned become failed records, so a buggy executor cannot double-count
metrics or leave a run looking complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from crystallize.events import LiveEvent
from crystallize.plugins.execution.base import ExecutionPlugin, replicate_indices
from crystallize.record import ReplicateRecord

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.replicate import ReplicateRunner

logger = logging.getLogger("crystallize")


def iterate_records(
    experiment: Experiment, runner: ReplicateRunner, warn: Callable[[str], None] | None = None
) -> Iterator[ReplicateRecord | LiveEvent]:
    """Drive the execution plugin; yield every record (and routed live event) as it arrives.

    Each pending condition × replicate is yielded once: a record the plugin hands back a
    second time (or one the run did not ask for) is dropped, and the pairs it never hands
    back get failed records (``ExecutorError``) once it is done, each with a ``warn``
    (a warning on the ``crystallize`` logger by default).
    """
    if warn is None:
        warn = logger.warning
    execution = experiment.execution_plugin
    owed = _Owed(runner, type(execution).__name__)
    results = _execute(experiment, runner, execution, warn)
    try:
        for item in results:
            if isinstance(item, LiveEvent):
                yield item
                continue
            for record in (item,) if isinstance(item, ReplicateRecord) else item:
                if owed.take(record):
                    yield record
        yield from owed.never_returned(warn)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
        owed.warn_unexpected(warn)


def _execute(
    experiment: Experiment, runner: ReplicateRunner, execution: Any, warn: Callable[[str], None]
) -> Iterable[Any]:
    """What the execution plugin returns: the records :meth:`ExecutionPlugin.iter_results`
    streams, unless the plugin overrides the ``run_experiment_loop`` hook (a subclass of
    an execution plugin or of :class:`ExecutionPlugin` included), whose results are used
    then. A plugin whose ``run_experiment_loop`` returns ``None`` leaves the run to
    SerialExecution."""
    replicates = replicate_indices(experiment, runner)
    if isinstance(execution, ExecutionPlugin) and (
        type(execution).run_experiment_loop is ExecutionPlugin.run_experiment_loop
    ):
        return execution.iter_results(experiment, runner, replicates)
    results = execution.run_experiment_loop(experiment, runner)
    if results is not None:
        return results
    from crystallize.plugins.execution.serial import SerialExecution

    warn(
        f"{type(execution).__name__}.run_experiment_loop returned None, so the default "
        "SerialExecution ran the replicates (return the results of replicate_fn to use them)."
    )
    return SerialExecution().iter_results(experiment, runner, replicates)


class _Owed:
    """The condition × replicate pairs an execution plugin still owes the run.

    One byte per condition and replicate index (1 = owed) rather than a set of pairs:
    a sweep of millions of pairs costs megabytes, not a set of tuples ten times larger.
    """

    def __init__(self, runner: ReplicateRunner, executor: str) -> None:
        self.runner = runner
        self.executor = executor
        size = max(runner.replicates, default=-1) + 1
        template = bytearray(size)
        for rep in runner.replicates:
            template[rep] = 1
        self.owed = {name: bytearray(template) for name, _ in runner.conditions}
        for rep, finished in runner.done.items():  # resume: already stored
            for name in finished:
                flags = self.owed.get(name)
                if flags is not None and 0 <= rep < size:
                    flags[rep] = 0
        self.total = sum(flags.count(1) for flags in self.owed.values())
        self.remaining = self.total
        self.unexpected: list[tuple[str, int]] = []

    def take(self, record: ReplicateRecord) -> bool:
        """Tick ``record`` off; False for one not owed (a second copy, or never asked for)."""
        flags = self.owed.get(record.condition)
        rep = record.replicate
        if flags is None or type(rep) is not int or not 0 <= rep < len(flags) or not flags[rep]:
            self.unexpected.append((record.condition, rep))
            return False
        flags[rep] = 0
        self.remaining -= 1
        return True

    def _still_owed(self) -> dict[int, set[str]]:
        """``{replicate: {condition, ...}}`` of the pairs never returned."""
        missing: dict[int, set[str]] = {}
        for name, flags in self.owed.items():
            rep = flags.find(1)
            while rep != -1:
                missing.setdefault(rep, set()).add(name)
                rep = flags.find(1, rep + 1)
        return missing

    def never_returned(self, warn: Callable[[str], None]) -> Iterator[ReplicateRecord]:
        """Failed records for the pairs still owed (the plugin is done), so the run says
        so and ``strategy="resume"`` runs them."""
        if not self.remaining:
            return
        missing = self._still_owed()
        first = min(missing)
        warn(
            f"The execution plugin {self.executor} never returned {self.remaining} of "
            f"{self.total} condition x replicate record(s) (e.g. {min(missing[first])} #{first}); "
            "they are recorded as failed (ExecutorError) and run(strategy='resume') runs them."
        )
        reason = (
            f"the execution plugin {self.executor} never returned this record; "
            "run(strategy='resume') runs it"
        )
        for rep in sorted(missing):
            for record in self.runner.failed_records(rep, reason, "ExecutorError"):
                if record.condition in missing[rep]:
                    yield record

    def warn_unexpected(self, warn: Callable[[str], None]) -> None:
        """One warning for every record that was dropped."""
        if self.unexpected:
            condition, rep = self.unexpected[0]
            warn(
                f"The execution plugin {self.executor} returned {len(self.unexpected)} record(s) "
                f"that were not pending (e.g. {condition} #{rep}: a second copy, or a condition x "
                "replicate the run did not ask for); they were ignored, only the first copy counts."
            )
            self.unexpected = []


__all__ = ["iterate_records"]
