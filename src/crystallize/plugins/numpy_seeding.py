"""Seed NumPy's global random generator without importing NumPy to do it.

Importing ``numpy.random`` takes about 75 ms (NumPy included), and seeding it costs
1.5 µs for every condition of every replicate. An experiment that never touches NumPy
should pay neither, so :func:`seed_numpy` works in two ways:

* when ``numpy.random`` is already imported, it seeds it at once;
* otherwise it remembers the seed, and a finder on :data:`sys.meta_path` seeds
  ``numpy.random`` with the latest remembered seed the moment that module has been
  imported — by a step, a library, anything — and then steps aside.

Either way, the first number any code can draw from NumPy's global generator comes from
the state that seed gives, exactly as if NumPy had been imported and seeded up front.
Nothing is imported here: the finder only answers for ``numpy.random`` and leaves every
other import to the rest of :data:`sys.meta_path`.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

_MODULE = "numpy.random"
_pending: int | None = None  # the seed to apply when numpy.random gets imported
_last_seed: int | None = None  # the seed most recently given to seed_numpy


def seed_numpy(seed: int) -> None:
    """Seed ``numpy.random``'s global generator now, or the moment it is imported."""
    global _pending, _last_seed
    _last_seed = seed
    module = sys.modules.get(_MODULE)
    seed_now = getattr(module, "seed", None) if module is not None else None
    if seed_now is not None:
        seed_now(seed)
        return
    _pending = seed  # not imported (or half-way through its import): seed it at the end
    meta_path = sys.meta_path
    if not meta_path or meta_path[0] is not _FINDER:  # first, ahead of hooks added since
        if _FINDER in meta_path:
            meta_path.remove(_FINDER)
        meta_path.insert(0, _FINDER)


# Duck-typed finder and loader: the import system needs only these methods, and
# importlib.abc would cost about 20 ms to import.
class _SeedOnImport:
    """Hands out ``numpy.random``'s own spec, with a loader that seeds after loading."""

    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname != _MODULE:
            return None
        for finder in sys.meta_path:  # what the import system would find without us
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if finder is not self and find is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _SeedAfterLoading(spec.loader)
                return spec
        return None


class _SeedAfterLoading:
    """Runs the real loader, seeds the fresh module, then puts the real loader back."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        module.__loader__ = self.loader  # leave no trace of this wrapper
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        if _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
        if _pending is not None:
            module.seed(_pending)


_FINDER = _SeedOnImport()


def numpy_state_descriptor() -> tuple[str, Any]:
    """What NumPy's global generator will produce next, the same whether or not
    ``numpy.random`` has been imported yet: ``("seeded", seed)`` while it is (or will be,
    once imported) exactly as :func:`seed_numpy` left it, else ``("state", state)``.

    Cache keys use it: a step's draws depend on this state when it starts, and a state
    not yet materialised (NumPy not imported) must key like the same state materialised.
    """
    module = sys.modules.get(_MODULE)
    get_state = getattr(module, "get_state", None) if module is not None else None
    if get_state is None:
        return ("seeded", _pending)
    state = get_state()
    if _last_seed is not None:
        fresh = module.RandomState(_last_seed).get_state()
        if state[2:] == fresh[2:] and (state[1] == fresh[1]).all():
            return ("seeded", _last_seed)
    return ("state", state)


def save_numpy_state() -> tuple[str, Any, int | None]:
    """The global generator's state, or the seed it will get on import if not imported
    (with the latest seed given, which :func:`numpy_state_descriptor` compares with)."""
    module = sys.modules.get(_MODULE)
    get_state = getattr(module, "get_state", None) if module is not None else None
    if get_state is not None:
        return ("state", get_state(), _last_seed)
    return ("pending", _pending, _last_seed)


def restore_numpy_state(saved: tuple[str, Any, int | None]) -> None:
    """Put back what :func:`save_numpy_state` returned.

    A pending seed saved before ``numpy.random`` was imported seeds it now if it has been
    imported since: whoever saved it had not drawn from NumPy yet, so that is the state
    its first draw would have come from. Saved when nothing was pending (NumPy neither
    imported nor seeded), it removes the import hook, and a ``numpy.random`` imported
    since (and seeded by the hook) is seeded afresh from the OS, as an import leaves it.
    """
    global _last_seed, _pending
    kind, value, last_seed = saved
    if kind == "state":
        sys.modules[_MODULE].set_state(value)
    elif value is not None:
        seed_numpy(value)
    else:  # never seeded: nothing to apply on import either
        _pending = None
        if _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
        module = sys.modules.get(_MODULE)
        reseed = getattr(module, "seed", None) if module is not None else None
        if reseed is not None:
            reseed()  # no argument: fresh entropy from the OS
    _last_seed = last_seed


__all__ = ["numpy_state_descriptor", "restore_numpy_state", "save_numpy_state", "seed_numpy"]
