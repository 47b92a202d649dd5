"""Checking a Ray cluster address before a run depends on it.

Left to itself, ``ray.init(address="host:port")`` keeps retrying an address nobody
listens on for minutes, and a malformed one surfaces as a bare ``ValueError`` from deep
inside Ray. These checks fail in seconds with a message that says what to do, before the
run is recorded in the store. Nothing here imports Ray.
"""

from __future__ import annotations

import socket
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


__all__ = ["CONNECT_TIMEOUT", "HTTP_SCHEMES", "RAY_CLIENT_PORT", "SYMBOLIC_ADDRESSES", "check_reachable", "cluster_endpoint"]
