"""Messages the run worker posts to the run screen (``post_message`` is thread-safe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crystallize.cli.tui.runner import RunOutcome
    from crystallize.record import ReplicateRecord


class RunStarted(Message):
    """An experiment's run began (posted from the worker thread)."""

    def __init__(self, name: str, conditions: list[str], replicates: int, strategy: str) -> None:
        super().__init__()
        self.name, self.conditions, self.replicates, self.strategy = name, conditions, replicates, strategy


class RecordArrived(Message):
    """A replicate finished."""

    def __init__(self, name: str, record: ReplicateRecord) -> None:
        super().__init__()
        self.name, self.record = name, record


class RecordsResumed(Message):
    """A resumed run found these replicates in the store (they are not streamed)."""

    def __init__(self, name: str, records: Sequence[ReplicateRecord]) -> None:
        super().__init__()
        self.name, self.records = name, records


class LogLine(Message):
    """A line for the log."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class RunFinished(Message):
    """The worker is done (finished, cancelled or failed)."""

    def __init__(self, outcome: RunOutcome) -> None:
        super().__init__()
        self.outcome = outcome


__all__ = ["LogLine", "RecordArrived", "RecordsResumed", "RunFinished", "RunStarted"]
