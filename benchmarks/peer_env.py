"""The peer implementation's virtual environment: ``benchmarks/.peer-venv/``.

The peer is ``crystallize-ml`` 0.27.0 from PyPI, the other implementation of the same
public API. Its venv is created with ``python3 -m venv`` and filled with pip on first
use, then reused as long as it holds that exact version.

NumPy (the same version as in this project's venv) is installed next to the peer: both
implementations seed NumPy's global RNG per replicate when NumPy is importable, so the
per-replicate comparison does the same work on both sides. (Without NumPy the peer's
seeding would pay for a failing import on every replicate.) Nothing else is added: in
particular not pandas, which the peer imports at start-up when present.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

PEER_REQUIREMENT = "crystallize-ml==0.27.0"
PEER_DISTRIBUTION = "crystallize-ml"
PEER_VERSION = "0.27.0"
VENV_DIR = Path(__file__).resolve().parent / ".peer-venv"


class PeerUnavailable(RuntimeError):
    """The peer venv could not be created or installed (e.g. no network)."""


def peer_python(venv: Path = VENV_DIR) -> Path:
    """The interpreter of the peer venv."""
    return venv / "bin" / "python"


def numpy_requirement() -> str:
    """``numpy==<version of this project's venv>``, or plain ``numpy`` if it is missing."""
    try:
        return f"numpy=={importlib.metadata.version('numpy')}"
    except importlib.metadata.PackageNotFoundError:
        return "numpy"


def installed_version(python: Path, distribution: str) -> str | None:
    """The version of ``distribution`` in the venv of ``python``, or None."""
    code = (
        "import importlib.metadata as m, sys\n"
        f"try: print(m.version({distribution!r}))\n"
        "except m.PackageNotFoundError: sys.exit(1)\n"
    )
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def is_ready(venv: Path = VENV_DIR) -> bool:
    """True when the venv exists and holds the peer version and NumPy."""
    python = peer_python(venv)
    return (
        python.exists()
        and installed_version(python, PEER_DISTRIBUTION) == PEER_VERSION
        and installed_version(python, "numpy") is not None
    )


def _run(command: list[str], what: str) -> None:
    """Run an install command; raise PeerUnavailable with its output if it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise PeerUnavailable(f"{what} failed ({' '.join(command)}):\n{tail}")


def ensure_peer(venv: Path = VENV_DIR, base_python: str | None = None, log=print) -> Path:
    """Return the peer's interpreter, creating and installing the venv when needed.

    Args:
        venv: where the venv lives (reused when it already holds the peer).
        base_python: interpreter that creates the venv; ``python3`` on PATH by default,
            else this interpreter.
        log: called with progress messages.

    Raises:
        PeerUnavailable: if creating the venv or installing into it fails.
    """
    if is_ready(venv):
        return peer_python(venv)
    creator = base_python or shutil.which("python3") or sys.executable
    if not peer_python(venv).exists():
        log(f"creating the peer venv in {venv} ...")
        _run([creator, "-m", "venv", str(venv)], "creating the peer venv")
    log(f"installing {PEER_REQUIREMENT} and {numpy_requirement()} into it ...")
    pip = [str(peer_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, PEER_REQUIREMENT, numpy_requirement()], "installing the peer")
    if not is_ready(venv):
        raise PeerUnavailable(f"{venv} still lacks {PEER_REQUIREMENT} after installing it")
    return peer_python(venv)
