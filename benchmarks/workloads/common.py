"""Experiments shared by the workload scripts; the same source runs on both implementations.

Everything here uses only the public API that this project and the peer
(``crystallize-ml`` 0.27.0) have in common:

* ``@pipeline_step()`` is always written with parentheses (the peer's decorator must be
  called; ours accepts both forms);
* ``@data_source`` is used bare (both accept that form);
* ``treatment(name, mapping)``, ``Experiment(datasource=, pipeline=, plugins=,
  treatments=, replicates=, name=)``, ``LoggingPlugin(verbose=, log_level=)``,
  ``SeedPlugin(seed=)`` and ``ParallelExecution(max_workers=, executor_type=)`` have the
  same meaning on both sides;
* ``experiment.run()`` is called without arguments (the peer's are keyword-only);
* metrics are read from ``result.metrics.baseline.metrics`` and
  ``result.metrics.treatments[name].metrics`` (same layout on both sides).

Steps and datasources live in this importable module (not in ``__main__``) so that worker
processes can unpickle them on both implementations.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from cpu import burn

from crystallize import (
    Experiment,
    LoggingPlugin,
    ParallelExecution,
    Pipeline,
    SeedPlugin,
    data_source,
    pipeline_step,
    treatment,
)

#: The treatment of every two-condition workload (the other condition is the baseline).
PLUS_ONE = ("plus_one", {"delta": 1})
CACHE_SEED = 1234


# -- trivial pipeline --------------------------------------------------------------------
@data_source
def replicate_number(ctx):
    """The replicate index: replicates get distinct inputs (and distinct cache keys)."""
    return ctx.get("replicate", 0)


@pipeline_step()
def add_delta(data, ctx, delta=0):
    """Add ``delta``, injected from the context (the treatment sets it to 1)."""
    return data + delta


@pipeline_step()
def square(data, ctx):
    """Square the value."""
    return data * data


@pipeline_step()
def score(data, ctx):
    """Record the value as the metric ``score``."""
    return data, {"score": data}


# -- CPU-bound pipeline ------------------------------------------------------------------
@pipeline_step()
def cpu_work(data, ctx, iterations=0):
    """Burn ``iterations`` rounds of deterministic pure-Python work and record a checksum."""
    return data, {"checksum": burn(iterations) + data}


# -- slow cacheable pipeline -------------------------------------------------------------
@pipeline_step(cacheable=True)
def slow_a(data, ctx, seconds=0.1):
    """Sleep ``seconds`` (a stand-in for an expensive step) and add 1."""
    time.sleep(seconds)
    return data + 1


@pipeline_step(cacheable=True)
def slow_b(data, ctx, seconds=0.1):
    """Sleep ``seconds`` and double."""
    time.sleep(seconds)
    return data * 2


@pipeline_step(cacheable=True)
def slow_c(data, ctx, seconds=0.1):
    """Sleep ``seconds`` and record the value as the metric ``value``."""
    time.sleep(seconds)
    return data, {"value": data}


# -- experiments -------------------------------------------------------------------------
def quiet_logging() -> LoggingPlugin:
    """Logging as quiet as both implementations allow (no per-step messages, WARNING level)."""
    return LoggingPlugin(verbose=False, log_level="WARNING")


def trivial_experiment(replicates: int, name: str = "bench_trivial", plugins: list | None = None) -> Experiment:
    """The trivial three-step pipeline, baseline plus one treatment, default plugins."""
    return Experiment(
        datasource=replicate_number(),
        pipeline=Pipeline([add_delta(), square(), score()]),
        plugins=[quiet_logging(), *(plugins or [])],
        treatments=[treatment(*PLUS_ONE)],
        replicates=replicates,
        name=name,
    )


def cpu_experiment(replicates: int, iterations: int, workers: int | None) -> Experiment:
    """CPU-bound replicates; serial when ``workers`` is None, else a process pool."""
    plugins: list = [quiet_logging()]
    if workers is not None:
        plugins.append(ParallelExecution(max_workers=workers, executor_type="process"))
    return Experiment(
        datasource=replicate_number(),
        pipeline=Pipeline([cpu_work(iterations=iterations)]),
        plugins=plugins,
        treatments=[treatment(*PLUS_ONE)],
        replicates=replicates,
        name="bench_process",
    )


def cached_experiment(replicates: int, seconds: float) -> Experiment:
    """Three cacheable slow steps, one condition, a fixed seed (so a rerun finds its keys)."""
    return Experiment(
        datasource=replicate_number(),
        pipeline=Pipeline([slow_a(seconds=seconds), slow_b(seconds=seconds), slow_c(seconds=seconds)]),
        plugins=[quiet_logging(), SeedPlugin(seed=CACHE_SEED)],
        replicates=replicates,
        name="bench_cached",
    )


# -- measuring ---------------------------------------------------------------------------
def timed_run(experiment: Experiment) -> tuple[float, Any]:
    """Run ``experiment`` once; return (wall seconds of ``run()`` alone, result)."""
    start = time.perf_counter()
    result = experiment.run()
    return time.perf_counter() - start, result


def metric_counts(result: Any) -> dict[str, int]:
    """``{condition: number of values recorded}`` — a sanity check that the work happened."""
    metrics = result.metrics
    conditions = {"baseline": metrics.baseline, **metrics.treatments}
    return {name: sum(len(v) for v in cond.metrics.values()) for name, cond in conditions.items()}


def error_count(result: Any) -> int:
    """How many replicate errors the run reported (both implementations expose ``errors``)."""
    return len(result.errors)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(**measurements: Any) -> None:
    """Print the measurements as one JSON line (the runner reads the last stdout line)."""
    sys.stdout.write(json.dumps(measurements) + "\n")
    sys.stdout.flush()

