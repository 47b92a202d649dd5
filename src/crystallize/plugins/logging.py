"""LoggingPlugin: progress, per-step timings and errors on the ``crystallize`` logger."""

from __future__ import annotations

import logging
import sys
import time
import weakref
from typing import TYPE_CHECKING

from crystallize.plugins.hookspec import BasePlugin

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.record import ReplicateRecord
    from crystallize.result import Result

LOGGER_NAME = "crystallize"
logger = logging.getLogger(LOGGER_NAME)


class LoggingPlugin(BasePlugin):
    """Log a run's progress on the ``crystallize`` logger.

    Args:
        verbose: log every step of every replicate with its duration and cache status.
        log_level: level set on the ``crystallize`` logger: a level name (``"DEBUG"``,
            ``"info"``, ...) or a non-negative int (``logging.DEBUG``, ``15``, ...).

    Failures are logged the moment their record reaches the driver, as one ERROR line
    (``Replicate failed: [baseline #0] step 'fit': ValueError: ...``); with ``verbose``,
    or the logger at DEBUG, the stored traceback follows that line in the same message.
    The level is set when the experiment is built and again when each run starts (so
    another experiment built meanwhile does not change this one's). When ``verbose`` is
    set and nothing handles the logger yet, a stderr handler is added for the run;
    ``after_run`` removes it (it runs however the run ends), and one left behind all the
    same is removed when the next run starts.
    Every message is logged by the driver (hook ``on_replicate_end``), whatever the
    executor, so worker processes need no logging set-up.
    """

    def __init__(self, verbose: bool = False, log_level: str | int = "INFO") -> None:
        level = _level_number(log_level)
        if not isinstance(verbose, bool):
            raise TypeError(f"LoggingPlugin verbose must be True or False, got {verbose!r}")
        self.verbose = verbose
        self.log_level = log_level
        self._level = level
        self._started = 0.0
        self._done = 0
        self._handler: logging.Handler | None = None

    def __getstate__(self) -> dict[str, object]:
        # Worker processes get a copy (get_plugin works there) but log nothing: the
        # driver's stderr handler, with its lock, stays in the driver.
        state = self.__dict__.copy()
        state["_handler"] = None
        return state

    def init_hook(self, experiment: Experiment) -> None:
        """Apply the level to the ``crystallize`` logger."""
        logger.setLevel(self._level)

    def before_run(self, experiment: Experiment) -> None:
        """Apply the level (and a stderr handler when verbose), log the start of a run."""
        logger.setLevel(self._level)
        _drop_stale_handlers()
        if self.verbose and not logger.handlers and not logging.getLogger().handlers:
            self._handler = _RunHandler(experiment)
            logger.addHandler(self._handler)
        self._started = time.perf_counter()
        self._done = 0
        from crystallize.lifecycle import run_kind  # not loaded at import crystallize

        kind = run_kind()
        if kind == "run":
            logger.info(
                "Running experiment '%s': %d replicate(s) x %d condition(s)",
                experiment.name,
                experiment.replicates,
                1 + len(experiment.treatments),
            )
            return
        # apply() and debug() narrow the experiment to the one condition they run.
        condition = experiment.treatments[0].name if experiment.treatments else "baseline"
        logger.info(
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
            logger.info(
                "[%s #%d] step %s took %.3f ms%s",
                record.condition,
                record.replicate,
                step.name,
                step.duration * 1e3,
                cache,
            )
        logger.info(
            "[%s #%d] replicate done in %.3f ms (seed %s)",
            record.condition,
            record.replicate,
            record.duration * 1e3,
            record.seed,
        )

    def _log_failure(self, record: ReplicateRecord) -> None:
        """One ERROR line; with ``verbose`` or the logger at DEBUG, the stored traceback
        follows it in the same message."""
        error = record.error
        stored = error.traceback
        if stored and (self.verbose or logger.isEnabledFor(logging.DEBUG)):
            logger.error("Replicate failed: %s\n%s", error, stored.rstrip())
        else:
            logger.error("Replicate failed: %s", error)

    def after_run(self, experiment: Experiment, result: Result) -> None:
        """Log the end of a run (``failed`` or ``cancelled`` when it raised) with its
        duration and error count."""
        from crystallize.lifecycle import run_kind

        # apply() and debug() reuse nothing; their record may not reach on_replicate_end.
        reused = len(result.records) - self._done if run_kind() == "run" else 0
        hits = result.info.get("cache_hits", 0)
        ended = {"failed": "failed", "cancelled": "was cancelled"}.get(result.info.get("status"), "finished")
        logger.info(
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
        if self._handler is not None:  # a later quiet experiment must stay quiet
            logger.removeHandler(self._handler)
            self._handler = None


class _RunHandler(logging.StreamHandler):
    """The stderr handler a verbose run adds, knowing which experiment's run it serves."""

    def __init__(self, experiment: Experiment) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.experiment = weakref.ref(experiment)


def _drop_stale_handlers() -> None:
    """Remove the handlers of verbose runs that are over but whose ``after_run`` never
    ran to remove them (say, a second Ctrl+C while the run was closing), so a later
    quiet experiment prints nothing extra."""
    from crystallize.engine import is_running

    for handler in list(logger.handlers):
        if isinstance(handler, _RunHandler) and not is_running(handler.experiment()):
            logger.removeHandler(handler)


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
