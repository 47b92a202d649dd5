"""Exploration runs and their pre-registered confirmation."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crystallize.confirm.analysis import compare, missing_detail, replicate_values
from crystallize.confirm.expression import Comparison, parse_hypothesis
from crystallize.confirm.registry import registered_before
from crystallize.exceptions import ExperimentValidationError
from crystallize.fingerprint import code_hash, param_digest
from crystallize.plugins.seed import SEED_MODULUS, SEED_STRIDE, SeedPlugin
from crystallize.quick import (
    ConfigFunction,
    config_experiment,
    named_configs,
    run_configs,
)
from crystallize.result import Result
from crystallize.store import Preregistration, RunInfo, open_store
from crystallize.utils.text import function_label

VALID = "VALID"
CODE_CHANGED = "CODE_CHANGED"
REUSED_SEEDS = "REUSED_SEEDS"
HYPOTHESIS_CHANGED_AFTER_DATA = "HYPOTHESIS_CHANGED_AFTER_DATA"
CONFIG_CHANGED = "CONFIG_CHANGED"
REPEATED_ATTEMPT = "REPEATED_ATTEMPT"
MISSING_REPLICATES = "MISSING_REPLICATES"


def seeds_by_replicate(base: int, replicates: int) -> dict[int, int]:
    """``{seed: replicate}``: the seed SeedPlugin gives each replicate ``0..replicates-1``
    from ``base``."""
    return {(base + r * SEED_STRIDE) % SEED_MODULUS: r for r in range(replicates)}


def replicate_seeds(base: int, replicates: int) -> set[int]:
    """The seeds SeedPlugin gives replicates ``0..replicates-1`` from ``base``."""
    return set(seeds_by_replicate(base, replicates))


def _git(path: str | os.PathLike[str] | None, *args: str) -> str | None:
    """The output of ``git args`` in the folder of ``path``, ``None`` if it fails."""
    folder = Path(path).resolve().parent if path else Path.cwd()
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit(path: str | os.PathLike[str] | None) -> str | None:
    """The commit checked out where ``path`` lives, or ``None`` outside a git checkout."""
    out = _git(path, "rev-parse", "HEAD")
    return (out.strip() or None) if out is not None else None


def git_dirty(path: str | os.PathLike[str] | None) -> bool | None:
    """Whether the git checkout where ``path`` lives has uncommitted changes (modified or
    untracked files), so that its commit alone does not reproduce the code; ``None``
    outside a git checkout."""
    out = _git(path, "status", "--porcelain")
    return bool(out.strip()) if out is not None else None


def _utc(timestamp: float) -> str:
    """``2026-11-27 10:41:09.123 UTC`` for a Unix timestamp."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _check_confirmation_settings(replicates: Any, alpha: Any, seed: Any) -> None:
    """Raise ValueError/TypeError for settings a confirmatory test cannot use, so that
    nothing is pre-registered for a run that could not test anything."""
    from crystallize.plugins.seed import check_seed
    from crystallize.stats._arguments import check_alpha

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
        p_value: the test's p-value; ``test`` the verifier's full output (always with a
            ``warnings`` list, empty when nothing warned; ``error`` when no test ran).
        integrity: ``"VALID"`` or the list of violations (``CODE_CHANGED``,
            ``CONFIG_CHANGED``, ``REUSED_SEEDS``, ``HYPOTHESIS_CHANGED_AFTER_DATA``,
            ``REPEATED_ATTEMPT``, ``MISSING_REPLICATES``); ``integrity_details`` explains
            each violation.
        registration: the pre-registration record written before any replicate ran.
        exploration_run / confirmation_run: store run ids.
        code_fingerprint: the function's code digest (its source and the helpers and
            constants it reads, see :func:`~crystallize.code_digest.code_hash`) at
            exploration and confirmation.
        git_commit: the commit of the function's folder, when it is a git checkout.
        result: the confirmatory run's Result.
        seeds: the exploration's and the confirmation's replicate seeds.
        attempt: which registration of this test on this exploration this is (1 = first).
        earlier_registrations: the earlier registrations of the same test on the same
            exploration (including cancelled or failed attempts), in the order the store
            wrote them (not by their clock times).
        git_dirty: whether the git checkout had uncommitted changes (``None`` outside git).
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
    attempt: int = 1
    earlier_registrations: list[Preregistration] = field(default_factory=list)
    git_dirty: bool | None = None
    integrity_details: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """True when no integrity rule was violated."""
        return self.integrity == VALID

    def report(self) -> str:
        """A readable account of the verdict, what was tested, and its proof."""
        verdict = "SUPPORTED" if self.supported else "NOT SUPPORTED"
        integrity = self.integrity if isinstance(self.integrity, str) else ", ".join(self.integrity)
        ci = f"[{self.ci[0]:.4g}, {self.ci[1]:.4g}]" if self.ci else "-"
        lines = [
            f"Hypothesis: {self.hypothesis}",
            f"Verdict: {verdict} (effect {self.effect:.4g}, CI {ci}, p = {self.p_value:.4g})"
            if self.effect is not None and self.p_value is not None
            else f"Verdict: {verdict} ({self.test.get('error', 'no test result')})",
            f"Integrity: {integrity}",
            *(f"  {detail}" for detail in self.integrity_details),
            *self._test_lines(),
            "",
            "Proof",
            f"  pre-registration: {self.registration.registration_id} written at "
            f"{_utc(self.registration.created_at)} (before the first confirmatory replicate)",
            f"  registered hypothesis: {self.registration.hypothesis}",
            f"  exploration run: {self.exploration_run}",
            f"  confirmation run: {self.confirmation_run}",
            f"  code fingerprint: exploration {self.code_fingerprint.get('exploration')}, "
            f"confirmation {self.code_fingerprint.get('confirmation')}",
            f"  git commit: {self.git_commit or 'not a git checkout'}"
            + (" (working tree has uncommitted changes: the commit alone does not reproduce "
               "this code)" if self.git_dirty else ""),
            f"  seeds: {len(self.seeds.get('exploration', []))} exploration, "
            f"{len(self.seeds.get('confirmation', []))} confirmation, "
            f"{len(set(self.seeds.get('exploration', [])) & set(self.seeds.get('confirmation', [])))} shared",
        ]
        return "\n".join(lines)

    def _test_lines(self) -> list[str]:
        """What was tested: the test, n tested of n registered, the CI's meaning, warnings."""
        registered = self.registration.payload.get("replicates")
        if "error" in self.test:
            return [f"Test: none ({registered} replicates registered)"]
        lines = [
            f"Test: {self.test.get('test')}, {self.test.get('n_pairs')} of {registered} registered "
            "replicates tested (paired by replicate)",
            f"  CI: {self.test.get('ci_level', 0):.0%} interval of the {self.test.get('ci_of')}",
        ]
        return lines + [f"  warning: {w}" for w in self.test.get("warnings", [])]


@dataclass
class _Integrity:
    """A confirmation's integrity verdict and what it was judged on."""

    registration: Preregistration
    earlier: list[Preregistration]
    base_seed: int
    replicates: int
    result: Result
    run: RunInfo | None
    violations: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def seeds(self) -> set[int]:
        """The confirmatory replicates' seeds."""
        return replicate_seeds(self.base_seed, self.replicates)

    def flag(self, violation: str, detail: str | None = None) -> None:
        """Record ``violation`` (and why, when ``detail`` says more than its name)."""
        self.violations.append(violation)
        if detail:
            self.details.append(f"{violation}: {detail}")


class Exploration:
    """An exploratory run of ``fn`` over named configs; confirm a finding with
    :meth:`crystallize`."""

    def __init__(self, fn: ConfigFunction, configs: Mapping[str, Any], replicates: int, seed: int | None,
                 root_dir: str | os.PathLike[str]) -> None:
        self.fn = fn
        #: What was explored: a deep copy, so later edits of the caller's dicts change nothing.
        self.configs = _frozen(configs)
        #: Content digests of the explored configs; a confirmation whose configs differ
        #: is flagged CONFIG_CHANGED.
        self.config_fingerprints = {name: param_digest(c) for name, c in self.configs.items()}
        self.replicates = replicates
        self.root_dir = root_dir
        self.code_fingerprint = code_hash(fn)
        experiment, self.baseline = config_experiment(
            fn, self.configs, replicates, seed, name=f"{function_label(fn, 'fn')}.explore",
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
        code = code_hash(self.fn)
        commit = git_commit(_source_file(self.fn))
        dirty = git_dirty(_source_file(self.fn)) if commit else None
        registration = self._register(comparison, {
            "alpha": alpha, "replicates": replicates, "base_seed": confirm_seed,
            "code_fingerprint": code, "exploration_code_fingerprint": self.code_fingerprint,
            "git_commit": commit, "git_dirty": dirty,
        })
        result = self._run_confirmation(comparison, replicates, confirm_seed, registration)
        test = compare(comparison, result, alpha, replicates)
        integrity = self._integrity(comparison, registration, result, test, code, confirm_seed, replicates)
        return Confirmation(
            hypothesis=comparison.text,
            supported=bool(test.get("significant")) and "error" not in test,
            effect=test.get("difference"),
            ci=tuple(test["ci"]) if test.get("ci") else None,
            p_value=test.get("p_value"),
            test=test,
            integrity=integrity.violations or VALID,
            integrity_details=integrity.details,
            registration=integrity.registration,
            exploration_run=self.run_id,
            confirmation_run=result.run_id,
            code_fingerprint={"exploration": self.code_fingerprint, "confirmation": code},
            git_commit=commit,
            result=result,
            seeds={"exploration": sorted(self.seeds), "confirmation": sorted(integrity.seeds)},
            attempt=len(integrity.earlier) + 1,
            earlier_registrations=integrity.earlier,
            git_dirty=dirty,
        )

    def _confirmation_name(self) -> str:
        """The confirmatory run's experiment name: ``<function>.confirm``."""
        return f"{function_label(self.fn, 'fn')}.confirm"

    def _register(self, comparison: Comparison, settings: dict[str, Any]) -> Preregistration:
        """Write the pre-registration of ``comparison`` (with the run's ``settings``)
        before any confirmatory replicate runs."""
        tested = (comparison.left.config, comparison.right.config)
        with open_store(self.root_dir) as store:
            return store.add_preregistration(
                experiment=self._confirmation_name(),
                hypothesis=comparison.text,
                payload={
                    "exploration_run": self.run_id,
                    "configs": {c: self.configs[c] for c in tested},
                    "config_fingerprints": {c: param_digest(self.configs[c]) for c in tested},
                    "metric": comparison.metric,
                    "aggregate": comparison.aggregate,
                    "alternative": comparison.alternative,
                    **settings,
                },
            )

    def _run_confirmation(self, comparison: Comparison, replicates: int, seed: int,
                          registration: Preregistration) -> Result:
        """Run the two tested configs afresh (the right-hand one is the baseline)."""
        configs = {
            comparison.right.config: self.configs[comparison.right.config],
            comparison.left.config: self.configs[comparison.left.config],
        }
        experiment, baseline = config_experiment(
            self.fn, configs, replicates, seed, name=self._confirmation_name(),
            plugins=_artifact_plugins(self.root_dir),
        )
        experiment.initial_ctx["preregistration"] = registration.registration_id
        return run_configs(experiment, baseline)

    def _integrity(self, comparison: Comparison, registration: Preregistration, result: Result,
                  test: dict[str, Any], code: str, seed: int, replicates: int) -> _Integrity:
        """Read back what the store kept of the confirmation and judge its integrity."""
        from crystallize.store.opening import open_existing_store

        with open_existing_store(self.root_dir) as store:  # a read: never creates a store
            stored = store.get_preregistration(registration.registration_id)
            run = store.get_run(result.run_id) if result.run_id else None
        integrity = _Integrity(
            registration=stored,
            earlier=registered_before(stored.registration_id, self.root_dir, exploration_run=self.run_id,
                                      hypothesis=comparison.text),
            base_seed=seed,
            replicates=replicates,
            result=result,
            run=run,
        )
        code_changed = _code_changed_detail(
            self.fn, self.code_fingerprint, code, run is not None and bool((run.summary or {}).get("code_changed")),
        )
        if code_changed:
            integrity.flag(CODE_CHANGED, code_changed)
        self._flag_violations(comparison, test, integrity)
        return integrity

    def _flag_violations(self, comparison: Comparison, test: dict[str, Any], integrity: _Integrity) -> None:
        """Flag the violations other than CODE_CHANGED on ``integrity``."""
        tested = (comparison.left.config, comparison.right.config)
        changed = [c for c in tested if param_digest(self.configs[c]) != self.config_fingerprints.get(c)]
        if changed:
            integrity.flag(CONFIG_CHANGED, ", ".join(f"config {c!r} differs from the one explored" for c in changed))
        if integrity.seeds & self.seeds:
            integrity.flag(REUSED_SEEDS, self._reused_seeds_detail(integrity))
        changed_after_data = _changed_after_data(comparison, integrity.registration, integrity.run)
        if changed_after_data:
            integrity.flag(HYPOTHESIS_CHANGED_AFTER_DATA, changed_after_data)
        if integrity.earlier:
            integrity.flag(REPEATED_ATTEMPT, _attempts_detail(integrity.earlier, self.run_id))
        missing = test.get("missing") or {}
        if missing:
            integrity.flag(MISSING_REPLICATES, f"{missing_detail(integrity.result, comparison.metric, missing)}; "
                           "left out of the test")

    def _reused_seeds_detail(self, integrity: _Integrity) -> str:
        """Which confirmatory replicates run with the seed of an exploration replicate."""
        explored = seeds_by_replicate(self.base_seed, self.replicates) if self.base_seed is not None else {}
        shared = sorted(
            (r, explored[s], s) for s, r in seeds_by_replicate(integrity.base_seed, integrity.replicates).items()
            if s in explored
        )
        shown = ", ".join(f"replicate {r} = exploration replicate {e} (seed {s})" for r, e, s in shared[:5])
        more = f" and {len(shared) - 5} more" if len(shared) > 5 else ""
        return (
            f"{len(shared)} confirmatory replicate(s) run with a seed the exploration used: {shown}{more}; "
            "they repeat the exploration's randomness instead of drawing fresh data (leave seed=None "
            "for seeds disjoint from the exploration's)"
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
        for operand in (comparison.left, comparison.right):  # one value per replicate
            replicate_values(self.result, operand.config, comparison.metric)

    def _fresh_seed(self, replicates: int) -> int:
        while True:
            candidate = SeedPlugin.draw_base_seed()
            if not replicate_seeds(candidate, replicates) & self.seeds:
                return candidate


def _frozen(configs: Mapping[Any, Any]) -> dict[str, Any]:
    """A deep copy of ``configs`` keyed by name strings (a config that cannot be copied
    is kept as is; its fingerprint still detects changes)."""
    import copy

    named = named_configs(configs) if isinstance(configs, Mapping) else configs
    if not isinstance(named, Mapping):
        return named
    frozen = {}
    for name, config in named.items():
        try:
            frozen[name] = copy.deepcopy(config)
        except Exception:
            frozen[name] = config
    return frozen


def _code_changed_detail(fn: Any, explored: str, confirmed: str, changed_during_run: bool) -> str | None:
    """Why the confirmation did not run the explored code, or ``None`` when it did.

    The fingerprint is :func:`crystallize.code_digest.code_hash`: the function's source
    and what it reads (the helpers it calls, the constants in the globals, closures and
    defaults it uses), so a changed helper or global constant counts, not only its text.
    """
    name = function_label(fn, "fn")
    problems = []
    if confirmed != explored:
        problems.append(
            f"the code fingerprint of {name} is {confirmed}, not {explored} as explored: its code or "
            "the values it reads (globals, helpers, closures, defaults) differ from the exploration's"
        )
    if changed_during_run:
        problems.append("the code changed during the confirmation run (its stored summary has "
                        '"code_changed": true)')
    return "; ".join(problems) or None


def _changed_after_data(comparison: Comparison, stored: Preregistration, run: RunInfo | None) -> str | None:
    """Why the stored registration does not show that ``comparison`` was registered before
    its data, or ``None`` when it does."""
    problems = []
    if stored.hypothesis != comparison.text:
        problems.append(f"registration {stored.registration_id} reads {stored.hypothesis!r}, not the "
                        f"hypothesis tested ({comparison.text!r}): the stored record was changed")
    unbound = _unbound_run(run, stored.registration_id)
    if unbound:
        problems.append(f"{unbound}, so nothing shows its data was produced after registration "
                        f"{stored.registration_id} was written; confirm again with crystallize()")
    return "; ".join(problems) or None


def _unbound_run(run: RunInfo | None, registration_id: str) -> str | None:
    """How the confirmatory ``run`` fails to be bound to ``registration_id``, or ``None``.

    The order of registration and data is causal, not read off clocks (a clock stepped
    back, or a worker host whose clock differs, would mislead): the id is drawn when the
    record is written and the run is started with it, so a run whose stored definition
    names it ran every replicate after the registration existed.
    """
    if run is None:
        return "the confirmation run is not in the store"
    named = (run.spec.get("initial_ctx") or {}).get("preregistration")
    if named == registration_id:
        return None
    return f"confirmation run {run.run_id} was started with " + (f"registration {named}" if named else "no registration")


def _attempts_detail(earlier: list[Preregistration], exploration_run: str | None) -> str:
    """``ATTEMPT 3 of 3: 2 earlier registrations ...`` for a repeated confirmation."""
    n = len(earlier) + 1
    return (
        f"ATTEMPT {n} of {n}: {len(earlier)} earlier registrations of this hypothesis on "
        f"exploration {exploration_run} ({_ids(earlier)}, including any cancelled or failed "
        "attempts); a verdict picked from several attempts "
        "overstates the evidence. List them with crystallize.confirm.registrations()."
    )


def _ids(records: list[Preregistration], shown: int = 5) -> str:
    """The last ``shown`` registration ids, with how many more there are."""
    ids = [r.registration_id for r in records]
    more = f"{len(ids) - shown} more and " if len(ids) > shown else ""
    return f"{more}{', '.join(ids[-shown:])}"


def _artifact_plugins(root_dir: str | os.PathLike[str]) -> list[Any]:
    from crystallize.plugins.artifacts import ArtifactPlugin

    return [ArtifactPlugin(root_dir=root_dir)]


def explore(fn: ConfigFunction, configs: Mapping[str, Any], replicates: int = 5, seed: int | None = None,
            root_dir: str | os.PathLike[str] = "data") -> Exploration:
    """Run an exploratory comparison of ``fn(config, ctx)`` over ``configs``.

    Returns an :class:`Exploration`; call ``.crystallize("b.score > a.score",
    replicates=30)`` to confirm a finding with a pre-registered run.
    """
    return Exploration(fn, configs, replicates, seed, root_dir)


__all__ = [
    "CODE_CHANGED",
    "CONFIG_CHANGED",
    "HYPOTHESIS_CHANGED_AFTER_DATA",
    "MISSING_REPLICATES",
    "REPEATED_ATTEMPT",
    "REUSED_SEEDS",
    "VALID",
    "Confirmation",
    "Exploration",
    "explore",
    "git_commit",
    "git_dirty",
    "replicate_seeds",
]
