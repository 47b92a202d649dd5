"""MlflowPlugin: mirror every run of an experiment into MLflow tracking.

Layout in MLflow, per ``experiment.run()``:

* a **parent run** named after the experiment, holding the hypothesis results (metrics
  ``hyp.<hypothesis>.<treatment>.p_value`` … and the artifact ``hypotheses.json``), the
  text report (``report.txt``), the HTML report (``report.html``), the base seed and
  the Crystallize run id;
* one **child run** per condition × replicate (nested under the parent), with the
  context values in effect as params (initial context, then the treatment's values)
  plus ``seed``; the replicate's metrics (a metric recorded several times is logged at
  steps 0, 1, …, so MLflow's "latest" value is the last one); tags ``condition``,
  ``replicate``, the spec fingerprint and the run id; and the files its steps wrote as
  artifacts (for a failed replicate, every file in its artifact directory). A failed
  replicate's run has status ``FAILED`` and the error as a tag.

``experiment.apply()`` and ``experiment.debug()`` log nothing. Keys MLflow would reject
are changed by :func:`metric_key`. A run the plugin could not log in full is ended as
``FAILED``, never left ``RUNNING``.

Everything is logged from driver hooks (``before_run``, ``on_replicate_end``,
``after_run``) through an explicit :class:`mlflow.MlflowClient`, so it works with every
executor and never touches MLflow's global "active run".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import posixpath
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crystallize.exceptions import CrystallizeError, OptionalDependencyError
from crystallize.plugins.hookspec import BasePlugin
from crystallize.utils.optional import require
from crystallize.utils.text import exception_summary

if TYPE_CHECKING:
    from crystallize.artifacts import ArtifactLocation
    from crystallize.experiment import Experiment
    from crystallize.hypothesis import HypothesisResult
    from crystallize.record import ReplicateRecord
    from crystallize.result import Result

logger = logging.getLogger("crystallize")

_TAG = "crystallize."
_BATCH = 100  # MLflow accepts at most 100 params/tags and 1000 metrics per batch
_MAX_VALUE = 500
_MAX_KEY = 250  # MLflow's limit on the length of a param, metric or tag key
_UNSAFE = re.compile(r"[^\w\-. /:]")
#: Numeric fields of a hypothesis comparison logged as parent-run metrics.
_HYPOTHESIS_FIELDS = ("p_value", "p_value_adjusted", "effect_size", "difference")
#: MLflow's HTTP retries while the plugin first reaches the server (its defaults, 7
#: retries with backoff, make an unreachable server cost about 4 minutes).
_QUICK_HTTP = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def metric_key(*parts: str) -> str:
    """The MLflow key (metric or param) for ``parts`` joined with ``.``.

    Each part MLflow would reject — characters other than letters, digits, ``_ - . /
    :`` and spaces, or a path such as ``a//b``, ``/x`` or ``..`` — has those characters
    replaced with ``_`` and ``-<8 hex digits>`` (a hash of the original part) appended,
    so two names never share a key (``acc@1`` and ``acc#1`` both become ``acc_1-…``,
    with different hashes). A key over MLflow's 250 characters is cut to fit, with
    ``-<hash of the whole key>`` after the cut and the last part (``p_value`` …) kept
    at the end. Valid names are kept as they are; the same name always gives the same
    key.
    """
    cleaned = [_clean_part(str(part)) for part in parts]
    key = ".".join(cleaned)
    if len(key) <= _MAX_KEY:
        return key
    last = "." + cleaned[-1] if len(cleaned) > 1 and len(cleaned[-1]) < _MAX_KEY // 2 else ""
    return f"{key[: _MAX_KEY - 9 - len(last)]}-{_digest(key)}{last}"


def _clean_part(part: str) -> str:
    cleaned = _UNSAFE.sub("_", part)
    if not _is_plain_path(cleaned):
        cleaned = cleaned.replace("/", "_")
        if not _is_plain_path(cleaned):  # "", "." or "..x"
            cleaned = "_" + cleaned
    return cleaned if cleaned == part else f"{cleaned}-{_digest(part)}"


def _is_plain_path(name: str) -> bool:
    """MLflow's test for a key: used as a file path, it must name itself."""
    norm = posixpath.normpath(name)
    return norm == name and norm != "." and not norm.startswith(("..", "/"))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


@contextlib.contextmanager
def _quick_http() -> Iterator[None]:
    """Few retries and a short timeout for MLflow's HTTP requests in the block.

    Only variables the user has not set are changed, and they are removed again after.
    """
    added = [name for name in _QUICK_HTTP if name not in os.environ]
    os.environ.update({name: _QUICK_HTTP[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _as_float(value: Any) -> float | None:
    """A metric value as MLflow's float: ±inf for a number too large for a float
    (``10**400``), as for a float inf; ``None`` for text and anything not a number."""
    from crystallize.reporting import as_float

    if isinstance(value, str | bytes) or value is None:
        return None
    return as_float(value)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MlflowPlugin(BasePlugin):
    """Log runs, replicates, hypotheses and artifacts to MLflow.

    Needs the ``mlflow`` extra (``pip install 'crystallize[mlflow]'``); MLflow is imported
    when a run starts, not when the plugin is created.

    Args:
        tracking_uri: where to log (``"sqlite:///mlflow.db"``, ``"http://host:5000"``,
            a directory, …). ``None`` uses MLflow's default (``MLFLOW_TRACKING_URI`` or
            ``./mlruns``).
        experiment_name: the MLflow experiment; defaults to the Crystallize experiment's
            name. Created when missing.
        artifact_location: artifact root for an MLflow experiment this plugin creates
            (ignored when the experiment exists).
        log_artifacts: upload the files steps wrote (needs an ArtifactPlugin with a
            ``root_dir``).
        html_report: attach the HTML report of the run to the parent run.
        strict: when ``False`` (default) a failure to reach MLflow is logged as a warning
            (once per reason and run) and the experiment goes on; when ``True`` it is
            raised. A missing ``mlflow`` package is raised either way.

    Attributes:
        parent_run_id: the MLflow id of the current (or last) experiment run's parent run.
        child_run_ids: ``{(condition, replicate): MLflow run id}`` of the current run.

    Example::

        experiment = Experiment(..., plugins=[MlflowPlugin(tracking_uri="sqlite:///mlflow.db")])
        experiment.run()    # then: mlflow ui --backend-store-uri sqlite:///mlflow.db
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        artifact_location: str | None = None,
        log_artifacts: bool = True,
        html_report: bool = True,
        strict: bool = False,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.artifact_location = artifact_location
        self.log_artifacts = log_artifacts
        self.html_report = html_report
        self.strict = strict
        self.parent_run_id: str | None = None
        self.child_run_ids: dict[tuple[str, int], str] = {}
        self._client: Any = None
        self._experiment_id: str | None = None
        self._fingerprint: str | None = None
        self._params: dict[str, dict[str, str]] = {}
        self._artifact_version: int | None = None
        self._open = False
        self._warned: set[str] = set()

    # -- pickling: workers never log, so they need none of the driver's state -------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_client=None, _open=False, child_run_ids={}, _params={}, _warned=set())
        return state

    # -- hooks (driver) ---------------------------------------------------------------------
    def before_run(self, experiment: Experiment) -> None:
        """Open the parent run for this ``experiment.run()`` (not for ``apply()`` or
        ``debug()``: they log nothing)."""
        self._warned = set()
        self._guard("start the MLflow parent run", self._start, experiment)

    def on_replicate_end(self, experiment: Experiment, record: ReplicateRecord) -> None:
        """Log one condition × replicate as a child run."""
        if self._open:
            self._guard(
                f"log replicate {record.condition} #{record.replicate}",
                self._log_replicate, experiment, record,
            )

    def after_run(self, experiment: Experiment, result: Result) -> None:
        """Log hypotheses, reports and the run id on the parent run and close it."""
        if self._open:
            self._guard("finish the MLflow parent run", self._finish, result)

    # -- implementation ---------------------------------------------------------------------
    def _guard(self, what: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:
            # A missing mlflow package is a set-up mistake, not MLflow being unreachable:
            # going on would log nothing, run after run.
            if self.strict or isinstance(exc, OptionalDependencyError):
                raise
            reason = exception_summary(exc)
            if reason in self._warned:  # e.g. the same failure for every replicate
                logger.debug("MlflowPlugin could not %s: %s", what, reason)
                return
            self._warned.add(reason)
            logger.warning("MlflowPlugin could not %s: %s", what, reason)

    @contextlib.contextmanager
    def _ending_on_failure(self, run_id: str) -> Iterator[None]:
        """Mark MLflow run ``run_id`` ``FAILED`` (``KILLED`` on Ctrl+C) when the block
        raises, so a run the plugin could not log in full is never left ``RUNNING``."""
        try:
            yield
        except BaseException as exc:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            with contextlib.suppress(Exception):
                self.client.set_terminated(run_id, status=status)
            raise

    @property
    def client(self) -> Any:
        """The :class:`mlflow.MlflowClient` used for logging (created on first use)."""
        if self._client is None:
            mlflow = require("mlflow", feature="MlflowPlugin", extra="mlflow")
            self._client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def _experiment(self, name: str) -> str:
        client = self.client
        found = client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                raise CrystallizeError(
                    f"MLflow experiment '{name}' is deleted (id {found.experiment_id}), so no run can "
                    f"be logged to it. Restore it (`mlflow experiments restore --experiment-id "
                    f"{found.experiment_id}`, or MlflowClient(...).restore_experiment("
                    f"'{found.experiment_id}')) or log to another one: "
                    "MlflowPlugin(experiment_name='...'). Its name stays taken until `mlflow gc` "
                    "removes it for good."
                )
            return found.experiment_id
        try:
            return client.create_experiment(name, artifact_location=self.artifact_location)
        except Exception:  # created meanwhile by another process
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _start(self, experiment: Experiment) -> None:
        from crystallize.fingerprint import fingerprint, spec_of
        from crystallize.lifecycle import run_kind

        stale, self._open = self._open, False
        if stale and self.parent_run_id is not None:  # the previous run() raised
            self.client.set_terminated(self.parent_run_id, status="FAILED")
        if run_kind() != "run":  # apply() or debug(): not a run, nothing logged
            return
        self.child_run_ids = {}
        self._artifact_version = None
        with _quick_http():  # an unreachable server fails in seconds, not minutes
            self._experiment_id = self._experiment(self.experiment_name or experiment.name)
        try:
            self._fingerprint = fingerprint(spec_of(experiment))
        except Exception:  # a spec that cannot be hashed must not stop the logging
            self._fingerprint = None
        self._params = self._condition_params(experiment)
        tags = {f"{_TAG}experiment": experiment.name, f"{_TAG}kind": "experiment"}
        if self._fingerprint:
            tags[f"{_TAG}fingerprint"] = self._fingerprint
        run = self.client.create_run(self._experiment_id, tags=tags, run_name=experiment.name)
        self.parent_run_id = run.info.run_id
        from mlflow.entities import Param

        params = [
            Param("replicates", str(experiment.replicates)),
            Param("treatments", _text(", ".join(t.name for t in experiment.treatments) or "-")),
        ]
        with self._ending_on_failure(self.parent_run_id):
            self.client.log_batch(self.parent_run_id, params=params)
        self._open = True

    @staticmethod
    def _condition_params(experiment: Experiment) -> dict[str, dict[str, str]]:
        """The context values each condition runs with, as MLflow param strings."""
        from crystallize.treatment import BASELINE

        base = {
            metric_key(k): _text(v) for k, v in experiment.initial_ctx.items()
            if _is_scalar(v) and str(k) != "seed"
        }
        params = {BASELINE: base}
        for treatment in experiment.treatments:
            values = dict(base)
            if isinstance(treatment.values, Mapping):
                values.update({metric_key(k): _text(v) for k, v in treatment.values.items() if str(k) != "seed"})
            elif treatment.values is not None:
                values["treatment_fn"] = _text(getattr(treatment.values, "__qualname__", treatment.values))
            params[treatment.name] = values
        return params

    def _log_replicate(self, experiment: Experiment, record: ReplicateRecord) -> None:
        client = self.client
        name = f"{record.condition}/{record.replicate}"
        tags = {
            "mlflow.parentRunId": self.parent_run_id,
            f"{_TAG}condition": record.condition,
            f"{_TAG}replicate": str(record.replicate),
            f"{_TAG}experiment": experiment.name,
        }
        if self._fingerprint:
            tags[f"{_TAG}fingerprint"] = self._fingerprint
        if record.error is not None:
            tags[f"{_TAG}error"] = _text(str(record.error))
        start_ms = int((record.started_at or time.time()) * 1000)
        run = client.create_run(self._experiment_id, start_time=start_ms, tags=tags, run_name=name)
        run_id = run.info.run_id
        self.child_run_ids[(record.condition, record.replicate)] = run_id
        with self._ending_on_failure(run_id):
            self._fill_child(experiment, record, run_id, start_ms)

    def _fill_child(self, experiment: Experiment, record: ReplicateRecord, run_id: str, start_ms: int) -> None:
        """Log a replicate's params, metrics and files to its child run and close it."""
        from mlflow.entities import Metric, Param

        client = self.client
        params = dict(self._params.get(record.condition, {}))
        params["seed"] = str(record.seed)
        end_ms = start_ms + int(record.duration * 1000)
        metrics = [
            Metric(metric_key(metric), number, end_ms, step)
            for metric, values in record.metrics.items()
            for step, value in enumerate(values)
            if (number := _as_float(value)) is not None
        ]
        metrics.append(Metric(f"{_TAG}duration_s", float(record.duration), end_ms, 0))
        param_list = [Param(k, v) for k, v in params.items()]
        for chunk in _chunks(param_list, _BATCH):
            client.log_batch(run_id, params=chunk)
        for chunk in _chunks(metrics, 10 * _BATCH):
            client.log_batch(run_id, metrics=chunk)
        if self.log_artifacts:
            self._upload_artifacts(experiment, record, run_id)
        status = "FAILED" if record.error is not None else "FINISHED"
        client.set_terminated(run_id, status=status, end_time=end_ms)

    def _artifact_files(self, experiment: Experiment, record: ReplicateRecord) -> list[tuple[str, Path]]:
        """``(artifact name, file)`` for every artifact the record's steps wrote.

        A failed replicate's step records miss the files its failing step wrote before it
        raised: for it, every file in the replicate's artifact directory is taken.
        """
        names = [name for step in record.steps for name in step.artifacts]
        if not names and record.error is None:
            return []
        location = self._artifact_location(experiment)
        if location is None:
            return []
        if record.error is not None:
            return _files_in(location, record.condition, record.replicate)
        files = [(n, location.path(record.condition, record.replicate, n)) for n in dict.fromkeys(names)]
        return [(n, p) for n, p in files if p.is_file()]

    def _artifact_location(self, experiment: Experiment) -> ArtifactLocation | None:
        """Where this run's artifacts are: the engine's location while a run goes, else
        the ArtifactPlugin's latest version directory."""
        from crystallize.artifacts import ArtifactLocation
        from crystallize.plugins.artifacts import ArtifactPlugin
        from crystallize.store.artifacts import latest_version

        if experiment.artifact_location is not None:
            return experiment.artifact_location
        plugin = experiment.get_plugin(ArtifactPlugin)
        if plugin is None or plugin.root_dir is None:
            return None
        if self._artifact_version is None:
            self._artifact_version = latest_version(plugin.root_dir, experiment.name)
        if self._artifact_version is None:
            return None
        return ArtifactLocation(plugin.root_dir, experiment.name, self._artifact_version)

    def _upload_artifacts(self, experiment: Experiment, record: ReplicateRecord, run_id: str) -> None:
        for name, path in self._artifact_files(experiment, record):
            folder = str(Path(name).parent)
            self.client.log_artifact(run_id, str(path), artifact_path=None if folder == "." else folder)

    def _finish(self, result: Result) -> None:
        parent = self.parent_run_id
        assert parent is not None
        self._open = False
        with self._ending_on_failure(parent):
            self._fill_parent(result, parent)

    def _fill_parent(self, result: Result, parent: str) -> None:
        """Log a run's hypotheses, reports and ids to its parent run and close it."""
        from mlflow.entities import Metric, Param, RunTag

        client = self.client
        now = int(time.time() * 1000)
        tags = [RunTag(f"{_TAG}errors", str(len(result.errors)))]
        if result.run_id:
            tags.append(RunTag(f"{_TAG}run_id", result.run_id))
            for child in self.child_run_ids.values():
                client.set_tag(child, f"{_TAG}run_id", result.run_id)
        resumed = result.info.get("resumed") or 0
        if result.run_id and resumed and result.info.get("strategy") == "resume":
            tags.append(RunTag(f"{_TAG}resume_of", result.run_id))
            tags.append(RunTag("mlflow.note.content", (
                f"Resume of run {result.run_id}: {resumed} replicate record(s) loaded from the store "
                f"are not logged again here, {result.info.get('computed', 0)} recomputed."
            )))
        fingerprint = result.info.get("fingerprint")
        if fingerprint and not self._fingerprint:
            tags.append(RunTag(f"{_TAG}fingerprint", str(fingerprint)))
        params = [Param("base_seed", str(result.base_seed))]
        metrics = [Metric(k, v, now, 0) for k, v in hypothesis_metrics(result.hypotheses).items()]
        client.log_batch(parent, params=params, tags=tags)
        for chunk in _chunks(metrics, 10 * _BATCH):
            client.log_batch(parent, metrics=chunk)
        payload = [h.to_dict() for h in result.hypotheses]
        client.log_text(parent, json.dumps(payload, indent=2, default=_json_default), "hypotheses.json")
        client.log_text(parent, result.report(), "report.txt")
        if self.html_report:
            from crystallize.reporting_html import render_html

            client.log_text(parent, render_html(result), "report.html")
        client.set_terminated(parent, status=_parent_status(result), end_time=now)


def _files_in(location: ArtifactLocation, condition: str, replicate: int) -> list[tuple[str, Path]]:
    """``(artifact name, file)`` for each file in one replicate's artifact directory,
    leaving out the temporary files of writes in progress and symbolic links (a link to
    a dataset, or to anything outside the directory, is not uploaded)."""
    from crystallize.store.artifacts import version_dir

    folder = version_dir(location.root, location.experiment, location.version) / condition / str(replicate)
    if not folder.is_dir():
        return []
    inside = folder.resolve()
    return sorted(
        (path.relative_to(folder).as_posix(), path) for path in folder.rglob("*")
        if not path.is_symlink() and path.is_file() and path.resolve().is_relative_to(inside)
        and not (path.name.startswith(".") and path.name.endswith(".tmp"))
    )


def _parent_status(result: Result) -> str:
    """The MLflow status of the parent run: a run that raised carries how it ended in
    ``info["status"]`` (``cancelled`` for Ctrl+C; ``failed``, or ``completed`` when only
    verifying its hypotheses raised); one that did not raise has none."""
    ended = result.info.get("status")
    if ended is None:
        return "FINISHED"
    return "KILLED" if ended == "cancelled" else "FAILED"


def hypothesis_metrics(hypotheses: Iterable[HypothesisResult]) -> dict[str, float]:
    """Parent-run metrics for hypothesis results.

    Keys are ``hyp.<hypothesis>.<treatment>.<field>`` — with ``<metric>`` before
    ``<field>`` when the hypothesis reads several metrics — for ``p_value``,
    ``p_value_adjusted``, ``effect_size``, ``difference``, ``ci_low``, ``ci_high`` and
    ``significant`` (1 or 0). Values that are missing or not finite are left out.
    """
    from crystallize.reporting_html.summary import hypothesis_rows

    out: dict[str, float] = {}
    for hyp in hypotheses:
        several = len(hyp.metrics) > 1
        for row in hypothesis_rows(hyp):
            if row.error:
                continue
            prefix = ["hyp", hyp.name, row.treatment] + ([row.metric] if several else [])
            values: dict[str, float | None] = {f: getattr(row, f) for f in _HYPOTHESIS_FIELDS}
            if row.ci is not None:
                values["ci_low"], values["ci_high"] = row.ci
            if row.significant is not None:
                values["significant"] = 1.0 if row.significant else 0.0
            for field, value in values.items():
                if value is not None and math.isfinite(value):
                    out[metric_key(*prefix, field)] = float(value)
    return out


def _json_default(obj: Any) -> Any:
    """A value :mod:`json` does not know as the store writes it (see
    :func:`~crystallize.store.serialize.json_default`: ``np.longdouble``, whose
    ``tolist()`` gives it back, as the nearest ``float``), else its ``repr()`` text."""
    from crystallize.store.serialize import _repr_text, json_default

    try:
        return json_default(obj)
    except TypeError:
        return _repr_text(obj)


__all__ = ["MlflowPlugin", "hypothesis_metrics", "metric_key"]
