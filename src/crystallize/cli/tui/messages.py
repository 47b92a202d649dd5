"""Messages the run worker posts to the run screen, through a :class:`RunFeed`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from crystallize.cli.tui.runner import RunOutcome
    from crystallize.record import ReplicateRecord

    Entry = tuple[str, ReplicateRecord] | str  # (experiment name, finished replicate) or a log line


class RunStarted(Message):
    """An experiment's run began (posted from the worker thread)."""

    def __init__(self, name: str, conditions: list[str], replicates: int, strategy: str) -> None:
        super().__init__()
        self.name, self.conditions, self.replicates, self.strategy = name, conditions, replicates, strategy


class BatchArrived(Message):
    """Replicates finished or lines were logged: :meth:`take` them, in order. An entry is
    ``(experiment name, record)`` for a replicate, a ``str`` for a log line."""

    def __init__(self, feed: RunFeed, batch: list[Entry]) -> None:
        super().__init__()
        self.feed, self.batch = feed, batch

    def take(self) -> list[Entry]:
        """The entries of this batch so far; later ones come with a new message."""
        return self.feed.take(self.batch)


class RecordsResumed(Message):
    """A resumed run found these replicates in the store (they are not streamed)."""

    def __init__(self, name: str, records: Sequence[ReplicateRecord]) -> None:
        super().__init__()
        self.name, self.records = name, records


class RunFinished(Message):
    """The worker is done (finished, cancelled or failed)."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__()
        self.outcome = outcome


class RunFeed:
    """Hands what other threads report (a run's records, log lines) to the run screen.

    One message per replicate (and per log line: a verbose LoggingPlugin logs each step)
    would flood the screen when replicates are fast: each costs the screen about a
    millisecond, so the display fell seconds behind the run. Records and log lines are
    collected in a batch instead, and one :class:`BatchArrived` message per batch wakes
    the screen, which takes all the batch holds by then: batches grow as far as the
    screen is behind. Any other message closes the open batch first, so the screen sees
    everything in the order it happened.

    Args:
        post: the screen's thread-safe ``post_message``.
    """

    def __init__(self, post: Callable[[Message], Any]) -> None:
        self._post = post
        self._lock = threading.Lock()
        self._open: list[Entry] | None = None

    def record(self, name: str, record: ReplicateRecord) -> None:
        """Add a finished replicate of experiment ``name`` (any thread)."""
        self._add((name, record))

    def log(self, text: str) -> None:
        """Add a line for the log (any thread)."""
        self._add(text)

    def _add(self, entry: Entry) -> None:
        with self._lock:  # posting inside the lock keeps the messages in order across threads
            if self._open is not None:
                self._open.append(entry)
                return
            self._open = [entry]
            self._post(BatchArrived(self, self._open))

    def post(self, message: Message) -> None:
        """Post ``message`` after the records added so far (any thread)."""
        with self._lock:
            self._open = None
            self._post(message)

    def take(self, batch: list[Entry]) -> list[Entry]:
        """Empty ``batch`` and return what it held; records added later start a new one."""
        with self._lock:
            if self._open is batch:
                self._open = None
            taken = batch[:]
            batch.clear()
        return taken


__all__ = ["BatchArrived", "RecordsResumed", "RunFeed", "RunFinished", "RunStarted"]
