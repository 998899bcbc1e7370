"""The Teams app icons, drawn in code: a 192x192 colour icon and a 32x32 white-on-transparent outline.

Teams wants the colour icon full-bleed on an opaque background and the outline icon white with a
transparent background. Both show a "T" with a speech-bubble tail, in Touchpoint's accent colour.
"""

from __future__ import annotations

import struct
import zlib

ACCENT = "#1F6F6B"
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)
Pixel = tuple[int, int, int, int]


def hex_rgba(color: str) -> Pixel:
    value = color.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255)


def png(width: int, height: int, pixels: list[list[Pixel]]) -> bytes:
    """An 8-bit RGBA PNG of ``pixels`` (rows top to bottom)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"".join(bytes(p) for p in row) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _glyph(size: int, x: int, y: int) -> bool:
    """Whether (x, y) of a ``size`` square lies on the mark: a T whose stem ends in a bubble tail."""
    u, v = x / size, y / size
    bar = 0.22 <= v < 0.36 and 0.2 <= u < 0.8
    stem = 0.36 <= v < 0.72 and 0.43 <= u < 0.57
    tail = 0.72 <= v < 0.84 and 0.43 <= u < 0.43 + (0.84 - v) * 1.2  # narrowing to a point
    return bar or stem or tail


def color_icon(size: int = 192, accent: str = ACCENT) -> bytes:
    background = hex_rgba(accent)
    rows = [[WHITE if _glyph(size, x, y) else background for x in range(size)] for y in range(size)]
    return png(size, size, rows)


def outline_icon(size: int = 32) -> bytes:
    rows = [[WHITE if _glyph(size, x, y) else CLEAR for x in range(size)] for y in range(size)]
    return png(size, size, rows)
