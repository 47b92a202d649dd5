"""The run screen: the plan, a live log, progress with ETA, and the summary.

Keys: ``R`` run / cancel, ``l`` caching of the highlighted step (or of the whole
experiment), ``x`` enable/disable the highlighted treatment, ``S`` summary tab,
``L`` log tab, ``e`` open the highlighted step's file in ``$CRYSTALLIZE_EDITOR`` /
``$EDITOR`` / ``$VISUAL``, ``Esc`` back (refused while running), ``Ctrl+Q`` quit
(cancelling a run in progress). After a failed load ``R`` only reloads. ``l`` and ``x``
load the experiment afresh, then are saved in its ``config.state.json`` (see
:meth:`RunScreen.switch`); the strategy follows caching (``resume`` when cached).
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import Screen
from textual.widgets import (
    Footer,
    Header,
    Label,
    ProgressBar,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState

from crystallize.cli.progress import Tracker, format_seconds
from crystallize.cli.targets import display
from crystallize.cli.text import literal, printable
from crystallize.cli.tui import model
from crystallize.cli.tui.messages import (
    BatchArrived,
    RecordsResumed,
    RunFeed,
    RunFinished,
    RunStarted,
)
from crystallize.cli.tui.output import Lines
from crystallize.cli.tui.runner import (
    CallbackHandler,
    RunController,
    RunOutcome,
    in_tui_words,
    warning_text,
)
from crystallize.cli.tui.widgets.log import RewrappingLog
from crystallize.cli.tui.widgets.plan import PlanItem, PlanTree

if TYPE_CHECKING:
    from collections.abc import Callable

    from crystallize.cli.tui.messages import Entry
    from crystallize.experiment import Experiment
    from crystallize.record import ReplicateRecord

NO_RUN_YET = "No run yet. Press R to run."
LOADING_LAST_RUN = "Loading the last stored run…"
RUNNING_NOW = "Running… the summary of this run shows here when it ends."
LAST_SUMMARY = "last-summary"  # the worker group reading the last stored runs


UPDATE_EVERY = 0.1  # seconds; each update repaints the screen, which takes the run's CPU
LOG_LINES_PER_UPDATE = 200  # wrapping a log line costs ~0.3 ms: a flood must not freeze the screen


def batch_lines(entries: list[Entry], limit: int = LOG_LINES_PER_UPDATE) -> list[str]:
    """The log lines of a batch (finished replicates and logged lines): the last ``limit``,
    after a note counting those left out (when the screen is behind a fast run)."""
    skipped = entries[:-limit] if len(entries) > limit else []
    lines = [entry if isinstance(entry, str) else record_line(*entry) for entry in entries[len(skipped):]]
    if skipped:
        records = [entry[1] for entry in skipped if not isinstance(entry, str)]
        failed = sum(record.error is not None for record in records)
        logged = len(skipped) - len(records)
        lines.insert(
            0,
            f"… {len(records)} replicate(s) ({failed} failed) and {logged} other line(s) left out: "
            f"the log shows at most {limit} lines per update; the Summary tab sums the run up",
        )
    return lines


def record_line(name: str, record: ReplicateRecord) -> str:
    """The log line of a finished replicate of experiment ``name``."""
    where = f"{name} · {record.condition} #{record.replicate}"
    if record.error is not None:
        return f"✗ {where}: {record.error.exception_type}: {record.error.message}"
    metrics = ", ".join(
        f"{k}={v[0]:.4g}" if len(v) == 1 and isinstance(v[0], int | float) else k for k, v in record.metrics.items()
    )
    return f"✓ {where} ({record.duration * 1e3:.0f} ms) {metrics}"


class RunScreen(Screen[None]):
    """Run one experiment (or a graph) and watch it.

    Args:
        config_path: the experiment's ``config.yaml`` (loaded afresh on every change).
        as_graph: run the experiment together with everything upstream of it.
        title: shown in the header.
    """

    # short descriptions: the footer shows every key in an 80-column terminal (``l`` and
    # ``x`` are worded as the plan's "steps  (l: cache)" and "treatments  (x: on/off)")
    BINDINGS = [
        Binding("R", "toggle_run", "Run/Cancel"),
        Binding("l", "toggle_cache", "Cache"),
        Binding("x", "toggle_treatment", "On/off"),
        Binding("S", "summary", "Summary"),
        Binding("L", "log", "Log"),
        Binding("e", "edit", "Edit"),
        Binding("escape", "back", "Back"),
        Binding("ctrl+q", "app.quit", "Quit", priority=True),  # shown in the footer
    ]

    def __init__(self, config_path: Path, as_graph: bool = False, title: str = "") -> None:
        super().__init__()
        self.config_path = config_path
        self.as_graph = as_graph
        self.run_title = title or config_path.parent.name
        self.experiments: list[Experiment] = []
        self.load_error: str | None = None
        self.load_error_file: Path | None = None
        self.controller: RunController | None = None
        self.tracker: Tracker | None = None
        self.trackers: dict[str, Tracker] = {}
        self.handler: CallbackHandler | None = None
        self.feed = RunFeed(self.post_message)  # what the run's thread and the logger report
        self.total = 0
        self.done = 0
        self.held: BatchArrived | None = None  # a batch waiting for the next update
        self.last_shown = 0.0  # time.monotonic() of the last update with records
        self.printed = Lines()  # what print() wrote, split into lines for the log
        self.capturing_print = False
        self.load_warnings: list[str] = []  # the log lines of the last load's warnings
        self.warned: set[str] = set()  # the load warnings logged since the log was cleared

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """The plan on the left; status, progress and the log/summary tabs on the right."""
        yield Header(show_clock=False)
        with Horizontal():
            with Vertical(id="plan"):
                yield Label(literal(f"Run: {self.run_title}"), classes="pane-title")
                yield PlanTree("plan", id="plan-tree")
            with Vertical(id="run-main"):
                yield Label("", id="run-status")
                yield ProgressBar(total=1, show_eta=False, id="run-progress")  # the counts say the ETA
                yield Label("", id="run-counts")
                with TabbedContent(initial="log-tab", id="run-tabs"):
                    with TabPane("Log", id="log-tab"):
                        yield RewrappingLog(id="run-log", max_lines=5000)
                    with TabPane("Summary", id="summary-tab"), ScrollableContainer(id="summary-scroll"):
                        yield Static(NO_RUN_YET, id="summary-body")  # width auto: tables are not wrapped
        yield Footer()

    def on_mount(self) -> None:
        """Load the experiment(s), show the plan, route the crystallize logger here."""
        self.sub_title = printable(f"run {self.run_title}")
        tree = self.query_one(PlanTree)
        tree.show_root = False
        # keep the log's end in view when the log gets shorter (the status and counts lines
        # above it wrap onto more lines) or is shown again; scrolling up releases it
        self.query_one(RewrappingLog).anchor()
        self.reload()
        tree.focus()
        self.handler = CallbackHandler(self.feed.log)
        logging.getLogger("crystallize").addHandler(self.handler)
        self.show_output()
        self.log_line(self.first_hint())
        self.show_last_summary()

    def first_hint(self) -> str:
        """The log's first line: what ``R`` does now (after a failed load it only reloads)."""
        if self.load_error is not None:
            return f"Fix {display(self.load_error_file or self.config_path)} (e opens it), then press R to reload."
        return f"Press R to run {self.run_title}."

    def show_output(self) -> None:
        """Route what is printed (``print()``, ``sys.stderr``) and what is written to file
        descriptors 1 and 2 (a step's subprocess, C code, worker processes: see
        :class:`~crystallize.cli.tui.output.CapturedOutput`) to the log, line by line."""
        self.app.begin_capture_print(self)
        self.capturing_print = True
        output = getattr(self.app, "output", None)
        if output is not None:
            output.show_in(self.feed.log)

    def on_print(self, event: events.Print) -> None:
        """Log the lines printed (from any thread) as they are completed."""
        for line in self.printed.feed(event.text):
            self.feed.log(line)

    def on_unmount(self) -> None:
        """Stop routing log records and output; cancel a run still going."""
        if self.handler is not None:
            logging.getLogger("crystallize").removeHandler(self.handler)
        if self.capturing_print:  # not when mounting failed before show_output
            self.app.end_capture_print(self)
        output = getattr(self.app, "output", None)
        if output is not None:
            output.show_in(None)
        self.stop_run()

    def stop_run(self) -> None:
        """Cancel the run in progress, if any (it stops after the replicates in flight)."""
        if self.controller is not None:
            self.controller.cancel()

    # -- state --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while a run is in progress."""
        return self.controller is not None

    def reload(self) -> None:
        """Load the experiment(s) again (state changes apply) and redraw the plan.

        The warnings the load raises go through the filters as in the command; those of
        the user's code (a module of the experiment folder, a library it imports) are
        logged, once until a run clears the log (:meth:`log_load_warnings`). Crystallize's
        own about the experiment (seeding with a thread executor) are left out: the run
        warns them again, once, when it starts.
        """
        from crystallize.cli.main import is_crystallize_file
        from crystallize.utils.warnings_capture import capture_warnings

        failure: Exception | None = None
        with capture_warnings(apply_filters=True) as caught:
            try:
                self.experiments, _ = model.load_experiments(self.config_path, self.as_graph)
            except Exception as exc:
                failure = exc
        self.load_warnings = [warning_text(w) for w in caught if not is_crystallize_file(w.filename)]
        self.log_load_warnings()
        if failure is not None:
            self.show_load_error(failure)
            return
        self.load_error = self.load_error_file = None
        self.query_one(PlanTree).show(self.experiments)
        self.reset_progress(sum(e.replicates * (1 + len(e.treatments)) for e in self.experiments))
        strategies = ", ".join(f"{e.name}: {model.strategy_for(e)}" for e in self.experiments)
        self.set_status(f"ready · {self.total} replicate(s) · strategy {strategies}")

    def log_load_warnings(self) -> None:
        """Log the last load's warnings not logged since the log was cleared."""
        for line in self.load_warnings:
            if line not in self.warned:
                self.warned.add(line)
                self.log_line(line)

    def show_load_error(self, exc: Exception) -> None:
        """Say the config does not load, naming the file at fault (``e`` opens it)."""
        self.experiments = []
        self.load_error = self.without_config_path(str(exc).strip() or type(exc).__name__)
        self.load_error_file = model.failed_file(exc) or self.config_path
        where = display(self.config_path)
        self.log_line(f"Cannot load {where}: {self.load_error}")
        self.query_one(PlanTree).show_unloadable(f"{self.unloadable()} (see the log)")
        self.set_status(f"cannot load {where}{self.fault()} · fix it (e opens it), then R reloads")
        self.reset_progress(0)
        self.action_log()

    def without_config_path(self, message: str) -> str:
        """``message`` without the ``CONFIG: `` it starts with when it names the screen's
        config, which every line quoting it names already (``Cannot load CONFIG: ...``)."""
        for shown in (display(self.config_path), str(self.config_path)):
            if message.startswith(f"{shown}: "):
                return message[len(shown) + 2 :]
        return message

    def fault(self) -> str:
        """``: the problem is in FILE`` when the failed file is not the screen's config."""
        failed = self.load_error_file
        if failed is None or display(failed) == display(self.config_path):
            return ""
        return f": the problem is in {display(failed)}"

    def unloadable(self) -> str:
        """``CONFIG cannot be loaded``, naming the file at fault when it is another one."""
        return f"{display(self.config_path)} cannot be loaded{self.fault()}"

    def reset_progress(self, total: int) -> None:
        """An empty bar for ``total`` replicates and no counts."""
        self.total, self.done = total, 0
        self.trackers, self.tracker = {}, None
        self.query_one(ProgressBar).update(total=max(1, total), progress=0)
        self.query_one("#run-counts", Label).update("")

    def set_status(self, text: str) -> None:
        """The line above the progress bar (shown literally: it quotes names and errors)."""
        self.query_one("#run-status", Label).update(literal(text))

    def log_line(self, text: str) -> None:
        """Append a line to the log (shown literally: it quotes names and errors)."""
        self.query_one(RewrappingLog).add(literal(text), width=self.hidden_log_width())

    def hidden_log_width(self) -> int | None:
        """While the summary tab hides the log, the width the log has when shown: the tabs'
        less the log's scrollbar; ``None`` otherwise (the log wraps at its own width).

        A hidden log's size is 0: it would wrap every line to one character per row.
        """
        log = self.query_one(RewrappingLog)
        if log.scrollable_content_region.width:
            return None
        width = self.query_one(TabbedContent).size.width - log.styles.scrollbar_size_vertical
        return width if width > 0 else None  # not laid out yet: the log waits for its size

    def show_summary(self, parts: list[str]) -> None:
        """Fill the summary tab with ``parts`` (reports, shown literally)."""
        self.query_one("#summary-body", Static).update(literal("\n\n".join(parts)))

    def experiment_named(self, name: str) -> Experiment | None:
        """The loaded experiment called ``name``."""
        return next((e for e in self.experiments if e.name == name), None)

    def show_last_summary(self) -> None:
        """Fill the summary tab from the store's newest runs (before running here).

        They are read in a thread: a large run takes seconds to load and summarise, and
        the screen must not freeze meanwhile. A run started here first cancels it.
        """
        if not self.experiments:
            return
        self.show_summary([LOADING_LAST_RUN])
        experiments = list(self.experiments)
        self.run_worker(
            lambda: self.last_summary_parts(experiments),
            thread=True, group=LAST_SUMMARY, exclusive=True, exit_on_error=False,
        )

    def last_summary_parts(self, experiments: list[Experiment]) -> list[str]:
        """The summary of each experiment's newest stored run (runs in a worker thread)."""
        parts = []
        for experiment in experiments:
            try:
                result = model.last_result(experiment)
                if result is not None:
                    parts.append(self.summary_text(experiment, result, f"Last stored run of {experiment.name}"))
            except Exception as exc:  # a broken store must not break browsing
                parts.append(f"== Last stored run of {experiment.name} ==\ncannot read it: {exc}")
        return parts

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show the last stored runs once read (a cancelled read shows nothing)."""
        worker = event.worker
        if worker.group != LAST_SUMMARY:
            return
        if event.state is WorkerState.SUCCESS:
            self.show_summary(worker.result or [NO_RUN_YET])
        elif event.state is WorkerState.ERROR:
            self.show_summary([f"Cannot read the last stored run: {worker.error}"])

    @staticmethod
    def summary_text(experiment: Experiment, result: Any, heading: str) -> str:
        """A result's report with the stored run's status (as ``crystallize show`` has it) and
        its artifacts."""
        facts = model.stored_run_facts(experiment, result.run_id)
        lines = [f"== {heading} ==", *([facts] if facts else []), in_tui_words(result.report().rstrip())]
        return "\n".join(lines) + f"\n\nArtifacts: {model.artifacts_summary(experiment, result)}"

    # -- running ------------------------------------------------------------------------
    def action_toggle_run(self) -> None:
        """Start a run, or cancel the one in progress; after a failed load, only reload."""
        if self.controller is not None:
            self.controller.cancel()
            self.set_status("cancelling after the replicates in flight…")
            return
        if self.load_error is not None:  # "fix it, then press R to reload"
            self.reload()
            if self.load_error is None:
                self.log_line(f"Reloaded {display(self.config_path)}. Press R to run.")
                self.show_last_summary()  # not read while the config did not load
            return
        self.reload()
        if not self.experiments:
            return
        self.workers.cancel_group(self, LAST_SUMMARY)  # this run's summary replaces it
        self.show_summary([RUNNING_NOW])
        self.controller = RunController(
            self.experiments,
            on_start=lambda e, c, r, s: self.feed.post(RunStarted(e.name, c, r, s)),
            on_record=self.feed.record,
            on_log=self.feed.log,
            on_resumed=lambda name, records: self.feed.post(RecordsResumed(name, records)),
        )
        controller = self.controller
        self.query_one(RewrappingLog).clear()
        self.warned.clear()
        self.log_load_warnings()  # this run's, as the command prints them before running
        self.set_status("running…")
        self.run_worker(lambda: self.feed.post(RunFinished(controller.run())), thread=True, group="run", exit_on_error=False)

    def on_run_started(self, message: RunStarted) -> None:
        """A new experiment started: reset its counters."""
        self.show_held_batch()
        self.tracker = Tracker(message.name, message.conditions, message.replicates)
        self.trackers[message.name] = self.tracker
        self.log_line(
            f"{message.name}: {len(message.conditions)} condition(s) × {message.replicates} replicate(s), "
            f"strategy {message.strategy}"
        )

    def on_batch_arrived(self, message: BatchArrived) -> None:
        """Show finished replicates and log lines, at most every ``UPDATE_EVERY`` seconds.

        Repainting the screen per replicate took so much CPU that a run of fast replicates
        went several times slower than without the screen. A batch held back meanwhile
        stays open: it collects the records that follow until it is shown.
        """
        wait = self.last_shown + UPDATE_EVERY - time.monotonic()
        if wait <= 0:
            self.show_batch(message)
            return
        self.show_held_batch()  # never more than one batch held
        self.held = message
        self.set_timer(wait, self.show_held_batch)

    def show_held_batch(self) -> None:
        """Show the records held back, if any; called first by every other message of the
        run's thread, so that the screen shows everything in the order it happened."""
        held, self.held = self.held, None
        if held is not None:
            self.show_batch(held)

    def show_batch(self, message: BatchArrived) -> None:
        """Count the replicates, log them and the lines, move the bar (once per batch)."""
        self.last_shown = time.monotonic()
        entries = message.take()
        if not entries:
            return
        records = [entry[1] for entry in entries if not isinstance(entry, str)]
        if self.tracker is not None:
            for record in records:
                self.tracker.advance(record)
        self.log_line("\n".join(batch_lines(entries)))
        if records:
            self.done += len(records)
            self.query_one(ProgressBar).update(progress=self.done)
            self.update_counts()

    def on_records_resumed(self, message: RecordsResumed) -> None:
        """Count the replicates a resumed run found stored as done, at once."""
        self.show_held_batch()
        tracker = self.trackers.get(message.name)
        if tracker is None:
            return
        tracker.resume(message.records)
        self.done += len(message.records)
        self.query_one(ProgressBar).update(progress=self.done)
        self.log_line(f"{message.name}: {len(message.records)} replicate(s) resumed from the store")
        self.update_counts()

    def update_counts(self) -> None:
        """Per-condition counts, errors and ETA under the bar (of the current experiment, named
        when the run has several)."""
        tracker = self.tracker
        if tracker is None:
            return
        counts = " · ".join(f"{c} {n.done}/{n.total}" for c, n in tracker.counts.items())
        eta = tracker.eta() if self.running else None
        left = f" · ETA {format_seconds(eta)}" if eta is not None else ""
        which = f"{tracker.name}: " if len(self.experiments) > 1 else ""
        self.query_one("#run-counts", Label).update(literal(f"{which}{counts} · {tracker.errors} error(s){left}"))

    def on_run_finished(self, message: RunFinished) -> None:
        """Show how the run ended; fill the summary tab."""
        for line in self.printed.flush():  # a print(..., end="") of the run's last step
            self.log_line(line)
        self.show_held_batch()
        outcome = message.outcome
        self.controller = None
        if outcome.error:
            self.show_failure(outcome)
        elif outcome.cancelled:
            kept = "; ".join(f"{name}: run {rid}, {n} record(s) kept" for name, (rid, n) in outcome.kept.items())
            self.log_line(f"Cancelled. {kept or 'Finished replicates are kept in the store.'}")
            self.set_status(f"cancelled · {kept}" if kept else "cancelled")
        else:
            errors = sum(len(r.errors) for r in outcome.results.values())
            self.finish_progress(outcome.results)
            ids = ", ".join(f"{n}: {r.run_id}" for n, r in outcome.results.items())
            self.set_status(f"done · {ids} · {errors} error(s)")
            self.log_line(f"Done ({ids}); {errors} replicate(s) failed. Press S for the summary.")
        self.update_counts()  # without the ETA now
        shown = {**outcome.results, **outcome.stored}
        if shown:
            parts = [
                self.summary_text(self.experiment_named(name) or self.experiments[0], result, f"Run {result.run_id} of {name}")
                for name, result in shown.items()
            ]
            self.show_summary(parts)
            if not outcome.cancelled and not outcome.error:
                self.action_summary()
        else:  # nothing stored (it failed before its first record): say so, not "Running…"
            self.show_summary(["This run stored nothing: see the log. Press R to run again."])

    def finish_progress(self, results: dict[str, Any]) -> None:
        """Count the replicates resumed from the store (they are not streamed); fill the bar."""
        for name, result in results.items():
            if name in self.trackers:
                self.trackers[name].finish(result)
        self.done = sum(t.done for t in self.trackers.values())
        total = sum(t.total for t in self.trackers.values())
        self.query_one(ProgressBar).update(total=max(1, total, self.done), progress=self.done)

    def show_failure(self, outcome: RunOutcome) -> None:
        """One line for what stopped the run; the traceback only for bugs (or with debugging on)."""
        from crystallize.cli.errors import debug_enabled

        self.log_line(f"The run stopped: {outcome.error}")
        if outcome.details and (not outcome.user_error or debug_enabled()):
            self.log_line(outcome.details)
        stored = "; ".join(f"{name}: run {r.run_id} stored" for name, r in outcome.stored.items())
        self.set_status(f"failed · {stored} · see the log" if stored else f"failed: {outcome.error}")

    # -- switches -----------------------------------------------------------------------
    def _item(self) -> PlanItem | None:
        return self.query_one(PlanTree).item

    def _busy(self) -> bool:
        if self.running:
            self.notify("Wait for the run to finish (or cancel it with R) first.", severity="warning")
            return True
        return False

    def _unloaded(self) -> bool:
        """True (and say why, naming the file at fault) when the config does not load, so
        there is nothing to switch."""
        if self.load_error is None:
            return False
        self.notify(
            printable(
                f"{display(self.config_path)} cannot be loaded: {self.load_error.rstrip('.')}. "
                "Fix it (e opens it), then press R to reload."
            ),
            severity="error", markup=False,
        )
        return True

    def action_toggle_cache(self) -> None:
        """Toggle caching of the highlighted step, or of the whole experiment."""
        hint = "Highlight a step, or the experiment, to switch caching."
        self.switch(("step", "experiment", "steps"), hint, self.flip_cache)

    def action_toggle_treatment(self) -> None:
        """Enable or disable the highlighted treatment."""
        hint = "Highlight a treatment to enable or disable it."
        self.switch(("treatment",), hint, self.flip_treatment)

    @staticmethod
    def flip_cache(experiment: Experiment, item: PlanItem) -> str:
        """Flip caching of the step ``item`` (or of every step); return what to say."""
        if item.kind == "step":
            on = model.toggle_step_cache(experiment, item.name)
            return f"Caching of step '{item.name}' {'on' if on else 'off'}."
        on = model.toggle_experiment_cache(experiment)
        return f"Caching of every step of '{experiment.name}' {'on' if on else 'off'}."

    @staticmethod
    def flip_treatment(experiment: Experiment, item: PlanItem) -> str:
        """Enable or disable the treatment ``item``; return what to say."""
        enabled = model.toggle_treatment(experiment, item.name)
        return f"Treatment '{item.name}' {'enabled' if enabled else 'disabled'}."

    def switch(
        self, kinds: tuple[str, ...], hint: str, flip: Callable[[Experiment, PlanItem], str]
    ) -> None:
        """``l`` and ``x``: ``flip(experiment, item)`` the highlighted plan line (one of
        ``kinds``; else ``hint`` is the notice) against the config as it is now.

        The plan on screen may be out of date: ``config.yaml`` or ``config.state.json``
        edited, or the folder deleted, since it was loaded. So the experiment is loaded
        afresh first (as ``R`` does): when it does not load, or the highlighted step or
        treatment is no longer in it, or the switch cannot be saved, nothing is written and
        a notice says why; the plan shows the config as it is now.
        """
        item = self._item()
        if self._busy() or self._unloaded() or item is None:
            return
        if item.kind not in kinds:
            self.notify(hint, severity="warning")
            return
        self.reload()
        if self._unloaded():
            return
        experiment = self.experiment_named(item.experiment)
        if experiment is None or not self.query_one(PlanTree).holds(item):
            self.notify(
                printable(
                    f"The plan changed: {item.what} is no longer in the config, so nothing was "
                    "switched. The plan now shows the config as it is."
                ),
                severity="warning", markup=False,
            )
            return
        try:
            message = flip(experiment, item)
        except model.SwitchRefused as exc:
            self.notify(printable(f"Nothing was switched: {exc}"), severity="error", markup=False)
            return
        self.notify(printable(message), timeout=2, markup=False)
        self.reload()

    # -- tabs, editor, back -------------------------------------------------------------
    def action_summary(self) -> None:
        """Show the summary tab."""
        self.query_one(TabbedContent).active = "summary-tab"

    def action_log(self) -> None:
        """Show the log tab."""
        self.query_one(TabbedContent).active = "log-tab"

    def file_for(self, item: PlanItem | None) -> Path | None:
        """The file behind the highlighted line: a step's module, the datasources, or the config."""
        experiment = self.experiment_named(item.experiment) if item is not None else None
        if experiment is None:
            return self.load_error_file or self.config_path
        if item is not None and item.kind == "step":
            step = next((s for s in model.steps_of(experiment) if s.name == item.name), None)
            found = model.source_file(step) if step is not None else None
            if found is not None:
                return found
        if item is not None and item.kind == "datasource":
            folder = model.folder_of(experiment)
            if folder is not None and (folder / "datasources.py").is_file():
                return folder / "datasources.py"
        return Path(experiment.config_path) if experiment.config_path is not None else self.config_path

    def action_edit(self) -> None:
        """Open the highlighted step's file in the editor."""
        from textual.app import SuspendNotSupported

        path = self.file_for(self._item())
        try:
            command = model.editor_command(path) if path is not None else None
        except ValueError as exc:
            self.notify(printable(f"Cannot start the editor: {exc}."), severity="error", markup=False)
            return
        if command is None:
            self.notify("Set $CRYSTALLIZE_EDITOR, $EDITOR or $VISUAL to open files.", severity="warning")
            return
        # the editor draws on the terminal, not on the pipe capturing output (CapturedOutput)
        output = getattr(self.app, "output", None)
        terminal = output.terminal if output is not None else None
        streams: dict[str, Any] = {"stdout": terminal, "stderr": terminal} if terminal is not None else {}
        try:
            try:
                with self.app.suspend():
                    subprocess.run(command, check=False, **streams)
            except SuspendNotSupported:
                subprocess.run(command, check=False, **streams)
        except OSError as exc:
            self.notify(printable(f"Cannot start the editor ({command[0]}): {exc}"), severity="error", markup=False)
            return
        self.log_line(f"Opened {display(path)} in {command[0]}.")

    def action_back(self) -> None:
        """Back to the selection screen (not while running)."""
        if self._busy():
            return
        self.app.pop_screen()


__all__ = ["RunScreen"]
