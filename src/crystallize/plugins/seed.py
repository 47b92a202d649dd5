"""SeedPlugin: deterministic, recorded seeds for every replicate."""

from __future__ import annotations

import operator
import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from crystallize.plugins.hookspec import BasePlugin
from crystallize.utils.callers import user_stacklevel

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.utils.context import FrozenContext

SEED_STRIDE = 31337
SEED_MODULUS = 2**32

THREAD_WARNING = (
    "SeedPlugin is combined with executor_type='thread'{experiment}: threads share global RNG state "
    "(the global RNGs of Python's random and NumPy), so results may not be reproducible. Use "
    "process execution (executor_type='process'; strategy: process in config.yaml; "
    "--executor process on the command line) or "
    "SerialExecution when you need strict reproducibility."
)

ASYNC_WARNING = (
    "SeedPlugin has a custom seed_fn and AsyncExecution runs replicates concurrently{experiment}: each "
    "replicate keeps its own state of Python's random and NumPy's global generator, but "
    "other generators your seed_fn seeds are shared by the replicates in flight, so their "
    "numbers may not be reproducible. Use AsyncExecution(max_concurrency=1) (or "
    "SerialExecution / executor_type='process') when you need reproducible runs."
)

OVERLAP_WARNING = (
    "Experiment '{experiment}' ran while another run (experiment '{other}') was in flight in "
    "another thread of this process: runs whose replicates run in this process (SerialExecution, "
    "AsyncExecution, executor_type='thread') share Python's and NumPy's global random number "
    "generators, so their seeded results may not be reproducible, and cacheable steps that drew "
    "from them were not cached. Run them one after the other, or use process execution "
    "(executor_type='process'; strategy: process in config.yaml; --executor process on the "
    "command line) for runs that must overlap."
)


def overlap_warning(experiment: str, other: str) -> str:
    """The reproducibility warning of a run of ``experiment`` that was in flight while a
    run of ``other`` was, in another thread, both drawing from this process's global
    random number generators (the engine raises it and records it with the run)."""
    return OVERLAP_WARNING.format(experiment=experiment, other=other)


_random_seed: Callable[[int], None] | None = None


def check_seed(value: object, what: str = "seed") -> int:
    """Return ``value`` as a seed: a non-negative int (of any size), else raise.

    The seeds the generators receive are 32-bit unsigned ints (what NumPy's global RNG
    accepts): a larger base seed (a timestamp in milliseconds, say) is reduced modulo
    ``2**32`` where it is used, as the seed page's ``(seed + r * 31337) % 2**32`` does.
    NumPy integers are accepted and returned as plain ``int``; ``bool`` and non-integers
    are not, nor negative ints (``-1`` means "a fresh seed" in some libraries: here
    that is ``seed=None``).

    Args:
        value: the seed given by the user.
        what: how error messages name the argument (``"SeedPlugin seed"``).

    Raises:
        TypeError: ``value`` is not an int (a bool, float, str, ...).
        ValueError: ``value`` is negative.
    """
    if isinstance(value, bool):
        raise _not_an_int(value, what)
    try:
        seed = operator.index(value)  # int, NumPy integers, other integer types
    except TypeError:
        raise _not_an_int(value, what) from None
    if seed < 0:
        raise ValueError(
            f"{what} must be a non-negative int, got {seed}; for a fresh seed each run, "
            "leave it out (seed=None: a base seed is drawn and recorded)."
        )
    return seed


def _not_an_int(value: object, what: str) -> TypeError:
    """The error :func:`check_seed` raises for a seed that is not an int."""
    return TypeError(f"{what} must be a non-negative int, got {value!r} ({type(value).__name__})")


def _load_random_seed() -> Callable[[int], None]:
    """``random.seed`` for int seeds, minus its Python-level argument checks.

    ``random.seed(n)`` for an int ``n`` runs the C seeding of the module's shared
    generator and clears its cached Gaussian; this does exactly that, a little faster
    (the per-replicate hot path seeds every condition of every replicate).
    """
    import random
    from _random import Random as _CRandom

    shared = random._inst  # the generator behind random.random(), random.seed(), ...
    if type(shared) is not random.Random or random.seed != shared.seed:
        return random.seed  # replaced by someone: call whatever is there now
    c_seed = _CRandom.seed
    python_seed = random.seed

    def seed(value: int) -> None:
        if type(value) is not int:  # str, bytes, ...: random.seed converts those first
            python_seed(value)
            return
        c_seed(shared, value)
        shared.gauss_next = None

    return seed


_numpy_seed: Callable[[int], None] | None = None


def default_seed_fn(seed: int) -> None:
    """Seed Python's ``random`` module and NumPy's global RNG.

    NumPy is not imported for this: if ``numpy.random`` is not imported yet, it is
    seeded the moment something imports it (see
    :mod:`crystallize.plugins.numpy_seeding`), which gives the same numbers.
    """
    global _random_seed, _numpy_seed
    if _random_seed is None:
        _random_seed = _load_random_seed()
    _random_seed(seed)
    if _numpy_seed is None:
        from crystallize.plugins.numpy_seeding import seed_numpy

        _numpy_seed = seed_numpy
    _numpy_seed(seed)


class _ModuleAttribute:
    """A ``seed_fn`` such as ``random.seed`` sent to worker processes by name.

    ``random.seed`` is a method of the module's hidden generator; pickled as it is, a
    worker would receive (and seed) a copy of that generator instead of the one
    ``random.random()`` draws from.
    """

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    @classmethod
    def of(cls, fn: object) -> object:
        """``fn`` as a reference when it is a bound method kept as a module attribute
        (``random.seed``), else ``fn`` itself."""
        owner = getattr(fn, "__self__", None)
        module, name = getattr(fn, "__module__", None), getattr(fn, "__name__", None)
        if owner is None or not isinstance(module, str) or not isinstance(name, str):
            return fn
        import sys

        return cls(module, name) if getattr(sys.modules.get(module), name, None) is fn else fn

    def __getstate__(self) -> tuple[str, str]:
        return (self.module, self.name)

    def __setstate__(self, state: tuple[str, str]) -> None:
        self.module, self.name = state

    def resolve(self) -> object:
        """The module's attribute, in this process."""
        import importlib

        return getattr(importlib.import_module(self.module), self.name)


def mixed_seed(seed: int, label: str) -> int:
    """A seed derived from ``seed`` and ``label``, the same in every process."""
    import zlib

    return (seed ^ zlib.crc32(label.encode("utf-8", "surrogatepass"))) % SEED_MODULUS


class SeedPlugin(BasePlugin):
    """Seed every replicate deterministically and record the seed.

    Args:
        seed: base seed, a non-negative int. Replicate ``r`` gets
            ``(seed + r * 31337) % 2**32`` (so the run's base seed, ``base_seed``, is
            ``seed % 2**32``). When ``None``, a base seed is drawn at the
            start of each run and recorded in the result, so the run can be repeated
            with ``SeedPlugin(seed=result.base_seed)``. It is drawn from Python's
            ``random`` (from the OS with a custom ``seed_fn``), so ``random.seed(n)``
            before ``run()`` repeats the run too.
        auto_seed: when ``False`` every replicate gets the base seed itself,
            ``seed % 2**32`` (a bool).
        seed_fn: called with each replicate's seed, ``seed_fn(seed)``; defaults to
            seeding Python's ``random`` and NumPy's global RNG. Checked here: a function
            that cannot take the seed as its one positional argument (or an ``async def``)
            raises TypeError (one whose signature cannot be read, a builtin, is accepted).

    The seed is added to the context as ``"seed_used"`` (worker hook ``before_replicate``,
    run after every other plugin's, so nothing draws from the RNGs between seeding and
    the datasource).
    """

    def __init__(
        self,
        seed: int | None = None,
        auto_seed: bool = True,
        seed_fn: Callable[[int], None] | None = None,
    ) -> None:
        if seed is not None:
            seed = check_seed(seed, "SeedPlugin seed")
        if not isinstance(auto_seed, bool):
            raise TypeError(f"SeedPlugin auto_seed must be True or False, got {auto_seed!r}")
        if seed_fn is not None:
            if not callable(seed_fn):
                raise TypeError(f"SeedPlugin seed_fn must be callable, got {seed_fn!r}")
            from crystallize.utils.signatures import check_callable

            check_callable(
                seed_fn,
                ("seed",),
                what="SeedPlugin seed_fn",
                call="seed_fn(seed) with each replicate's seed (an int)",
                example="def seed_all(seed): random.seed(seed); np.random.seed(seed)",
                synchronous=True,
            )
        self.seed = seed
        self.auto_seed = auto_seed
        self.seed_fn = seed_fn
        self.base_seed: int | None = seed % SEED_MODULUS if seed is not None else None

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["seed_fn"] = _ModuleAttribute.of(self.seed_fn)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        seed_fn = state.get("seed_fn")
        if isinstance(seed_fn, _ModuleAttribute):
            state["seed_fn"] = seed_fn.resolve()
        self.__dict__.update(state)

    def init_hook(self, experiment: Experiment) -> None:
        """Warn at construction when combined with thread execution."""
        self._warn_if_threaded(experiment)

    def before_run(self, experiment: Experiment) -> None:
        """Fix the run's base seed (drawing one when ``seed`` is None) and warn for threads."""
        self._warn_if_threaded(experiment)
        self.base_seed = self.seed % SEED_MODULUS if self.seed is not None else self._choose_base_seed()

    @staticmethod
    def draw_base_seed() -> int:
        """Draw a fresh base seed from the OS (never from the global RNGs being seeded)."""
        return int.from_bytes(os.urandom(4), "little")

    def _choose_base_seed(self) -> int:
        """The base seed of a run with ``seed=None``.

        Under the default seeding it comes from Python's ``random``, which the replicates
        seed again anyway: a user who calls ``random.seed(n)`` before ``run()`` (managing
        randomness by hand, as the seed page puts it) gets the same run every time, and
        an unseeded process still gets a fresh one. A custom ``seed_fn`` leaves the
        global generators to the user, so its base seed comes from the OS instead.
        """
        if self.seed_fn is not None:
            return self.draw_base_seed()
        import random

        return random.getrandbits(32)

    def seed_for(self, replicate: int) -> int:
        """Return the seed of replicate ``replicate`` for the current base seed."""
        base = self.base_seed
        if base is None:
            base = self.base_seed = self._choose_base_seed()
        if not self.auto_seed:
            return base
        return (base + replicate * SEED_STRIDE) % SEED_MODULUS

    def before_replicate(self, experiment: Experiment, ctx: FrozenContext) -> None:
        """Seed the RNGs and record ``seed_used`` (an explicit ``seed_used`` wins)."""
        data = ctx._data
        seed = data.get("seed_used")
        if seed is None:
            base = self.base_seed
            if base is None or not self.auto_seed:
                seed = self.seed_for(data.get("replicate", 0))
            else:
                seed = (base + data.get("replicate", 0) * SEED_STRIDE) % SEED_MODULUS
            data["seed_used"] = seed
        (self.seed_fn or default_seed_fn)(seed)

    def seed_treatment_function(self, values: dict[str, object], treatment: str) -> None:
        """Seed Python's ``random`` and NumPy's global generator for a treatment given as a
        function ``fn(ctx)``, which runs before :meth:`before_replicate`: from the
        replicate's seed and the treatment's name, so what it draws is reproducible,
        independent of the other conditions, and not the same numbers the datasource then
        draws (they are seeded again for it).

        With a custom ``seed_fn`` nothing is seeded here: that ``seed_fn`` receives only
        the replicates' seeds, and the generators stay under the user's control.

        Args:
            values: the replicate's context values (an explicit ``seed_used`` wins).
            treatment: the treatment's name.
        """
        if self.seed_fn is not None:
            return
        seed = values.get("seed_used")
        if seed is None:
            seed = self.seed_for(values.get("replicate", 0))  # type: ignore[arg-type]
        default_seed_fn(mixed_seed(seed, treatment))  # type: ignore[arg-type]

    def reproducibility_warning(self, experiment: Experiment) -> str | None:
        """Why seeded runs of ``experiment`` may not reproduce with its execution plugin,
        or ``None`` when they do.

        Thread execution shares the global RNGs between replicates, and so does
        ``AsyncExecution`` running several replicates at once for the generators a custom
        ``seed_fn`` seeds. This text is the ``RuntimeWarning`` raised at construction and
        at the start of each run, and the run records it in ``result.warnings``.
        """
        execution = experiment.execution_plugin
        kind = getattr(execution, "executor_type", None)
        name = getattr(experiment, "name", None)
        where = f" (experiment '{name}')" if name else ""
        if kind == "thread":
            return THREAD_WARNING.format(experiment=where)
        if kind == "async" and self.seed_fn is not None and getattr(execution, "max_concurrency", None) != 1:
            return ASYNC_WARNING.format(experiment=where)
        return None

    def _warn_if_threaded(self, experiment: Experiment) -> None:
        message = self.reproducibility_warning(experiment)
        if message is not None:
            warnings.warn(message, RuntimeWarning, stacklevel=user_stacklevel())


__all__ = [
    "SEED_MODULUS", "SEED_STRIDE", "SeedPlugin", "check_seed", "default_seed_fn", "mixed_seed", "overlap_warning",
]
