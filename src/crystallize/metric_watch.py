"""An early warning for a hypothesis metric that the replicates do not record.

A hypothesis naming a metric no step records (a typo, a renamed metric) can only fail
when the run ends, after every replicate has run. :class:`HypothesisMetricWatch` looks
at the records as they arrive: once every condition has finished one replicate without
an error and none of them recorded a metric some hypothesis reads, it warns at once, so
a long run can be stopped and fixed instead of found out hours later. It warns at most
once per run and stops looking as soon as every metric has been seen. The run itself is
not changed: a metric recorded only by later replicates still counts, and then the
warning is withdrawn (left out of the run's warnings, with a note on the logger).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crystallize.hypothesis import Hypothesis
    from crystallize.record import ReplicateRecord


class HypothesisMetricWatch:
    """Watches arriving records for the metrics the run's hypotheses read.

    Args:
        hypotheses: the hypotheses of the run.
        conditions: the names of every condition of the run.
        warn: called once with the warning's text (the run's session keeps it with the run).
        withdraw: called with the warning's text and why, when a later replicate records
            every metric after all (the warning is then no longer true of the run).
    """

    __slots__ = ("_readers", "_recorded", "_unseen", "_waiting", "_warn", "_withdraw", "_warned", "done")

    def __init__(
        self,
        hypotheses: Iterable[Hypothesis],
        conditions: Iterable[str],
        warn: Callable[[str], None],
        withdraw: Callable[[str, str], None],
    ) -> None:
        self._readers: dict[str, list[str]] = {}
        for hyp in hypotheses:
            for metric in hyp.metrics:
                self._readers.setdefault(metric, []).append(hyp.name)
        self._unseen = set(self._readers)
        self._recorded: set[str] = set()
        self._waiting = set(conditions)  # conditions without a successful record yet
        self._warn = warn
        self._withdraw = withdraw
        self._warned: str | None = None  # the warning given, while it holds
        #: True once there is nothing left to watch for (the caller may stop calling).
        self.done = not self._unseen or not self._waiting

    def see(self, record: ReplicateRecord) -> None:
        """Take one arriving record into account (failed records say nothing)."""
        if self.done or record.error is not None:
            return
        self._recorded.update(record.metrics)
        self._unseen.difference_update(record.metrics)
        self._waiting.discard(record.condition)
        if not self._unseen:
            self.done = True
            if self._warned is not None:  # recorded after all, by a later replicate
                names = ", ".join(f"'{m}'" for m in sorted(self._readers))
                self._withdraw(
                    self._warned,
                    f"Replicate {record.replicate} of '{record.condition}' recorded {names}: the "
                    "warning that no replicate had recorded it is withdrawn.",
                )
        elif not self._waiting and self._warned is None:
            self._warned = self.message()
            self._warn(self._warned)  # and go on watching: a later replicate may record it

    def message(self) -> str:
        """The warning: which hypothesis reads which unrecorded metric, what was recorded."""
        missing = sorted(self._unseen)
        reads = "; ".join(
            f"{', '.join(repr(h) for h in self._readers[m])} read{'s' if len(self._readers[m]) == 1 else ''} '{m}'"
            for m in missing
        )
        recorded = ", ".join(sorted(self._recorded)) or "none"
        return (
            f"Hypothesis {reads}, but no replicate has recorded "
            f"{'these metrics' if len(missing) > 1 else 'that metric'} so far (every condition has "
            f"finished a replicate; recorded metrics: {recorded}). Unless later replicates record "
            f"{'them' if len(missing) > 1 else 'it'}, the hypotheses cannot be verified when the "
            "run ends: stop the run (Ctrl+C keeps what finished) and fix the name, or record it "
            "in a step with ctx.metrics.add(...) or return (data, {metric: value})."
        )


__all__ = ["HypothesisMetricWatch"]
