"""``capture_warnings(show=..., apply_filters=True)``: warnings handed on as they are raised,
filtered as without the capture, and never recorded in a forked child (where nobody reads
them) — what the interactive interface's run log is built on."""

from __future__ import annotations

import os
import signal
import warnings

import pytest

from crystallize.utils.warnings_capture import capture_warnings


def test_show_gets_each_warning_as_it_is_raised_and_the_list_stays_empty():
    shown: list[str] = []
    seen_before_the_end: list[list[str]] = []
    with capture_warnings(show=lambda w: shown.append(str(w.message))) as caught:
        warnings.warn("first", UserWarning, stacklevel=1)
        seen_before_the_end.append(list(shown))
        warnings.warn("second", RuntimeWarning, stacklevel=1)
    assert seen_before_the_end == [["first"]]
    assert shown == ["first", "second"]
    assert caught == []


def _warn_twice_from_one_place(text: str) -> None:
    for _ in range(2):
        warnings.warn(text, UserWarning, stacklevel=1)


def test_with_the_filters_applied_a_text_is_shown_once_per_place_and_ignored_ones_are_dropped():
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", message="hidden")
        shown: list[str] = []
        with capture_warnings(show=lambda w: shown.append(str(w.message)), apply_filters=True):
            _warn_twice_from_one_place("repeated")
            _warn_twice_from_one_place("hidden")
        assert shown == ["repeated"]
        # a later capture sees the warning again (once), as a new run would
        with capture_warnings(show=lambda w: shown.append(str(w.message)), apply_filters=True):
            _warn_twice_from_one_place("repeated")
        assert shown == ["repeated", "repeated"]
        # without apply_filters every warning is recorded, the ignored one too
        with capture_warnings() as caught:
            _warn_twice_from_one_place("hidden")
        assert [str(w.message) for w in caught] == ["hidden", "hidden"]


def test_with_the_filters_applied_an_error_filter_raises():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="boom"), capture_warnings(show=print, apply_filters=True):
            warnings.warn("boom", UserWarning, stacklevel=1)


def test_an_inner_capture_recording_everything_inside_a_filtered_one():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shown: list[str] = []
        with capture_warnings(show=lambda w: shown.append(str(w.message)), apply_filters=True):
            with capture_warnings() as inner:
                warnings.warn("inner", UserWarning, stacklevel=1)
            warnings.warn("outer, ignored", UserWarning, stacklevel=1)
        assert [str(w.message) for w in inner] == ["inner"]
        assert shown == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_inside_a_capture_displays_its_warnings_instead_of_recording_them():
    """A process-pool worker forked from the capturing thread: its warnings must reach the
    display hook set up before (the command's, writing to stderr, which the interface
    reads), not a copy of the parent's list that nobody reads."""
    read_end, write_end = os.pipe()

    def display(message, category, filename, lineno, file=None, line=None):
        os.write(write_end, f"{category.__name__}: {message}\n".encode())

    with warnings.catch_warnings():
        warnings.showwarning = display
        warnings.simplefilter("always")
        with capture_warnings() as caught:
            pid = os.fork()
            if pid == 0:  # the child: report through the pipe and the exit code only
                code = 1
                try:
                    signal.alarm(20)
                    os.close(read_end)
                    warnings.warn("from the worker", UserWarning, stacklevel=1)
                    code = 0
                finally:
                    os._exit(code)
            os.close(write_end)
            _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        displayed = pipe.read()
    assert os.waitstatus_to_exitcode(status) == 0
    assert displayed == "UserWarning: from the worker\n"
    assert caught == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_leaving_the_capture_block_and_capturing_again():
    pid, code = -1, 1
    try:
        with capture_warnings() as caught:
            pid = os.fork()
            if pid == 0:
                signal.alarm(20)
        if pid == 0:  # the child left the block it was forked in: nothing to undo there
            with capture_warnings() as again:
                warnings.warn("child", UserWarning, stacklevel=1)
            code = 0 if [str(w.message) for w in again] == ["child"] else 3
    finally:
        if pid == 0:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert caught == []
