"""Small charts as PNG bytes, with no dependency beyond the standard library (zlib and struct).

Digests attach a stacked bar chart of accounts per health band per day. The renderer draws filled
rectangles on an RGB canvas and writes it as a plain, unfiltered 8-bit PNG.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence

Color = tuple[int, int, int]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WHITE: Color = (255, 255, 255)
AXIS: Color = (120, 120, 120)
GRID: Color = (230, 230, 230)
BAND_COLORS: dict[str, Color] = {
    "red": (220, 53, 69),
    "yellow": (255, 193, 7),
    "green": (40, 167, 69),
    "unknown": (173, 181, 189),
}
# Bottom to top: the red share is what a reader looks at first, so it sits on the axis.
STACK_ORDER = ("red", "yellow", "green", "unknown")


class Canvas:
    """An RGB image filled with a background colour; rectangles are clipped to the canvas."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        if width <= 0 or height <= 0:
            raise ValueError("a canvas needs a positive width and height")
        self.width = width
        self.height = height
        self.rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def fill(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill the rectangle from (x0, y0) inclusive to (x1, y1) exclusive; y grows downwards."""
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        if x0 >= x1 or y0 >= y1:
            return
        span = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            self.rows[y][x0 * 3 : x1 * 3] = span

    def to_png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)  # filter type 0 (none) per row
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            PNG_SIGNATURE
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def stacked_bars_png(
    columns: Sequence[Mapping[str, int]],
    *,
    order: Sequence[str] = STACK_ORDER,
    colors: Mapping[str, Color] = BAND_COLORS,
    width: int = 600,
    height: int = 240,
    margin: int = 16,
) -> bytes:
    """A stacked bar chart: one bar per column, one segment per key of ``order`` (bottom first).

    Bars are scaled to the tallest column; an empty column leaves a gap. Keys missing from ``colors``
    are drawn grey.
    """
    canvas = Canvas(width, height)
    left, right, top, bottom = margin, width - margin, margin, height - margin
    plot_height = bottom - top
    for quarter in range(1, 5):  # light grid lines at 25%, 50%, 75% and 100% of the tallest bar
        y = bottom - plot_height * quarter // 4
        canvas.fill(left, y, right, y + 1, GRID)
    tallest = max((sum(max(0, v) for v in column.values()) for column in columns), default=0)
    if columns and tallest > 0:
        slot = (right - left) / len(columns)
        gap = max(1, int(slot / 5))
        for index, column in enumerate(columns):
            x0 = left + int(index * slot) + gap // 2
            x1 = max(x0 + 1, left + int((index + 1) * slot) - (gap - gap // 2))
            base = 0
            for key in order:
                value = max(0, column.get(key, 0))
                if not value:
                    continue
                y_low = bottom - round(plot_height * base / tallest)
                base += value
                y_high = bottom - round(plot_height * base / tallest)
                canvas.fill(x0, y_high, x1, y_low, colors.get(key, BAND_COLORS["unknown"]))
    canvas.fill(left, bottom, right, bottom + 1, AXIS)
    return canvas.to_png()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (raises ValueError when ``data`` is not a PNG)."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
