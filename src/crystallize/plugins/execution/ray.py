"""RayExecution: replicates as Ray tasks on a local instance or a cluster.

Needs the ``ray`` extra (``pip install 'crystallize[ray]'``); Ray is imported only when a
run starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sys
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.events import QueueSink, drain
from crystallize.exceptions import ClusterConnectionError, OptionalDependencyError
from crystallize.plugins.execution.base import ExecutionPlugin
from crystallize.plugins.execution.parallel import EVENT_POLL_INTERVAL, wants_events
from crystallize.plugins.execution.payload import check_picklable, pack_results, pickle_for_workers
from crystallize.plugins.execution.ray_address import (
    check_reachable,
    check_running_session,
    cluster_endpoint,
)
from crystallize.utils.optional import require
from crystallize.utils.text import exception_summary

if TYPE_CHECKING:
    from crystallize.experiment import Experiment

# Replicate functions unpickled in this Ray worker process, by payload digest, most
# recently used last. Only the latest few are kept: a worker lives as long as the driver's
# Ray session, and an older run's replicate function holds its resource_factory objects,
# whose resources are released only once it is dropped.
WORKER_CACHE_SIZE = 2
_WORKER_RUNNERS: OrderedDict[str, Callable[[int], Any]] = OrderedDict()
_TASK_OPTIONS = ("num_cpus", "num_gpus", "memory", "resources", "accelerator_type")
# The cluster resource (a key of ray.cluster_resources()) each amount option asks for.
_CLUSTER_RESOURCES = {"num_cpus": "CPU", "num_gpus": "GPU", "memory": "memory"}
# How a PicklingError names this executor and its workers (see payload.py).
_RAY_WORKERS = ("Ray execution", "Ray workers")
# Ray internal KV namespace of the stop requests of closed runs (see _request_stop).
_STOP_NAMESPACE = "crystallize-stop"
#: How often a running batch asks whether its run was stopped.
STOP_CHECK_SECONDS = 0.25


class RayWorkerSetupError(RuntimeError):
    """A Ray worker could not load the experiment (usually: a module it cannot import)."""


class StepInterrupted(Exception):
    """A step raised KeyboardInterrupt in a Ray worker (Ray would report it as the task
    being cancelled); the driver raises KeyboardInterrupt, as other executors do."""


def _run_batch(digest: str, payload: bytes, replicates: Sequence[int], stop_key: str | None = None) -> bytes:
    """Ray task body: run a batch of replicates with a worker-cached replicate function;
    return their results pickled (see :func:`~crystallize.plugins.execution.payload.pack_results`).

    Once the driver asks the run to stop (``stop_key``, see :func:`_request_stop`), a
    batch not started returns at once and a running one is interrupted (a
    KeyboardInterrupt in its replicate, as ``ray.cancel`` would raise), returning what
    finished before.
    """
    import pickle

    from ray import cloudpickle

    if stop_key is not None and _stop_requested(stop_key):
        return pack_results([], cloudpickle.dumps)
    runner = _WORKER_RUNNERS.get(digest)
    if runner is None:
        try:
            runner = pickle.loads(payload)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a module calling sys.exit() when imported, too
            raise RayWorkerSetupError(
                f"A Ray worker could not load the experiment ({exception_summary(exc)}). "
                "The modules defining your steps and datasources must be importable on every "
                "worker: install your package there, or pass "
                "init_kwargs={'runtime_env': {'working_dir': '.'}} to RayExecution. An "
                "experiment loaded from a folder needs that folder at the same absolute path "
                "on every node (e.g. a shared filesystem); working_dir does not help there."
            ) from None
        _WORKER_RUNNERS[digest] = runner
        while len(_WORKER_RUNNERS) > WORKER_CACHE_SIZE:
            _WORKER_RUNNERS.popitem(last=False)  # the oldest run's factories can be released
    else:
        _WORKER_RUNNERS.move_to_end(digest)
    results: list[Any] = []
    watch = _StopWatch(stop_key) if stop_key is not None else None
    try:
        try:
            for rep in replicates:
                results.append(runner(rep))
        finally:
            if watch is not None:
                watch.close()  # an interrupt it raised at the last moment surfaces here
    except KeyboardInterrupt:
        if watch is not None and watch.fired:
            return pack_results(results, cloudpickle.dumps)  # the driver no longer reads it
        raise StepInterrupted from None
    return pack_results(results, cloudpickle.dumps)  # cloudpickle, as Ray would


def _stop_requested(stop_key: str) -> bool:
    """Whether the driver asked the run of ``stop_key`` to stop (:func:`_request_stop`)."""
    from ray.experimental.internal_kv import _internal_kv_exists

    return bool(_internal_kv_exists(stop_key, namespace=_STOP_NAMESPACE))


class _StopWatch:
    """While a worker runs a batch, asks every :data:`STOP_CHECK_SECONDS` whether the
    driver stopped the run, and if so interrupts the running replicate: a
    KeyboardInterrupt in the worker's main thread, which ``ray.cancel`` raises too (a step
    blocked in C code, ``time.sleep`` say, gets it when that call returns). One question
    costs a round trip to the cluster's store (0.3 ms on one machine)."""

    def __init__(self, stop_key: str) -> None:
        import threading

        self.stop_key = stop_key
        self.fired = False
        self._done = threading.Event()
        self._lock = threading.Lock()  # no interrupt once close() began
        self._thread = threading.Thread(target=self._watch, name="crystallize-stop-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        import _thread

        while not self._done.wait(STOP_CHECK_SECONDS):
            try:
                requested = _stop_requested(self.stop_key)
            except Exception:  # the cluster going away is the driver's to report
                requested = False
            if not requested:
                continue
            with self._lock:
                if not self._done.is_set():
                    self.fired = True
                    _thread.interrupt_main()
            return

    def close(self) -> None:
        """Stop watching (waits for the watcher, so no interrupt comes after this)."""
        with self._lock:
            self._done.set()
        self._thread.join()


def _call_factory(
    factory: Callable[..., Any], params: dict[str, Any], source: tuple[str, list[str]] | None = None
) -> Any:
    """Unpickling helper: rebuild a step or datasource with a factory shipped by value.

    ``source`` is the script's ``(filename, lines)``: where that file is missing (another
    node), the lines are put in :mod:`linecache`, so the step's source code (used to
    detect code changes during a run) is the same as in the driver.
    """
    if source is not None:
        import linecache
        import os

        filename, lines = source
        if not os.path.exists(filename) and filename not in linecache.cache:
            linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    return factory(**params)


def _script_source(fn: Callable[..., Any]) -> tuple[str, list[str]] | None:
    import linecache

    filename = getattr(getattr(fn, "__code__", None), "co_filename", None)
    lines = linecache.getlines(filename) if filename else []
    return (filename, lines) if lines else None


def dumps_for_ray(obj: Any) -> bytes:
    """Pickle ``obj`` for Ray workers with cloudpickle.

    Steps and datasources normally pickle by reference to their module-level factory.
    Those defined in the script being run (module ``__main__``) cannot be found that way
    in a Ray worker, whose ``__main__`` is Ray's own, so their factories are pickled by
    value, as cloudpickle does for ``__main__`` functions.
    """
    import io

    from ray import cloudpickle

    from crystallize.datasource import FunctionDataSource
    from crystallize.pipeline_step import FunctionStep
    from crystallize.utils.importing import import_qualname, rebuild_from_factory

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, FunctionStep | FunctionDataSource) and (
                getattr(getattr(obj, "fn", None), "__module__", None) == "__main__"
            ):
                rebuild, (module, qualname, params), *state = obj.__reduce__()
                if rebuild is rebuild_from_factory:
                    factory = import_qualname(module, qualname)
                    return (_call_factory, (factory, params, _script_source(obj.fn)), *state)
            return super().reducer_override(obj)

    buffer = io.BytesIO()
    Pickler(buffer, protocol=5).dump(obj)
    return buffer.getvalue()


def local_runtime_env() -> dict[str, Any]:
    """A runtime_env letting local workers import what the driver imports (its sys.path)."""
    import os
    import sys

    paths = [p for p in sys.path if p and os.path.isdir(p)]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}


class RayExecution(ExecutionPlugin):
    """Run replicates as Ray tasks.

    Args:
        address: ``None`` joins the cluster named by the ``RAY_ADDRESS`` environment
            variable when it is set, else starts a new local Ray instance (even when a
            cluster started with ``ray start`` runs on this machine); a Ray session
            already running in this process (your own ``ray.init``, or an earlier
            RayExecution run's) is used as it is. ``"auto"``, ``"host:6379"`` (a head
            node's GCS port) or ``"ray://host:10001"`` (Ray Client) joins an existing
            cluster; ``"local"`` starts a new local instance. A malformed address, or the
            dashboard's ``http://`` one, raises
            :class:`~crystallize.exceptions.ExperimentValidationError` here (a malformed
            ``RAY_ADDRESS`` when a run starts); one that does not answer (within 5 s) or
            refuses the connection raises
            :class:`~crystallize.exceptions.ClusterConnectionError` when a run starts,
            before the run is stored. An explicit address (``"local"`` too) while a Ray
            session runs in this process uses that session only when it is the one
            asked for (``"local"``: an instance this process started; ``"auto"``: the
            cluster in ``RAY_ADDRESS``, else the one ``ray start`` recorded;
            ``host:port``: the session's GCS address; ``ray://``: a Ray Client
            connection to that server); otherwise, and when that cannot be told (another
            ``scheme://``), it raises ``ClusterConnectionError`` before the run is
            stored: Ray joins one cluster per process, so call ``ray.shutdown()`` first,
            or pass ``address=None`` to use the running session.
        num_cpus: CPUs for a local instance started here (ignored when joining).
        resources_per_replicate: Ray task options for each replicate, e.g.
            ``{"num_cpus": 2}`` or, on a cluster with GPUs, ``{"num_gpus": 0.5}``.
            Replicates in one task run one after another, so a task asks for these
            amounts once; when they are given and ``batch_size`` is not, each task runs
            a single replicate. When a run starts, a resource the cluster has less of
            than one replicate asks for gives a :class:`RuntimeWarning`: Ray keeps such
            tasks waiting until a node that has it joins.
        max_retries: times Ray retries a task whose worker process died (``-1``: for
            ever, as in Ray).
        batch_size: replicates per task; ``None`` picks about four tasks per cluster CPU
            so scheduling overhead stays small next to the work.
        init_kwargs: extra keyword arguments for ``ray.init``.

    Workers receive the replicate function once per process (cached by digest; the
    latest ``WORKER_CACHE_SIZE`` are kept, so older runs' resources are released) and
    the driver stores the records. When a batch's worker keeps dying after ``max_retries``,
    each of its replicates is run again in a task of its own, and only those whose worker
    still dies are recorded as failed; ``strategy="resume"`` can finish them later.
    """

    executor_type = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        resources_per_replicate: Mapping[str, Any] | None = None,
        max_retries: int = 2,
        batch_size: int | None = None,
        init_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if batch_size is not None:
            batch_size = _whole(batch_size, at_least=1, name="batch_size")
        max_retries = _whole(max_retries, at_least=-1, name="max_retries")  # -1: for ever, as in Ray
        if num_cpus is not None:
            # 0 would start an instance on which no replicate's task (1 CPU) ever runs.
            num_cpus = _whole(num_cpus, at_least=1, name="num_cpus")
        if address is not None and not isinstance(address, str):
            raise TypeError(
                f"address must be a string such as 'auto', 'host:6379' or 'ray://host:10001', "
                f"got {address!r} ({type(address).__name__})"
            )
        if init_kwargs is not None and not isinstance(init_kwargs, Mapping):
            raise TypeError(f"init_kwargs must be a mapping of ray.init keyword arguments, got {init_kwargs!r}")
        unknown = set(resources_per_replicate or {}) - set(_TASK_OPTIONS)
        if unknown:
            raise ValueError(
                f"Unknown resources_per_replicate option(s) {sorted(unknown)}; "
                f"use {', '.join(_TASK_OPTIONS)}"
            )
        if address is not None:
            cluster_endpoint(address)  # a malformed address fails here, not minutes later
        self.address = address
        self.num_cpus = num_cpus
        self.resources_per_replicate = dict(resources_per_replicate or {})
        self.max_retries = max_retries
        self.batch_size = batch_size
        self.init_kwargs = dict(init_kwargs or {})

    def before_run(self, experiment: Experiment) -> None:
        """Before the run is recorded: check that Ray is installed and that the experiment
        pickles, then join the cluster at ``address`` (or ``RAY_ADDRESS``; the connection
        is kept for the run), so that one that cannot be reached or refuses the driver
        raises :class:`~crystallize.exceptions.ClusterConnectionError` while nothing is
        stored yet. A local instance is started only when replicates run."""
        import importlib.util

        if "ray" not in sys.modules and importlib.util.find_spec("ray") is None:  # no import (~1 s)
            raise OptionalDependencyError("RayExecution", "ray", "ray")
        check_picklable(experiment, _RAY_WORKERS)  # workers receive it pickled
        if self.init_kwargs:
            self._check_init_kwargs()
        if self._cluster_address() is not None or _running_ray() is not None:
            self._connect()  # a running session: checked against the address asked for

    def _check_init_kwargs(self) -> None:
        """Refuse ``init_kwargs`` that ``ray.init`` does not take, before the run is
        recorded (a local instance is started only when replicates run). Ray's private
        ``_name`` arguments are left to it."""
        import difflib
        import inspect

        ray = require("ray", feature="RayExecution", extra="ray")
        known = [name for name in inspect.signature(ray.init).parameters if name not in ("address", "kwargs")]
        unknown = [key for key in self.init_kwargs if key not in known and not str(key).startswith("_")]
        if unknown:
            hints = "".join(
                f" ({key!r}: did you mean {close[0]!r}?)"
                for key in unknown
                if (close := difflib.get_close_matches(str(key), known, n=1))
            )
            message = f"RayExecution init_kwargs: ray.init takes no argument(s) {', '.join(map(repr, unknown))}{hints}"
            if "address" in unknown:
                message += "; give the cluster as RayExecution(address=...)"
            raise ValueError(message)

    def _cluster_address(self) -> str | None:
        """The cluster to join: ``address``, else a non-empty ``RAY_ADDRESS`` environment
        variable (checked here, as ``address`` is when the plugin is made); ``None``, as
        for ``"local"``, means a new local instance."""
        address = self.address
        if address is None:
            address = os.environ.get("RAY_ADDRESS", "").strip() or None
            if address is not None:
                cluster_endpoint(address, name="The RAY_ADDRESS environment variable")
        return None if address is None or address.strip() == "local" else address

    def _connect(self) -> Any:
        loaded = _running_ray()
        if loaded is not None:
            # Ray keeps one session per process. address=None uses it whatever started
            # it; an explicit address only when the session is the one it asks for.
            if self.address is not None:
                check_running_session(loaded, self.address, self.init_kwargs.get("_temp_dir"))
            return loaded
        address = self._cluster_address()
        if address is not None:
            check_reachable(address)  # first: ray.init retries it for minutes, Ray imports in ~1 s
        ray = require("ray", feature="RayExecution", extra="ray")
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
        if address is None:
            # A local instance started here: workers see the driver's import path.
            options["runtime_env"] = local_runtime_env()
            if self.num_cpus is not None:
                options["num_cpus"] = self.num_cpus
        options.update(self.init_kwargs)
        joining = ConnectionError if address is None else (ConnectionError, ray.exceptions.RayError)
        try:
            # "local": a new instance, not the cluster `ray start` left on this machine.
            ray.init(address=address or "local", **options)
        except joining as exc:  # "auto" with no cluster running, a refused auth token...
            raise _connection_error(address, exc) from exc
        return ray

    def _batch_size(self, ray: Any, n: int) -> int:
        if self.batch_size is not None:
            return self.batch_size
        if self.resources_per_replicate:
            return 1
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        return max(1, math.ceil(n / (cpus * 4)))

    def iter_results(
        self, experiment: Experiment, replicate_fn: Callable[[int], Any], replicates: Sequence[int]
    ) -> Iterator[Any]:
        """Yield each replicate's records as they finish (see :meth:`ExecutionPlugin.iter_results`)."""
        import pickle
        import uuid

        ray = self._connect()
        warn_unavailable_resources(self.resources_per_replicate, ray.cluster_resources())
        events = None
        if wants_events(replicate_fn):
            from ray.util.queue import Queue

            events = Queue()
            replicate_fn = replicate_fn.with_event_sink(QueueSink(events))
        payload = pickle_for_workers(experiment, replicate_fn, dumps_for_ray, _RAY_WORKERS)
        digest = hashlib.blake2b(payload, digest_size=16).hexdigest()
        payload_ref = ray.put(payload)
        size = self._batch_size(ray, len(replicates))
        options: dict[str, Any] = {"max_retries": self.max_retries, "retry_exceptions": False}
        options.update(self.resources_per_replicate)
        warning_env = worker_warning_env(ray)
        if warning_env is not None:  # merged by Ray with the job's runtime_env
            options["runtime_env"] = warning_env
        task = ray.remote(_run_batch).options(**options)
        stop_key = uuid.uuid4().hex
        pending = {}
        for start in range(0, len(replicates), size):
            batch = list(replicates[start : start + size])
            pending[task.remote(digest, payload_ref, batch, stop_key)] = batch
        try:
            timeout = EVENT_POLL_INTERVAL if events is not None else None
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=timeout)
                if events is not None:
                    yield from drain(events)
                for ref in done:
                    batch = pending.pop(ref)
                    try:
                        results = pickle.loads(ray.get(ref))
                    except ray.exceptions.RayTaskError as exc:
                        # Our task body raised (step errors are records, never raised).
                        if isinstance(exc.cause, StepInterrupted):
                            raise KeyboardInterrupt from None
                        raised = task_exception(exc)
                        raise raised from raised.__cause__  # not from Ray's wrapper
                    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
                        if len(batch) > 1:  # which replicate killed it? Each runs on its own.
                            for replicate in batch:
                                pending[task.remote(digest, payload_ref, [replicate], stop_key)] = [replicate]
                            continue
                        results = self._failed(replicate_fn, batch, exc, alone=size > 1)
                    yield from results
            if events is not None:
                yield from drain(events)
        finally:
            if pending:
                _request_stop(stop_key)
            if events is not None:
                events.shutdown()

    def _failed(
        self, replicate_fn: Callable[[int], Any], batch: Sequence[int], exc: Exception, alone: bool
    ) -> list[Any]:
        failed = getattr(replicate_fn, "failed_records", None)
        if failed is None:
            raise exc
        where = "when it was run alone, after its batch's worker died, " if alone else ""
        reason = (
            f"the Ray worker running this replicate died {where}and {self.max_retries} "
            f"retr{'y' if self.max_retries == 1 else 'ies'} did not succeed ({type(exc).__name__})"
        )
        return [failed(rep, reason, type(exc).__name__) for rep in batch]


class RemoteTraceback(Exception):
    """The traceback, as text, of an exception raised in a Ray worker: the ``__cause__``
    of that exception once the driver raises it (as ``concurrent.futures`` does for a
    worker process)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def task_exception(error: Any) -> BaseException:
    """What the driver raises for a ``RayTaskError``: the exception the task body raised,
    of its own type and with its own message (as process execution raises a worker's),
    with the worker's traceback as its ``__cause__`` (:class:`RemoteTraceback`). Not
    ``error.as_instanceof_cause()``, whose message is Ray's whole traceback (with
    terminal colour codes) and which makes a ``GeneratorExit`` or another
    BaseException an ``Exception`` too. Ray's own errors, and a cause Ray could not
    give back, stay as Ray has them.
    """
    import re

    from ray.exceptions import RayError

    cause = getattr(error, "cause", None)
    if not isinstance(cause, BaseException) or isinstance(cause, RayError):
        return error.as_instanceof_cause()
    if cause.__cause__ is None:
        try:
            # Ray's text of the worker's traceback (what ray.get raises, an instance of
            # the cause's class too, keeps only that), less its colour codes.
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
        except Exception:  # noqa: BLE001 - the exception itself matters, not its traceback
            text = ""
        if text:
            cause.__cause__ = RemoteTraceback(text)
    return cause


def worker_warning_env(ray: Any) -> dict[str, Any] | None:
    """The task ``runtime_env`` giving Ray workers the driver's warning options (``-W``
    and ``PYTHONWARNINGS``, which Ray does not pass on): ``PYTHONWARNINGS`` made of
    ``sys.warnoptions``, so ``python -W error`` turns a step's warning into its failure
    under Ray too, as under serial and process execution. ``None`` when the driver has
    none, or when the job's runtime_env sets ``PYTHONWARNINGS`` itself (yours wins).

    An option holding a comma, which ``PYTHONWARNINGS`` cannot express, is left out.
    """
    options = [option for option in sys.warnoptions if isinstance(option, str) and option and "," not in option]
    if not options:
        return None
    try:
        job_env = ray.get_runtime_context().runtime_env or {}
        job_vars = job_env.get("env_vars") or {}
    except Exception:  # a context Ray cannot describe: set ours
        job_vars = {}
    if "PYTHONWARNINGS" in job_vars:
        return None
    return {"env_vars": {"PYTHONWARNINGS": ",".join(options)}}


def _running_ray() -> Any:
    """The ``ray`` module when a Ray session runs in this process, else ``None`` (Ray is
    not imported for this)."""
    loaded = sys.modules.get("ray")
    return loaded if loaded is not None and loaded.is_initialized() else None


def _whole(value: Any, *, at_least: int, name: str) -> int:
    """``value`` as an int (a NumPy integer too, never a bool) of at least ``at_least``.

    Raises:
        ValueError: naming the argument ``name``, for anything else.
    """
    import operator

    try:
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or number < at_least:
        none = " or None" if name != "max_retries" else ""
        raise ValueError(f"{name} must be a whole number >= {at_least}{none}, got {value!r}")
    return number


def _connection_error(address: str | None, exc: Exception) -> ClusterConnectionError:
    """The error for a failed ``ray.init`` (``address=None``: starting a local instance)."""
    reason = str(exc).strip() or type(exc).__name__
    if not reason.endswith((".", "!", "?")):
        reason += "."
    if address is None:
        return ClusterConnectionError(
            f"Cannot start a local Ray instance: {reason} Ray's log lines printed above give the details."
        )
    return ClusterConnectionError(
        f"Cannot connect to a Ray cluster at {address!r}: {reason} Either the cluster is not "
        "running there (check the address, and `ray status` on the head node), or it is up "
        "but refuses this driver: a missing or wrong auth token, or a Ray or Python version "
        "other than the cluster's. Ray's log lines printed above give the reason."
    )


def warn_unavailable_resources(requested: Mapping[str, Any], available: Mapping[str, float]) -> None:
    """Warn (:class:`RuntimeWarning`) about each resource that one replicate's task asks for
    (``requested``: ``resources_per_replicate``) and the cluster has less of in all
    (``available``: ``ray.cluster_resources()``), e.g. a GPU on a CPU-only cluster.

    Not an error: Ray keeps such tasks waiting until a node that has the resource joins,
    which an autoscaling cluster may do; on a fixed cluster they wait forever.
    """
    needs = [
        (f"{option}={requested[option]!r}", resource, requested[option])
        for option, resource in _CLUSTER_RESOURCES.items()
        if requested.get(option)
    ]
    custom = (requested.get("resources") or {}).items()
    needs += [(f"resources={{{name!r}: {amount!r}}}", name, amount) for name, amount in custom if amount]
    if requested.get("accelerator_type"):  # Ray asks for 0.001 of this resource
        kind = requested["accelerator_type"]
        needs.append((f"accelerator_type={kind!r}", f"accelerator_type:{kind}", 0.001))
    for asked, resource, amount in needs:
        have = available.get(resource, 0)
        if have < amount:
            warnings.warn(
                f"RayExecution: each replicate asks for {asked} (resources_per_replicate), but the "
                f"Ray cluster has {have:g} of resource '{resource}' in all. Its tasks wait until "
                "nodes that have enough of it join: on a cluster that does not add nodes, the run "
                "waits forever. Lower resources_per_replicate, or run on nodes that have it.",
                RuntimeWarning,
                stacklevel=2,
            )


def _request_stop(stop_key: str) -> None:
    """Ask the run's unfinished tasks to stop: those not started return at once, running
    ones after their current replicate (a replicate already running runs to its end).

    Not ``ray.cancel``, even without ``force``: cancelling a task while its result comes
    back aborts the driver inside Ray ("Tried to complete task that was not pending"),
    ending the Python process with no error. A cluster that went away makes this a no-op.
    """
    with contextlib.suppress(Exception):
        from ray.experimental.internal_kv import _internal_kv_put

        _internal_kv_put(stop_key, b"1", namespace=_STOP_NAMESPACE)


__all__ = [
    "RayExecution", "RayWorkerSetupError", "RemoteTraceback", "local_runtime_env", "task_exception",
    "warn_unavailable_resources", "worker_warning_env",
]
