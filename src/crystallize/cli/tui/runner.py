"""Running experiments off the UI thread, with cooperative cancellation.

:class:`RunController` runs each experiment through ``experiment.stream()`` and reports
through callbacks (called in the worker thread; the screen turns them into
thread-safe messages). :meth:`RunController.cancel` makes the loop stop after the
replicate in flight: leaving the stream cancels the replicates not yet started, and
the finished ones stay in the store (the run's status becomes ``cancelled``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crystallize.cli.tui.model import strategy_for

if TYPE_CHECKING:
    import warnings

    from crystallize.experiment import Experiment
    from crystallize.record import ReplicateRecord
    from crystallize.result import Result

# the library's advice for Python users, which the TUI words its own way (:func:`in_tui_words`)
STRATEGY_ADVICE = re.compile(r"use strategy='rerun' to start a new run")
LOAD_RESULT_ADVICE = re.compile(
    r"of '(?P<name>[^']+)'(?P<between>.*)\(load_result\('(?P<run>[^']+)'\) gives the stored one\)"
)

# advice to stop a run with Ctrl+C (say, a hypothesis metric no replicate records): in the
# TUI R stops a run, Ctrl+C only reminds of Ctrl+Q
CTRL_C_ADVICE = re.compile(
    r"(?P<stop>stop the run \(Ctrl[+-]C keeps what finished\))|\bCtrl[+-]C\b",
    re.IGNORECASE,
)


def in_tui_words(text: str) -> str:
    """``text`` (an error or a logged line of the library) with its advice for Python users
    put the way the TUI does it: the TUI has no strategy setting (it follows caching, ``l``),
    no ``load_result`` (``crystallize show`` prints a stored run), and stops a run with ``R``,
    not ``Ctrl+C``."""
    text = STRATEGY_ADVICE.sub(
        "turn caching off with l on the experiment's line (until the plan says "
        "'cache off · rerun') and press R to start a new run",
        text,
    )
    text = CTRL_C_ADVICE.sub(_stop_key, text)
    return LOAD_RESULT_ADVICE.sub(_show_command, text)


def _stop_key(found: re.Match[str]) -> str:
    """The TUI's way to stop a run in place of a :data:`CTRL_C_ADVICE` match."""
    if found["stop"]:
        return "press R to stop the run (what finished is kept)"
    return "R"  # "press Ctrl+C to stop it" reads "press R to stop it"


def warning_text(warning: warnings.WarningMessage) -> str:
    """The log line of a Python warning: as the command prints it (``warning:
    experiments/demo/steps.py:13: UserWarning: ...``, Crystallize's own without the place;
    see :func:`crystallize.cli.main.warning_line`), in the TUI's words."""
    from crystallize.cli.main import warning_line

    return in_tui_words(warning_line(warning.message, warning.category, warning.filename, warning.lineno))


def _show_command(found: re.Match[str]) -> str:
    """The ``crystallize show`` command in place of a :data:`LOAD_RESULT_ADVICE` match."""
    from crystallize.cli.shell import command_line

    command = command_line(["crystallize", "show", found["name"], "--run", found["run"]])
    return f"of '{found['name']}'{found['between']}({command} shows the stored one)"


@dataclass
class RunOutcome:
    """How a run ended.

    Attributes:
        results: ``{experiment name: Result}`` of the experiments that finished.
        cancelled: the user stopped the run.
        error: what stopped the run, if anything (naming the stored run, if there is one).
        details: that exception's traceback.
        user_error: the error is a user's mistake (a bad config or hypothesis), not a bug.
        stored: ``{experiment name: Result}`` of a run stored before an error stopped it
            (e.g. a hypothesis naming a metric no step records), or of the cancelled run.
        kept: ``{experiment name: (run id, records stored)}`` for a cancelled experiment.
    """

    results: dict[str, Result] = field(default_factory=dict)
    cancelled: bool = False
    error: str | None = None
    details: str = ""
    user_error: bool = False
    stored: dict[str, Result] = field(default_factory=dict)
    kept: dict[str, tuple[str, int]] = field(default_factory=dict)

    def fail(self, exc: Exception) -> None:
        """Record ``exc`` as what stopped the run, the way the ``run`` command words it."""
        from crystallize.cli.errors import is_user_error
        from crystallize.cli.run import stored_run_error

        self.user_error = is_user_error(exc)
        message = in_tui_words(str(stored_run_error(exc)).strip()) or type(exc).__name__
        self.error = message if self.user_error else f"unexpected {type(exc).__name__}: {message}"
        self.details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        result = getattr(exc, "result", None)
        if getattr(result, "run_id", None):
            self.stored[result.experiment] = result  # type: ignore[union-attr]


class RunController:
    """Runs ``experiments`` in order (upstream first), each with its own strategy.

    The Python warnings the run raises in its thread (``validate()``'s before the first
    replicate, a step's) go to ``on_log`` as they are raised, worded as the command prints
    them (:func:`warning_text`), once per run and place; the warning filters apply as in
    the command. Warnings of worker processes and threads are left to them: they print
    them, and the run screen logs what is printed.

    Args:
        experiments: what to run.
        on_start: ``(experiment, conditions, replicates, strategy)`` before each run.
        on_record: ``(experiment name, record)`` for every finished replicate.
        on_log: ``(text)`` for messages worth showing.
        strategy: ``fn(experiment) -> "rerun" | "resume"`` (default: resume when cached).
        on_resumed: ``(experiment name, records)`` once a resumed run found replicates
            in the store, before its first new one (they are not passed to ``on_record``).
    """

    def __init__(
        self,
        experiments: Sequence[Experiment],
        on_start: Callable[[Experiment, list[str], int, str], None],
        on_record: Callable[[str, ReplicateRecord], None],
        on_log: Callable[[str], None],
        strategy: Callable[[Experiment], str] = strategy_for,
        on_resumed: Callable[[str, Sequence[ReplicateRecord]], None] | None = None,
    ) -> None:
        self.experiments = list(experiments)
        self.on_start = on_start
        self.on_record = on_record
        self.on_log = on_log
        self.strategy = strategy
        self.on_resumed = on_resumed
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Stop after the replicate in flight (thread-safe)."""
        self._cancel.set()

    def run(self) -> RunOutcome:
        """Run everything (call it in a worker thread); never raises."""
        from crystallize.utils.warnings_capture import capture_warnings

        outcome = RunOutcome()
        shown: set[tuple[Any, ...]] = set()
        # This thread's warnings only (a capture leaves other threads' and forked workers'
        # to them), through the filters, to the log as they come.
        with capture_warnings(show=lambda warning: self._warned(warning, shown), apply_filters=True):
            try:
                for experiment in self.experiments:
                    if self.cancelled:
                        break
                    result = self._run_one(experiment)
                    if result is None:
                        self._keep(experiment, outcome)
                        break
                    outcome.results[experiment.name] = result
            except Exception as exc:
                outcome.fail(exc)
        outcome.cancelled = self.cancelled
        return outcome

    def _warned(self, warning: warnings.WarningMessage, shown: set[tuple[Any, ...]]) -> None:
        """Log ``warning`` unless this run logged it already (same text, category and place)."""
        key = (warning.category, str(warning.message), warning.filename, warning.lineno)
        if key in shown:
            return
        shown.add(key)
        with contextlib.suppress(Exception):  # showing a warning must never fail the step raising it
            self.on_log(warning_text(warning))

    def _run_one(self, experiment: Experiment) -> Result | None:
        strategy = self.strategy(experiment)
        conditions = ["baseline", *[t.name for t in experiment.treatments]]
        self.on_start(experiment, conditions, experiment.replicates, strategy)
        from crystallize.engine import display_stream

        on_resumed = self.on_resumed
        stream = display_stream(
            experiment, strategy=strategy,
            on_resumed=None if on_resumed is None else lambda records: on_resumed(experiment.name, records),
        )
        try:
            for record in stream:
                self.on_record(experiment.name, record)
                if self.cancelled:
                    break
        finally:
            stream.close()
        return None if self.cancelled else stream.result

    @staticmethod
    def _keep(experiment: Experiment, outcome: RunOutcome) -> None:
        """Note the cancelled experiment's stored run in ``outcome``: its id and records
        (``kept``) and, for the summary, its Result (``stored``)."""
        from crystallize.cli.tui.model import last_run
        from crystallize.store import load_result

        try:
            found = last_run(experiment)
            if found is None:
                return
            root, run = found
            outcome.kept[experiment.name] = (run.run_id, run.n_records)
            outcome.stored[experiment.name] = load_result(run.run_id, root)
        except Exception:  # a broken store must not hide that the run was cancelled
            return


class CallbackHandler(logging.Handler):
    """Sends records of the ``crystallize`` logger to a callback (any thread).

    Failed replicates are left out: the run screen shows each record itself. Advice for
    Python users is put in the TUI's words (:func:`in_tui_words`).
    """

    def __init__(self, callback: Callable[[str], Any]) -> None:
        super().__init__(logging.INFO)
        self.callback = callback
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self.addFilter(lambda record: not str(record.msg).startswith("Replicate failed"))

    def emit(self, record: logging.LogRecord) -> None:
        """Format and forward ``record``."""
        try:
            self.callback(in_tui_words(self.format(record)))
        except Exception:
            self.handleError(record)


__all__ = ["CallbackHandler", "RunController", "RunOutcome", "in_tui_words", "warning_text"]
