"""Checking a Ray cluster address before a run depends on it.

Left to itself, ``ray.init(address="host:port")`` keeps retrying an address nobody
listens on for minutes, and a malformed one surfaces as a bare ``ValueError`` from deep
inside Ray. These checks fail in seconds with a message that says what to do, before the
run is recorded in the store.

Ray keeps one session per process, and ``ray.init`` cannot join a second cluster while
one runs: :func:`check_running_session` refuses an address that the session already
running in this process is not connected to, instead of letting the run go there.
Nothing here imports Ray; that check is handed the ``ray`` module already loaded.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crystallize.exceptions import ClusterConnectionError, ExperimentValidationError

#: Addresses Ray resolves itself (a running local cluster, or a new local instance).
SYMBOLIC_ADDRESSES = ("auto", "local")
#: Schemes of the dashboard's (Jobs API) addresses, which ``ray.init`` refuses.
HTTP_SCHEMES = ("http", "https")
#: Ray Client's port when a ``ray://`` address names none.
RAY_CLIENT_PORT = 10001
#: Seconds to wait for a TCP connection to the cluster.
CONNECT_TIMEOUT = 5.0

_FORMS = (
    "use 'auto' (the cluster started with `ray start` on this machine), 'host:port' "
    "(the head node's GCS port, 6379 by default) or 'ray://host:port' (Ray Client, 10001)"
)


def cluster_endpoint(address: str, name: str = "Ray address") -> tuple[str, int] | None:
    """The ``(host, port)`` a cluster address points at.

    ``None`` for the symbolic addresses and for schemes other than ``ray://`` (Ray
    Client plugins), which only Ray can interpret. ``name`` says where the address came
    from in the error (e.g. ``"The RAY_ADDRESS environment variable"``).

    Raises:
        ExperimentValidationError: ``address`` is not a cluster address, e.g. the
            dashboard's ``http://host:8265`` (the Jobs API), which no driver can join.
    """
    text = address.strip()
    if text in SYMBOLIC_ADDRESSES:
        return None
    scheme, has_scheme, rest = text.partition("://")
    if has_scheme and scheme.lower() in HTTP_SCHEMES:
        raise ExperimentValidationError(
            f"{name} {address!r} is the Ray dashboard's address (the Jobs API used by `ray job "
            "submit`), not one a driver can join: give the head node's GCS address "
            "('<head-ip>:6379') or a Ray Client address ('ray://<head-ip>:10001')."
        )
    if has_scheme and scheme != "ray":
        return None
    try:
        parts = urlsplit("//" + (rest if has_scheme else text))
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number in 0-65535, a broken IPv6 literal
        host, port = None, None
    if port is None and has_scheme and host:
        port = RAY_CLIENT_PORT
    if not host or port is None or parts.path or parts.query:
        raise ExperimentValidationError(f"{name} {address!r} is not a cluster address: {_FORMS}.")
    return host, port


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`ClusterConnectionError` unless a TCP connection to ``address`` opens.

    Symbolic addresses and other schemes are left to Ray (see :func:`cluster_endpoint`).
    """
    endpoint = cluster_endpoint(address)
    if endpoint is None:
        return
    try:
        with socket.create_connection(endpoint, timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ClusterConnectionError(
            f"Cannot reach a Ray cluster at {address!r} ({reason}). Check the address and "
            "that the cluster is up: `ray start --head` prints the address to use, and "
            "`ray status` on the head node shows whether it is running."
        ) from exc


@dataclass(frozen=True)
class RaySession:
    """The Ray session running in this process, as far as it can be told.

    ``kind`` is ``"local"`` (an instance this process started), ``"joined"`` (a cluster
    this process connected to), ``"client"`` (a Ray Client connection) or ``"unknown"``;
    ``address`` is its GCS address (the Ray Client server's, for ``"client"``) as
    ``host:port``, or ``None`` when it cannot be read.
    """

    kind: str
    address: str | None = None

    def describe(self) -> str:
        if self.kind == "client":
            return f"a Ray Client connection to 'ray://{self.address}'" if self.address else "a Ray Client connection"
        if self.kind == "local":
            return "a local Ray instance started in this process" + (f" (GCS at {self.address})" if self.address else "")
        if self.kind == "joined":
            return f"connected to the Ray cluster at {self.address!r}" if self.address else "connected to a Ray cluster"
        return "a Ray session whose kind and address cannot be read"


def running_session(ray: Any) -> RaySession:
    """What the Ray session running in this process (``ray.is_initialized()``) is."""
    with contextlib.suppress(Exception):
        from ray.util.client import ray as client

        if client.is_connected():
            conn = getattr(client.get_context().client_worker, "_conn_str", None)
            return RaySession("client", str(conn) if conn else None)  # "host:port", no scheme
    address = None
    with contextlib.suppress(Exception):
        address = str(ray.get_runtime_context().gcs_address) or None
    try:
        worker = ray._private.worker
        node = getattr(worker.global_worker, "node", None) or worker._global_node
    except Exception:
        node = None
    if node is None:
        return RaySession("unknown", address)
    # ray.init() started the instance (a head node) or connected to one (connect_only).
    return RaySession("local" if getattr(node, "head", False) else "joined", address)


@dataclass(frozen=True)
class _Target:
    """What a RayExecution address asks for, resolved as ``ray.init`` would."""

    kind: str  # "local", "gcs", "client", "none" ("auto" finding no cluster), "unknown"
    description: str
    endpoint: tuple[str, int] | None = None


def _resolve(address: str, temp_dir: str | None, ray: Any, name: str = "Ray address") -> _Target:
    text = address.strip()
    if text == "local":
        return _Target("local", "a new local Ray instance")
    if text == "auto":
        # As ray.init: RAY_ADDRESS first, then the cluster `ray start` recorded.
        env = os.environ.get("RAY_ADDRESS", "").strip()
        if env and env != "auto":
            inner = _resolve(env, temp_dir, ray, name="The RAY_ADDRESS environment variable")
            return _Target(inner.kind, f"{inner.description} (the RAY_ADDRESS environment variable)", inner.endpoint)
        recorded = None
        with contextlib.suppress(Exception):
            recorded = ray._private.services.find_bootstrap_address(temp_dir)
        endpoint = _endpoint(recorded) if recorded else None
        if endpoint is None:
            return _Target("none", "the cluster started with `ray start` on this machine (none is recorded)")
        return _Target("gcs", f"the cluster started with `ray start` on this machine (at {recorded})", endpoint)
    scheme, has_scheme, _ = text.partition("://")
    endpoint = cluster_endpoint(text, name=name)
    if has_scheme and scheme == "ray" and endpoint is not None:
        return _Target("client", f"a Ray Client connection to {text!r}", endpoint)
    if has_scheme or endpoint is None:
        return _Target("unknown", f"a connection through {text!r}")
    return _Target("gcs", f"the Ray cluster at {text!r}", endpoint)


def _endpoint(text: str | None) -> tuple[str, int] | None:
    try:
        return cluster_endpoint(text) if text else None
    except ExperimentValidationError:
        return None


def _host_ips(host: str, this_machine: set[str]) -> set[str]:
    """The IP addresses ``host`` stands for; ``"this machine"`` among them when it is a
    loopback address or this machine's node IP (as Ray treats ``127.0.0.1``)."""
    ips = {host.lower()}
    with contextlib.suppress(OSError, UnicodeError):
        ips.update(str(info[4][0]).lower() for info in socket.getaddrinfo(host, None))
    if ips & this_machine or any(_is_loopback(ip) for ip in ips):
        ips.add("this machine")
    return ips


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.partition("%")[0]).is_loopback
    except ValueError:  # a host name getaddrinfo could not resolve
        return False


def _same_endpoint(a: tuple[str, int], b: tuple[str, int], ray: Any) -> bool:
    if a[1] != b[1]:
        return False
    if a[0].lower() == b[0].lower():
        return True
    this_machine: set[str] = set()
    with contextlib.suppress(Exception):
        this_machine.add(str(ray.util.get_node_ip_address()).lower())
    return bool(_host_ips(a[0], this_machine) & _host_ips(b[0], this_machine))


def _matches(target: _Target, session: RaySession, ray: Any) -> bool:
    if target.kind == "local":
        return session.kind == "local"
    if target.kind == "none":
        # ray.init("auto") with no recorded cluster joins any running one it finds (Ray's
        # legacy fallback): a session that joined such an instance is the one asked for.
        if session.kind != "joined" or session.address is None:
            return False
        with contextlib.suppress(Exception):
            return session.address in ray._private.services.find_gcs_addresses()
        return False
    if target.kind in ("gcs", "client") and target.endpoint is not None:
        wanted = "client" if target.kind == "client" else ("local", "joined")
        running = _endpoint(("ray://" if session.kind == "client" else "") + (session.address or ""))
        return session.kind in wanted and running is not None and _same_endpoint(target.endpoint, running, ray)
    return False


def check_running_session(ray: Any, address: str, temp_dir: str | None = None) -> None:
    """Raise :class:`ClusterConnectionError` unless the Ray session running in this
    process is the one ``address`` (a RayExecution's explicit address) asks for.

    ``"local"`` is a session this process started; ``"auto"`` one connected to the
    cluster in ``RAY_ADDRESS``, else to the one ``ray start`` recorded (in ``temp_dir``,
    Ray's temp directory); ``host:port`` one whose GCS is there (host names and
    ``127.0.0.1`` resolved); ``ray://host:port`` a Ray Client connection to that server.
    What cannot be told apart (another scheme, a session whose address cannot be read)
    is refused too: the run is never sent to a cluster other than the one asked for.
    """
    session = running_session(ray)
    target = _resolve(address, temp_dir, ray)
    if _matches(target, session, ray):
        return
    undecided = target.kind == "unknown" or session.kind == "unknown" or session.address is None
    why = (
        "Crystallize cannot tell whether that is the session asked for"
        if undecided
        else "Ray keeps one session per process, so the run would go there instead"
    )
    raise ClusterConnectionError(
        f"RayExecution(address={address!r}) asks for {target.description}, but this process "
        f"already has a Ray session: {session.describe()}. {why}. To run on {address!r}, call "
        "ray.shutdown() before the run (it ends that session, e.g. one an earlier "
        "RayExecution run started); to run on the session already running, pass address=None."
    )


__all__ = [
    "CONNECT_TIMEOUT",
    "HTTP_SCHEMES",
    "RAY_CLIENT_PORT",
    "SYMBOLIC_ADDRESSES",
    "RaySession",
    "check_reachable",
    "check_running_session",
    "cluster_endpoint",
    "running_session",
]
