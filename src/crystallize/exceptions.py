"""Every error a user of Crystallize can run into, in one place.

The tree::

    CrystallizeError
    ├── ContextMutationError        (also a TypeError) a context key was set or overwritten
    ├── MissingContextKeyError      (also a KeyError) ctx[key] for a key the context lacks
    ├── MissingParameterError       a step keyword has no fixed value, context value or default
    ├── ExperimentValidationError   (also a ValueError) the experiment is incomplete or inconsistent
    ├── ExperimentBusyError         (also a RuntimeError) the experiment is already running
    ├── PicklingError               (also a pickle.PicklingError) something must cross a process
    │                               boundary and cannot
    ├── PluginError                 a plugin is malformed (unknown hook, wrong signature)
    ├── VerificationError           a hypothesis could not be verified
    │   ├── InsufficientSamplesError  too few replicate values for the test
    │   ├── VerifierArgumentError     (also a ValueError) a built-in verifier got a bad argument
    │   └── MissingMetricError        a hypothesis names a metric nobody recorded
    ├── RunFailedError              (also a RuntimeError) fail_fast stopped a run at its first
    │                               failed replicate
    ├── StoreError                  the run store could not be read or written
    │   └── StoreArgumentError      (also a ValueError) a store function got a bad argument
    ├── ClusterConnectionError      (also a ConnectionError) a Ray cluster cannot be reached
    ├── WorkerStartError            worker processes could not start (out of file descriptors...)
    ├── ConfigError                 a config.yaml (or its modules) is invalid
    └── OptionalDependencyError     (also an ImportError) an optional extra is not installed

Messages say what went wrong and what to do about it. Every class is importable from
``crystallize`` itself (``from crystallize import RunFailedError``) and from here.
"""

from __future__ import annotations

# _pickle: the C module behind ``pickle`` (same class, without importing pickle.py).
from _pickle import PicklingError as _StdPicklingError
from typing import Any


class CrystallizeError(Exception):
    """Base class of every error raised on purpose by Crystallize."""


class ContextMutationError(CrystallizeError, TypeError):
    """A :class:`~crystallize.utils.context.FrozenContext` key was set or overwritten.

    Contexts only grow: use ``ctx.add`` for new keys and ``ctx.override`` to replace
    values deliberately. Also a :class:`TypeError`, as assigning into any immutable
    object is (``ctx[key] = value`` like ``a_tuple[0] = value``).
    """


class MissingContextKeyError(CrystallizeError, KeyError):
    """``ctx[key]`` for a key the context does not have.

    A :class:`KeyError` (so ``except KeyError`` still catches it) whose message names
    the key, the closest existing key and the keys there are.

    Attributes:
        key: the key that was looked up.
    """

    def __init__(self, key: object, message: str) -> None:
        super().__init__(message)
        self.key = key

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):
        return (type(self), (self.key, self.args[0] if self.args else ""))


class MissingParameterError(CrystallizeError, TypeError):
    """A step keyword parameter has no fixed value, no context value and no default.

    ``hint``, when given, is appended to the message (e.g. that the context parameter
    must be named ``ctx``).
    """

    def __init__(self, step: str, parameter: str, hint: str = "") -> None:
        self.step = step
        self.parameter = parameter
        super().__init__(
            f"Step '{step}' needs parameter '{parameter}', but it was not given when the step "
            f"was built, no treatment or initial_ctx provides a context value '{parameter}', "
            f"and it has no default. Pass {step}({parameter}=...), add '{parameter}' to "
            "initial_ctx or a treatment, or give the parameter a default."
            + (f" {hint}" if hint else "")
        )


class ExperimentValidationError(CrystallizeError, ValueError):
    """An experiment is missing a required part or has inconsistent settings."""


class ExperimentBusyError(CrystallizeError, RuntimeError):
    """The experiment is already running: a ``stream()`` not read to the end, or a run in
    another thread. One Experiment object runs one run at a time."""


class PicklingError(CrystallizeError, _StdPicklingError):
    """An object that must be sent to worker processes cannot be pickled.

    Also a :class:`pickle.PicklingError`, so code catching that catches this too.
    """


class PluginError(CrystallizeError, TypeError):
    """A plugin defines a hook that does not exist or has the wrong signature."""


class VerificationError(CrystallizeError):
    """A hypothesis could not be verified."""


class InsufficientSamplesError(VerificationError, ValueError):
    """A statistical test got fewer replicate values than it needs."""


class VerifierArgumentError(VerificationError, ValueError):
    """A built-in verifier got an argument value it does not accept.

    Raised as soon as the verifier is built (``mann_whitney(alternative="lesser")``),
    before any data is seen, so the mistake cannot fail every comparison of a run. Also a
    :class:`ValueError`.

    Attributes:
        verifier: the verifier's name (``"mann_whitney"``).
        argument: the argument at fault (``"alternative"``).
        value: the value given.
    """

    def __init__(self, message: str, *, verifier: str = "", argument: str = "", value: Any = None) -> None:
        super().__init__(message)
        self.verifier = verifier
        self.argument = argument
        self.value = value


class MissingMetricError(VerificationError, KeyError):
    """A hypothesis refers to a metric that no replicate recorded."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class ClusterConnectionError(CrystallizeError, ConnectionError):
    """The Ray cluster an experiment should run on cannot be reached."""


class WorkerStartError(CrystallizeError):
    """A process pool's worker processes could not start: the process ran out of file
    descriptors (``ulimit -n``), or the system refused another process. The workers
    that did start are stopped; the message says how many started and what to do.

    Attributes:
        errno: the ``errno`` of the :class:`OSError` behind it (its ``__cause__``), e.g.
            ``errno.EMFILE``.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class RunFailedError(CrystallizeError, RuntimeError):
    """``run(fail_fast=True)`` stopped at the first failed replicate.

    Also a :class:`RuntimeError`: the run itself was valid and failed while running.

    Attributes:
        error: the :class:`~crystallize.record.ReplicateError` that stopped the run.
        result: the partial :class:`~crystallize.result.Result` of every replicate that
            finished before the run stopped (also kept in the store, if it has one).
    """

    def __init__(self, error: object, result: object) -> None:
        self.error = error
        self.result = result
        stored = "in the store and " if getattr(result, "run_id", None) is not None else ""
        super().__init__(
            f"Run stopped at the first failure (fail_fast=True): {error}. "
            f"The {len(getattr(result, 'records', []))} replicate record(s) that finished are "
            f"kept {stored}in this exception's .result."
        )


class StoreError(CrystallizeError):
    """The run store could not be opened, read or written."""


class StoreArgumentError(StoreError, ValueError):
    """A run-store function got an argument value it does not accept (an unknown run
    status, a negative ``limit`` or ``keep_last``). Checked before the store is opened.

    A :class:`ValueError`, like other argument mistakes, and a :class:`StoreError`, so
    code catching store errors catches it too.
    """


class ConfigError(CrystallizeError, ValueError):
    """A declarative experiment (``config.yaml`` and its modules) is invalid."""


class OptionalDependencyError(CrystallizeError, ImportError):
    """A feature needs an optional extra that is not installed (or does not import).

    ``cause`` is the import error's text when the package is installed but fails to
    import (say, built against another NumPy); ``None`` when it is not installed.
    """

    def __init__(self, feature: str, package: str, extra: str, cause: str | None = None) -> None:
        self.feature = feature
        self.package = package
        self.extra = extra
        self.cause = cause
        if cause is None:
            message = (
                f"{feature} needs the '{package}' package, which is not installed. "
                f"Install it with: pip install 'crystallize[{extra}]'"
            )
        else:
            message = (
                f"{feature} needs the '{package}' package, which is installed but failed to "
                f"import: {cause}. Reinstall a version that works with your other packages: "
                f"pip install --upgrade 'crystallize[{extra}]'"
            )
        super().__init__(message)


__all__ = [
    "ClusterConnectionError",
    "ConfigError",
    "ContextMutationError",
    "CrystallizeError",
    "ExperimentBusyError",
    "ExperimentValidationError",
    "InsufficientSamplesError",
    "MissingContextKeyError",
    "MissingMetricError",
    "MissingParameterError",
    "OptionalDependencyError",
    "PicklingError",
    "PluginError",
    "RunFailedError",
    "StoreArgumentError",
    "StoreError",
    "VerificationError",
    "VerifierArgumentError",
    "WorkerStartError",
]
