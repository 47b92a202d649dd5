"""The run store's ``runs`` table: its rows as :class:`~crystallize.store.base.RunInfo`,
and :class:`RunRows`, the table's half of :class:`~crystallize.store.sqlite.SQLiteRunStore`
(the run-side counterpart of :mod:`crystallize.store.record_rows`)."""

from __future__ import annotations

import logging
import operator
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from crystallize.exceptions import StoreError
from crystallize.store.base import RunInfo, RunNotFoundError, validate_status
from crystallize.store.liveness import hostname as _hostname
from crystallize.store.liveness import stale_reason
from crystallize.store.serialize import SerializationError, dumps, loads

logger = logging.getLogger("crystallize.store")

#: The columns :func:`run_info` reads, in order (the last counts the run's records).
RUN_COLUMNS = (
    "run_id, experiment, fingerprint, spec, status, replicates, conditions, base_seed, "
    "started_at, ended_at, heartbeat_at, pid, hostname, summary, warnings, parent_run, "
    "artifact_version, paused_seconds, "
    "(SELECT COUNT(*) FROM records AS r WHERE r.run_id = runs.run_id)"
)

#: Newest first: the run created last comes first. Creation order (the rowid), not
#: ``started_at``: a wall clock stepped back (an NTP correction) must not make the run
#: just made look older than the ones before it.
_NEWEST_FIRST = "ORDER BY rowid DESC"

#: SQL assignment adding the pause since the run's last span of running ended (``now -
#: ended_at``; parameters: now, and the time taken as that end when ``ended_at`` is
#: NULL, i.e. the run is still marked running) to ``paused_seconds``.
_ADD_PAUSE = "paused_seconds = paused_seconds + MAX(0, ? - COALESCE(ended_at, ?))"


#: The corrupt-column warnings already logged (see :func:`run_info`).
_WARNED_CORRUPT: set[str] = set()


def run_info(row: Sequence[Any], lenient: bool = False) -> RunInfo:
    """The RunInfo of a :data:`RUN_COLUMNS` row.

    A JSON column that cannot be read raises :class:`SerializationError` naming the
    run and the column; with ``lenient`` it gets an empty value instead, and the
    problem is logged and added to the run's warnings.
    """
    problems: list[str] = []

    def column(index: int, name: str, empty: Any) -> Any:
        if row[index] is None:
            return None
        try:
            return loads(row[index])
        except SerializationError as exc:
            message = f"Run {row[0]}: column '{name}' holds corrupt JSON ({exc})"
            if not lenient:
                raise SerializationError(f"{message}. Delete the run or repair the column.") from exc
            if message not in _WARNED_CORRUPT:  # once per process: commands list runs repeatedly
                if len(_WARNED_CORRUPT) < 1000:
                    _WARNED_CORRUPT.add(message)
                logger.warning("%s; listed with an empty %s.", message, name)
            problems.append(message)
            return empty

    base_seed = row[7]
    spec = column(3, "spec", {})
    conditions = column(6, "conditions", [])
    summary = column(13, "summary", None)
    warnings = column(14, "warnings", [])
    return RunInfo(
        run_id=row[0],
        experiment=row[1],
        fingerprint=row[2],
        spec=spec,
        status=row[4],
        replicates=row[5],
        conditions=tuple(conditions),
        base_seed=None if base_seed is None else int(base_seed),
        started_at=row[8],
        ended_at=row[9],
        heartbeat_at=row[10],
        pid=row[11],
        hostname=row[12],
        summary=summary,
        warnings=(*warnings, *problems),
        parent_run=row[15],
        artifact_version=row[16],
        paused_seconds=float(row[17] or 0.0),
        n_records=row[18],
    )


class RunReplacedError(StoreError):
    """A run is not reopened: a later run of the same experiment took over its artifact
    version (see :meth:`RunRows.reopen_run`).

    Attributes:
        run_id: the run that was to be reopened (left as it was).
        experiment: its experiment.
        later_run: the id of the newest later run using its artifact version.
        version: that version (the ``N`` of ``v<N>``).
    """

    def __init__(self, run_id: str, experiment: str, later_run: str, version: int) -> None:
        self.run_id, self.experiment, self.later_run, self.version = run_id, experiment, later_run, version
        super().__init__(
            f"Run {run_id} of '{experiment}' was not reopened: a later run ({later_run}) "
            f"has taken over its artifacts in v{version} since."
        )


class RunRows:
    """The ``runs`` table's half of :class:`~crystallize.store.sqlite.SQLiteRunStore`
    (which provides ``transaction``, ``_error`` and ``stale_after``): creating, finishing,
    reopening, listing and deleting runs, and marking dead ones ``interrupted``."""

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
        """Start a new ``"running"`` run owned by this process (see :class:`RunStore`)."""
        if not isinstance(experiment, str) or not experiment:
            raise StoreError("create_run: experiment must be a non-empty string.")
        if not isinstance(replicates, int) or replicates < 0:
            raise StoreError(f"create_run: replicates must be an int >= 0, got {replicates!r}.")
        if not isinstance(spec, dict):
            raise StoreError(f"create_run: spec must be a dict, got {type(spec).__name__}.")
        conditions = list(conditions)
        if not all(isinstance(c, str) for c in conditions) or len(set(conditions)) != len(
            conditions
        ):
            raise StoreError(f"create_run: conditions must be unique strings, got {conditions!r}.")
        seed = None if base_seed is None else str(operator.index(base_seed))
        run_id = uuid.uuid4().hex[:12]
        now = time.time()
        row = (
            run_id,
            experiment,
            str(fingerprint),
            dumps(spec),
            "running",
            replicates,
            dumps(conditions),
            seed,
            now,
            None,
            now,
            os.getpid(),
            _hostname(),
            None,
            "[]",
            parent_run,
            None if artifact_version is None else operator.index(artifact_version),
            0.0,
        )
        with self.transaction(write=True) as conn:
            conn.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(row))})", row)
        return run_info((*row, 0))  # what get_run would read back: no records yet

    def heartbeat(self, run_id: str) -> None:
        """Update the run's ``heartbeat_at`` (and revive it if it was wrongly interrupted)."""
        mine = (os.getpid(), _hostname())
        revive = "status = 'interrupted' AND pid = ? AND hostname = ?"
        with self.transaction(write=True) as conn:
            cursor = conn.execute(
                f"UPDATE runs SET heartbeat_at = ?, "
                f"status = CASE WHEN {revive} THEN 'running' ELSE status END, "
                f"ended_at = CASE WHEN {revive} THEN NULL ELSE ended_at END "
                "WHERE run_id = ?",
                (time.time(), *mine, *mine, run_id),
            )
            if cursor.rowcount == 0:
                raise RunNotFoundError(run_id, str(self.path))

    def finish_run(
        self,
        run_id: str,
        status: str,
        *,
        summary: dict[str, Any] | None = None,
        warnings: Sequence[str] | None = None,
        active_seconds: float | None = None,
    ) -> None:
        """Set the run's status; ``"running"`` reopens it for this process.

        ``ended_at`` is never before the run's start plus its pauses plus
        ``active_seconds`` (the driver's own measure, monotonic): a wall clock stepped
        back during the run moves the end forward instead, and one stepped forward
        counts as a pause (see :attr:`RunInfo.active_seconds`).
        """
        validate_status(status)
        now = time.time()
        assignments = ["status = ?", "heartbeat_at = ?"]
        values: list[Any] = [status, now]
        if status == "running":  # reopened: the time since it ended was a pause
            assignments = [_ADD_PAUSE, *assignments, "ended_at = NULL", "pid = ?", "hostname = ?"]
            values = [now, now, *values, os.getpid(), _hostname()]
        else:
            active = 0.0 if active_seconds is None else max(0.0, float(active_seconds))
            # Both right-hand sides read the row as it was: the pause is what the wall
            # clock counts beyond the active time (unchanged when the driver gave none).
            assignments.append("ended_at = MAX(?, started_at + paused_seconds + ?)")
            values += [now, active]
            if active_seconds is not None:
                assignments.append("paused_seconds = MAX(paused_seconds, ? - started_at - ?)")
                values += [now, active]
        if summary is not None:
            if not isinstance(summary, dict):
                raise StoreError(
                    f"finish_run: summary must be a dict, got {type(summary).__name__}."
                )
            assignments.append("summary = ?")
            values.append(dumps(summary))
        if warnings is not None:
            if isinstance(warnings, str):
                raise StoreError("finish_run: warnings must be a list of strings, not a string.")
            assignments.append("warnings = ?")
            values.append(dumps([str(w) for w in warnings]))
        with self.transaction(write=True) as conn:
            cursor = conn.execute(
                f"UPDATE runs SET {', '.join(assignments)} WHERE run_id = ?", (*values, run_id)
            )
            if cursor.rowcount == 0:
                raise RunNotFoundError(run_id, str(self.path))

    def reopen_run(
        self,
        run_id: str,
        replicates: int | None = None,
        *,
        artifact_version: int | None = None,
        unless_replaced: bool = False,
        known_later_run: str | None = None,
    ) -> RunInfo:
        """Make this process the run's driver again (status ``running``); see
        :meth:`RunStore.reopen_run`.

        The check and the claim are one write transaction, so of two processes resuming
        the same run at once, one gets it and the other :class:`RunInProgressError`.
        The time since the run stopped (its ``ended_at``, or the last heartbeat of a
        driver found dead) is added to its ``paused_seconds``.

        With ``unless_replaced``, the same transaction also refuses (raises
        :class:`RunReplacedError`, the run left as it was) when a run of the same
        experiment created after it uses its artifact version (``None`` counts as ``v0``,
        as in :func:`~crystallize.resume_choice.later_run_in_same_version`) and the
        newest such run is not ``known_later_run`` (the one the caller already found, and
        accepted, before). A new run of an unversioned experiment creates its run row
        before it decides whether to take ``v0`` (it leaves ``v0`` to a run found
        ``running`` there), so of a resume and a new run starting at once, whichever
        commits first keeps the directory and the other one adapts.
        """
        from crystallize.store.base import RunInProgressError

        now = time.time()
        with self.transaction(write=True) as conn:
            row = conn.execute(
                "SELECT status, pid, hostname, heartbeat_at, experiment, artifact_version, rowid "
                "FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                raise RunNotFoundError(run_id, str(self.path))
            status, pid, host, beat, experiment, version, rowid = row
            ours = pid == os.getpid() and host == _hostname()
            busy = (
                status == "running" and not ours
                and stale_reason(pid, host, beat, now, self.stale_after) is None
            )
            if not busy and unless_replaced:
                later = conn.execute(
                    "SELECT run_id FROM runs WHERE experiment = ? AND rowid > ? "
                    "AND COALESCE(artifact_version, 0) = ? ORDER BY rowid DESC LIMIT 1",
                    (experiment, rowid, version or 0),
                ).fetchone()
                if later is not None and later[0] != known_later_run:
                    raise RunReplacedError(run_id, experiment, later[0], version or 0)
            if not busy:
                conn.execute(
                    f"UPDATE runs SET {_ADD_PAUSE}, status = 'running', heartbeat_at = ?, ended_at = NULL, "
                    "pid = ?, hostname = ?, replicates = MAX(replicates, COALESCE(?, replicates)), "
                    "artifact_version = COALESCE(artifact_version, ?) WHERE run_id = ?",
                    (
                        now,
                        now if ours else beat,
                        now,
                        os.getpid(),
                        _hostname(),
                        None if replicates is None else operator.index(replicates),
                        None if artifact_version is None else operator.index(artifact_version),
                        run_id,
                    ),
                )
        if busy:
            raise RunInProgressError(self.get_run(run_id), now - beat)
        return self.get_run(run_id)

    def set_artifact_version(self, run_id: str, version: int) -> None:
        """Record that the run's artifacts are in ``v<version>``."""
        with self.transaction(write=True) as conn:
            cursor = conn.execute(
                "UPDATE runs SET artifact_version = ? WHERE run_id = ?", (operator.index(version), run_id)
            )
            if cursor.rowcount == 0:
                raise RunNotFoundError(run_id, str(self.path))

    def running_before(self, run_id: str) -> list[RunInfo]:
        """Runs of ``run_id``'s experiment still marked ``running`` that were created
        before it, newest first (whether their driver is alive is for the caller to ask)."""
        with self.transaction() as conn:
            rows = conn.execute(
                f"SELECT {self._run_columns} FROM runs WHERE status = 'running' AND experiment = "
                "(SELECT experiment FROM runs WHERE run_id = ?) AND rowid < "
                "(SELECT rowid FROM runs WHERE run_id = ?) ORDER BY rowid DESC",
                (run_id, run_id),
            ).fetchall()
        return [run_info(row, lenient=True) for row in rows]

    def get_run(self, run_id: str) -> RunInfo:
        """Return the run's metadata (raises :class:`RunNotFoundError` if unknown)."""
        with self.transaction() as conn:
            row = conn.execute(
                f"SELECT {self._run_columns} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise RunNotFoundError(run_id, str(self.path))
        return run_info(row)

    def list_runs(self, experiment: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Return runs (of ``experiment``, if given), newest first, at most ``limit``."""
        sql = f"SELECT {self._run_columns} FROM runs"
        params: list[Any] = []
        if experiment is not None:
            sql += " WHERE experiment = ?"
            params.append(experiment)
        sql += f" {_NEWEST_FIRST}"
        if limit is not None:
            if not isinstance(limit, int) or limit < 0:
                raise StoreError(f"list_runs: limit must be an int >= 0, got {limit!r}.")
            sql += " LIMIT ?"
            params.append(limit)
        with self.transaction() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [run_info(row, lenient=True) for row in rows]  # one broken run hides no other

    def latest_run(
        self,
        experiment: str,
        fingerprint: str | None = None,
        statuses: Iterable[str] | None = None,
    ) -> RunInfo | None:
        """Return the newest run of ``experiment`` matching the filters, or None."""
        sql = f"SELECT {self._run_columns} FROM runs WHERE experiment = ?"
        params: list[Any] = [experiment]
        if fingerprint is not None:
            sql += " AND fingerprint = ?"
            params.append(fingerprint)
        if statuses is not None:
            wanted = [
                validate_status(s) for s in ([statuses] if isinstance(statuses, str) else statuses)
            ]
            if not wanted:
                return None
            sql += f" AND status IN ({', '.join('?' * len(wanted))})"
            params += wanted
        with self.transaction() as conn:
            row = conn.execute(f"{sql} {_NEWEST_FIRST} LIMIT 1", params).fetchone()
        return None if row is None else run_info(row)

    def delete_run(self, run_id: str, *, refuse_running: bool = False) -> None:
        """Delete the run and its records (raises :class:`RunNotFoundError` if unknown).

        With ``refuse_running``, a run whose status is ``running`` when the deleting
        transaction starts (say, resumed meanwhile by another process) raises
        :class:`StoreError` and nothing is deleted.
        """
        self.delete_runs([run_id], refuse_running=refuse_running)

    def delete_runs(self, run_ids: Sequence[str], *, refuse_running: bool = False) -> None:
        """Delete the runs and their records in one transaction: all of them, or none.

        Raises:
            RunNotFoundError: one of the runs does not exist (nothing is deleted).
            StoreError: with ``refuse_running``, one of them is ``running`` when the
                transaction starts (resumed meanwhile by another process), or the store
                fails midway (a full disk): nothing is deleted.
        """
        with self.transaction(write=True) as conn:
            for run_id in run_ids:
                if refuse_running:
                    row = conn.execute("SELECT status, pid, hostname FROM runs WHERE run_id = ?", (run_id,)).fetchone()
                    if row is not None and row[0] == "running":
                        raise StoreError(
                            f"run {run_id} started running again in process {row[1]} on {row[2]} "
                            "while it was being deleted, so nothing was deleted; wait for it to "
                            "finish, or stop that process, then delete again."
                        )
                conn.execute("DELETE FROM records WHERE run_id = ?", (run_id,))
                if conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,)).rowcount == 0:
                    raise RunNotFoundError(run_id, str(self.path))

    def mark_stale_runs(self) -> list[str]:
        """Mark ``"running"`` runs whose driver is gone as ``"interrupted"``.

        A run is stale when its host is this host and its pid is not alive
        (:func:`pid_alive`), or when its last heartbeat is older than ``stale_after``
        seconds and no live process on this host can be its driver
        (:func:`~crystallize.store.liveness.stale_reason`). Its ``ended_at`` becomes the
        last heartbeat (never before its start) and a warning says why.
        Called when the store is opened; safe to call any time.

        Returns:
            Ids of the runs marked.
        """
        now = time.time()
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT run_id, pid, hostname, heartbeat_at, warnings FROM runs WHERE status = 'running'"
            ).fetchall()
        stale: list[tuple[str, str, float]] = []
        for run_id, pid, host, beat, warnings in rows:
            reason = stale_reason(pid, host, beat, now, self.stale_after)
            if reason is None:
                continue
            new_warnings = [*loads(warnings), f"marked interrupted: {reason}"]
            stale.append((run_id, dumps(new_warnings), beat))
        if not stale:
            return []
        marked = []
        with self.transaction(write=True) as conn:
            for run_id, warnings, beat in stale:
                cursor = conn.execute(
                    "UPDATE runs SET status = 'interrupted', "
                    "ended_at = MAX(heartbeat_at, started_at + paused_seconds), "
                    "warnings = ? WHERE run_id = ? AND status = 'running' AND heartbeat_at = ?",
                    (warnings, run_id, beat),
                )
                if cursor.rowcount:
                    marked.append(run_id)
        return marked


__all__ = ["RUN_COLUMNS", "RunReplacedError", "RunRows", "run_info"]
