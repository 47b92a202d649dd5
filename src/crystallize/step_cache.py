"""Caching one step's output inside a replicate (used by the replicate runner).

A cacheable step's key is made of its name, a hash of its source code, each fixed
parameter (``param.<name>``), each context value it reads — by injection or directly
with ``ctx[...]``, ``ctx.get``, ``in``, ``ctx.add`` or ``ctx.metrics`` (``ctx.<key>``) —
each artifact an earlier step wrote that it reads (``artifact.<name>``: the file's
content digest), the content hash of its input (``input``) with, for an input holding
user functions, classes or their instances, their code (``input_code``: the content
hash names them only), the replicate's seed and — for a step that draws from
the global random generators — their state when it starts (``rng``). Whether a step
draws is known once it has run (the generators' state moved), so its entry is stored
with or without ``rng``, and a lookup tries the key without it first. A step that never
draws therefore hits even when the generators' state is not reproducible (a ``seed_fn``
that leaves them alone, thread execution). One that drew while other code could draw
from them too (thread execution, another run in another thread) is not stored: its
numbers may be mixed with that code's. The condition name is never part of the key,
so conditions that feed a step the same input share its output.

Direct reads (artifact reads too) are only known once the step has run, so the engine notes them while it
runs (:func:`~crystallize.utils.read_tracking.track_reads`), stores the entry under a key that
includes them, and remembers which keys the step reads (a small entry of its own) so the
next lookup can include them before calling it. A key is thus never reused where a value
the step read differs: at worst a step whose reads grow misses once more.

A cached entry holds the output, the metrics the step recorded (with tags), the context
keys it added or overrode, the bytes of the artifacts it wrote, the state of the global
random number generators (Python's ``random`` and, when loaded, NumPy's) after the step
when it drew from them, and the events it emitted, so a hit replays all six: artifact files are written again at the new replicate's location, and
later steps draw exactly the numbers they would have drawn had the step run. (RNGs
seeded by a custom ``seed_fn`` — PyTorch's, say — are not captured.) It also holds the
output's content digest, so a hit does not hash the output it loads again (an entry
written before digests were stored, or by a run with ``after_step`` hooks, has none:
its output is hashed). A miss carries an explanation: which parts differ from the
closest earlier entry of the same step.
"""

from __future__ import annotations

import logging
import random
import sys
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import StoreError
from crystallize.fingerprint import (
    UNHASHABLE_STATE,
    code_hash,
    param_digest,
    state_digest,
    user_code_in,
)
from crystallize.user_code import qualified_name
from crystallize.utils.hashing import content_hash
from crystallize.utils.read_tracking import ARTIFACT_READ, read_digest

if TYPE_CHECKING:
    from crystallize.pipeline_step import PipelineStep
    from crystallize.store import StepCache
    from crystallize.utils.context import FrozenContext

logger = logging.getLogger("crystallize.cache")

_SHARED_RNGS = (
    "output not cached: the step drew from the global random generators while they were shared "
    "(thread execution, or another run in flight in another thread), so its numbers may not be "
    "reproducible"
)


class StepCacheKey:
    """The constant part of a cacheable step's key (built once per run)."""

    __slots__ = ("step", "name", "base", "_direct_reads", "_unhashable", "_code_digests")

    def __init__(self, step: PipelineStep) -> None:
        self.step = step
        self.name = step.name
        self.base: dict[str, Any] = {"step": self.name, "code": code_hash(step)}
        if getattr(step, "_artifacts", ()):
            # A step given Artifact handles may read files earlier steps wrote, which keys
            # have covered since this part: entries stored before are not served (they
            # would be, the reads never learnt, whatever the files hold).
            self.base["artifact_reads"] = "keyed"
        #: A parameter that cannot be hashed faithfully: the step is then never cached.
        self._unhashable: str | None = None
        for key, value in step.params.items():
            digest = param_digest(value)
            if digest is None and self._unhashable is None:
                self._unhashable = f"parameter '{key}'"
            self.base[f"param.{key}"] = digest
        state = state_digest(step)  # a class-based step's attributes
        if state is not None:
            self.base["state"] = state
            if state == UNHASHABLE_STATE and self._unhashable is None:
                self._unhashable = "the step's attributes"
        #: Context keys the step has been seen reading directly (loaded on first lookup).
        self._direct_reads: tuple[str, ...] | None = None
        #: ``{id: (function or class, code digest)}`` of the user code met in inputs
        #: (digested once per run; the object is kept so its id is not reused).
        self._code_digests: dict[int, tuple[Any, str]] = {}

    def _reads_entry(self) -> str:
        """The cache key under which the step's direct reads are remembered (per step and
        code, so other parameters start from what is known)."""
        from crystallize.store import make_key

        return make_key(step=self.base["step"], code=self.base["code"], entry="context keys read directly")

    def direct_reads(self, cache: StepCache) -> tuple[str, ...]:
        """The context keys this step was seen reading directly (``ctx[...]`` and co.)."""
        if self._direct_reads is None:
            hit, keys = cache.get(self._reads_entry())
            self._direct_reads = tuple(keys) if hit and isinstance(keys, tuple) else ()
        return self._direct_reads

    def learn_reads(self, cache: StepCache, keys: list[str]) -> None:
        """Remember that the step also reads ``keys`` (for this run and later ones)."""
        self._direct_reads = tuple(sorted({*self.direct_reads(cache), *keys}))
        try:
            cache.put(self._reads_entry(), self._direct_reads)
        except StoreError as exc:  # only costs misses later
            logger.warning("Could not remember the context reads of step '%s': %s", self.name, exc)

    def input_code(self, data: Any) -> str | None:
        """A digest of the user code the input holds (functions, classes, its objects'
        classes: see :func:`~crystallize.fingerprint.user_code_in`), ``""`` when it holds
        none, ``None`` when it cannot be pickled.

        The input's content hash names them only: this makes an edited method of an
        input object's class (or of a function the input carries) a changed input."""
        found = user_code_in(data)
        if not found:
            return None if found is None else ""
        digests = self._code_digests
        codes = []
        for obj in found:
            known = digests.get(id(obj))
            if known is None or known[0] is not obj:
                known = digests[id(obj)] = (obj, f"{qualified_name(obj)}:{code_hash(obj)}")
            codes.append(known[1])
        return content_hash(sorted(codes))

    def lookup(
        self, cache: StepCache, ctx: FrozenContext, input_hash: str | None, data: Any = None
    ) -> CacheLookup:
        """Build this replicate's key and look it up (``data``: the input, whose user code
        is part of the key, see :meth:`input_code`)."""
        if input_hash is None:
            return CacheLookup(None, None, "input cannot be hashed (not picklable); step not cached")
        if self._unhashable is not None:
            return CacheLookup(None, None, f"{self._unhashable} cannot be hashed; step not cached")
        input_code = self.input_code(data)
        if input_code is None:
            return CacheLookup(None, None, "input cannot be hashed (not picklable); step not cached")
        parts = dict(self.base)
        values = ctx._data
        injected = self.step.context_keys
        for key in (*(k for k in injected if k in values), *self.direct_reads(cache)):
            digest = read_digest(ctx, key)
            if digest is None:
                return CacheLookup(None, None, f"{_described(key)} cannot be hashed; step not cached")
            parts[_part_name(key)] = digest
        parts["input"] = input_hash
        if input_code:  # only then: the keys of plain inputs stay as they were
            parts["input_code"] = input_code
        parts["seed"] = values.get("seed_used")
        from crystallize.store import make_key

        # What a step that draws from the global generators gets depends on their state
        # when it starts (which earlier steps may have moved): such entries key it too.
        rng = _rng_start_digest()
        lookup = CacheLookup(make_key(**parts), parts, None)
        lookup.rng = rng
        lookup.n_events = len(ctx._events or ())
        for key in (lookup.key, make_key(**parts, rng=rng)):
            hit, value = cache.get(key)
            if hit:
                lookup.key, lookup.hit, lookup.value = key, True, value
                return lookup
        closest = cache.closest_entry(self.name, {**parts, "rng": rng})
        if closest is None:
            lookup.miss_reason = "no earlier cache entry for this step"
        else:
            differing = closest[1]
            if len(differing) > 1 and "rng" in differing:  # only entries of drawing steps key it
                differing = [name for name in differing if name != "rng"]
            lookup.miss_reason = "changed since the closest entry: " + ", ".join(
                "rng (the global random generators' state when the step started)" if name == "rng" else name
                for name in differing
            )
        return lookup


class CacheLookup:
    """The outcome of one lookup: a hit to replay, or a miss to store afterwards."""

    __slots__ = ("key", "parts", "miss_reason", "hit", "value", "n_events", "rng", "output_hash")

    def __init__(self, key: str | None, parts: dict[str, Any] | None, miss_reason: str | None) -> None:
        self.key = key
        self.parts = parts
        self.miss_reason = miss_reason
        self.hit = False
        self.value: Any = None
        #: How many events the replicate had emitted before the step (set by lookup).
        self.n_events = 0
        #: A digest of the global generators' state when the step started.
        self.rng: str | None = None
        #: The output's content digest: stored with the entry (set before :meth:`store`),
        #: or read from it by :meth:`replay` (``None`` for an entry stored without one).
        self.output_hash: str | None = None

    def replay(self, ctx: FrozenContext) -> Any:
        """Apply the cached metrics (with their tags), context additions and overrides,
        events and artifacts to ``ctx``; return the output (its digest, when the entry
        holds one, in :attr:`output_hash`)."""
        data, logged, added, artifacts, rng, *rest = self.value
        events = rest[0] if rest else []
        self.output_hash = rest[1] if len(rest) > 1 else None
        if rng is not None:  # None: the step did not draw from the global generators
            _restore_rng_states(rng)
        for name, value, *tags in logged:
            ctx.metrics.add(name, value, tags[0] if tags else None)
        ctx._data.update(added)
        for event, payload in events:
            ctx.emit(event, **payload)
        if artifacts:
            from crystallize.artifacts import Artifact

            for name, payload in artifacts:
                Artifact(name).bind(ctx).write(payload)
        return data

    def store(
        self,
        cache: StepCache,
        keyer: StepCacheKey,
        data: Any,
        logged: list[tuple[str, Any]],
        ctx: FrozenContext,
        n_keys: int,
        written: list[str],
        reads: dict[str, str | None],
        overridden: set[str],
        shared_rngs: bool = False,
    ) -> None:
        """Save the step's output (with :attr:`output_hash`, its digest), metrics, context
        additions and overrides, events and written artifacts under a key that covers
        every context value it read (a failure only logs).

        With ``shared_rngs`` (other code may draw from the global generators at the same
        time: thread execution, another run in another thread), a step that drew from them
        is not stored: its numbers may be mixed with the other code's, while its key (their
        state when it started) looks like a clean run's.
        """
        if self.key is None:
            return
        from crystallize.store import make_key

        drew = _rng_start_digest() != self.rng  # the step moved the global generators
        if drew and shared_rngs:
            self.miss_reason = f"{self.miss_reason}; {_SHARED_RNGS}"
            return
        values = ctx._data
        changed = [*list(values)[n_keys:], *(key for key in overridden if key in values)]
        added = {key: values[key] for key in changed}
        new_reads = {
            key: digest
            for key, digest in reads.items()
            if isinstance(key, str)
            and _part_name(key) not in self.parts
            and key not in keyer.step.context_keys  # injected: keyed by lookup
        }
        if new_reads:
            unhashable = [key for key, digest in new_reads.items() if digest is None]
            if unhashable:
                self.miss_reason = f"{self.miss_reason}; output not cached: {_described(unhashable[0])} cannot be hashed"
                return
            keyer.learn_reads(cache, list(new_reads))
            self.parts = {**self.parts, **{_part_name(key): digest for key, digest in new_reads.items()}}
        if drew:
            self.parts = {**self.parts, "rng": self.rng}
        self.key = make_key(**self.parts)
        artifacts = []
        if written:
            from crystallize.artifacts import Artifact

            artifacts = [(name, Artifact(name).bind(ctx).read_bytes()) for name in written]
        events = (ctx._events or [])[self.n_events :]
        try:
            entry = (
                data, _with_tags(logged, ctx), added, artifacts, _rng_states() if drew else None, events,
                self.output_hash,
            )
            cache.put(self.key, entry, step=self.parts["step"], parts=self.parts)
        except TypeError as exc:
            self.miss_reason = f"{self.miss_reason}; output not cached: {exc}"
        except StoreError as exc:
            logger.warning("Could not write the cache entry of step '%s': %s", self.parts["step"], exc)


def _part_name(key: str) -> str:
    """The key part of a read: ``ctx.<key>`` for a context value, ``artifact.<name>`` for
    an artifact file read (see :func:`~crystallize.utils.read_tracking.artifact_read_key`)."""
    if key.startswith(ARTIFACT_READ):
        return f"artifact.{key[len(ARTIFACT_READ) : -1]}"
    return f"ctx.{key}"


def _described(key: str) -> str:
    """A read as a miss reason names it: ``context value 'k'`` or ``artifact 'name'``."""
    if key.startswith(ARTIFACT_READ):
        return f"artifact '{key[len(ARTIFACT_READ) : -1]}'"
    return f"context value '{key}'"


def _with_tags(logged: list[tuple[str, Any]], ctx: FrozenContext) -> list[tuple[Any, ...]]:
    """The step's ``(name, value)`` metric log, as ``(name, value, tags)`` where the
    values were recorded with tags (the step's values are the last ones of each name)."""
    if not ctx.metrics.all_tags():
        return list(logged)
    counts: dict[str, int] = {}
    for name, _ in logged:
        counts[name] = counts.get(name, 0) + 1
    tags_of = {name: iter(ctx.metrics.tags(name)[-count:]) for name, count in counts.items()}
    entries: list[tuple[Any, ...]] = []
    for name, value in logged:
        tags = next(tags_of[name])
        entries.append((name, value, tags) if tags is not None else (name, value))
    return entries


def _rng_start_digest() -> str | None:
    """A digest of what the global generators will draw next: Python's ``random`` state
    and NumPy's (imported or not yet, see
    :func:`~crystallize.plugins.numpy_seeding.numpy_state_descriptor`)."""
    from crystallize.plugins.numpy_seeding import numpy_state_descriptor

    return content_hash((random.getstate(), numpy_state_descriptor()))


def _rng_states() -> dict[str, Any]:
    """The global RNGs' states now: ``random``'s, and NumPy's if ``numpy.random`` is loaded
    (not importing NumPy for it)."""
    states: dict[str, Any] = {"random": random.getstate()}
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        states["numpy"] = numpy_random.get_state()
    return states


def _restore_rng_states(states: dict[str, Any]) -> None:
    """Put the global RNGs back in the states :func:`_rng_states` saved."""
    random.setstate(states["random"])
    if "numpy" in states:
        import numpy.random

        numpy.random.set_state(states["numpy"])


__all__ = ["CacheLookup", "StepCacheKey"]
