"""The run store interface: what every backend keeps and promises.

A *run* is one execution of an experiment by one driver process. The store keeps the
run's metadata (:class:`RunInfo`) and the :class:`~crystallize.record.ReplicateRecord`
every (condition, replicate) produced, so results can be listed, compared, resumed
and analysed after the process is gone.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from crystallize.exceptions import StoreError
from crystallize.record import ReplicateRecord

RunStatus = Literal["running", "completed", "failed", "cancelled", "interrupted"]

#: Every status a run can have. ``"running"`` is the only unfinished one.
RUN_STATUSES: tuple[str, ...] = ("running", "completed", "failed", "cancelled", "interrupted")


class RunNotFoundError(StoreError):
    """No run with the given id exists in the store."""

    def __init__(self, run_id: str, where: str | None = None) -> None:
        self.run_id = run_id
        self.where = where
        place = f"the store {where!r}" if where else "the store"
        super().__init__(
            f"No run with id '{run_id}' in {place}. List the stored runs to find the id "
            "(it may have been deleted, or be stored in another data directory)."
        )


class RunInProgressError(StoreError):
    """A run cannot be resumed: its driver process is still running it.

    Attributes:
        run: the stored run (its ``pid`` and ``hostname`` name the driver).
    """

    def __init__(self, run: RunInfo, heartbeat_age: float, *, in_this_process: bool = False) -> None:
        from crystallize.store.liveness import stop_hint

        self.run = run
        if in_this_process:  # stopping "that process" would stop the caller (a notebook's kernel)
            super().__init__(
                f"Cannot resume run {run.run_id} of '{run.experiment}': this process is still "
                "running it, from another Experiment object (a stream() that was not read to "
                "the end, or a run in another thread), and resuming it now would compute its "
                "missing replicates a second time. Close that stream (stream.close()) or read it "
                "out, or let the other run finish, then resume; or use strategy='rerun' to start "
                "a new run."
            )
            return
        super().__init__(
            f"Cannot resume run {run.run_id} of '{run.experiment}': it is still running in "
            f"process {run.pid} on {run.hostname} (last heartbeat {heartbeat_age:.0f} s ago), "
            "and resuming it now would compute its missing replicates a second time. Wait for "
            f"it to finish, or stop that process ({stop_hint(run.pid)}), then resume; or use "
            "strategy='rerun' to start a new run."
        )


def validate_status(status: str) -> str:
    """Return ``status`` if it is one of :data:`RUN_STATUSES`.

    Args:
        status: A run status.

    Returns:
        The same status.

    Raises:
        StoreError: If the status is not known.
    """
    if status not in RUN_STATUSES:
        raise StoreError(
            f"Unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}."
        )
    return status


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Metadata of one stored run (a snapshot; it does not update itself). Compared by
    every field; hashed by ``run_id``, so runs can go in sets and dict keys.

    Attributes:
        run_id: Short unique id (12 hex characters).
        experiment: Experiment name.
        fingerprint: Hash of the experiment definition; runs with the same fingerprint
            ran the same experiment and can resume each other.
        spec: JSON description of the experiment (tuples inside come back as lists).
        status: One of :data:`RUN_STATUSES`.
        replicates: Replicates per condition the run was asked for.
        conditions: Condition names, in run order.
        base_seed: The run's base seed, or ``None``.
        started_at: Start time, seconds since the epoch.
        ended_at: End time (seconds since the epoch), ``None`` while running. For a run
            found dead and marked ``"interrupted"`` it is the time of its last heartbeat.
        heartbeat_at: Last sign of life from the driver, seconds since the epoch.
        pid: Process id of the driver.
        hostname: Host the driver runs on.
        summary: JSON summary written by :meth:`RunStore.finish_run`, or ``None``.
        warnings: Warnings collected for the run.
        parent_run: Id of the run this one resumes or derives from, or ``None``.
        n_records: Number of replicate records stored for the run.
        artifact_version: The ``v<N>`` directory holding the run's artifact files
            (``<root>/<experiment>/v<N>``); a resumed run keeps writing there. ``None``
            for runs stored before Crystallize recorded it.
        paused_seconds: What ``ended_at - started_at`` holds beyond the time the run
            spent running: the time between the end of one span of running and the next
            (a resume), and a wall clock stepped forward while it ran. ``0`` for runs
            resumed before the store recorded it.
    """

    run_id: str
    experiment: str
    fingerprint: str
    spec: dict[str, Any]
    status: str
    replicates: int
    conditions: tuple[str, ...]
    base_seed: int | None
    started_at: float
    ended_at: float | None
    heartbeat_at: float
    pid: int
    hostname: str
    summary: dict[str, Any] | None
    warnings: tuple[str, ...]
    parent_run: str | None
    n_records: int
    artifact_version: int | None = None
    paused_seconds: float = 0.0

    def __hash__(self) -> int:
        # By the run's id: ``spec`` and ``summary`` are dicts. Equal snapshots have the
        # same id; two snapshots of one run taken at different times hash alike but
        # differ (status, heartbeat...).
        return hash(self.run_id)

    @property
    def finished(self) -> bool:
        """True when the run is no longer ``"running"``."""
        return self.status != "running"

    @property
    def active_seconds(self) -> float | None:
        """Seconds the run spent running, its first run plus each resume (``None``
        while it is running).

        A run its driver finished holds the time the driver measured on its monotonic
        clock (see :meth:`RunStore.finish_run`), so a wall clock stepped during the run
        changes nothing. A run found dead counts until its last heartbeat, by the wall
        clock, as do runs stored before Crystallize measured it (never below ``0``).
        """
        return None if self.ended_at is None else self.active_seconds_so_far

    @property
    def active_seconds_so_far(self) -> float:
        """Seconds the run spent running until it ended or, while it is ``running``,
        until its driver's last heartbeat (what a resume adds its own time to)."""
        until = self.heartbeat_at if self.ended_at is None else self.ended_at
        return max(0.0, until - self.started_at - self.paused_seconds)


@dataclass(frozen=True, slots=True)
class Preregistration:
    """A hypothesis written down before the data that tests it exists.

    Attributes:
        registration_id: short unique id.
        experiment: the experiment (or exploration) it belongs to.
        hypothesis: the hypothesis text, exactly as registered.
        created_at: when it was written (``time.time()``).
        payload: everything else registered with it (run ids, code fingerprint, seeds).
    """

    registration_id: str
    experiment: str
    hypothesis: str
    created_at: float
    payload: dict[str, Any]


class RunStore(abc.ABC):
    """Durable storage for runs and their replicate records.

    Contract every backend keeps:

    * **One writer per run.** Only the driver process that created (or reopened) a run
      writes its records, heartbeat and status. Workers send records to the driver.
    * **Many processes, one store.** Any number of processes may open the same store at
      the same time, each writing its own runs; their writes never block each other for
      long and never fail because of each other.
    * **Immutable records.** A stored record is never modified. Writing the same
      ``(run, condition, replicate)`` again *replaces* the earlier record as a whole —
      that is how a failed replicate re-run on resume supersedes the failure.
    * **Exact round trip.** :meth:`load_records` gives back records equal to the ones
      written, with two documented exceptions: tuples nested inside values come back as
      lists (``events`` entries stay ``(name, data)`` tuples), and numpy scalars/arrays
      come back as the equivalent Python numbers/lists. Ints stay ints, floats stay
      floats (NaN and ±inf included), dict keys must be strings.
    * **One error type.** Every backend failure (I/O, locking, corruption, unknown run,
      unencodable value) is raised as :class:`~crystallize.exceptions.StoreError` or a
      subclass of it, with the backend exception as ``__cause__``.
    * **Versioned schema.** The store records its schema version; opening a store
      written by newer code than this raises a clear :class:`StoreError`.
    * **Stale runs.** When a store is opened, runs still marked ``"running"`` whose
      driver is gone (dead pid on this host, or no heartbeat for ``stale_after``
      seconds) are marked ``"interrupted"``. A driver that is alive keeps its run alive
      by calling :meth:`heartbeat` (a :class:`~crystallize.store.writer.RecordWriter`
      does this for it).

    Stores are context managers; :meth:`close` releases their resources.
    """

    # -- runs ---------------------------------------------------------------------------

    @abc.abstractmethod
    def create_run(
        self,
        *,
        experiment: str,
        fingerprint: str,
        spec: dict[str, Any],
        replicates: int,
        conditions: Sequence[str],
        base_seed: int | None,
        parent_run: str | None = None,
        artifact_version: int | None = None,
    ) -> RunInfo:
        """Start a new run owned by the calling process.

        The run gets status ``"running"`` and records this process's pid, the host
        name, ``started_at`` and ``heartbeat_at`` (now).

        Args:
            experiment: Experiment name.
            fingerprint: Hash identifying the experiment definition.
            spec: JSON-friendly description of the experiment.
            replicates: Replicates per condition (``>= 0``).
            conditions: Unique condition names, in the order results are reported.
            base_seed: Base seed of the run, or ``None``.
            parent_run: Id of the run this one resumes or derives from.
            artifact_version: The ``v<N>`` artifact directory of the run, if it has one.

        Returns:
            The new run's metadata.

        Raises:
            StoreError: If an argument is invalid or the write fails.
        """

    @abc.abstractmethod
    def heartbeat(self, run_id: str) -> None:
        """Record that the run's driver is alive (updates ``heartbeat_at``).

        If the run was marked ``"interrupted"`` by another process (for example after
        the machine slept) and the caller is the run's own driver, the run becomes
        ``"running"`` again.

        Raises:
            RunNotFoundError: If the run does not exist.
            StoreError: If the write fails.
        """

    @abc.abstractmethod
    def finish_run(
        self,
        run_id: str,
        status: str,
        *,
        summary: dict[str, Any] | None = None,
        warnings: Sequence[str] | None = None,
        active_seconds: float | None = None,
    ) -> None:
        """Set the run's final status (and ``ended_at``).

        Passing ``"running"`` reopens the run for the calling process: ``ended_at`` is
        cleared and the caller becomes the run's driver (pid, host, heartbeat).

        Args:
            run_id: The run.
            status: One of :data:`RUN_STATUSES`.
            summary: JSON summary to store; ``None`` keeps the current one.
            warnings: Replaces the run's warnings; ``None`` keeps the current ones.
            active_seconds: The seconds the run spent running, all its spans together,
                as its driver measured them on a monotonic clock; it becomes the run's
                :attr:`RunInfo.active_seconds`, whatever the wall clock did meanwhile
                (``ended_at`` is never earlier than the start plus that time). ``None``:
                the time between the run's start and now, its pauses left out.

        Raises:
            RunNotFoundError: If the run does not exist.
            StoreError: If the status is unknown or the write fails.
        """

    @abc.abstractmethod
    def reopen_run(
        self, run_id: str, replicates: int | None = None, *, artifact_version: int | None = None
    ) -> RunInfo:
        """Make the calling process the driver of an existing run, status ``"running"``.

        Use it to resume a run in place (append the missing or failed replicates).
        ``replicates`` is the resumed run's replicate count: a resume that adds
        replicates raises the stored count (it is never lowered). ``artifact_version``
        records the run's artifact directory when the store did not have it yet (a run
        stored by an older Crystallize); a recorded one is kept.

        Returns:
            The run's updated metadata.
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> RunInfo:
        """Return the run's metadata.

        Raises:
            RunNotFoundError: If the run does not exist.
        """

    @abc.abstractmethod
    def list_runs(self, experiment: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Return runs, newest first: the run created last comes first, whatever the
        wall clock said when each started (``started_at``).

        Args:
            experiment: Only runs of this experiment; ``None`` for all.
            limit: At most this many runs; ``None`` for all.
        """

    @abc.abstractmethod
    def latest_run(
        self,
        experiment: str,
        fingerprint: str | None = None,
        statuses: Iterable[str] | None = None,
    ) -> RunInfo | None:
        """Return the newest run of ``experiment`` matching the filters (the one created
        last, as in :meth:`list_runs`), or ``None``.

        Args:
            experiment: Experiment name.
            fingerprint: Only runs with this fingerprint.
            statuses: Only runs whose status is one of these.
        """

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete the run and all its records. Runs naming it as parent keep the id.

        Raises:
            RunNotFoundError: If the run does not exist.
        """

    # -- pre-registrations ----------------------------------------------------------------

    @abc.abstractmethod
    def add_preregistration(
        self, *, experiment: str, hypothesis: str, payload: dict[str, Any]
    ) -> Preregistration:
        """Write a pre-registration record; records are never changed afterwards."""

    @abc.abstractmethod
    def get_preregistration(self, registration_id: str) -> Preregistration:
        """Return the pre-registration ``registration_id``.

        Raises:
            StoreError: If there is no such record.
        """

    # -- records ------------------------------------------------------------------------

    @abc.abstractmethod
    def append_records(self, run_id: str, records: Sequence[ReplicateRecord]) -> None:
        """Store ``records`` for the run in one transaction (all or nothing).

        A record whose ``(condition, replicate)`` is already stored for the run replaces
        the stored one.

        Raises:
            RunNotFoundError: If the run does not exist.
            StoreError: If a record holds a value that cannot be stored, or the write
                fails (nothing from the batch is stored then).
        """

    @abc.abstractmethod
    def load_records(self, run_id: str, *, steps: bool = True) -> list[ReplicateRecord]:
        """Return the run's records, ordered by the run's condition order, then replicate.

        Records of conditions not listed in the run come last, by condition name. With
        ``steps=False`` their step provenance is left in the store (``record.steps`` is
        :data:`~crystallize.record.STEPS_IN_STORE`).

        Raises:
            RunNotFoundError: If the run does not exist.
        """

    def failed_replicates(self, run_id: str, condition: str) -> set[int]:
        """The replicates of ``condition`` whose stored record in run ``run_id`` failed.

        Stores may answer from an index; this default loads the records (without steps).

        Raises:
            RunNotFoundError: If the run does not exist.
        """
        return {
            r.replicate for r in self.load_records(run_id, steps=False)
            if r.condition == condition and r.error is not None
        }

    # -- lifecycle ----------------------------------------------------------------------

    def release_thread(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release resources the store holds for the calling thread (if any).

        Threads that used the store and are about to end should call it.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release every resource; the store must not be used afterwards."""

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "RUN_STATUSES",
    "RunInfo",
    "RunInProgressError",
    "RunNotFoundError",
    "RunStatus",
    "RunStore",
    "validate_status",
]
