"""LoggingPlugin: progress, per-step timings and errors on the ``crystallize`` logger."""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from crystallize.plugins.hookspec import BasePlugin

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.record import ReplicateRecord
    from crystallize.result import Result

LOGGER_NAME = "crystallize"
logger = logging.getLogger(LOGGER_NAME)


class _Run:
    """A run in flight in this process: its experiment, level, and whether it prints
    through the shared stderr handler."""

    __slots__ = ("experiment", "level", "printing")

    def __init__(self, experiment: weakref.ref[Experiment], level: int, printing: bool) -> None:
        self.experiment = experiment
        self.level = level
        self.printing = printing


# The runs in flight in this process (several threads may run experiments at once), the
# stderr handler the verbose ones among them share, and the level the logger had before
# the first of them started (given back when the last ends); guarded by _LOCK.
_LOCK = threading.Lock()
_RUNS: list[_Run] = []
_HANDLER: list[_RunHandler] = []  # empty, or the one installed handler
_USERS_LEVEL: list[int] = []  # empty, or the level to give back


class _DefaultLevel(str):
    """The type of ``log_level``'s default, ``"INFO"``: told apart from an ``"INFO"`` the
    user passes (a level asked for), then kept as a plain ``"INFO"``."""

    __slots__ = ()


_DEFAULT_LEVEL = _DefaultLevel("INFO")


class LoggingPlugin(BasePlugin):
    """Log a run's progress on the ``crystallize`` logger.

    Args:
        verbose: log every step of every replicate with its duration and cache status.
        log_level: level of the ``crystallize`` logger while the run is in flight: a
            level name (``"DEBUG"``, ``"info"``, ...) or a non-negative int
            (``logging.DEBUG``, ``15``, ...). Left out, it is ``"INFO"`` unless you set
            the logger's level yourself (``logging.getLogger("crystallize").setLevel``,
            ``caplog.set_level``), in which case yours holds.

    Failures are logged the moment their record reaches the driver, as one ERROR line
    (``Replicate failed: [baseline #0] step 'fit': ValueError: ...``); with ``verbose``,
    or the run's level DEBUG, the stored traceback follows that line in the same message.
    Building an experiment changes no logging. The level is set when a run starts, and
    the logger gets back the level it had before when the run ends (``after_run``, which
    runs however the run ends). When ``verbose`` is set and nothing handles the logger
    yet, a stderr handler is added for the run and removed when it ends. A level or
    handler left behind all the same (a run whose ``after_run`` never ran) is put right
    by the next run.

    Runs in flight at once in several threads share the logger: its level is the most
    verbose of theirs, and each run logs only its own lines at or above its own level;
    verbose runs share one stderr handler. The handler goes when the last verbose run
    ends, and the level from before the first run comes back when the last run ends. Every
    record carries the experiment's name as ``record.experiment`` (for a formatter's
    ``%(experiment)s``), and the stderr handler shows it (``INFO FIRST: [baseline #0]
    ...``) while more than one run is in flight.
    Every message is logged by the driver (hook ``on_replicate_end``), whatever the
    executor, so worker processes need no logging set-up.
    """

    def __init__(self, verbose: bool = False, log_level: str | int = _DEFAULT_LEVEL) -> None:
        level = _level_number(log_level)
        if not isinstance(verbose, bool):
            raise TypeError(f"LoggingPlugin verbose must be True or False, got {verbose!r}")
        self.verbose = verbose
        self._asked = not isinstance(log_level, _DefaultLevel)
        self.log_level = log_level if self._asked else str(log_level)
        self._level = level
        self._started = 0.0
        self._done = 0
        self._run: _Run | None = None
        self._extra: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, object]:
        # Worker processes get a copy (get_plugin works there) but log nothing: the
        # driver's record of the run, and its stderr handler, stay in the driver.
        state = self.__dict__.copy()
        state["_run"] = None
        return state

    def before_run(self, experiment: Experiment) -> None:
        """Apply the run's level (and a stderr handler when verbose), keeping the level
        the logger had to give back when the last run ends; log the start of a run."""
        with _LOCK:
            runs = _live_runs()
            printing = self.verbose and (
                bool(_HANDLER) or (not logger.handlers and not logging.getLogger().handlers)
            )
            if not _USERS_LEVEL:  # the first run in flight: keep the user's level
                _USERS_LEVEL.append(logger.level)
            self._run = _Run(weakref.ref(experiment), self._run_level(_USERS_LEVEL[0]), printing)
            runs.append(self._run)
            _settle(runs)
        self._extra = {"experiment": experiment.name}
        self._started = time.perf_counter()
        self._done = 0
        from crystallize.lifecycle import run_kind  # not loaded at import crystallize

        kind = run_kind()
        if kind == "run":
            self._log(
                logging.INFO,
                "Running experiment '%s': %d replicate(s) x %d condition(s)",
                experiment.name,
                experiment.replicates,
                1 + len(experiment.treatments),
            )
            return
        # apply() and debug() narrow the experiment to the one condition they run.
        condition = experiment.treatments[0].name if experiment.treatments else "baseline"
        self._log(
            logging.INFO,
            "%s experiment '%s': condition '%s', replicate %d",
            "Applying" if kind == "apply" else "Debugging",
            experiment.name,
            condition,
            experiment.replicates - 1,
        )

    def on_replicate_end(self, experiment: Experiment, record: ReplicateRecord) -> None:
        """Log failures at once, and every step with its timing when verbose."""
        self._done += 1
        if record.error is not None:
            self._log_failure(record)
        if not self.verbose:
            return
        for step in record.steps:
            cache = ""
            if step.cache_hit:
                cache = " (cache hit)"
            elif step.cache_miss_reason:
                cache = f" (cache miss: {step.cache_miss_reason})"
            self._log(
                logging.INFO,
                "[%s #%d] step %s took %.3f ms%s",
                record.condition,
                record.replicate,
                step.name,
                step.duration * 1e3,
                cache,
            )
        self._log(
            logging.INFO,
            "[%s #%d] replicate done in %.3f ms (seed %s)",
            record.condition,
            record.replicate,
            record.duration * 1e3,
            record.seed,
        )

    def _run_level(self, users_level: int) -> int:
        """This run's level: the one asked for, else the user's (``users_level``, the
        logger's own before the runs in flight), else INFO."""
        if self._asked or users_level == logging.NOTSET:
            return self._level
        return users_level

    def _current_level(self) -> int:
        """The level of the run in flight (the plugin's own outside a run)."""
        return self._run.level if self._run is not None else self._level

    def _log(self, level: int, message: str, *args: object) -> None:
        """Log one line of this run, if its level lets it through (another run in flight
        may have the shared logger more verbose than this one)."""
        if level >= self._current_level():
            logger.log(level, message, *args, extra=self._extra)

    def _log_failure(self, record: ReplicateRecord) -> None:
        """One ERROR line; with ``verbose`` or the run's level DEBUG, the stored traceback
        follows it in the same message."""
        error = record.error
        stored = error.traceback
        if stored and (self.verbose or self._current_level() <= logging.DEBUG):
            self._log(logging.ERROR, "Replicate failed: %s\n%s", error, stored.rstrip())
        else:
            self._log(logging.ERROR, "Replicate failed: %s", error)

    def after_run(self, experiment: Experiment, result: Result) -> None:
        """Log the end of a run (``failed`` or ``cancelled`` when it raised) with its
        duration and error count."""
        from crystallize.lifecycle import run_kind

        # apply() and debug() reuse nothing; their record may not reach on_replicate_end.
        reused = len(result.records) - self._done if run_kind() == "run" else 0
        hits = result.info.get("cache_hits", 0)
        ended = {"failed": "failed", "cancelled": "was cancelled"}.get(result.info.get("status"), "finished")
        self._log(
            logging.INFO,
            "Experiment '%s' %s in %.2f s: %d replicate record(s) computed%s, "
            "%d cache hit(s), %d error(s)",
            experiment.name,
            ended,
            time.perf_counter() - self._started,
            self._done,
            f", {reused} resumed from the store" if reused else "",
            hits,
            len(result.errors),
        )
        with _LOCK:  # the last run gives the level back, the last verbose one the handler
            runs = _live_runs()
            if self._run in runs:
                runs.remove(self._run)
            self._run = None
            _settle(runs)


class _RunHandler(logging.StreamHandler):
    """The stderr handler verbose runs share; it names each line's experiment while
    several runs are in flight."""

    _plain = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    _named = logging.Formatter(
        "%(asctime)s %(levelname)s %(experiment)s: %(message)s", defaults={"experiment": "-"}
    )

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def format(self, record: logging.LogRecord) -> str:
        return (self._named if len(_RUNS) > 1 else self._plain).format(record)


def _live_runs() -> list[_Run]:
    """The runs in flight, without those that are over but whose ``after_run`` never
    ran (say, a second Ctrl+C while the run was closing). ``_LOCK`` held."""
    from crystallize.engine import is_running

    _RUNS[:] = [run for run in _RUNS if is_running(run.experiment())]
    return _RUNS


def _settle(runs: list[_Run]) -> None:
    """Set the logger for ``runs``: the most verbose of their levels (the user's level
    back when none is left), and the stderr handler while a verbose one prints.
    ``_LOCK`` held."""
    if runs:
        logger.setLevel(min(run.level for run in runs))
    elif _USERS_LEVEL:
        logger.setLevel(_USERS_LEVEL.pop())
    printing = any(run.printing for run in runs)
    if printing and not _HANDLER:
        _HANDLER.append(_RunHandler())
        logger.addHandler(_HANDLER[0])
    elif not printing and _HANDLER:
        logger.removeHandler(_HANDLER.pop())


def _level_number(log_level: object) -> int:
    """The numeric level of ``log_level``: a known level name or a non-negative int.

    Raises ValueError (naming the closest level name for a misspelt one) otherwise.
    """
    if isinstance(log_level, str):
        level = logging.getLevelName(log_level.upper())
        if isinstance(level, int):
            return level
    elif isinstance(log_level, int) and not isinstance(log_level, bool) and log_level >= 0:
        return log_level
    hint = ""
    if isinstance(log_level, str):
        from crystallize.config.errors import did_you_mean

        hint = did_you_mean(log_level.upper(), logging.getLevelNamesMapping())
    raise ValueError(
        f"Unknown log_level {log_level!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL "
        f"(any case) or a non-negative int such as logging.DEBUG{hint}"
    )


__all__ = ["LOGGER_NAME", "LoggingPlugin"]
