"""Arguments of the built-in verifier factories, checked when a factory is called (before
any data is seen): unknown names raise ``TypeError`` and bad values
:class:`~crystallize.exceptions.VerifierArgumentError`, each naming the verifier, the
argument, the value and what is allowed.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import VerifierArgumentError
from crystallize.hypothesis import verifier

if TYPE_CHECKING:
    from crystallize.hypothesis import Verifier

ALTERNATIVES = ("two-sided", "greater", "less")
"""Accepted ``alternative`` values; one-sided ones are about treatment vs baseline."""

ArgumentCheck = Callable[[Any, str], Any]
"""``check(value, test) -> value``: validates one verifier argument, raising
:class:`VerifierArgumentError`; ``test`` is the verifier's name, for the message."""


def _bad_argument(test: str, argument: str, value: Any, message: str) -> VerifierArgumentError:
    """A :class:`VerifierArgumentError` whose message starts with the verifier's name."""
    return VerifierArgumentError(f"{test}: {message}", verifier=test, argument=argument, value=value)


def _suggestion(value: Any, choices: Sequence[str], *, ignore_case: bool = False) -> str:
    """``"; did you mean 'x'?"`` when ``value`` is a string close to one of ``choices``."""
    if not isinstance(value, str):
        return ""
    from crystallize.utils.text import did_you_mean

    if not ignore_case:
        return did_you_mean(value, choices)
    originals = {choice.lower(): choice for choice in choices}
    hint = did_you_mean(value.lower(), originals)
    for lower, original in originals.items():
        hint = hint.replace(f"'{lower}'", f"'{original}'")
    return hint


def _unknown_value(
    argument: str, value: Any, choices: Sequence[str], allowed: str, *, ignore_case: bool = False
) -> str:
    """``"unknown method 'exakt'; did you mean 'exact'? Use <allowed>."``"""
    hint = _suggestion(value, choices, ignore_case=ignore_case)
    return f"unknown {argument} {value!r}{hint or '.'} Use {allowed}."


def _listing(choices: Sequence[str]) -> str:
    """``'a', 'b' or 'c'``."""
    quoted = [repr(choice) for choice in choices]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def check_alpha(alpha: Any, test: str) -> float:
    """Return ``alpha`` as a float, or raise if it is not strictly between 0 and 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise _bad_argument(
            test, "alpha", alpha,
            f"alpha must be a number strictly between 0 and 1, got {alpha!r}. "
            f"Pass e.g. {test}(alpha=0.05).",
        )
    return float(alpha)


def check_choice(
    value: Any, test: str, *, argument: str, choices: Sequence[str], ignore_case: bool = False
) -> str:
    """Return ``value`` if it is one of ``choices`` (ignoring case if asked), else raise.

    The message lists the choices and suggests the closest one
    (``"mann_whitney: unknown method 'exakt'; did you mean 'exact'? Use ..."``).
    """
    known = {c.lower() for c in choices} if ignore_case else set(choices)
    candidate = value.lower() if ignore_case and isinstance(value, str) else value
    if not isinstance(value, str) or candidate not in known:
        raise _bad_argument(
            test, argument, value,
            _unknown_value(argument, value, choices, _listing(choices), ignore_case=ignore_case),
        )
    return value


def check_alternative(alternative: Any, test: str) -> str:
    """Return ``alternative`` if it is one of :data:`ALTERNATIVES`, else raise."""
    if not isinstance(alternative, str) or alternative not in ALTERNATIVES:
        raise _bad_argument(
            test, "alternative", alternative,
            _unknown_value(
                "alternative", alternative, ALTERNATIVES,
                "'two-sided', 'greater' (treatment larger than baseline) or 'less' "
                "(treatment smaller than baseline)",
            ),
        )
    return alternative


def check_flag(value: Any, test: str, *, argument: str) -> bool:
    """Return ``value`` as a bool if it is ``True``/``False`` (or 1/0), else raise."""
    if not isinstance(value, numbers.Integral) or value not in (0, 1):
        raise _bad_argument(
            test, argument, value, f"{argument} must be True or False, got {value!r}."
        )
    return bool(value)


def check_seed(seed: Any, test: str) -> int | None:
    """Return ``seed`` if it is a non-negative int or ``None``, else raise."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise _bad_argument(
            test, "seed", seed,
            "seed must be a non-negative integer (or None for an unseeded run), "
            f"got {seed!r}.",
        )
    return int(seed)


def check_n_resamples(n_resamples: Any, test: str) -> int:
    """Return ``n_resamples`` if it is a positive int, else raise."""
    if (
        isinstance(n_resamples, bool)
        or not isinstance(n_resamples, numbers.Integral)
        or n_resamples < 1
    ):
        raise _bad_argument(
            test, "n_resamples", n_resamples,
            f"n_resamples must be a positive integer, got {n_resamples!r}. "
            "The default 9999 suits most experiments.",
        )
    return int(n_resamples)


def check_metric(metric: Any, test: str) -> str | None:
    """Return ``metric`` if it is ``None`` (test every metric) or a non-empty string,
    else raise: one verifier tests one metric, so a list of names is refused too."""
    if metric is None or (isinstance(metric, str) and metric):
        return metric
    if isinstance(metric, list | tuple | set | frozenset):
        hint = (
            "A verifier tests one metric (or every metric the hypothesis hands it, with "
            "metric=None): list several in the hypothesis' metrics=[...] instead."
        )
    else:
        hint = f"Pass a metric name, e.g. {test}(metric=\"accuracy\"), or None to test every metric."
    raise _bad_argument(
        test, "metric", metric,
        f"metric must be a non-empty metric name (a str) or None, got "
        f"{type(metric).__name__} {metric!r}. {hint}",
    )


#: Checks applied to every built-in verifier that has an argument of that name.
COMMON_CHECKS: dict[str, ArgumentCheck] = {
    "alpha": check_alpha,
    "alternative": check_alternative,
    "metric": check_metric,
    "n_resamples": check_n_resamples,
    "seed": check_seed,
}


def builtin_verifier(
    **checks: ArgumentCheck,
) -> Callable[[Callable[..., Mapping[str, Any]]], Callable[..., Verifier]]:
    """:func:`~crystallize.hypothesis.verifier`, with arguments validated when it is built.

    The factory checks every argument it is given before returning the
    :class:`~crystallize.hypothesis.Verifier`: an unknown name raises ``TypeError`` and a
    bad value :class:`VerifierArgumentError`. The arguments named in
    :data:`COMMON_CHECKS` are checked by those functions; ``checks`` adds (or replaces)
    the checks of the verifier's own arguments::

        @builtin_verifier(method=functools.partial(check_choice, argument="method", choices=...))
        def mann_whitney(baseline, treatment, *, alpha=0.05, ..., method="auto"): ...
    """

    def decorate(fn: Callable[..., Mapping[str, Any]]) -> Callable[..., Verifier]:
        factory = verifier(fn)
        accepted = list(inspect.signature(fn).parameters)[2:]  # after baseline, treatment
        rules = {name: checks.get(name, COMMON_CHECKS.get(name)) for name in accepted}

        @functools.wraps(factory)  # the factory's signature: the arguments it takes
        def checked(**params: Any) -> Verifier:
            check_arguments(fn.__name__, params, accepted, rules)
            return factory(**params)

        checked.__signature__ = inspect.signature(factory)  # type: ignore[attr-defined]
        checked.__crystallize_verifier__ = fn  # type: ignore[attr-defined]
        return checked

    return decorate


def check_arguments(
    test: str,
    params: Mapping[str, Any],
    accepted: Sequence[str],
    rules: Mapping[str, ArgumentCheck | None],
) -> None:
    """Validate the arguments a built-in verifier factory was called with.

    Raises:
        TypeError: a name the verifier does not take (with a did-you-mean).
        VerifierArgumentError: a value the verifier does not accept.
    """
    for name in params:
        if name not in accepted:
            raise TypeError(
                f"{test}() got an unexpected keyword argument {name!r}"
                f"{_suggestion(name, accepted)} (it accepts: {', '.join(accepted)})"
            )
    for name, value in params.items():
        rule = rules.get(name)
        if rule is not None:
            rule(value, test)


__all__ = [
    "ALTERNATIVES",
    "COMMON_CHECKS",
    "ArgumentCheck",
    "builtin_verifier",
    "check_alpha",
    "check_alternative",
    "check_arguments",
    "check_choice",
    "check_flag",
    "check_metric",
    "check_n_resamples",
    "check_seed",
]
