"""The small hypothesis language of confirmatory runs.

A hypothesis compares one metric of two configs::

    b.score > a.score
    mean(b.score) > mean(a.score)
    median(fast.latency) < median(slow.latency)
    b.accuracy != a.accuracy

Operands are ``config.metric``, optionally wrapped in ``mean(...)`` (the default) or
``median(...)``; both sides use the same metric and aggregate. Operators: ``>``, ``<``,
``!=``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crystallize.exceptions import ConfigError

_NAME = r"[A-Za-z_][\w\-]*"
_OPERAND = re.compile(rf"^\s*(?:(?P<agg>mean|median)\s*\(\s*(?P<a>{_NAME})\.(?P<am>{_NAME})\s*\)|(?P<b>{_NAME})\.(?P<bm>{_NAME}))\s*$")
_OPERATORS = (">", "<", "!=")
ALTERNATIVES = {">": "greater", "<": "less", "!=": "two-sided"}


class HypothesisSyntaxError(ConfigError):
    """A confirmatory hypothesis is not in the expected form."""


@dataclass(frozen=True, slots=True)
class Operand:
    """``aggregate(config.metric)``."""

    aggregate: str
    config: str
    metric: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right``: e.g. mean(b.score) > mean(a.score)."""

    left: Operand
    op: str
    right: Operand
    text: str

    @property
    def metric(self) -> str:
        """The metric both sides compare."""
        return self.left.metric

    @property
    def aggregate(self) -> str:
        """``"mean"`` or ``"median"``."""
        return self.left.aggregate

    @property
    def alternative(self) -> str:
        """The test's alternative for ``left`` against ``right``."""
        return ALTERNATIVES[self.op]

    @property
    def key(self) -> tuple[str, ...]:
        """What the comparison tests, however it is written: ``a.score < b.score`` and
        ``mean(b.score) > mean(a.score)`` have the same key."""
        left, op, right = self.left.config, self.op, self.right.config
        if op == "<" or (op == "!=" and right < left):
            left, right = right, left
            op = ">" if op == "<" else op
        return (self.aggregate, self.metric, left, op, right)


def _operand(text: str, whole: str) -> Operand:
    match = _OPERAND.match(text)
    if match is None:
        raise HypothesisSyntaxError(
            f"Cannot read {text.strip()!r} in hypothesis {whole!r}: write config.metric, "
            "optionally as mean(config.metric) or median(config.metric)"
        )
    if match["agg"]:
        return Operand(match["agg"], match["a"], match["am"])
    return Operand("mean", match["b"], match["bm"])


def parse_hypothesis(text: str) -> Comparison:
    """Parse ``text`` into a :class:`Comparison` (raises HypothesisSyntaxError)."""
    if not isinstance(text, str) or not text.strip():
        raise HypothesisSyntaxError("A hypothesis is a string such as 'b.score > a.score'")
    found = [op for op in _OPERATORS if op in text]
    if len(found) != 1 or text.count(found[0]) != 1:
        raise HypothesisSyntaxError(
            f"Hypothesis {text!r} needs exactly one comparison operator: one of >, <, !="
        )
    op = found[0]
    left_text, right_text = text.split(op)
    left, right = _operand(left_text, text), _operand(right_text, text)
    if left.metric != right.metric:
        raise HypothesisSyntaxError(
            f"Hypothesis {text!r} compares different metrics ({left.metric!r} and "
            f"{right.metric!r}); both sides must use the same metric"
        )
    if left.aggregate != right.aggregate:
        raise HypothesisSyntaxError(f"Hypothesis {text!r} mixes {left.aggregate} and {right.aggregate}")
    if left.config == right.config:
        raise HypothesisSyntaxError(f"Hypothesis {text!r} compares config {left.config!r} with itself")
    return Comparison(left, op, right, " ".join(text.split()))


__all__ = ["ALTERNATIVES", "Comparison", "HypothesisSyntaxError", "Operand", "parse_hypothesis"]
