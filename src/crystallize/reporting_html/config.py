"""What a run ran, as plain data: ``result.info["config"]``, shown by the HTML report.

:func:`run_config` describes an experiment as it starts a run: its datasource, steps and
their fixed parameters, treatments, initial context, hypotheses, replicates and plugins
with their settings. Values are kept in the loggable form of step provenance (numbers,
strings, booleans and ``None`` as they are, anything else as its repr cut to 200
characters), so the description is small and JSON-ready and is stored with the run.
:func:`config_from_spec` builds the same shape from a stored run's spec, for runs stored
without one (hypotheses and plugins other than the seed settings are then unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crystallize.experiment import Experiment


# -- the data ---------------------------------------------------------------------------
def run_config(experiment: Experiment) -> dict[str, Any]:
    """What ``experiment`` runs, as plain JSON-ready data (see the module docstring).

    Call it once the run's overrides (treatments, hypotheses, replicates) are in place
    and the plugins' ``before_run`` has run, so the seed settings include the base seed.
    """
    steps = list(experiment.pipeline.steps) if experiment.pipeline is not None else []
    return {
        "replicates": experiment.replicates,
        "datasource": _component(experiment.datasource),
        "steps": [_component(step) for step in steps],
        "treatments": [_treatment(t, steps) for t in experiment.treatments],
        "initial_ctx": _values(experiment.initial_ctx),
        "hypotheses": [_hypothesis(h) for h in experiment.hypotheses],
        "plugins": [_plugin(p) for p in experiment.plugins],
    }


def config_from_spec(spec: Mapping[str, Any], replicates: int) -> dict[str, Any]:
    """The :func:`run_config` shape from a stored run's spec (``RunInfo.spec``) and its
    replicates; without hypotheses, and with the seed settings as the only plugin."""
    spec_treatments = spec.get("treatments") or {}
    treatments = []
    for name, entry in spec_treatments.items():
        reshaped = isinstance(entry, Mapping) and "values" in entry and "steps" in entry
        item: dict[str, Any] = {"name": name, "values": entry["values"] if reshaped else entry}
        if isinstance(item["values"], Mapping) and set(item["values"]) == {"callable", "code"}:
            item["values"] = _computed_by(item["values"]["callable"])
        if reshaped:
            if entry.get("datasource"):
                item["datasource"] = _spec_component(entry["datasource"])
            item["steps"] = [_spec_component(s) for s in entry.get("steps") or ()]
        treatments.append(item)
    seed = spec.get("seed")
    return {
        "replicates": replicates,
        "datasource": _spec_component(spec.get("datasource")),
        "steps": [_spec_component(s) for s in spec.get("steps") or ()],
        "treatments": treatments,
        "initial_ctx": spec.get("initial_ctx") or {},
        "plugins": [{"plugin": "SeedPlugin", "settings": dict(seed)}] if isinstance(seed, Mapping) else [],
    }


def _value(value: Any) -> Any:
    """``value`` in loggable form; a function or class by its qualified name, and a
    value whose repr raises by its type (describing a run never fails it)."""
    from crystallize.loggable import loggable

    if callable(value) and hasattr(value, "__qualname__"):
        from crystallize.user_code import qualified_name

        return qualified_name(value)
    try:
        return loggable(value)
    except Exception:
        return f"<{type(value).__name__}>"


def _values(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {str(key): _value(value) for key, value in (values or {}).items()}


def _component(obj: Any) -> dict[str, Any] | None:
    """A datasource or step: its name and fixed parameters."""
    if obj is None:
        return None
    return {"name": getattr(obj, "name", type(obj).__name__), "params": _values(getattr(obj, "params", None))}


def _spec_component(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, Mapping):
        return None
    return {"name": entry.get("name"), "params": dict(entry.get("params") or {})}


def _computed_by(name: str) -> str:
    return f"computed by {name}(ctx)"


def _treatment(treatment: Any, base_steps: list[Any]) -> dict[str, Any]:
    values = treatment.values
    if isinstance(values, Mapping):
        shown: Any = _values(values)
    elif values is None:
        shown = {}
    else:
        shown = _computed_by(getattr(values, "__qualname__", type(values).__name__))
    item: dict[str, Any] = {"name": treatment.name, "values": shown}
    if treatment.reshapes:
        if treatment.datasource is not None:
            item["datasource"] = _component(treatment.datasource)
        item["steps"] = [_component(s) for s in treatment.resolve_steps(base_steps)]
    return item


def _hypothesis(hypothesis: Any) -> dict[str, Any]:
    verifier = hypothesis.verifier
    name = getattr(verifier, "name", None)
    return {
        "name": hypothesis.name,
        "verifier": name if isinstance(name, str) else _value(verifier),
        "params": _values(getattr(verifier, "params", None)),
        "metrics": list(hypothesis.metrics),
        "correction": hypothesis.correction,
    }


def _plugin(plugin: Any) -> dict[str, Any]:
    """A plugin: its class and public settings (what its repr shows)."""
    settings = {k: v for k, v in getattr(plugin, "__dict__", {}).items() if not k.startswith("_")}
    return {"plugin": type(plugin).__name__, "settings": _values(settings)}


__all__ = ["config_from_spec", "run_config"]
