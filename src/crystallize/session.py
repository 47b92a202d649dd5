"""A run's bookkeeping in the driver: the store, resume, artifacts location and step cache.

:class:`RunSession` is created at the start of ``experiment.run()``. It opens the store
under the ArtifactPlugin's ``root_dir``, decides whether to resume an earlier run
(``strategy="resume"`` with a matching spec fingerprint) or start a new one, and hands
every arriving record to a background :class:`~crystallize.store.RecordWriter`, which
commits them in small groups (at least every 100 ms) so a crash loses little.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from crystallize.artifacts import ArtifactLocation
from crystallize.exceptions import ExperimentValidationError, StoreError
from crystallize.fingerprint import fingerprint, spec_differences, spec_of
from crystallize.lifecycle import status_of
from crystallize.plugins.artifacts import ArtifactPlugin, require_root_for_artifacts
from crystallize.plugins.seed import SeedPlugin
from crystallize.record import ReplicateRecord
from crystallize.resume_choice import (
    artifacts_changed,
    files_to_mix,
    later_run_in_same_version,
    resumed_version,
    what_changed,
)
from crystallize.upstream_pins import UpstreamPins

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.store import RunInfo, RunStore, StepCache

logger = logging.getLogger("crystallize")

#: Seconds between two attempts to write, during a run, records the store refused.
WRITE_RETRY_INTERVAL = 1.0


#: Runs of at least this many records keep step provenance in the store, not in memory.
LIGHT_RECORDS_FROM = 10_000
#: Ids of the runs this process is driving right now.
_DRIVING: set[str] = set()


class RunSession:
    """Store-side state of one run (driver only).

    Attributes:
        run: the store's :class:`~crystallize.store.RunInfo` (``None`` without a store).
        loaded: successful records of the resumed run, not recomputed.
        done: ``{replicate: {condition, ...}}`` finished in the resumed run.
        location: where artifacts of this run are written (``None`` without a root).
        cache: the step cache, when the pipeline has a cacheable step.
        warnings: problems worth showing in the Result (e.g. records that could not be stored).
        store_error: why (part of) this run is not in the store — how many records were
            not written and why, whether its final status could not be written, or that
            the store file was deleted or replaced during the run (then none of it is
            kept) — or ``None`` while all of it was stored (a run with unstored records is
            recorded as ``failed``).
        code_changed: whether :meth:`check_code` found that the code changed during the
            run (also stored as ``"code_changed": true`` in the run's summary).
        upstream: the producer runs this run reads (its upstream outputs), as
            ``[{"experiment", "output", "run_id", "version"}, ...]`` sorted by experiment,
            then output; stored in the run's summary as ``"upstream"`` when the run starts.
    """

    def __init__(self, experiment: Experiment, strategy: str, conditions: list[str]) -> None:
        self.experiment = experiment
        self.loaded: list[ReplicateRecord] = []
        self.done: dict[int, set[str]] = {}
        self.warnings: list[str] = []
        self.code_changed = False
        self._write_error: str | None = None
        self._finish_error: str | None = None
        self._lost_error: str | None = None
        self._unstored = 0
        self._write_warning = ""
        self._retry_at = 0.0  # when (monotonic) to try writing again after a failure
        self.run: RunInfo | None = None
        self.store: RunStore | None = None
        self.cache: StepCache | None = None
        self.location: ArtifactLocation | None = None
        self._writer: Any = None
        self._spec: dict[str, Any] | None = None
        self._root: Any = None
        #: True once a record was kept in memory without its steps (see keep_in_memory).
        self.steps_left_in_store = False
        self._light = False
        self._recovered: list[ReplicateRecord] = []
        #: The stored records of the run a resume continues (see :meth:`_resumable`).
        self._previous_records: list[ReplicateRecord] = []
        #: The later run in the resumed run's version that :meth:`_resumable` accepted.
        self._known_later_run: str | None = None
        #: The upstream outputs the run reads, pinned to their producer runs.
        self.pins = UpstreamPins(experiment)
        #: Seconds the run spent running before this session (a resume), and when (on
        #: the monotonic clock) this session's span began: see :meth:`active_seconds`.
        self._active_before = 0.0
        self._span_start = time.monotonic()
        plugin = experiment.get_plugin(ArtifactPlugin)
        root = plugin.root_dir if plugin is not None else None
        if root is None:
            require_root_for_artifacts(experiment)
            if strategy == "resume":
                raise ExperimentValidationError(
                    "strategy='resume' needs a run store, but the ArtifactPlugin has root_dir=None; "
                    "set a root_dir (default 'data') to keep runs."
                )
            self.pins.pin(None, self._is_live, None, self.warn)
            return
        from crystallize.store import release_shared_store, shared_store

        self.store = shared_store(root)
        self._root = root
        try:
            self._start(root, plugin.versioned, strategy, conditions)
        except BaseException as exc:
            self.pins.unpin()
            if self.run is not None:  # created (or reopened) before the failure: end it
                status = status_of(exc)
                why = [f"the run could not start: {exc}"] if isinstance(exc, StoreError) else None
                with contextlib.suppress(Exception):
                    self.store.finish_run(
                        self.run.run_id, status, warnings=why, active_seconds=self.active_seconds()
                    )
                _DRIVING.discard(self.run.run_id)
            release_shared_store(self.store)  # the store is not ours to keep after all
            raise

    def _start(self, root: Any, versioned: bool, strategy: str, conditions: list[str]) -> None:
        """Create (or reopen, to resume) the run, its artifact location, cache and writer."""
        from crystallize.store import RecordWriter, StepCache, claim_version
        from crystallize.store.artifacts import clear_unfinished_replicates

        experiment = self.experiment
        assert self.store is not None
        # Large runs keep step provenance in the store only, so memory grows with the
        # metrics alone (Result.full_records() loads it back on demand).
        self._light = len(conditions) * experiment.replicates >= LIGHT_RECORDS_FROM
        spec = self._spec = spec_of(experiment)
        digest = fingerprint(spec)
        self.pins.pin(self.store, self._is_live, root, self.warn)  # after the spec: no part of it
        previous = self._resumable(spec, digest) if strategy == "resume" else None
        if previous is not None and previous.replicates > experiment.replicates:
            # Resuming would shrink a stored run (its records and verdicts describe more
            # replicates): start a new run instead; cached steps still make it cheap.
            logger.info(
                "Not resuming run %s of '%s': it has %d replicate(s) per condition and this run "
                "asks for %d, so a new run is started (load_result(%r) gives the stored one).",
                previous.run_id, experiment.name, previous.replicates, experiment.replicates, previous.run_id,
            )
            seed = experiment.get_plugin(SeedPlugin)
            if seed is not None and previous.base_seed is not None:
                seed.base_seed = previous.base_seed  # the same seeds: cached steps hit
            previous = None
        seed = experiment.get_plugin(SeedPlugin)
        self._span_start = time.monotonic()
        if previous is not None:
            self._refuse_if_live(previous)
            version = resumed_version(previous, root, experiment.name, versioned)
            self.run = self._reopen(previous, version)
            if self.run is None:  # a later run took its version meanwhile: start a new run
                previous, self._previous_records = None, []
        if previous is not None:
            assert self.run is not None
            self._active_before = previous.active_seconds_so_far
            names = set(conditions)
            self.loaded = [
                r.without_steps() if self._light else r
                for r in self._previous_records  # loaded by _resumable, to check its files
                if r.error is None and r.condition in names and r.replicate < experiment.replicates
            ]
            self._previous_records = []
            for record in self.loaded:
                self.done.setdefault(record.replicate, set()).add(record.condition)
            if seed is not None and previous.base_seed is not None:
                seed.base_seed = previous.base_seed  # resumed replicates keep their seeds
            logger.info(
                "Resuming run %s of '%s': %d replicate record(s) already done",
                previous.run_id, experiment.name, len(self.loaded),
            )
        else:
            # A versioned run reserves a new v<N> up front; an unversioned one empties v0
            # only once its run exists (a failed start leaves the last run's files alone).
            if versioned:
                version = _prepare_artifacts(root, experiment.name, claim_version, True)
            else:  # a file in the way of its directory fails before the run exists
                version = 0
                _prepare_artifacts(root, experiment.name)
            self.run = self.store.create_run(
                experiment=experiment.name,
                fingerprint=digest,
                spec=spec,
                replicates=experiment.replicates,
                conditions=conditions,
                base_seed=seed.base_seed if seed is not None else None,
                artifact_version=version,
            )
            _DRIVING.add(self.run.run_id)
            if not versioned:
                version = self._take_v0(root)
        pins = self.pins.summary()
        if pins:  # kept before any replicate runs: a resume after a crash reads the same producer runs
            self.store.finish_run(self.run.run_id, "running", summary={**(self.run.summary or {}), **pins})
        # Workers get absolute paths, resolved here in the driver: a Ray task (on another
        # node, or a worker started elsewhere), a process worker or a step that changed
        # directory must write where the driver reads.
        shipped_root = os.path.abspath(root)
        self.location = ArtifactLocation(shipped_root, experiment.name, version, self.run.run_id)
        if previous is not None:  # what earlier attempts of the replicates to run left
            _prepare_artifacts(root, experiment.name, clear_unfinished_replicates, version, self.done, conditions)
        steps = list(experiment.pipeline.steps) if experiment.pipeline is not None else []
        steps += [step for treatment in experiment.treatments for step in treatment.own_steps()]
        if any(getattr(step, "cacheable", False) for step in steps):
            self.cache = StepCache(shipped_root)
        self._writer = RecordWriter(self.store, self.run.run_id)

    def _reopen(self, previous: RunInfo, version: int) -> RunInfo | None:
        """Reopen ``previous`` to resume it into ``v<version>``, or ``None`` (logged) when
        a run of the same name created after it took over that version since
        :meth:`_resumable` looked (a later run it found and accepted there is no reason).

        The store decides that in the transaction that reopens the run, and a new run of
        an unversioned experiment decides to take ``v0`` only after its run row exists
        (:meth:`_take_v0`, which leaves ``v0`` to a run found ``running`` there): of a
        resume and a new run starting at once, whichever commits first keeps the
        directory, and the other one adapts.
        """
        from crystallize.store.run_rows import RunReplacedError

        assert self.store is not None
        # Counted as driven here before the reopen commits, so a new run of this process
        # starting in another thread finds it live from the moment it is running again.
        fresh = previous.run_id not in _DRIVING
        _DRIVING.add(previous.run_id)
        try:
            return self.store.reopen_run(
                previous.run_id,
                replicates=self.experiment.replicates,
                artifact_version=version,
                unless_replaced=True,
                known_later_run=self._known_later_run,
            )
        except RunReplacedError as exc:
            if fresh:
                _DRIVING.discard(previous.run_id)
            self._log_replaced(previous, exc.later_run)
            return None
        except BaseException:
            if fresh:
                _DRIVING.discard(previous.run_id)
            raise

    def _log_replaced(self, previous: RunInfo, later_run: str) -> None:
        """Log that ``previous`` is not resumed because ``later_run`` took over its version."""
        logger.warning(
            "Not resuming run %s of '%s': a later run (%s) has replaced its artifacts in v%s "
            "since; starting a new run (ArtifactPlugin(versioned=True) keeps each run's files).",
            previous.run_id, self.experiment.name, later_run, previous.artifact_version or 0,
        )

    def _take_v0(self, root: Any) -> int:
        """The version the new run of an unversioned experiment writes to: ``v0``, emptied,
        unless an earlier run of the same name still uses it; then a side version of its
        own (see :func:`~crystallize.store.artifacts.claim_side_version`), with a warning.

        Runs check after their own run row exists, so of two runs starting at once the
        later one always sees the earlier.
        """
        from crystallize.store import reset_version_dir
        from crystallize.store.artifacts import claim_side_version, version_dir

        assert self.store is not None and self.run is not None
        name = self.experiment.name
        using = [
            run for run in self.store.running_before(self.run.run_id)
            if not run.artifact_version and self._is_live(run)
        ]
        if not using:
            _prepare_artifacts(root, name, reset_version_dir, 0)
            return 0
        version = _prepare_artifacts(root, name, claim_side_version)
        self.store.set_artifact_version(self.run.run_id, version)
        # The oldest: a later one may still say v0 only because it has not moved to a side
        # version of its own yet (it found this same run, as this one did).
        other = using[-1]
        self.warn(
            f"Run {other.run_id} of '{name}' (process {other.pid} on {other.hostname}) is still "
            f"running and writing its artifacts to v0, so this run's artifacts go to "
            f"{version_dir(root, name, version)} instead (v0 is left to that run). To give "
            "each run a version folder of its own from the start, version the artifacts: "
            "ArtifactPlugin(versioned=True), or plugins: {artifacts: {versioned: true}} in "
            "config.yaml."
        )
        return version

    @property
    def upstream(self) -> list[dict[str, Any]]:
        """The producer run each upstream output of this run reads (see :class:`UpstreamPins`)."""
        return self.pins.entries

    def _is_live(self, run: RunInfo) -> bool:
        """Whether ``run`` is ``running`` with a live driver: another process that
        :func:`~crystallize.store.liveness.stale_reason` finds alive, or another run of
        this process."""
        if run.status != "running":
            return False
        from crystallize.store.liveness import hostname, stale_reason
        from crystallize.store.sqlite import DEFAULT_STALE_AFTER

        if run.pid == os.getpid() and run.hostname == hostname():
            return run.run_id in _DRIVING  # else left "running" by an earlier run here
        stale_after = getattr(self.store, "stale_after", DEFAULT_STALE_AFTER)
        return stale_reason(run.pid, run.hostname, run.heartbeat_at, time.time(), stale_after) is None

    def _refuse_if_live(self, run: RunInfo) -> None:
        """Raise RunInProgressError when ``run`` still has a live driver (another process,
        or another run of this one), so it is never computed twice at once."""
        if self._is_live(run):
            from crystallize.store import RunInProgressError
            from crystallize.store.liveness import hostname

            here = run.pid == os.getpid() and run.hostname == hostname()
            raise RunInProgressError(run, time.time() - run.heartbeat_at, in_this_process=here)

    def _resumable(self, spec: dict[str, Any], digest: str) -> RunInfo | None:
        assert self.store is not None
        name = self.experiment.name
        previous = self.store.latest_run(name, fingerprint=digest)
        other = self.store.latest_run(name)
        # Loaded once: the checks below read its steps' files, and a resume keeps them.
        records = self._previous_records = self.store.load_records(previous.run_id) if previous else []
        replaced_by = later_run_in_same_version(self.store.list_runs(name), previous) if previous else None
        if replaced_by is not None and files_to_mix(records, self._root, name, previous):
            # A later run of this name (an unversioned one) emptied the directory and wrote
            # its own files there: resuming would mix two runs' artifacts in one directory.
            self._log_replaced(previous, replaced_by.run_id)
            return None
        # Accepted (no file can mix): reopening checks again that no other run took over.
        self._known_later_run = replaced_by.run_id if replaced_by is not None else None
        upstream_changed = self.pins.changed_since(previous) if previous is not None else None
        if upstream_changed is None and previous is not None:
            upstream_changed = artifacts_changed(records, self._root, name, previous)
        if upstream_changed is not None:
            logger.warning(
                "Not resuming run %s of '%s': %s; starting a new run",
                previous.run_id, name, upstream_changed,
            )
            return None
        if previous is not None:
            return previous
        if other is None:
            logger.info("Nothing to resume for '%s': no earlier run; starting a new run", name)
        else:
            logger.warning(
                "Not resuming run %s of '%s': %s; starting a new run",
                other.run_id, name, what_changed(other.spec, spec),
            )
        return None

    def check_code(self, records: list[ReplicateRecord]) -> None:
        """Warn when the code changed while the run was going.

        Two checks: a record computed by a process that saw other code than the driver
        did at the start, and the code digests at the end (the source on disk and the
        values it reads, see :func:`~crystallize.fingerprint.code_hash`) compared with
        the spec taken at the start.
        """
        drifted = sorted({(r.condition, r.replicate) for r in records if r.code_digest})
        if drifted:
            self.code_changed = True
            shown = ", ".join(f"{c} #{r}" for c, r in drifted[:5])
            self.warn(
                f"Code changed during the run: {len(drifted)} replicate(s) ({shown}"
                f"{', ...' if len(drifted) > 5 else ''}) ran with step or datasource code (its "
                "source, or a value it reads) that differs from the code at the start of the run."
            )
        if self._spec is not None:
            changed = [
                part for part in spec_differences(self._spec, spec_of(self.experiment))
                if part.endswith(".code")
            ]
            if changed:
                self.code_changed = True
                self.warn(
                    f"Code changed during the run: {', '.join(changed)} differs from the start "
                    "of the run (its source on disk, or a value it reads from a global, a closure "
                    "or a class or module attribute); results may mix the old and the new code."
                )

    def warn(self, message: str) -> None:
        """Log ``message`` as a warning and keep it for the run's ``result.warnings``."""
        logger.warning(message)
        self.warnings.append(message)

    def withdraw(self, message: str, why: str) -> None:
        """Take back a warning given with :meth:`warn` that turned out wrong: it is left
        out of ``result.warnings`` (and the stored run), and ``why`` is logged."""
        with contextlib.suppress(ValueError):
            self.warnings.remove(message)
        logger.info(why)

    def keep_in_memory(self, record: ReplicateRecord) -> ReplicateRecord:
        """What the Result keeps of ``record``: all of it, or (large runs) all but the
        step provenance, which the store holds."""
        if not self._light:
            return record
        self.steps_left_in_store = True
        return record.without_steps()

    def full_records(self) -> list[ReplicateRecord]:
        """Every record of this run with its step provenance, loaded from the store."""
        from crystallize.store.opening import open_existing_store

        with open_existing_store(self._root) as store:
            loaded = store.load_records(self.run_id)
        if self._recovered:  # records whose write failed: kept here, in full
            ours = {(r.condition, r.replicate): r for r in self._recovered}
            loaded = [ours.pop((r.condition, r.replicate), r) for r in loaded] + list(ours.values())
        return loaded

    def active_seconds(self) -> float:
        """Seconds the run has spent running: its earlier spans (a resumed run) plus this
        one, timed on the monotonic clock, which a stepped wall clock does not move."""
        return self._active_before + time.monotonic() - self._span_start

    @property
    def run_id(self) -> str | None:
        """The store's id of this run."""
        return self.run.run_id if self.run is not None else None

    def add(self, record: ReplicateRecord) -> None:
        """Queue ``record`` for the store (committed within about 100 ms).

        After a write failed, records are kept in memory, and handed with the ones the
        store refused to a new writer every :data:`WRITE_RETRY_INTERVAL` seconds: once the
        store accepts them again (space freed, a lock released) the run is stored as it
        goes again, so a later ``kill -9`` loses no more than it would have anyway.
        """
        if self._writer is None:
            if self._write_error is not None:  # kept in memory until the store takes them
                self._recovered.append(record)
                self._unstored = len(self._recovered)
                if time.monotonic() >= self._retry_at:
                    self._write_with_new_writer()
            return
        try:
            self._writer.add(record)
        except StoreError as exc:
            self._store_failed(exc, record)

    def _write_with_new_writer(self) -> None:
        """Hand the records kept in memory to a new writer (which fails on its own thread
        if the store still refuses them: :meth:`add` then sees it and keeps them again)."""
        from crystallize.store import RecordWriter

        assert self.store is not None and self.run is not None
        writer = RecordWriter(self.store, self.run.run_id)
        writer.add(self._recovered)
        self._writer, self._recovered = writer, []

    @property
    def store_error(self) -> str | None:
        """Why (part of) this run is not in the store, or ``None`` when all of it is."""
        problems = []
        if self._write_error is not None:
            problems.append(f"{self._unstored} record(s) were not stored: {self._write_error}")
        if self._finish_error is not None:
            problems.append(self._finish_error)
        if self._lost_error is not None:
            problems = [self._lost_error]  # nothing of the run is kept: that says it all
        return "; ".join(problems) or None

    def _store_failed(self, exc: StoreError, record: ReplicateRecord | None = None) -> None:
        """The writer failed: stop writing, keep every record it could not store."""
        writer, self._writer = self._writer, None
        cause = exc
        if writer is not None:
            with contextlib.suppress(StoreError):
                writer.close()  # ends its thread; what it still held joins unwritten
            cause = writer.error or exc
            self._recovered = writer.unwritten
        if record is not None:  # refused by add(): the writer never took it
            self._recovered.append(record)
        first = self._write_error is None
        self._write_error = str(cause).rstrip(".")
        self._unstored = len(self._recovered)
        self._light = False
        self._retry_at = time.monotonic() + WRITE_RETRY_INTERVAL
        if first:  # not again at each failed retry
            self._write_warning = (
                f"Records of run {self.run_id} could not be written to the store "
                f"({self._write_error}); they are kept in memory (the Result has every "
                f"replicate) and written once the store takes them again (tried every "
                f"{WRITE_RETRY_INTERVAL:g} s and at the end of the run)."
            )
            self.warn(self._write_warning)

    def _write_again(self) -> None:
        """Write once more the records a failed commit left out, before the run's final
        status: a lock held for a while (a long compact, a backup tool) has often passed
        by then. What still cannot be written stays in :attr:`store_error`."""
        assert self.store is not None and self.run is not None
        try:
            self.store.append_records(self.run.run_id, self._recovered)
        except StoreError:
            return
        self._stored_after_all("at the end of the run")

    def _stored_after_all(self, when: str) -> None:
        """Every record a failed write left out is stored now: the failure's warning
        gives way to one saying the records were written ``when``."""
        with contextlib.suppress(ValueError):
            self.warnings.remove(self._write_warning)
        self.warn(
            f"Records of run {self.run_id} could not be written to the store at first "
            f"({self._write_error}); they were written {when}."
        )
        self._write_error, self._recovered, self._unstored = None, [], 0

    def finish(self, status: str, summary: dict[str, Any] | None = None) -> None:
        """Flush the pending records and record the run's final status (``failed`` for a
        run that computed everything but could not store all of it).

        Never raises :class:`StoreError`: a store that fails here (disk full, the run
        deleted meanwhile, the store file deleted or replaced during the run) becomes a
        warning and :attr:`store_error`, so the Result of
        the run is kept. Ctrl+C while the last records are written stores the run as
        ``cancelled`` (a resume re-runs what did not reach the store) and is re-raised.
        """
        self.pins.unpin()
        if self.location is not None:  # replicates left running (threads) write no more
            self.location.ended = True
        if self.store is None or self.run is None:
            return
        try:
            if self._writer is not None:
                try:
                    self._writer.close()
                except StoreError as exc:
                    self._store_failed(exc)
                except KeyboardInterrupt:
                    self._finish_run("cancelled", summary)
                    raise
                else:
                    if self._write_error is not None:  # a new writer stored what had failed
                        self._stored_after_all("once the store took them again")
            if self._write_error is not None and self._recovered:
                self._write_again()
            if self._write_error is not None and status == "completed":
                status = "failed"
            self._finish_run(status, summary)
            self._check_file()
        finally:
            from crystallize.store import release_shared_store

            _DRIVING.discard(self.run.run_id)
            release_shared_store(self.store)

    def _check_file(self) -> None:
        """Make a store file deleted or replaced during the run a store error: what was
        written went to the old file and is gone."""
        assert self.store is not None
        problem = self.store.file_problem()
        if problem is None:
            return
        self._lost_error = (
            f"{problem} during the run, so none of its records were kept; "
            "run it again to store it"
        )
        self.warn(f"Run {self.run_id} is not stored: {self._lost_error}.")

    def _finish_run(self, status: str, summary: dict[str, Any] | None) -> None:
        """Store the run's final status and summary (with ``code_changed`` when the code
        changed); a failure becomes a warning and store_error."""
        assert self.store is not None and self.run is not None
        from crystallize.store.serialize import SerializationError

        flags = {**self.pins.summary(), **({"code_changed": True} if self.code_changed else {})} or None
        if flags:
            summary = {**(summary or {}), **flags}
        ended = {"warnings": self.warnings, "active_seconds": self.active_seconds()}
        try:
            try:
                self.store.finish_run(self.run.run_id, status, summary=summary, **ended)
            except SerializationError as exc:  # e.g. a verifier returned values JSON cannot hold
                logger.warning("Run summary of %s not stored in full: %s", self.run_id, exc)
                self.store.finish_run(self.run.run_id, status, summary=flags, **ended)
        except StoreError as exc:
            self._finish_error = (
                f"the run's final status ({status}) could not be stored: {str(exc).rstrip('.')}"
            )
            self.warn(f"Run {self.run_id}: {self._finish_error}.")


def _prepare_artifacts(root: Any, experiment: str, make: Any = None, *args: Any) -> Any:
    """Create the experiment's artifact directory, then return ``make(root, experiment,
    *args)`` (claim or empty a version directory); an OSError becomes a StoreError naming
    the directory and what is in its way."""
    from crystallize.store.artifacts import directory_problem, version_dir
    from crystallize.store.opening import data_directory_advice

    where = version_dir(root, experiment, 0).parent
    try:
        if not where.is_dir():
            where.mkdir(parents=True, exist_ok=True)
        return make(root, experiment, *args) if make is not None else None
    except OSError as exc:
        advice = data_directory_advice(exc, "give the experiment another name")
        raise StoreError(
            f"Cannot prepare the artifact directory {str(where)!r}: {directory_problem(where, exc)}. {advice}"
        ) from exc


__all__ = ["RunSession"]
