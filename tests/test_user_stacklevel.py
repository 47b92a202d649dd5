"""``user_stacklevel`` names the user's code, never an installed package's (an interface's
event loop loading an experiment, a library calling back into Crystallize)."""

from __future__ import annotations

import threading
import warnings

from crystallize.utils.callers import user_stacklevel


def _function(module: str, filename: str, source: str, **names):
    """The function ``f`` of ``source``, compiled as if it were in ``filename`` of ``module``."""
    namespace = {"__name__": module, **names}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]


#: A warning issued inside Crystallize, pointed at its caller with user_stacklevel.
WARN = _function(
    "crystallize._issuing", "/somewhere/crystallize/_issuing.py",
    "def f():\n    warnings.warn('checked', UserWarning, stacklevel=user_stacklevel())\n",
    warnings=warnings, user_stacklevel=user_stacklevel,
)
#: An installed package calling back (as textual's _callback.py calls a screen's method).
INSTALLED = _function(
    "textual._callback", "/venv/lib/python3.11/site-packages/textual/_callback.py",
    "def f(call):\n    return call()\n",
)


def _caught(call) -> warnings.WarningMessage:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    assert len(caught) == 1
    return caught[0]


def test_an_installed_package_between_the_user_and_crystallize_is_passed_over():
    warning = _caught(lambda: INSTALLED(WARN))  # the user's line: this lambda
    assert warning.filename == __file__


#: The package's own worker: caught there, with only threading's frames beyond it.
CAUGHT_IN_INSTALLED = _function(
    "textual.worker", "/venv/lib/python3.11/site-packages/textual/worker.py",
    "def f(found):\n"
    "    with warnings.catch_warnings(record=True) as caught:\n"
    "        warnings.simplefilter('always')\n"
    "        INSTALLED(WARN)\n"
    "    found.extend(caught)\n",
    warnings=warnings, INSTALLED=INSTALLED, WARN=WARN,
)


def test_an_installed_package_called_by_a_runner_gives_crystallize_s_own_place():
    """The interface's event loop in a thread: no user frame at all, so the warning keeps
    its own place (which the command prints without one), never the package's file."""
    found: list[warnings.WarningMessage] = []
    thread = threading.Thread(target=CAUGHT_IN_INSTALLED, args=(found,))
    thread.start()
    thread.join(30)
    assert [w.filename for w in found] == ["/somewhere/crystallize/_issuing.py"]
