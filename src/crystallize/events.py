"""Live events: ``ctx.emit(event, **payload)`` inside a step reaches plugins while the run goes.

A replicate's context carries an *event sink*. In the driver's own thread (serial
execution) the sink calls the plugins' ``on_event`` hooks directly; executors that run
replicates elsewhere (threads, processes, asyncio, Ray) install a sink that puts events
on a queue, drain it while they wait for results, and hand the events to the driver,
which calls ``on_event`` in its own thread. Every event is also kept in its replicate's
record (``record.events``).
"""

from __future__ import annotations

from typing import Any


class LiveEvent:
    """One ``ctx.emit`` call: where it happened, its name and payload."""

    __slots__ = ("condition", "replicate", "seed", "event", "payload")

    def __init__(
        self, condition: str, replicate: int, seed: int | None, event: str, payload: dict[str, Any] | None = None
    ) -> None:
        self.condition = condition
        self.replicate = replicate
        self.seed = seed
        self.event = event
        self.payload = payload if payload is not None else {}

    def __reduce__(self):
        return (LiveEvent, (self.condition, self.replicate, self.seed, self.event, self.payload))

    def __repr__(self) -> str:
        return (
            f"LiveEvent({self.condition!r}, {self.replicate!r}, {self.seed!r}, "
            f"{self.event!r}, {self.payload!r})"
        )


class QueueSink:
    """An event sink that puts events on a queue (picklable when the queue is)."""

    __slots__ = ("queue",)

    def __init__(self, target: Any) -> None:
        self.queue = target

    def __call__(self, event: LiveEvent) -> None:
        self.queue.put(event)

    def __reduce__(self):
        return (QueueSink, (self.queue,))


def drain(source: Any) -> list[LiveEvent]:
    """Every event waiting on ``source`` (a queue with ``get_nowait``), without blocking."""
    import queue

    take_batch = getattr(source, "get_nowait_batch", None)  # ray.util.queue.Queue
    if take_batch is not None:
        # Ray's get_nowait() on an empty queue leaves an error result behind in Ray; if a
        # Ctrl+C lands while it is fetched, Ray later logs that error with a traceback.
        # The size and then exactly that many never fail (the driver is the only reader).
        waiting = source.qsize()
        return list(take_batch(waiting)) if waiting else []
    events = []
    while True:
        try:
            events.append(source.get_nowait())
        except (queue.Empty, EOFError, OSError):
            return events
        except Exception as exc:  # e.g. ray.util.queue.Empty, which is not queue.Empty
            if type(exc).__name__ == "Empty":
                return events
            raise


__all__ = ["LiveEvent", "QueueSink", "drain"]
