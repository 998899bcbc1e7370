"""The digest's chart: accounts per health band per day, as a stacked bar chart in a PNG.

Drawn with matplotlib's object API on the Agg canvas (a ``Figure`` of its own per chart, never
``pyplot``, so no global figure state is shared between threads or needs a display), behind a lock
because matplotlib does not promise that two figures may be drawn at once. matplotlib is imported on the
first chart, not with this module: a process that never draws one (every command but ``serve``, and
``serve`` until its first team digest) does not pay for it.

The chart is for Slack and Teams in light and dark mode alike: it sits on a dark card of its own with
light text, so it reads the same whatever the client's theme. The same data gives the same bytes: the
PNG holds no time stamp or software version.
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# (label, colour) per band; the colours of the band marks, bright enough to stand out on the dark card.
BANDS: dict[str, tuple[str, str]] = {
    "red": ("Red", "#e5484d"),
    "yellow": ("Yellow", "#f5c518"),
    "green": ("Green", "#30a46c"),
    "unknown": ("Not enough data", "#9ba1a6"),
}
# Bottom to top: the red share is what a reader looks at first, so it sits on the axis.
STACK_ORDER = ("red", "yellow", "green", "unknown")

BACKGROUND = "#1f2328"  # the card: close to Slack's dark theme, a clear panel in the light one
TEXT = "#e6edf3"  # labels and legend: contrast above 12:1 on the card
MUTED = "#9198a1"  # ticks and axis lines
GRID = "#373e47"
WIDTH_PX, HEIGHT_PX, DPI = 800, 400, 100

_drawing = threading.Lock()


def band_chart_png(
    days: Sequence[date],
    columns: Sequence[Mapping[str, int]],
    *,
    width: int = WIDTH_PX,
    height: int = HEIGHT_PX,
) -> bytes:
    """A stacked bar per day of ``days`` (oldest first, one a day), one segment per band of
    :data:`STACK_ORDER`, from ``columns`` (band -> accounts, one mapping per day; an empty one leaves a
    gap). The days under the bars (the last one and every seventh before it), accounts beside them, a
    legend of the bands drawn above them.
    """
    if len(days) != len(columns):
        raise ValueError("one column of counts per day")
    if width <= 0 or height <= 0:
        raise ValueError("a chart needs a positive width and height")
    with _drawing:
        return _draw(days, columns, width, height)


def _draw(days: Sequence[date], columns: Sequence[Mapping[str, int]], width: int, height: int) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter, date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.08, 0.12, 0.86, 0.74))
    axes.set_facecolor(BACKGROUND)
    # Matplotlib's day numbers: bars, ticks and limits in one unit (a date minus 0.6 days would still
    # be the same date).
    x = [float(n) for n in date2num(list(days))] if days else []  # type: ignore[no-untyped-call]
    base = [0] * len(days)
    for band in STACK_ORDER:
        heights = [max(0, column.get(band, 0)) for column in columns]
        label, colour = BANDS[band]
        shown = label if any(heights) else "_nolegend_"  # the legend names the bands drawn
        axes.bar(x, heights, width=0.8, bottom=base, color=colour, label=shown, linewidth=0)
        base = [b + h for b, h in zip(base, heights, strict=True)]
    axes.set_ylim(0, max(max(base, default=0), 1) * 1.05)
    if x:
        axes.set_xlim(x[0] - 0.6, x[-1] + 0.6)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(MUTED)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes.set_xticks(x[::-1][::7])  # the last day, and a week before it, and so on
    axes.xaxis.set_major_formatter(DateFormatter("%a %d %b"))  # type: ignore[no-untyped-call]
    _label(axes)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor=BACKGROUND, metadata={"Software": None})
    return out.getvalue()


def _label(axes: Any) -> None:
    """Light labels on the ticks, the y axis named, the legend above the bars."""
    axes.tick_params(axis="both", colors=MUTED, labelcolor=TEXT, labelsize=10, length=4)
    axes.tick_params(axis="y", length=0)
    axes.set_ylabel("Accounts", color=TEXT, fontsize=10)
    legend = axes.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.02),
        ncols=len(STACK_ORDER),
        frameon=False,
        fontsize=10,
        handlelength=1.2,
        borderaxespad=0.0,
    )
    for text in legend.get_texts():
        text.set_color(TEXT)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (raises ValueError when ``data`` is not a PNG)."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
