"""A Result as one self-contained HTML page.

The page holds, for every metric, a plot of each condition's replicate values (strip and
box) with means and 95% confidence intervals; each hypothesis' comparisons with a forest
plot; the run's configuration, seeds, timings, warnings and errors. Plots are static SVG
drawn by matplotlib, CSS is inline, and there are no scripts, so the file opens offline,
can be mailed or attached to a ticket, and looks the same in ten years.

Example::

    from crystallize.reporting_html import write_html

    result = experiment.run()
    write_html(result, "report.html")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crystallize.result import Result


def render_html(result: Result, title: str | None = None) -> str:
    """Render ``result`` as a self-contained HTML document.

    Args:
        result: a Result from ``experiment.run()`` or ``crystallize.store.load_result``.
        title: the page title (default: ``"Experiment <name>"``).

    Returns:
        The HTML text.
    """
    from crystallize.reporting_html.page import render_page

    return render_page(result, title)


def write_html(result: Result, path: str | Path, title: str | None = None) -> Path:
    """Render ``result`` with :func:`render_html` and write it to ``path`` (UTF-8).

    Args:
        result: the Result to render.
        path: the file to write; missing parent directories are created.
        title: the page title (default: ``"Experiment <name>"``).

    Returns:
        The written path.
    """
    return _write_page(render_html(result, title), path)


def _write_page(page: str, path: str | Path) -> Path:
    """Write an already rendered ``page`` to ``path`` (UTF-8), creating missing parent
    directories, in one step (:func:`~crystallize.store.artifacts.replace_file`: a failed
    write leaves an earlier file whole).

    Returns:
        The written path.
    """
    from crystallize.store.artifacts import replace_file

    return replace_file(path, page.encode("utf-8"))


__all__ = ["render_html", "write_html"]
