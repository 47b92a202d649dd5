"""Crystallize's warning capture (verifier notes, power analysis, folder discovery) takes
only the warnings of the thread it runs in.

Python's warning filters and display hooks are process-wide. A capture that records every
warning and forces an "always" (or "ignore") filter for its duration files warnings raised
by the program's other threads under the hypothesis result, hides them from the display
those threads set up, overrides their ``error`` filters and, on exit, undoes display hooks
installed meanwhile (``logging.captureWarnings``). Each test here has another thread warn
while a capture is open and checks that the capture notes exactly its own warnings and that
the other thread's warnings are handled by that thread's own set-up.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
import textwrap
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crystallize.stats import welch_t_test
from crystallize.stats._common import collect_warnings


class _OtherWarning(UserWarning):
    """What the program's other thread warns."""


@dataclass
class _Other:
    """Counts of the other thread: warnings it raised, shown by its hook, raised as errors;
    ``elsewhere``: the other warnings the hook was given (category name, message)."""

    emitted: int = 0
    shown: list[str] = field(default_factory=list)
    raised: int = 0
    elsewhere: list[tuple[str, str]] = field(default_factory=list)


@contextlib.contextmanager
def _display_hook(other: _Other) -> Iterator[None]:
    """The program's display set-up: ``_OtherWarning`` goes to ``other.shown``, the rest
    to ``other.elsewhere``."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, _OtherWarning):
            other.shown.append(str(message))
        else:
            other.elsewhere.append((category.__name__, str(message)))

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


@contextlib.contextmanager
def _other_thread_warning(action: str) -> Iterator[_Other]:
    """Another thread warning ``_OtherWarning`` in a loop, under its own ``action`` filter
    for that category and its own display hook, until the block ends."""
    other, stop = _Other(), threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                warnings.warn(f"other thread {other.emitted}", _OtherWarning, stacklevel=1)
            except _OtherWarning:
                other.raised += 1
            other.emitted += 1

    interval = sys.getswitchinterval()
    with warnings.catch_warnings(), _display_hook(other):
        warnings.simplefilter(action, _OtherWarning)
        sys.setswitchinterval(1e-4)  # the threads take turns inside each capture window
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield other
        finally:
            stop.set()
            thread.join(timeout=30)
            sys.setswitchinterval(interval)
    assert not thread.is_alive()
    assert other.emitted > 0


def _degenerate() -> tuple[dict, dict]:
    """Samples on which scipy's t-test warns (precision loss on identical values)."""
    return {"m": [0.8] * 5}, {"m": [0.8] * 5}


def test_a_verifier_result_lists_only_its_own_threads_warnings():
    expected = welch_t_test()(*_degenerate())["warnings"]
    assert any(note.startswith("RuntimeWarning: Precision loss") for note in expected)
    with _other_thread_warning("always") as other:
        results = [welch_t_test()(*_degenerate()) for _ in range(30)]
    assert [out["warnings"] for out in results] == [expected] * 30
    assert all(math.isnan(out["p_value"]) for out in results)
    # Every warning of the other thread went to its own display hook.
    assert len(other.shown) == other.emitted


def test_another_threads_error_filter_holds_while_a_verifier_runs():
    expected = welch_t_test()(*_degenerate())["warnings"]
    with _other_thread_warning("error") as other:
        results = [welch_t_test()(*_degenerate()) for _ in range(30)]
    assert [out["warnings"] for out in results] == [expected] * 30
    assert other.raised == other.emitted and other.shown == []


def test_a_warning_of_another_thread_inside_the_window_is_its_own():
    """Deterministic: the other thread warns while the capture is certainly open."""
    other = _Other()
    inside, done = threading.Event(), threading.Event()

    def warn_inside() -> None:
        inside.wait(30)
        for i in range(3):
            warnings.warn(f"other thread {i}", _OtherWarning, stacklevel=1)
        with warnings.catch_warnings():
            warnings.simplefilter("error", _OtherWarning)
            try:
                warnings.warn("other thread error", _OtherWarning, stacklevel=1)
            except _OtherWarning:
                other.raised += 1
        done.set()

    with warnings.catch_warnings(), _display_hook(other):
        warnings.simplefilter("always", _OtherWarning)
        thread = threading.Thread(target=warn_inside)
        thread.start()
        with collect_warnings() as notes:
            inside.set()
            assert done.wait(30)
            warnings.warn("mine", RuntimeWarning, stacklevel=1)
        thread.join(timeout=30)
    assert notes == ["RuntimeWarning: mine"]
    assert other.shown == ["other thread 0", "other thread 1", "other thread 2"]
    assert other.raised == 1


def test_logging_capture_turned_on_by_another_thread_meanwhile_stays_on():
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("py.warnings")
    handler = Keep()
    logger.addHandler(handler)
    show = warnings.showwarning
    try:
        with collect_warnings():
            thread = threading.Thread(target=logging.captureWarnings, args=(True,))
            thread.start()
            thread.join(timeout=30)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("after the capture", UserWarning, stacklevel=1)
        assert ["after the capture" in record.getMessage() for record in records] == [True]
    finally:
        logging.captureWarnings(False)
        logger.removeHandler(handler)
    assert warnings.showwarning is show


def test_power_analysis_leaves_another_threads_warnings_to_it():
    from crystallize.stats.power import replicates_needed

    expected = [replicates_needed(effect) for effect in (0.2, 0.5, 20.0)]
    with _other_thread_warning("always") as other:
        answers = [[replicates_needed(effect) for effect in (0.2, 0.5, 20.0)] for _ in range(15)]
    assert answers == [expected] * 15
    assert len(other.shown) == other.emitted


def test_power_analysis_still_hides_statsmodels_warnings():
    from crystallize.stats.power import replicates_needed

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert replicates_needed(20.0) == 2  # statsmodels fails to converge here, warning
    assert shown == []


_STEPS = '''
import warnings

from crystallize import pipeline_step

warnings.warn("old_api() is deprecated", FutureWarning)


@pipeline_step()
def total(data):
    return data, {"total": sum(data)}
'''

_DATASOURCES = '''
from crystallize import data_source


@data_source
def numbers(ctx, n=3):
    return [1.0] * n
'''

_CONFIG = """
replicates: 2
datasource: {source: numbers}
steps: [total]
"""


def _folders(root: Path, count: int) -> None:
    for i in range(count):
        folder = root / "experiments" / f"exp{i}"
        folder.mkdir(parents=True)
        (folder / "config.yaml").write_text(textwrap.dedent(_CONFIG), encoding="utf-8")
        (folder / "steps.py").write_text(_STEPS, encoding="utf-8")
        (folder / "datasources.py").write_text(_DATASOURCES, encoding="utf-8")


def test_discovery_leaves_another_threads_warnings_to_it(tmp_path):
    from crystallize.config import discover

    _folders(tmp_path, 6)
    with _other_thread_warning("always") as other:
        warnings.simplefilter("always", FutureWarning)
        found = discover(tmp_path)
    assert sorted(found.experiments) == [f"exp{i}" for i in range(6)]
    # The folders' own import warnings are still warned again, one per folder.
    assert other.elsewhere == [("FutureWarning", "old_api() is deprecated")] * 6
    assert len(other.shown) == other.emitted


def test_the_capture_still_notes_under_an_error_filter_and_nests():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = welch_t_test()(*_degenerate())
        assert any(note.startswith("RuntimeWarning: Precision loss") for note in out["warnings"])
        with collect_warnings() as notes:
            with warnings.catch_warnings(record=True) as inner:
                warnings.simplefilter("always")
                warnings.warn("inner", UserWarning, stacklevel=1)
            warnings.warn("outer", UserWarning, stacklevel=1)
    assert [str(w.message) for w in inner] == ["inner"]
    assert notes == ["UserWarning: outer"]


def test_the_capture_leaves_the_warnings_module_as_it_found_it():
    def state() -> tuple:
        return (
            list(warnings.filters), warnings.showwarning,
            warnings._showwarnmsg_impl, warnings._showwarnmsg,  # type: ignore[attr-defined]
        )

    before = state()
    with collect_warnings() as notes:
        with collect_warnings() as inner:
            warnings.warn("inner", UserWarning, stacklevel=1)
        warnings.warn("outer", UserWarning, stacklevel=1)
    assert (notes, inner) == (["UserWarning: outer"], ["UserWarning: inner"])
    assert state() == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_captures_while_another_thread_of_the_parent_had_a_capture_open():
    """Only the forking thread lives on in the child: a capture another thread had open
    (and its lock) must not block or linger there."""
    before = list(warnings.filters)
    opened, release = threading.Event(), threading.Event()

    def hold() -> None:
        with collect_warnings():
            opened.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert opened.wait(30)
        pid = os.fork()
        if pid == 0:  # the child: report through the exit code only
            code = 1
            try:
                signal.alarm(20)  # a capture waiting for the parent thread's lock never returns
                clean = warnings.filters == before
                with collect_warnings() as notes:
                    warnings.warn("in the child", UserWarning, stacklevel=1)
                code = 0 if (clean, notes, warnings.filters == before) == (
                    True, ["UserWarning: in the child"], True
                ) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
        thread.join(timeout=30)
    assert os.waitstatus_to_exitcode(status) == 0
