"""What crosses to worker processes: the experiment, pickled once for them, and the
records they send back (a record that cannot be pickled becomes a failed one naming the
culprit, so the rest of its batch still arrives). Used by process and Ray execution."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import PicklingError
from crystallize.utils.text import exception_summary

if TYPE_CHECKING:
    from crystallize.experiment import Experiment


def pack_results(results: list[Any], dumps: Callable[[Any], bytes]) -> bytes:
    """Pickle a batch's results (a list of records per replicate) with ``dumps``.

    A record holding something that cannot be pickled (a metric value, tags, an event's
    payload) is replaced by a failed record naming it, so the rest of the batch, and of
    the run, still reaches the driver. Only then is each record pickled on its own.
    """
    try:
        return dumps(results)
    except Exception:
        return dumps([_sendable_records(records, dumps) for records in results])


def _sendable_records(records: Any, dumps: Callable[[Any], bytes]) -> Any:
    from crystallize.record import ReplicateError, ReplicateRecord

    if not isinstance(records, list):
        return records  # not ours: the caller's pickling error stands
    sendable = []
    for record in records:
        found = _unpicklable_part(record, dumps) if isinstance(record, ReplicateRecord) else None
        if found is not None:
            what, step, exc = found
            message = (
                f"{what} of condition '{record.condition}', replicate {record.replicate} cannot be "
                f"pickled ({exception_summary(exc)}), so the worker process cannot send it back. "
                "Record picklable values (numbers, strings, lists, dicts, NumPy arrays): convert "
                "the object, e.g. float(value) or str(value), or keep it out of metrics and events."
            )
            error = ReplicateError(record.condition, record.replicate, step, message, "PicklingError")
            record = ReplicateRecord(
                record.condition, record.replicate, record.seed, {}, [], error, record.duration,
                record.started_at, [], None, record.worker, record.code_digest,
            )
        sendable.append(record)
    return sendable


def _unpicklable_part(record: Any, dumps: Callable[[Any], bytes]) -> tuple[str, str, Exception] | None:
    """``(what, step, exception)`` for the first part of ``record`` that does not pickle."""

    def failure(value: Any) -> Exception | None:
        try:
            dumps(value)
        except Exception as exc:
            return exc
        return None

    def logged_by(metric: str) -> str:
        return next((step.name for step in record.steps if metric in (step.metrics or {})), "worker")

    parts = [(f"metric '{name}'", logged_by(name), values) for name, values in record.metrics.items()]
    tagged = (record.metric_tags or {}).items()
    parts += [(f"the tags of metric '{name}'", logged_by(name), tags) for name, tags in tagged]
    parts += [(f"the payload of event '{event[0]}'", "worker", event) for event in record.events]
    parts += [(f"the provenance of step '{step.name}'", step.name, step) for step in record.steps]
    parts += [("the record", "worker", record)]
    for what, step, value in parts:
        exc = failure(value)
        if exc is not None:
            return what, step, exc
    return None


#: How a :class:`PicklingError` names the executor and its workers, by default.
PROCESS_WORKERS = ("Process execution", "worker processes")


def pickle_for_workers(
    experiment: Experiment,
    replicate_fn: Callable[[int], Any],
    dumps: Callable[[Any], bytes] | None = None,
    workers: tuple[str, str] = PROCESS_WORKERS,
) -> bytes:
    """Pickle ``replicate_fn`` (with ``dumps``, default :func:`pickle.dumps`); on failure,
    name the piece that cannot be pickled. ``workers`` is ``(executor, its workers)`` as
    the error names them, e.g. ``("Ray execution", "Ray workers")``."""
    import pickle

    try:
        if dumps is not None:
            return dumps(replicate_fn)
        return pickle.dumps(replicate_fn, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        found = _first_unpicklable(experiment)
        raise _pickling_error(found[0] if found else None, exc, workers) from exc


def check_picklable(experiment: Experiment, workers: tuple[str, str] = PROCESS_WORKERS) -> None:
    """Raise :class:`PicklingError` naming the first part of ``experiment`` that worker
    processes could not receive (called before a run is stored). ``workers`` is
    ``(executor, its workers)`` as the error names them (see :func:`pickle_for_workers`)."""
    found = _first_unpicklable(experiment)
    if found is not None:
        raise _pickling_error(*found, workers) from found[1]


def _pickling_error(culprit: str | None, exc: Exception, workers: tuple[str, str]) -> PicklingError:
    executor, receivers = workers
    return PicklingError(
        f"{executor} must send the experiment to {receivers}, but "
        f"{culprit or 'part of it'} cannot be pickled ({exception_summary(exc)}). "
        "Define steps, datasources and the functions they use at module scope (not "
        "inside functions, lambdas or notebooks' closures), and wrap unpicklable objects "
        "such as connections with resource_factory(...) in initial_ctx."
    )


def _first_unpicklable(experiment: Experiment) -> tuple[str, Exception] | None:
    import pickle

    for label, obj in _parts(experiment):
        try:
            pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return label, exc
    return None


def _parts(experiment: Experiment) -> list[tuple[str, Any]]:
    """``(label, object)`` for each part of ``experiment`` sent to workers, as errors name it."""
    parts: list[tuple[str, Any]] = [("datasource " + _label(experiment.datasource), experiment.datasource)]
    steps = experiment.pipeline.steps if experiment.pipeline is not None else []
    parts += [(f"step '{_label(step)}' (position {i})", step) for i, step in enumerate(steps)]
    parts += [(f"context key '{key}' in initial_ctx", value) for key, value in experiment.initial_ctx.items()]
    for treatment in experiment.treatments:
        parts += _treatment_parts(treatment)
    parts += [(f"plugin {type(p).__name__}", p) for p in experiment.worker_plugins()]
    return parts


def _treatment_parts(treatment: Any) -> list[tuple[str, Any]]:
    """A treatment's values (each a context key), its values function, datasource and
    steps, then the treatment itself: an error names the piece, not only the treatment."""
    label = f"treatment '{treatment.name}'"
    values = treatment.values
    if isinstance(values, dict):
        parts = [(f"context key '{key}' of {label}", value) for key, value in values.items()]
    else:
        parts = [(f"the values function of {label}", values)] if values is not None else []
    if treatment.datasource is not None:
        parts.append((f"the datasource of {label}", treatment.datasource))
    parts += [(f"step '{_label(step)}' of {label}", step) for step in treatment.own_steps()]
    return [*parts, (label, treatment)]


def first_from_main(experiment: Experiment) -> tuple[str, str] | None:
    """``(part, name)`` for the first part of ``experiment`` (as errors name it) whose
    pickle refers to something defined in ``__main__``, and that thing's name; ``None``
    when no part does. Worker processes that cannot import the driver's ``__main__``
    (an interactive session under ``spawn``) cannot load such a part. Pickles each part
    once: call it once per run, only when that can happen."""
    import io
    import pickle
    import types

    from crystallize.utils.importing import rebuild_from_factory

    class Found(Exception):
        pass

    class Finder(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, (type, types.FunctionType)):
                if getattr(obj, "__module__", None) == "__main__":
                    raise Found(getattr(obj, "__qualname__", None) or repr(obj))
            elif type(obj).__module__.startswith("crystallize."):  # steps, datasources, verifiers
                try:  # they refer to their factory by module name, a string
                    reduced = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
                except Exception:
                    return NotImplemented
                if isinstance(reduced, tuple) and reduced[0] is rebuild_from_factory and reduced[1][0] == "__main__":
                    raise Found(reduced[1][1])
            return NotImplemented

    for label, obj in _parts(experiment):
        try:
            Finder(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
        except Found as found:
            return label, str(found)
        except Exception:  # not picklable at all: check_picklable says so
            continue
    return None


def _label(obj: Any) -> str:
    return str(getattr(obj, "name", None) or type(obj).__name__)


__all__ = ["PROCESS_WORKERS", "check_picklable", "first_from_main", "pack_results", "pickle_for_workers"]
