"""Datasources built from ``config.yaml``: another experiment's output, and several sources at once.

``datasource: {features: producer#result}`` makes an :class:`UpstreamOutput`: every
replicate reads the file of output ``result`` written by experiment ``producer``:

* from the artifact version (``<root>/producer/v<N>``) of the newest run of ``producer``
  the store recorded (whatever its number: an unversioned run after versioned ones writes
  ``v0``); without a recorded run, from the highest ``v<N>`` on disk,
* for its ``baseline`` condition (whatever condition the consumer runs),
* for the same replicate index as the consumer's replicate; when the consumer has more
  replicates than that run had (``n``), index ``r`` reads replicate ``r % n``. A
  replicate of the run that wrote nothing (it failed) is an error, never read from
  another index. Without a recorded run, ``n`` is one more than the highest replicate
  directory found,

and decodes it with the output's ``loader`` (raw bytes without one). ``<root>`` is the
consuming experiment's ``plugins.artifacts.root_dir`` (``data`` by default, relative to
the working directory) when the run starts, which must be the producer's too: the
``UpstreamOutput`` built from ``config.yaml`` has no ``root_dir`` of its own, so it follows
the consumer's root when that is changed after loading (``--set
plugins.artifacts.root_dir=...``); one built in code without a ``root_dir`` does too.

In an :class:`~crystallize.config.ExperimentGraph`, once the graph's producer experiment
has run (or resumed) in this process, its consumers read that run's version instead of
the newest run's (see :meth:`UpstreamOutput.follow`): a graph's consumers read what the
graph ran upstream, not a newer run made with another seed or by another process. When
such a newer run has written over that version (an unversioned producer keeps only its
latest run's files), the consumer refuses to start rather than read the newer run.

A run of the consumer fixes the version and ``n`` once, when it starts
(:meth:`UpstreamOutput.pin`), so every replicate reads the same producer run even if the
producer is run again meanwhile; the run stores which producer run that is (see
:meth:`UpstreamOutput.pinned_run`), and a resumed run reads exactly that one again. When the latest version is still being written by a
running producer run, the consumer reads the version of the producer's last completed run
instead (with a warning), and refuses to start when there is none. A replicate that finds
the pinned version replaced (an unversioned producer run again) fails saying so.

Several aliases make a :class:`CombinedSource` whose data is ``{alias: value}``.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from crystallize.artifacts import load_artifact_file
from crystallize.datasource import DataSource
from crystallize.exceptions import ConfigError
from crystallize.store.artifacts import artifact_path, is_side_version, latest_version, version_dir
from crystallize.treatment import BASELINE
from crystallize.utils.context import FrozenContext

if TYPE_CHECKING:
    from crystallize.experiment import Experiment
    from crystallize.store.base import RunInfo


class MissingUpstreamArtifactError(ConfigError):
    """The artifact file another experiment should have written is not on disk."""


#: The artifact root an upstream output reads under when neither it nor the reading
#: experiment names one (the ArtifactPlugin's default).
DEFAULT_ROOT = "data"


def expanded_root(root: str | os.PathLike[str]) -> str:
    """``root`` as the run store takes it: a leading ``~``/``~user`` expanded to that home
    directory (as :class:`~crystallize.plugins.ArtifactPlugin` does); any other root
    unchanged (a relative root stays relative to the working directory).

    Raises:
        StoreError: it starts with a ``~`` that names no home directory (an unknown user).
    """
    from crystallize.store.opening import data_directory

    text = os.fspath(root)
    return os.fspath(data_directory(text)) if text.startswith("~") else text


#: The producer experiment each :class:`UpstreamOutput` follows (see
#: :meth:`UpstreamOutput.follow`). Kept off the instances: their attributes count in the
#: reading experiment's fingerprint, and they travel to workers.
_FOLLOWED: weakref.WeakKeyDictionary[UpstreamOutput, Experiment] = weakref.WeakKeyDictionary()


class _Pin(NamedTuple):
    """The upstream version a run reads, its replicate count, the identity of its
    directory then (to notice it replaced), the id of the run that wrote it (if known),
    the artifact root it is under, and the baseline replicates that run failed (their
    files, if any, are left unread)."""

    version: int | None
    count: int
    identity: tuple[int, int, int] | None
    run_id: str | None = None
    root: str = DEFAULT_ROOT
    failed: frozenset[int] = frozenset()


class UpstreamOutput(DataSource):
    """A datasource that loads an output file written by another experiment.

    Args:
        experiment: the upstream experiment's name.
        output: the alias of the output in the upstream experiment's ``outputs``.
        file_name: the artifact file name (defaults to ``output``; an
            :class:`~crystallize.config.ExperimentGraph` sets the upstream Artifact's name).
        loader: ``fn(bytes) -> object`` decoding the file (raw bytes without one).
        root_dir: the artifact root the upstream experiment writes under; by default the
            ``root_dir`` of the reading experiment's ArtifactPlugin (``data`` without one).
            When given, it must be that root too: the upstream's runs are looked up in the
            reading experiment's store. A leading ``~`` is the home directory, as for
            ArtifactPlugin; :attr:`root_dir` keeps it as given.
        upstream_fingerprint: the upstream experiment's spec fingerprint, when known, so
            a changed upstream also changes this experiment's fingerprint (and a resumed
            run recomputes); an ExperimentGraph fills it in.

    Attributes:
        file_name_given: whether ``file_name`` was passed (else it is ``output`` until a
            graph fills in the upstream's).

    Picklable (the loader is pickled by reference), so process and Ray workers can use it;
    a pinned version (:meth:`pin`) travels with it.
    """

    #: What :meth:`pin` fixed. Set on the instance only while a run is going: the
    #: instance's attributes count in the experiment's fingerprint.
    _pin: _Pin | None = None

    def __init__(
        self,
        experiment: str,
        output: str,
        file_name: str | None = None,
        loader: Callable[[bytes], Any] | None = None,
        root_dir: str | os.PathLike[str] | None = None,
        upstream_fingerprint: str | None = None,
    ) -> None:
        self.experiment = experiment
        self.output = output
        self.file_name = file_name or output
        self.file_name_given = bool(file_name)
        self.loader = loader
        self.root_dir = None if root_dir is None else os.fspath(root_dir)
        if self.root_dir is not None:
            _check_home(self.root_dir)
        self.params = {
            "experiment": experiment,
            "output": output,
            "file_name": self.file_name,
            "loader": getattr(loader, "__qualname__", None),
            "upstream_fingerprint": upstream_fingerprint,
        }

    @property
    def name(self) -> str:
        """``experiment#output``."""
        return f"{self.experiment}#{self.output}"

    def fill_in(self, *, file_name: str | None = None, upstream_fingerprint: str | None = None) -> None:
        """Complete what the upstream experiment tells (an ExperimentGraph calls it): the
        output's ``file_name`` when none was given, and ``upstream_fingerprint`` when unknown."""
        if file_name is not None and not self.file_name_given:
            self.file_name = self.params["file_name"] = file_name
        if upstream_fingerprint is not None and self.params["upstream_fingerprint"] is None:
            self.params["upstream_fingerprint"] = upstream_fingerprint

    def follow(self, producer: Experiment) -> None:
        """Read the producer run that ``producer`` (the experiment named
        :attr:`experiment`) last ran or resumed in this process, rather than the newest run
        of that name, once ``producer`` has run; before that, :meth:`pin` takes the newest.

        An :class:`~crystallize.config.ExperimentGraph` calls it for every output its
        experiments read, so that running (or resuming) the graph, by
        :meth:`~crystallize.config.ExperimentGraph.run` or by running its experiments in
        order, pairs each consumer with the producer run the graph just ran, not with a
        newer run (made with another seed, or by another process).
        """
        _FOLLOWED[self] = producer

    def _followed_run(self, root: Path) -> tuple[int, str | None] | None:
        """The version the followed producer's last run in this process wrote under
        ``root`` (see :meth:`follow`) and that run's id, or ``None``."""
        location = getattr(_FOLLOWED.get(self), "artifact_location", None)
        if location is None or location.experiment != self.experiment:
            return None
        if os.path.abspath(location.root) != os.path.abspath(root):
            return None  # it ran under another root: its runs are not in this store
        return int(location.version), location.run_id

    def _replaced_since(self, followed_run: str, writer: RunInfo) -> MissingUpstreamArtifactError:
        """The error for a followed producer run whose files a newer run replaced."""
        return MissingUpstreamArtifactError(
            f"Datasource '{self.name}': the run of '{self.experiment}' this graph ran, "
            f"{followed_run}, wrote v{writer.artifact_version}, but run {writer.run_id} of "
            f"'{self.experiment}' (process {writer.pid} on {writer.hostname}) has replaced those files since: an unversioned experiment "
            "keeps only its latest run's artifacts. Run the graph again (graph.run(), or "
            f"crystallize run on the experiment reading '{self.name}'), which runs "
            f"'{self.experiment}' first; or make '{self.experiment}' versioned "
            "(plugins.artifacts.versioned: true) so that its earlier runs' files stay."
        )

    def root_for(self, reader_root: str | os.PathLike[str] | None) -> str:
        """The artifact root this output is read under by an experiment whose
        ArtifactPlugin has ``root_dir=reader_root``: its own ``root_dir``, else
        ``reader_root``, else ``data``; a leading ``~`` expanded (see :func:`expanded_root`).

        Raises:
            ConfigError: ``root_dir`` was given and is not ``reader_root`` (the upstream's
                runs are looked up in the reading experiment's store).
        """
        if self.root_dir is None:
            return expanded_root(reader_root) if reader_root is not None else DEFAULT_ROOT
        own = expanded_root(self.root_dir)
        if reader_root is not None and os.path.abspath(own) != os.path.abspath(expanded_root(reader_root)):
            raise ConfigError(
                f"Datasource '{self.name}' reads artifacts under root_dir {self.root_dir!r}, but the "
                f"experiment reading it keeps its runs under {os.fspath(reader_root)!r}. Leave "
                "UpstreamOutput's root_dir unset (it then reads under the reading experiment's "
                f"root) and give '{self.experiment}' and the reading experiment the same "
                "ArtifactPlugin root_dir."
            )
        return own

    def pin(
        self,
        runs: Sequence[RunInfo] = (),
        is_live: Callable[[RunInfo], bool] | None = None,
        reader_root: str | os.PathLike[str] | None = None,
        failed: Callable[[str], set[int]] | None = None,
    ) -> str | None:
        """Fix the version (and replicate count) every replicate reads until :meth:`unpin`.

        A run calls it in the driver before any replicate starts. Without a pin, each read
        looks for the latest version again.

        Args:
            runs: the store's runs of the upstream experiment, newest first: the newest
                one with artifacts on disk gives the version and replicate count (the
                highest version on disk without one); it is passed over for the last
                completed one while it is still running. An output that follows a
                producer which has run (see :meth:`follow`) reads that run's version
                instead, with that run's replicate count.
            is_live: whether a ``running`` run has a live driver (default: all do).
            reader_root: the reading experiment's artifact root (see :meth:`root_for`).
            failed: ``fn(run_id)`` giving the baseline replicates a stored run failed: a
                failed replicate may have written its file before it failed, and that
                file is not read (its reads raise :class:`MissingUpstreamArtifactError`).

        Returns:
            A warning when the latest version is being written and an older completed
            one is read instead, else ``None``.

        Raises:
            MissingUpstreamArtifactError: a running run writes the latest version and no
                completed run left another one to read; or the followed producer run's
                version was written over by a newer run since (an unversioned producer).
            ConfigError: ``root_dir`` is not ``reader_root``.
        """
        root = Path(self.root_for(reader_root))
        followed = self._followed_run(root)
        note = None
        if followed is not None:
            version, followed_run = followed
            writer = _writer_of(runs, version)
            if writer is not None and followed_run is not None and writer.run_id != followed_run:
                raise self._replaced_since(followed_run, writer)
            self._pin = _resolve(root, self.experiment, version, writer)
        else:
            writer = _newest_writer(root, self.experiment, runs)
            if writer is not None and writer.status == "running" and (is_live is None or is_live(writer)):
                writer, note = self._completed_instead(root, runs, writer)
            if writer is None:  # no run recorded its version: go by what is on disk
                self._pin = _resolve(root, self.experiment, latest_version(root, self.experiment))
            else:
                self._pin = _resolve(root, self.experiment, writer.artifact_version, writer)
        if writer is not None and failed is not None:
            self._pin = self._pin._replace(failed=frozenset(failed(writer.run_id)))
        return note

    def pinned_run(self) -> dict[str, Any] | None:
        """What the pin reads, as a consumer run stores it: ``{"experiment", "output",
        "run_id", "version"}`` (``run_id`` ``None`` when no stored run wrote the version,
        ``version`` ``None`` when there is none); ``None`` while not pinned."""
        pin = self._pin
        if pin is None:
            return None
        return {"experiment": self.experiment, "output": self.output, "run_id": pin.run_id, "version": pin.version}

    @property
    def pinned_replicates(self) -> int | None:
        """The replicate count ``n`` of the pinned run (``None`` while not pinned)."""
        return self._pin.count if self._pin is not None else None

    def unpin(self) -> None:
        """Forget the pinned version: reads look for the latest one again."""
        self.__dict__.pop("_pin", None)

    def _completed_instead(self, root: Path, runs: Sequence[RunInfo], writer: RunInfo) -> tuple[RunInfo, str]:
        """The newest completed run whose files are still there, and a warning saying so
        (raises when there is none)."""
        busy = (
            f"Datasource '{self.name}': run {writer.run_id} of '{self.experiment}' (process "
            f"{writer.pid} on {writer.hostname}) is still running and writing "
            f"v{writer.artifact_version}"
        )
        for run in runs:
            version = run.artifact_version
            if (
                run.status == "completed" and version is not None and _writer_of(runs, version) is run
                and version_dir(root, self.experiment, version).is_dir()
            ):
                return run, (
                    f"{busy}, so this run reads v{version}, written by its last completed run "
                    f"{run.run_id}; run this again once {writer.run_id} has finished to read its output."
                )
        raise MissingUpstreamArtifactError(
            f"{busy}, and no completed run of '{self.experiment}' left artifacts to read instead. "
            "Wait until it has finished, then run this again (with plugins.artifacts.versioned: "
            f"true, '{self.experiment}' keeps its last completed run's files while it runs again)."
        )

    def path_for(self, replicate: int) -> Path:
        """The file consumer replicate ``replicate`` reads (see the module docstring).

        Raises:
            MissingUpstreamArtifactError: the upstream experiment has no artifacts, the
                replicate's file does not exist, or the pinned version was replaced.
        """
        return self._locate(replicate)[0]

    def _locate(self, replicate: int) -> tuple[Path, _Pin]:
        pin = self._pin or self._latest()
        root = Path(pin.root)
        if pin.version is None:
            raise MissingUpstreamArtifactError(
                f"Datasource '{self.name}': experiment '{self.experiment}' has no artifacts under "
                f"{root / self.experiment}. Run '{self.experiment}' first (an ExperimentGraph runs "
                "upstream experiments first), with the same artifacts root_dir."
            )
        index = replicate % pin.count if pin.count and replicate >= pin.count else replicate
        if index in pin.failed:
            raise MissingUpstreamArtifactError(
                f"Datasource '{self.name}': replicate {index} of '{self.experiment}' (baseline) "
                f"failed in run {pin.run_id}, so output '{self.output}' is not read from it (a file "
                "it wrote before failing is no result) — see that run's errors, then run "
                f"'{self.experiment}' again (strategy='resume' finishes failed replicates)."
            )
        path = artifact_path(root, self.experiment, pin.version, BASELINE, index, self.file_name)
        if not path.is_file():
            self._check_unchanged(pin)
            raise MissingUpstreamArtifactError(self._missing_file(path, index, pin))
        return path, pin

    def _missing_file(self, path: Path, index: int, pin: _Pin) -> str:
        """Why ``path`` is not there: a file name never filled in (the replicate's folder
        holds other files), or a replicate that wrote nothing."""
        run = f"run {pin.run_id}" if pin.run_id is not None else "that run"
        try:
            written = sorted(entry.name for entry in path.parent.iterdir())
        except OSError:
            written = []
        if written and not self.file_name_given:
            return (
                f"Datasource '{self.name}': {path} does not exist, but replicate {index}'s folder "
                f"holds {', '.join(map(repr, written[:5]))}{' …' if len(written) > 5 else ''}. "
                f"Outside an ExperimentGraph, UpstreamOutput reads the file named after its "
                f"output ({self.file_name!r}): give file_name= the name the upstream Artifact "
                "writes, or build the experiments with ExperimentGraph.from_experiments(...), "
                "which fills it in."
            )
        if written:
            return (
                f"Datasource '{self.name}': {path} does not exist; replicate {index} of "
                f"'{self.experiment}' (baseline) wrote {', '.join(map(repr, written[:5]))}"
                f"{' …' if len(written) > 5 else ''} in {run}, not {self.file_name!r}: check "
                "UpstreamOutput's file_name against the name the upstream Artifact writes."
            )
        return (
            f"Datasource '{self.name}': {path} does not exist. Replicate {index} of "
            f"'{self.experiment}' (baseline) did not write output '{self.output}' in {run} "
            f"— it may have failed, or {run} did not run it (debug(store=True) stores a run "
            f"of the one replicate it debugged); see {run}'s errors, then run "
            f"'{self.experiment}' again (strategy='resume' finishes failed replicates)."
        )

    def _latest(self) -> _Pin:
        """An unpinned read: the latest version under ``root_dir`` (else ``data``)."""
        root = Path(self.root_for(None))
        return _resolve(root, self.experiment, latest_version(root, self.experiment))

    def _check_unchanged(self, pin: _Pin) -> None:
        """Raise when the pinned version directory was replaced since it was pinned."""
        assert pin.version is not None
        where = version_dir(pin.root, self.experiment, pin.version)
        now = _identity(where)
        if pin.identity is not None and now != pin.identity:
            raise MissingUpstreamArtifactError(
                f"Datasource '{self.name}': experiment '{self.experiment}' was run again (or its "
                f"artifacts deleted) while this run was reading its artifacts: {where} was "
                f"{'replaced' if now is not None else 'removed'}, so the files this run started "
                f"with are gone. Run this again once '{self.experiment}' has finished; make "
                f"'{self.experiment}' versioned (plugins.artifacts.versioned: true) so that running "
                "it again never replaces files other experiments read."
            )

    def fetch(self, ctx: FrozenContext) -> Any:
        """Load and decode the upstream file for ``ctx["replicate"]``."""
        path, pin = self._locate(int(ctx.get("replicate", 0)))
        try:
            data = load_artifact_file(path, self.loader)
        except Exception:  # e.g. the file went away meanwhile: say why, if that is why
            self._check_unchanged(pin)
            raise
        self._check_unchanged(pin)  # the file read may be a new run's
        return data

    def __repr__(self) -> str:
        return f"UpstreamOutput({self.name!r}, file_name={self.file_name!r}, root_dir={self.root_dir!r})"


def _check_home(root_dir: str) -> None:
    """Raise ValueError when ``root_dir`` starts with a ``~`` naming no home directory."""
    from crystallize.exceptions import StoreError

    try:
        expanded_root(root_dir)
    except StoreError:
        raise ValueError(
            f"UpstreamOutput root_dir is {root_dir!r}, whose leading '~' names no home directory "
            "(no such user, or no home directory known); give the directory in full, or "
            "start it with './' for a directory of that name in the working directory."
        ) from None


def _writer_of(runs: Sequence[RunInfo], version: int | None) -> RunInfo | None:
    """The newest of ``runs`` (newest first) that wrote ``v<version>``, or ``None``."""
    if version is None:
        return None
    return next((run for run in runs if run.artifact_version == version), None)


def _newest_writer(root: Path, experiment: str, runs: Sequence[RunInfo]) -> RunInfo | None:
    """The newest of ``runs`` (newest first) whose ``v<N>`` is on disk and not a side
    version (the latest artifacts of an unversioned experiment stay in ``v0``)."""
    for run in runs:
        version = run.artifact_version
        if (
            version is not None and version_dir(root, experiment, version).is_dir()
            and not is_side_version(root, experiment, version)
        ):
            return run
    return None


def _resolve(root: Path, experiment: str, version: int | None, run: RunInfo | None = None) -> _Pin:
    """Pin ``version``, written by ``run`` when known: note the replicate count (the
    run's, else one more than the highest replicate directory) and the identity."""
    if version is None:
        return _Pin(None, 0, None, root=str(root))
    where = version_dir(root, experiment, version)
    if run is not None:
        return _Pin(version, run.replicates, _identity(where), run.run_id, str(root))
    found = _replicate_dirs(where / BASELINE)
    return _Pin(version, max(found) + 1 if found else 0, _identity(where), root=str(root))


def _identity(folder: Path) -> tuple[int, int, int] | None:
    """What changes when ``folder`` is replaced by a new one of the same name (its inode
    alone may be reused at once), or ``None`` when it does not exist."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_ctime_ns


def _replicate_dirs(condition_dir: Path) -> list[int]:
    try:
        entries = list(os.scandir(condition_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [int(e.name) for e in entries if e.name.isdigit() and e.is_dir()]


class CombinedSource(DataSource):
    """Several datasources at once: the data is ``{alias: that source's data}``.

    Args:
        sources: ``{alias: DataSource}``, fetched in this order.

    Async sources are awaited (concurrently) when any source is async.
    """

    def __init__(self, sources: Mapping[str, DataSource]) -> None:
        self.sources = dict(sources)

    @property
    def params(self) -> dict[str, Any]:  # type: ignore[override]
        """``{alias: {"name", "params", "code"}}`` of each source, read when asked, so it
        shows what an ExperimentGraph filled in since (file names, fingerprints)."""
        from crystallize.fingerprint import code_hash

        return {
            alias: {
                "name": getattr(source, "name", type(source).__name__),
                "params": dict(getattr(source, "params", {}) or {}),
                "code": code_hash(source),
            }
            for alias, source in self.sources.items()
        }

    @property
    def name(self) -> str:
        """``combined(alias, ...)``."""
        return f"combined({', '.join(self.sources)})"

    def fetch(self, ctx: FrozenContext) -> Any:
        """``{alias: source.fetch(ctx)}``; a coroutine when any source is async."""
        values = {alias: source.fetch(ctx) for alias, source in self.sources.items()}
        if any(_awaitable(v) for v in values.values()):
            return _gather(values)
        return values

    def __repr__(self) -> str:
        return f"CombinedSource({self.sources!r})"


def _awaitable(value: Any) -> bool:
    return hasattr(type(value), "__await__")


async def _gather(values: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    pending = {alias: v for alias, v in values.items() if _awaitable(v)}
    done = await asyncio.gather(*pending.values())
    return {alias: (done[list(pending).index(alias)] if alias in pending else v) for alias, v in values.items()}


def experiment_upstreams(experiment: Any) -> list[UpstreamOutput]:
    """Every :class:`UpstreamOutput` the experiment reads, each once: in its datasource
    and in its treatments' datasources."""
    sources = [experiment.datasource] + [getattr(t, "datasource", None) for t in experiment.treatments]
    found = {id(ref): ref for source in sources for ref in upstream_refs(source)}
    return list(found.values())


def upstream_refs(datasource: Any) -> Iterator[UpstreamOutput]:
    """Every :class:`UpstreamOutput` inside ``datasource`` (itself, or in a CombinedSource)."""
    if isinstance(datasource, UpstreamOutput):
        yield datasource
    elif isinstance(datasource, CombinedSource):
        for source in datasource.sources.values():
            yield from upstream_refs(source)


def describe_read(entry: Mapping[str, Any]) -> str:
    """One stored upstream read (an entry of a run's ``summary["upstream"]``), in words:
    ``run 2a4dbba8ba31 (v0)``, ``v2 (written by no stored run)`` or ``nothing (it had no
    artifacts)``."""
    version, run_id = entry.get("version"), entry.get("run_id")
    if not isinstance(version, int) or isinstance(version, bool):
        return f"run {run_id}" if run_id else "nothing (it had no artifacts)"
    return f"run {run_id} (v{version})" if run_id else f"v{version} (written by no stored run)"


__all__ = [
    "CombinedSource",
    "MissingUpstreamArtifactError",
    "UpstreamOutput",
    "describe_read",
    "expanded_root",
    "experiment_upstreams",
    "upstream_refs",
]
