"""Exploration runs and their pre-registered confirmation."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crystallize.confirm.expression import Comparison, parse_hypothesis
from crystallize.exceptions import ExperimentValidationError
from crystallize.fingerprint import code_hash
from crystallize.plugins.seed import SEED_MODULUS, SEED_STRIDE, SeedPlugin
from crystallize.quick import ConfigFunction, config_experiment, run_configs
from crystallize.result import Result
from crystallize.store import Preregistration, open_store

VALID = "VALID"
CODE_CHANGED = "CODE_CHANGED"
REUSED_SEEDS = "REUSED_SEEDS"
HYPOTHESIS_CHANGED_AFTER_DATA = "HYPOTHESIS_CHANGED_AFTER_DATA"


def replicate_seeds(base: int, replicates: int) -> set[int]:
    """The seeds SeedPlugin gives replicates ``0..replicates-1`` from ``base``."""
    return {(base + r * SEED_STRIDE) % SEED_MODULUS for r in range(replicates)}


def git_commit(path: str | os.PathLike[str] | None) -> str | None:
    """The commit checked out where ``path`` lives, or ``None`` outside a git checkout."""
    folder = Path(path).resolve().parent if path else Path.cwd()
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _utc(timestamp: float) -> str:
    """``2026-11-27 10:41:09.123 UTC`` for a Unix timestamp."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _check_confirmation_settings(replicates: Any, alpha: Any, seed: Any) -> None:
    """Raise ValueError/TypeError for settings a confirmatory test cannot use, so that
    nothing is pre-registered for a run that could not test anything."""
    from crystallize.plugins.seed import check_seed
    from crystallize.stats._common import check_alpha

    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 2:
        raise ValueError(
            f"crystallize(replicates=...) must be an int >= 2 (a test needs at least two values "
            f"per config), got {replicates!r}"
        )
    check_alpha(alpha, "crystallize")  # a ValueError naming the argument
    if seed is not None:
        check_seed(seed, "crystallize(seed=...)")


def _source_file(fn: Any) -> str | None:
    code = getattr(fn, "__code__", None)
    return code.co_filename if code is not None else None


@dataclass
class Confirmation:
    """The outcome of a confirmatory run.

    Attributes:
        hypothesis: the hypothesis text as pre-registered.
        supported: True when the test is significant in the hypothesis' direction.
        effect: the difference of the aggregates (left minus right).
        ci: confidence interval of that difference.
        p_value: the test's p-value; ``test`` the verifier's full output.
        integrity: ``"VALID"`` or the list of violations (``CODE_CHANGED``,
            ``REUSED_SEEDS``, ``HYPOTHESIS_CHANGED_AFTER_DATA``).
        registration: the pre-registration record written before any replicate ran.
        exploration_run / confirmation_run: store run ids.
        code_fingerprint: the function's source digest at exploration and confirmation.
        git_commit: the commit of the function's folder, when it is a git checkout.
        result: the confirmatory run's Result.
    """

    hypothesis: str
    supported: bool
    effect: float | None
    ci: tuple[float, float] | None
    p_value: float | None
    test: dict[str, Any]
    integrity: str | list[str]
    registration: Preregistration
    exploration_run: str | None
    confirmation_run: str | None
    code_fingerprint: dict[str, str]
    git_commit: str | None
    result: Result
    seeds: dict[str, list[int]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True when no integrity rule was violated."""
        return self.integrity == VALID

    def report(self) -> str:
        """A readable account of the verdict and its proof."""
        verdict = "SUPPORTED" if self.supported else "NOT SUPPORTED"
        integrity = self.integrity if isinstance(self.integrity, str) else ", ".join(self.integrity)
        ci = f"[{self.ci[0]:.4g}, {self.ci[1]:.4g}]" if self.ci else "-"
        lines = [
            f"Hypothesis: {self.hypothesis}",
            f"Verdict: {verdict} (effect {self.effect:.4g}, CI {ci}, p = {self.p_value:.4g})"
            if self.effect is not None and self.p_value is not None
            else f"Verdict: {verdict} ({self.test.get('error', 'no test result')})",
            f"Integrity: {integrity}",
            "",
            "Proof",
            f"  pre-registration: {self.registration.registration_id} written at "
            f"{_utc(self.registration.created_at)} (before the first confirmatory replicate)",
            f"  registered hypothesis: {self.registration.hypothesis}",
            f"  exploration run: {self.exploration_run}",
            f"  confirmation run: {self.confirmation_run}",
            f"  code fingerprint: exploration {self.code_fingerprint.get('exploration')}, "
            f"confirmation {self.code_fingerprint.get('confirmation')}",
            f"  git commit: {self.git_commit or 'not a git checkout'}",
            f"  seeds: {len(self.seeds.get('exploration', []))} exploration, "
            f"{len(self.seeds.get('confirmation', []))} confirmation, "
            f"{len(set(self.seeds.get('exploration', [])) & set(self.seeds.get('confirmation', [])))} shared",
        ]
        return "\n".join(lines)


class Exploration:
    """An exploratory run of ``fn`` over named configs; confirm a finding with
    :meth:`crystallize`."""

    def __init__(self, fn: ConfigFunction, configs: Mapping[str, Any], replicates: int, seed: int | None,
                 root_dir: str | os.PathLike[str]) -> None:
        self.fn = fn
        self.configs = dict(configs)
        self.replicates = replicates
        self.root_dir = root_dir
        self.code_fingerprint = code_hash(fn)
        experiment, self.baseline = config_experiment(
            fn, configs, replicates, seed, name=f"{getattr(fn, '__name__', 'fn')}.explore",
            plugins=_artifact_plugins(root_dir),
        )
        self.result = run_configs(experiment, self.baseline)
        self.base_seed = self.result.base_seed
        self.seeds = replicate_seeds(self.base_seed, replicates) if self.base_seed is not None else set()

    @property
    def run_id(self) -> str | None:
        """The exploration's run id in the store."""
        return self.result.run_id

    def crystallize(self, hypothesis: str, replicates: int = 30, alpha: float = 0.05,
                    seed: int | None = None) -> Confirmation:
        """Pre-register ``hypothesis``, run a fresh confirmatory experiment, judge it.

        Args:
            hypothesis: e.g. ``"b.score > a.score"`` (see
                :mod:`crystallize.confirm.expression`).
            replicates: confirmatory replicates per config.
            alpha: significance level.
            seed: base seed of the confirmatory run; by default one is drawn whose
                replicate seeds are disjoint from the exploration's.
        """
        comparison = parse_hypothesis(hypothesis)
        self._check(comparison)
        _check_confirmation_settings(replicates, alpha, seed)  # before anything is registered
        confirm_seed = seed if seed is not None else self._fresh_seed(replicates)
        current_code = code_hash(self.fn)
        commit = git_commit(_source_file(self.fn))
        name = f"{getattr(self.fn, '__name__', 'fn')}.confirm"
        with open_store(self.root_dir) as store:
            registration = store.add_preregistration(
                experiment=name,
                hypothesis=comparison.text,
                payload={
                    "exploration_run": self.run_id,
                    "configs": {c: self.configs[c] for c in (comparison.left.config, comparison.right.config)},
                    "metric": comparison.metric,
                    "aggregate": comparison.aggregate,
                    "alternative": comparison.alternative,
                    "alpha": alpha,
                    "replicates": replicates,
                    "base_seed": confirm_seed,
                    "code_fingerprint": current_code,
                    "exploration_code_fingerprint": self.code_fingerprint,
                    "git_commit": commit,
                },
            )
        configs = {
            comparison.right.config: self.configs[comparison.right.config],
            comparison.left.config: self.configs[comparison.left.config],
        }
        experiment, baseline = config_experiment(
            self.fn, configs, replicates, confirm_seed, name=name, plugins=_artifact_plugins(self.root_dir)
        )
        experiment.initial_ctx["preregistration"] = registration.registration_id
        result = run_configs(experiment, baseline)
        test = _test(comparison, result, alpha)
        confirm_seeds = replicate_seeds(confirm_seed, replicates)
        with open_store(self.root_dir) as store:
            stored = store.get_preregistration(registration.registration_id)
        violations = []
        if current_code != self.code_fingerprint or any("Code changed" in w for w in result.warnings):
            violations.append(CODE_CHANGED)
        if confirm_seeds & self.seeds:
            violations.append(REUSED_SEEDS)
        first_replicate = min((r.started_at for r in result.records), default=float("inf"))
        if stored.hypothesis != comparison.text or stored.created_at >= first_replicate:
            violations.append(HYPOTHESIS_CHANGED_AFTER_DATA)
        effect = test.get("difference")
        p_value = test.get("p_value")
        return Confirmation(
            hypothesis=comparison.text,
            supported=bool(test.get("significant")) and "error" not in test,
            effect=effect,
            ci=tuple(test["ci"]) if test.get("ci") else None,
            p_value=p_value,
            test=test,
            integrity=violations or VALID,
            registration=stored,
            exploration_run=self.run_id,
            confirmation_run=result.run_id,
            code_fingerprint={"exploration": self.code_fingerprint, "confirmation": current_code},
            git_commit=commit,
            result=result,
            seeds={"exploration": sorted(self.seeds), "confirmation": sorted(confirm_seeds)},
        )

    def _check(self, comparison: Comparison) -> None:
        for operand in (comparison.left, comparison.right):
            if operand.config not in self.configs:
                raise ExperimentValidationError(
                    f"Hypothesis {comparison.text!r} names config {operand.config!r}; the "
                    f"exploration has: {', '.join(self.configs)}"
                )
        recorded = set(self.result.metrics.condition(comparison.left.config).metrics)
        if comparison.metric not in recorded:
            raise ExperimentValidationError(
                f"Hypothesis {comparison.text!r} reads metric {comparison.metric!r}, which the "
                f"exploration did not record (recorded: {', '.join(sorted(recorded)) or 'none'})"
            )

    def _fresh_seed(self, replicates: int) -> int:
        while True:
            candidate = SeedPlugin.draw_base_seed()
            if not replicate_seeds(candidate, replicates) & self.seeds:
                return candidate


def _artifact_plugins(root_dir: str | os.PathLike[str]) -> list[Any]:
    from crystallize.plugins.artifacts import ArtifactPlugin

    return [ArtifactPlugin(root_dir=root_dir)]


def _test(comparison: Comparison, result: Result, alpha: float) -> dict[str, Any]:
    """Compare ``left`` with ``right`` (the treatment with the baseline) with scipy."""
    from crystallize.stats import mann_whitney, welch_t_test

    verifier = welch_t_test if comparison.aggregate == "mean" else mann_whitney
    metric = comparison.metric
    left = result.metrics.condition(comparison.left.config).metrics.get(metric, [])
    right = result.metrics.condition(comparison.right.config).metrics.get(metric, [])
    try:
        return verifier(alpha=alpha, alternative=comparison.alternative)({metric: right}, {metric: left})
    except Exception as exc:  # too few samples, NaN...: reported, never a crash
        return {"error": f"{type(exc).__name__}: {exc}", "significant": False}


def explore(fn: ConfigFunction, configs: Mapping[str, Any], replicates: int = 5, seed: int | None = None,
            root_dir: str | os.PathLike[str] = "data") -> Exploration:
    """Run an exploratory comparison of ``fn(config, ctx)`` over ``configs``.

    Returns an :class:`Exploration`; call ``.crystallize("b.score > a.score",
    replicates=30)`` to confirm a finding with a pre-registered run.
    """
    return Exploration(fn, configs, replicates, seed, root_dir)


__all__ = [
    "CODE_CHANGED",
    "HYPOTHESIS_CHANGED_AFTER_DATA",
    "REUSED_SEEDS",
    "VALID",
    "Confirmation",
    "Exploration",
    "explore",
    "git_commit",
    "replicate_seeds",
]
