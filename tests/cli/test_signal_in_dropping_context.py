"""A Ctrl+C that arrives where Python drops exceptions (a ``__del__``, a weakref
callback such as an import's module-lock ``cb``, logging's at-fork hooks) still stops
the ``crystallize`` command: the signal comes again once that code has returned.
Raised there, the KeyboardInterrupt was printed as "Exception ignored in ..." and the
run went on (seen in CI: the signal landed in importlib's module-lock callback)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from crystallize.cli.main import StopSignals, _drops_exceptions

pytestmark = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread() or os.name != "posix",
    reason="installs signal handlers (POSIX signals)",
)


class SignalsItselfWhileDeleted:
    """Sends SIGINT to this process from ``__del__`` and stays there a moment, so the
    handler runs inside ``__del__``."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 0.05
        while time.monotonic() < deadline:
            pass


def test_a_signal_inside_del_is_delivered_again_afterwards(capsys):
    signals = StopSignals()
    signals.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            doomed = SignalsItselfWhileDeleted()
            del doomed  # the handler runs in __del__, where a raise would be dropped
            time.sleep(2)  # the signal comes again: it interrupts this
    finally:
        signals.restore()
    assert "Exception ignored" not in capsys.readouterr().err


def test_frames_where_python_drops_exceptions_are_recognised():
    namespace: dict = {}
    exec(compile("def cb():\n    return sys._getframe()\n", "<frozen importlib._bootstrap>", "exec"),
         {"sys": sys}, namespace)
    assert _drops_exceptions(namespace["cb"]())  # importlib's module-lock callback
    assert not _drops_exceptions(sys._getframe())  # ordinary code: raise at once
    assert not _drops_exceptions(None)
