"""Starting worker processes, and what is said when they cannot start or load the run.

The :mod:`multiprocessing` context runs use (:func:`start_context`), the pause of the
store's threads while processes are forked (:func:`forking`), turning a failed start into
a :class:`~crystallize.exceptions.WorkerStartError` (:func:`starting_processes`), stopping
processes (:func:`stop_processes`), and the messages of workers that died early or could
not load what the driver sent them — in particular, parts defined in an interactive
``__main__`` (a notebook, ``python -c``) that spawned workers cannot see
(:func:`check_main_parts`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import PicklingError, WorkerStartError
from crystallize.plugins.execution.payload import first_from_main

if TYPE_CHECKING:
    from crystallize.experiment import Experiment

#: How long processes the driver stops get to end before they are killed (seconds).
STOP_SECONDS = 1.0


def stop_processes(processes: Iterable[Any], seconds: float = STOP_SECONDS) -> None:
    """Terminate started :mod:`multiprocessing` ``processes``, wait up to ``seconds``
    for them to end, then kill the ones left (waiting up to ``seconds`` again)."""
    processes = list(processes)
    for end in ("terminate", "kill"):
        alive = [process for process in processes if process.is_alive()]
        for process in alive:
            with contextlib.suppress(OSError):
                getattr(process, end)()
        deadline = time.monotonic() + seconds
        for process in alive:
            process.join(max(0.0, deadline - time.monotonic()))


def interactive_main() -> bool:
    """True when this process's ``__main__`` has no file to import it from and no module
    name: a notebook, ``python -c``, a script read from standard input (``python - <
    script.py``, whose ``__file__`` is ``"<stdin>"``), the REPL. Worker processes started
    with ``spawn`` or ``forkserver`` then start without it, and cannot load anything
    defined there."""
    main = sys.modules.get("__main__")
    if main is None or getattr(getattr(main, "__spec__", None), "name", None):
        return False  # (python -m: the workers import it by name)
    file = getattr(main, "__file__", None)
    return file is None or (isinstance(file, str) and file.startswith("<"))


def _interactive_message(start_method: str, what: str) -> str:
    return (
        f"{what} This program runs interactively (a notebook, python -c, a script read from "
        f"standard input or the REPL: its __main__ has no file), and worker processes started with the '{start_method}' start "
        "method cannot load functions or classes defined in a notebook or interactive session. "
        "Move the steps and datasources (and whatever else they use from it) into a .py module "
        "and import them from there, or use ParallelExecution(executor_type='thread'), or the "
        "'fork' start method where the platform has it (multiprocessing.set_start_method('fork'); "
        "not on Windows, and not safe on macOS with some libraries)."
    )


def check_main_parts(experiment: Experiment) -> None:
    """Under ``spawn`` or ``forkserver`` in an interactive session (see
    :func:`interactive_main`), raise :class:`PicklingError` naming the first part of
    ``experiment`` that refers to something defined there, before the run is stored or a
    worker started. Otherwise costs a few attribute lookups (once per run)."""
    method = start_context().get_start_method()
    if method == "fork" or not interactive_main():
        return
    found = first_from_main(experiment)
    if found is not None:
        part, name = found
        raise PicklingError(_interactive_message(
            method,
            f"Process execution cannot send {part} to worker processes: it uses '{name}', "
            "defined in __main__. Nothing was run or stored.",
        ))


def main_advice(start_method: str) -> str | None:
    """What a worker process says when something the experiment uses is missing from its
    ``__main__`` (``AttributeError: module '__main__' has no attribute ...``), worked
    out by the driver, which knows its own ``__main__``; ``None`` under ``fork``."""
    if start_method == "fork":
        return None
    if interactive_main():
        return _interactive_message(start_method, "It is defined in __main__.")
    return (
        f"It is defined in __main__, the script that started the run, but not where worker "
        f"processes see it: under the '{start_method}' start method they import that script "
        "again without running its if __name__ == \"__main__\": block, so a step, datasource "
        "or class defined inside that block (or added to the module while it runs) is missing. "
        "Define it at module scope, outside the block, or in a module of its own."
    )


def load_failed_message(install_error: str | None, advice: str | None = None) -> str:
    """The error of a worker process that could not load the experiment sent to it
    (``install_error``: why); ``advice`` (see :func:`main_advice`) is added when a name
    was missing from ``__main__``."""
    message = f"A worker process could not load the experiment sent to it ({install_error})."
    # The driver's __main__ is __mp_main__ in a worker that imported the script again.
    missing = ("module '__main__' has no attribute", "module '__mp_main__' has no attribute")
    if advice is not None and install_error is not None and any(m in install_error for m in missing):
        return f"{message} {advice}"
    return (
        f"{message} Make sure steps, datasources and the modules they live in can be "
        "imported by worker processes."
    )


def died_early_message(start_method: str) -> str:
    """The error of a process-pool run whose workers all died before running a replicate,
    under ``start_method``. Unless workers are forked, they import the main script again,
    so a script without the ``__main__`` guard is named as a likely cause (resuming
    before the guard is added would fail the same way)."""
    died = (
        "Worker processes died before running any replicate (killed, out of memory, or "
        "crashed while loading the experiment); finished replicates are kept."
    )
    if start_method == "fork":
        return f"{died} Re-run with strategy='resume' to finish the rest."
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if isinstance(main_file, str) and not os.path.isfile(main_file):  # python - (stdin), say
        return (
            f"{died} Under the '{start_method}' start method each worker imports the script "
            f"that started the run, but it has no file ({main_file!r}: code read from standard "
            "input), so the workers fail there (their error is printed above). Save the code "
            "as a script and run that, or use the 'fork' start method "
            "(multiprocessing.set_start_method('fork'), where the platform has it); then "
            "re-run with strategy='resume' to finish the rest."
        )
    return (
        f"{died} Under the '{start_method}' start method each worker imports the script that "
        "started the run: a script without an if __name__ == \"__main__\": guard makes the "
        "workers fail there (their error is printed above). Put the code that builds and runs "
        "the experiment under that guard (see docs/execution.md#processes), then re-run with "
        "strategy='resume' to finish the rest."
    )


def start_context() -> Any:
    """The ``multiprocessing`` context process runs start their workers with: the start
    method set with ``multiprocessing.set_start_method``, else the platform's default
    (the first of ``get_all_start_methods()``). Unlike ``multiprocessing.get_context()``
    it leaves the default unset, so the program can still call ``set_start_method``
    after a run."""
    import multiprocessing

    method = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]
    return multiprocessing.get_context(method)


def forking() -> contextlib.AbstractContextManager[None]:
    """A block in which this process starts worker processes (pools, the event Manager
    and lone re-runs all use :mod:`multiprocessing`'s default context). Under the
    ``fork`` start method they are forked, so the store's background threads (record
    writers, WAL checkpoints) are paused for it, and the workers copy no thread of the
    driver nor a lock one of them held (see
    :func:`~crystallize.store.checkpoint.threads_paused`). Under ``spawn`` and
    ``forkserver`` workers are fresh interpreters (exec'd at once, or forked by the fork
    server) that copy no thread nor lock of this process, so nothing is paused."""
    if start_context().get_start_method() != "fork":
        return contextlib.nullcontext()
    from crystallize.store.checkpoint import threads_paused

    return threads_paused()


@contextlib.contextmanager
def starting_processes(workers: int, started: Callable[[], list[Any]] = list) -> Iterator[None]:
    """Start worker processes for a run of ``workers`` in the block; an :class:`OSError`
    there (out of file descriptors, or the system refusing another process) first stops
    the processes ``started()`` returns, so none of them keeps the program from exiting,
    then becomes a :class:`~crystallize.exceptions.WorkerStartError` saying what to do
    (see :func:`start_failed_message`), with the same ``errno``."""
    limit = _open_file_limit()  # now: out of file descriptors, not even `resource` imports
    try:
        yield
    except OSError as exc:
        processes = started()
        stop_processes(processes)
        raise WorkerStartError(start_failed_message(exc, workers, len(processes), limit), exc.errno) from exc


def start_failed_message(exc: OSError, workers: int, started: int, limit: int | None = None) -> str:
    """Why a process pool of ``workers`` could not start (``started`` of them had), after
    ``exc``, and what to do: raise the open-file limit (``limit``, when known), or use
    fewer workers."""
    import errno

    fewer = (
        "use fewer workers (ParallelExecution(max_workers=...), workers: in a config.yaml, "
        "--workers with the crystallize command)"
    )
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        now = "" if limit is None else f", now {limit}"
        why = (
            f"The process (see `ulimit -n`{now}) or the system has reached its limit of open "
            "files, and each worker process needs a few (pipes to the driver). Raise the limit "
            f"(e.g. `ulimit -n 4096` in the shell that starts the run), or {fewer}."
        )
    else:
        why = f"The system refused to start another process (memory, or a limit on processes): {fewer}."
    return (
        f"The process pool could not start its {workers} worker processes ({started} started): "
        f"{exc}. {why}"
    )


def _open_file_limit() -> int | None:
    """This process's limit of open files (``ulimit -n``); ``None`` where there is none
    or it cannot be read (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


__all__ = [
    "STOP_SECONDS",
    "check_main_parts",
    "died_early_message",
    "forking",
    "interactive_main",
    "load_failed_message",
    "main_advice",
    "start_context",
    "start_failed_message",
    "starting_processes",
    "stop_processes",
]
