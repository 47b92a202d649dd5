"""matplotlib artists of the report's plots that matplotlib has no cheap form of.

Imported only when a plot is drawn (it imports matplotlib).
"""

from __future__ import annotations

from typing import Any

from matplotlib.artist import Artist
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox


class AxisLabel(Annotation):
    """An axis label that counts only by its height in a layout, as matplotlib's x-axis
    label does, so that a long label does not narrow the plot."""

    def get_tightbbox(self, renderer: Any = None) -> Any:
        box = super().get_tightbbox(renderer)
        if box is None or box.width <= 0:
            return box
        middle = (box.x0 + box.x1) / 2
        return Bbox.from_extents(middle - 0.5, box.y0, middle + 0.5, box.y1)


class Room(Artist):
    """Takes up a box in a layout and draws nothing.

    The box is given in points from the top-right corner of the axes it is added to:
    ``((left, bottom), (right, top))``. It stands in for the padded box of a legend drawn
    as separate markers and texts, whose layout must leave it the room the legend took.
    """

    def __init__(self, box: tuple[tuple[float, float], tuple[float, float]]) -> None:
        super().__init__()
        self._box = box
        self.set_clip_on(False)

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        x, y = self.axes.transAxes.transform((1.0, 1.0))
        scale = self.figure.dpi / 72
        (left, bottom), (right, top) = self._box
        return Bbox.from_extents(x + left * scale, y + bottom * scale, x + right * scale, y + top * scale)

    def draw(self, renderer: Any) -> None:
        """Nothing to draw."""


__all__ = ["AxisLabel", "Room"]
