"""The plugins' run lifecycle: every ``before_run`` gets its ``after_run``.

``before_run`` opens what a plugin needs for a run (an MLflow run, a progress display);
``after_run`` closes it. These helpers pair them however a run ends: a failing
``before_run`` closes the plugins already started, a run that raises still calls every
``after_run`` (their own failures become notes on the run's exception), and a run that
completed raises the first ``after_run`` failure with the Result attached.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from crystallize.dispatch import hook_failure, hook_name
from crystallize.utils.text import exception_summary
from crystallize.utils.user_exceptions import add_note_safely, contextmanager

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.result import Result


_RUN_KIND: ContextVar[str] = ContextVar("crystallize_run_kind", default="run")


def run_kind() -> str:
    """What the plugin hooks running now belong to: ``"run"`` (``run()``, ``stream()``, a
    resume), ``"apply"`` (``experiment.apply()``) or ``"debug"`` (``experiment.debug()``).

    ``apply`` and ``debug`` call every plugin's ``before_run`` and ``after_run`` too, with
    the experiment narrowed to the one condition they run; a plugin that describes or
    records runs elsewhere (logging, MLflow) reads this to tell them apart.
    """
    return _RUN_KIND.get()


@contextmanager
def running_as(kind: str) -> Iterator[None]:
    """Make :func:`run_kind` return ``kind`` inside the block (in this thread)."""
    token = _RUN_KIND.set(kind)
    try:
        yield
    finally:
        _RUN_KIND.reset(token)


def status_of(exc: BaseException) -> str:
    """How a run that raised ``exc`` ends: ``cancelled`` (Ctrl+C, a stream closed early)
    or ``failed``."""
    return "cancelled" if isinstance(exc, KeyboardInterrupt | GeneratorExit) else "failed"


def ended(result: Result, status: str) -> Result:
    """``result`` of a run that raised, with how it ended as ``info["status"]`` (the
    status it is stored with, as in a Result loaded from the store)."""
    result.info["status"] = status
    return result


def call_after_run(experiment: Experiment, result: Result) -> None:
    """Call every plugin's ``after_run``, even when one raises; the first exception is
    raised at the end with the Result attached (and notes naming any later ones)."""
    failures = _after_run_each(experiment.plugins, experiment, result)
    if not failures:
        return
    (hook, first), *later = failures
    error = hook_failure(first, hook)
    stored = f" and is stored as run {result.run_id}" if result.run_id else ""
    add_note_safely(
        error,
        f"Raised by the plugin hook {hook}. The run itself "
        f"completed{stored}; its Result is attached to this exception as .result.",
    )
    for other_hook, other in later:
        add_note_safely(error, _also_raised(other_hook, other))
    attach_result(error, result)
    raise error


def start_plugins(experiment: Experiment, plugins: Iterable[Any], make_result: Callable[[], Result]) -> None:
    """Call each plugin's ``before_run``; when one raises, the plugins already started get
    their ``after_run`` (with ``make_result()``, an empty Result) before the exception goes on."""
    started: list[Any] = []
    try:
        for plugin in plugins:
            try:
                plugin.before_run(experiment)
            except Exception as exc:
                error = hook_failure(exc, hook_name(plugin.before_run))
                add_note_safely(
                    error,
                    f"Raised by the plugin hook {hook_name(plugin.before_run)}: the run stops "
                    "before any replicate (nothing was computed).",
                )
                if error is exc:
                    raise
                raise error from exc
            started.append(plugin)
    except BaseException as exc:
        close_plugins(experiment, exc, make_result, started)
        raise


def close_plugins(
    experiment: Experiment,
    exc: BaseException,
    make_result: Callable[[], Result],
    plugins: Iterable[Any] | None = None,
) -> None:
    """Call every plugin's ``after_run`` (default: all of ``experiment``'s) while ``exc``
    ends the run, so plugins close what ``before_run`` opened; the caller then raises
    ``exc``. A hook that raises, or a Result that cannot be built, adds a note to ``exc``."""
    try:
        result = make_result()
    except Exception as failure:
        add_note_safely(
            exc, f"Plugins' after_run hooks were not called: the Result could not be built ({failure!r})."
        )
        return
    plugins = experiment.plugins if plugins is None else plugins
    for hook, failure in _after_run_each(plugins, experiment, result):
        add_note_safely(exc, _also_raised(hook, failure))


def _after_run_each(plugins: Iterable[Any], experiment: Experiment, result: Result) -> list[tuple[str, Exception]]:
    """Call each plugin's ``after_run``; the ``(hook name, exception)`` of those that raised."""
    failures = []
    for plugin in plugins:
        try:
            plugin.after_run(experiment, result)
        except Exception as exc:
            failures.append((hook_name(plugin.after_run), exc))
    return failures


def _also_raised(hook: str, exc: Exception) -> str:
    """The note naming a further ``after_run`` hook that raised."""
    return f"The plugin hook {hook} also raised {exception_summary(exc)}"


def attach_result(exc: BaseException, result: Result) -> None:
    """Attach ``result`` to ``exc`` as ``.result`` (when the exception class allows it)."""
    with contextlib.suppress(Exception):  # __slots__, a frozen dataclass, a __setattr__ of its own
        exc.result = result  # type: ignore[attr-defined]


__all__ = ["attach_result", "call_after_run", "close_plugins", "ended", "run_kind", "running_as", "start_plugins", "status_of"]
