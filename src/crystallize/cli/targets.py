"""Finding what a command names: an experiment or graph, by name or by path.

Experiments are discovered under the working directory (``experiments/**/config.yaml``,
see :func:`crystallize.config.discover`). A path (a folder holding ``config.yaml``, or
the file itself) loads that folder and the experiments it reads from.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crystallize.cli.errors import UserError, known, suggest

if TYPE_CHECKING:
    from crystallize.config import Discovery, ExperimentGraph
    from crystallize.experiment import Experiment

#: The group of experiments whose config names none.
DEFAULT_GROUP = "Experiments"


@dataclass
class Target:
    """What ``crystallize run`` runs.

    Attributes:
        name: the experiment's name.
        experiment: the named experiment.
        graph: the graph of it and everything upstream of it, when it reads other
            experiments' outputs (``None`` otherwise).
    """

    name: str
    experiment: Experiment
    graph: ExperimentGraph | None = None

    @property
    def experiments(self) -> list[Experiment]:
        """Every experiment to run, upstream first."""
        return list(self.graph) if self.graph is not None else [self.experiment]


@dataclass
class CatalogEntry:
    """One line of a listing: an experiment or a graph, with its display options."""

    name: str
    kind: str  # "experiment" or "graph"
    group: str
    priority: int
    experiment: Experiment
    graph: ExperimentGraph | None = None
    hidden: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A unique id: ``experiment:NAME`` or ``graph:NAME``."""
        return f"{self.kind}:{self.name}"


@contextlib.contextmanager
def stdout_to_stderr(enabled: bool = True) -> Iterator[None]:
    """While ``enabled``, send what is printed to stdout to stderr instead.

    Importing an experiment folder runs its modules, and a top-level ``print()`` there
    would land in front of ``--json`` output; commands load and run under this so stdout
    holds only the JSON. Output that bypasses ``sys.stdout`` goes to stderr too: file
    descriptor 1 points at stderr meanwhile (a step running ``subprocess.run(["echo",
    ...])``, C code writing to stdout, worker processes started meanwhile), and is put
    back afterwards.
    """
    if not enabled:
        yield
        return
    with _fd_stdout_to_stderr(), contextlib.redirect_stdout(sys.stderr):
        yield


def _fd_stdout_to_stderr() -> contextlib.AbstractContextManager[bool]:
    """Point file descriptor 1 at file descriptor 2 while the block runs (nothing is
    done when either is closed)."""
    return fds_pointed_at(2, (1,))


@contextlib.contextmanager
def fds_pointed_at(target: int, fds: tuple[int, ...]) -> Iterator[bool]:
    """Point each file descriptor of ``fds`` at ``target`` while the block runs, so that
    output bypassing ``sys.stdout``/``sys.stderr`` (subprocesses, C code, worker
    processes started meanwhile) goes there; each is put back afterwards. What was
    written before is flushed first, and what was written in the block before the
    descriptors are put back, so that each write lands where its descriptor pointed.

    Yields ``True``, or ``False`` (and nothing is redirected) when a descriptor is closed:
    nothing to protect, or nowhere to send it.
    """
    import os

    _flush_stdout()
    saved: list[tuple[int, int]] = []
    try:
        for fd in fds:
            saved.append((fd, os.dup(fd)))
        os.fstat(target)
    except OSError:
        for _, copy in saved:
            os.close(copy)
        yield False
        return
    try:
        for fd in fds:
            os.dup2(target, fd)
        yield True
    finally:
        _flush_stdout()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)


def _flush_stdout() -> None:
    """Flush what was written to stdout and stderr so far (Python's and the C library's
    buffers), so that it lands where file descriptors 1 and 2 pointed when it was written."""
    for stream in (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):  # C code's printf output, buffered in libc
        import ctypes

        ctypes.CDLL(None).fflush(None)


def discover_here(root: str | Path = ".") -> Discovery:
    """Discover the experiments under ``root`` (the working directory by default)."""
    from crystallize.config import discover

    return discover(root)


def group_of(experiment: Experiment) -> tuple[str, int, bool]:
    """``(group, priority, hidden)`` of an experiment from its ``cli:`` options."""
    cli = getattr(experiment, "cli", None)
    group = getattr(cli, "group", None) or DEFAULT_GROUP
    priority = getattr(cli, "priority", 0) or 0
    return group, int(priority), bool(getattr(cli, "hidden", False))


def catalog(found: Discovery, include_hidden: bool = False) -> list[CatalogEntry]:
    """Experiments and graphs in display order: by group, then priority, then name.

    Graphs (an experiment together with everything it reads from) come after the
    experiments of their group, named after their final experiment.
    """
    entries: list[CatalogEntry] = []
    for name, experiment in found.experiments.items():
        group, priority, hidden = group_of(experiment)
        if hidden and not include_hidden:
            continue
        entries.append(CatalogEntry(name, "experiment", group, priority, experiment, hidden=hidden))
        graph = found.graphs.get(name)
        if graph is not None:
            entries.append(CatalogEntry(name, "graph", group, priority, experiment, graph, hidden=hidden))
    groups: dict[str, int] = {}
    for entry in sorted(entries, key=lambda e: (e.priority, e.name)):
        groups.setdefault(entry.group, len(groups))
    return sorted(entries, key=lambda e: (groups[e.group], e.kind == "graph", e.priority, e.name))


def looks_like_path(value: str) -> bool:
    """True when ``value`` names a file or folder rather than an experiment."""
    return "/" in value or "\\" in value or value.endswith((".yaml", ".yml")) or value in (".", "..")


def names_folder(value: str) -> bool:
    """True when ``value`` is to be read as a path to an experiment folder or its config,
    not as an experiment name: it looks like a path, or is a folder holding config.yaml.

    Raises:
        UserError: ``value`` can be neither a name nor a path: it is too long, or holds a
            NUL byte (see :func:`check_path_text`).
    """
    if looks_like_path(value):
        check_path_text(value, "the path")
        return True
    check_path_text(value, "the experiment name or path")
    path = Path(value)
    try:
        return path.is_dir() and (path / "config.yaml").is_file()
    except (OSError, ValueError):  # it cannot be examined: it is not a folder, but may be a name
        return False


def check_path_text(value: str, what: str) -> None:
    """Refuse ``value`` (``what`` the user gave, e.g. ``--root``) when no path can be
    spelled so: it holds a NUL byte, or it or one of its names is too long for the OS.

    Raises:
        UserError: ``<what> 'yyyy…' (300 characters) is too long: ...``.
    """
    from crystallize.config.errors import path_problem, quoted_path

    problem = path_problem(value)
    if problem is not None:
        raise UserError(f"{what} {quoted_path(value)} {problem}.")


def stat_problem(path: Path) -> OSError | None:
    """The error examining ``path`` (following symbolic links) raises, else ``None``."""
    import os

    try:
        os.stat(path)
    except OSError as exc:
        return exc
    except ValueError as exc:  # a NUL byte: refused before (check_path_text), but be safe
        return OSError(0, str(exc))
    return None


def unreadable(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot be read, from the ``exc`` examining it raised (``""`` when it
    does not exist: the caller says so)."""
    import errno

    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        if path.is_symlink():
            import os

            with contextlib.suppress(OSError):
                return f"{display(path)} is a symbolic link to {os.readlink(path)}, which does not exist"
        return ""
    reasons = {
        errno.ELOOP: "it is a symlink loop (too many levels of symbolic links)",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENAMETOOLONG: "the path is too long",
    }
    reason = reasons.get(exc.errno or 0, exc.strerror or str(exc) or type(exc).__name__)
    return f"{display(path)} cannot be read: {reason}"


def check_experiment_path(value: str) -> Path:
    """``value``, typed for an experiment's folder or its config.yaml, as a Path, after
    checking that it can be one: it exists and can be read, it is a folder or a regular
    file, and a file of another name than ``*.yaml`` holds YAML settings.

    A folder without a config.yaml is left to the loader, which says what a folder
    experiment holds.

    Raises:
        UserError: saying what is wrong with the path (missing, a symlink loop, a
            directory where the config file should be, a device, not a config).
    """
    check_path_text(value, "the path")
    path = Path(value)
    error = stat_problem(path)
    if error is not None:
        raise UserError(f"{unreadable(path, error) or f'{display(path)}: no such file or folder'}.")
    if path.is_dir():
        config = path / "config.yaml"
        error = stat_problem(config)
        if error is not None:
            reason = unreadable(config, error)
            if reason:
                raise UserError(f"{reason}; an experiment's config.yaml must be a readable file.")
            if path.suffix.lower() in (".yaml", ".yml"):
                raise UserError(
                    f"{display(path)} is a directory, not a config file; give the experiment's folder "
                    "or its config.yaml file."
                )
            return path  # the loader says what a folder experiment holds
        if config.is_dir():
            raise UserError(f"{display(config)} is a directory, not a config file; an experiment's config.yaml must be a file.")
        if not config.is_file():
            raise UserError(f"{display(config)} is not a regular file; an experiment's config.yaml must be a file.")
        return path
    if not path.is_file():
        raise UserError(
            f"{display(path)} is not a regular file (nor a folder); give an experiment's folder or its config.yaml."
        )
    if path.suffix.lower() not in (".yaml", ".yml", ".py") and not _holds_settings(path):
        raise UserError(
            f"{display(path)} is not a config.yaml (it holds no YAML mapping of settings); give an "
            "experiment's folder or its config.yaml."
        )
    return path


def _holds_settings(path: Path) -> bool:
    """True when the file at ``path`` parses as a YAML mapping (it may be a config)."""
    from crystallize.config.yaml_io import load_yaml
    from crystallize.exceptions import ConfigError

    try:
        return isinstance(load_yaml(path).data, dict)
    except ConfigError:
        return False


def resolve_target(name_or_path: str, root: str | Path = ".") -> Target:
    """The experiment (and its graph) named by ``name_or_path``.

    Raises:
        UserError: nothing by that name or path, or its folder failed to load (a
            ``root_dir`` no path can be is refused there, by the config's schema).
    """
    if names_folder(name_or_path):
        return load_target(Path(name_or_path))
    from crystallize.cli.text import typed_name

    found = discover_here(root)
    name = typed_name(name_or_path, found.experiments)
    experiment = found.experiments.get(name)
    if experiment is not None:
        return Target(name, experiment, found.graphs.get(name))
    raise unknown_experiment(name, found)


def load_target(path: Path) -> Target:
    """Load the folder experiment at ``path`` and, when it reads others, its graph.

    Raises:
        UserError: ``path`` cannot be an experiment's folder or config.yaml (see
            :func:`check_experiment_path`).
        ConfigError: its folder failed to load.
    """
    from crystallize.config import ExperimentGraph, LoadSession

    check_experiment_path(str(path))
    session = LoadSession()
    experiment = session.load(path)
    graph = None
    if getattr(experiment, "upstream", ()):
        folder = Path(experiment.config_path).parent.resolve()
        graph = ExperimentGraph.from_experiments(reversed(session.closure(folder)))
    return Target(experiment.name, experiment, graph)


def unknown_experiment(name: str, found: Discovery) -> UserError:
    """The error for a name that matches no discovered experiment."""
    for failure in found.errors.values():
        if Path(failure.path).parent.name == name:
            return UserError(
                f"experiment '{name}' could not be loaded: {failure.message}", details=failure.traceback
            )
    names = list(found.experiments)
    if not names and not found.errors:
        return UserError(
            f"no experiment named '{name}': there are no experiments under {display(found.root)} "
            "(looked for experiments/**/config.yaml). Create one with: crystallize new NAME"
        )
    broken = f" {len(found.errors)} folder(s) failed to load (crystallize list --errors)." if found.errors else ""
    return UserError(
        f"no experiment named '{name}'.{suggest(name, names)}{known(names, 'experiments')}{broken}"
    )


def display(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies inside it (a symbolic
    link is shown as the link, not where it points)."""
    target = Path(path)
    try:
        relative = (target.parent.resolve() / target.name).relative_to(Path.cwd().resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return str(target)
    return str(relative) if str(relative) != "." else "."


def data_root(experiment: Experiment | None) -> Path:
    """Where ``experiment`` keeps its run store (``data`` when unknown)."""
    from crystallize.plugins.artifacts import ArtifactPlugin

    plugin = experiment.get_plugin(ArtifactPlugin) if experiment is not None else None
    root = getattr(plugin, "root_dir", None) if plugin is not None else None
    return Path(root) if root is not None else Path("data")


__all__ = [
    "DEFAULT_GROUP",
    "CatalogEntry",
    "Target",
    "catalog",
    "check_experiment_path",
    "check_path_text",
    "data_root",
    "discover_here",
    "display",
    "fds_pointed_at",
    "group_of",
    "load_target",
    "looks_like_path",
    "names_folder",
    "resolve_target",
    "stdout_to_stderr",
    "unknown_experiment",
]
