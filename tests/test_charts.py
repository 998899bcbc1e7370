"""The digest chart: a real PNG of the stated size, the same bytes for the same data, with its dates,
counts and legend drawn, readable on Slack's and Teams' light and dark themes."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from PIL import Image

from bot.digests.charts import BACKGROUND, BANDS, TEXT, band_chart_png, png_size

LAST = date(2026, 11, 25)
DAYS = [LAST - timedelta(days=n) for n in range(29, -1, -1)]
COLUMNS = [
    {} if n in (3, 4) else {"red": 4 + n // 6, "yellow": 12 - n // 10, "green": 43 - n // 8, "unknown": n % 2}
    for n in range(30)
]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes every chunk: a broken PNG fails here
    return image.convert("RGBA")


def pixels(image: Image.Image) -> list[tuple[int, ...]]:
    """Every pixel of an RGBA image as (r, g, b, a)."""
    data = image.tobytes()
    return [tuple(data[i : i + 4]) for i in range(0, len(data), 4)]


def light_pixels(image: Image.Image, box: tuple[float, float, float, float]) -> int:
    """Pixels of (nearly) the text colour in ``box`` (fractions of the width and height)."""
    width, height = image.size
    left, top, right, bottom = box
    region = image.crop((int(left * width), int(top * height), int(right * width), int(bottom * height)))
    return sum(1 for r, g, b, _ in pixels(region) if min(r, g, b) >= 200)


def luminance(colour: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = colour
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_the_chart_is_a_png_of_800_by_400() -> None:
    png = band_chart_png(DAYS, COLUMNS)
    assert png_size(png) == (800, 400)
    image = decoded(png)
    assert image.size == (800, 400)
    with pytest.raises(ValueError):
        png_size(b"GIF89a")


def test_the_same_data_gives_the_same_bytes_and_other_data_others() -> None:
    png = band_chart_png(DAYS, COLUMNS)
    assert band_chart_png(list(DAYS), [dict(c) for c in COLUMNS]) == png
    assert b"tIME" not in png and b"Software" not in png and b"matplotlib" not in png.lower()
    changed = [dict(c) for c in COLUMNS]
    changed[-1]["red"] += 3
    assert band_chart_png(DAYS, changed) != png
    moved = [d + timedelta(days=1) for d in DAYS]
    assert band_chart_png(moved, COLUMNS) != png, "the dates are drawn"


def test_charts_drawn_at_once_in_threads_are_all_the_same() -> None:
    expected = band_chart_png(DAYS, COLUMNS)
    with ThreadPoolExecutor(max_workers=4) as pool:
        drawn = list(pool.map(lambda _: band_chart_png(DAYS, COLUMNS), range(8)))
    assert drawn == [expected] * 8


def test_the_chart_has_its_dates_counts_and_legend_drawn() -> None:
    image = decoded(band_chart_png(DAYS, COLUMNS))
    # Light text, nowhere else light: the dates under the plot, the counts and "Accounts" left of it,
    # the legend above it.
    assert light_pixels(image, (0.05, 0.88, 1.0, 1.0)) > 200, "dates under the bars"
    assert light_pixels(image, (0.0, 0.1, 0.075, 0.9)) > 100, "counts and the axis name"
    assert light_pixels(image, (0.05, 0.0, 0.8, 0.11)) > 200, "the legend"
    # The bars in the band colours, in the plot.
    plot = image.crop((int(0.1 * 800), int(0.15 * 400), int(0.93 * 800), int(0.86 * 400)))
    colours = {pixel[:3] for pixel in pixels(plot)}
    for band, (_label, colour) in BANDS.items():
        assert rgb(colour) in colours, band


def test_an_empty_day_is_a_gap_and_an_empty_band_is_not_in_the_legend() -> None:
    days = DAYS[-3:]
    with_grey = decoded(band_chart_png(days, [{"red": 1}, {}, {"green": 2, "unknown": 1}]))
    without = decoded(band_chart_png(days, [{"red": 1}, {}, {"green": 3}]))
    grey = rgb(BANDS["unknown"][1])
    legend = (0.05, 0.0, 0.8, 0.11)

    def count(image: Image.Image, colour: tuple[int, int, int]) -> int:
        width, height = image.size
        box = (int(legend[0] * width), 0, int(legend[2] * width), int(legend[3] * height))
        return sum(1 for p in pixels(image.crop(box)) if p[:3] == colour)

    assert count(with_grey, grey) > 0 and count(without, grey) == 0
    middle = with_grey.crop((380, 100, 420, 330))  # the empty middle day: only the card and grid
    assert rgb(BANDS["red"][1]) not in {p[:3] for p in pixels(middle)}


def test_readable_on_light_and_dark_themes() -> None:
    """An opaque dark card with light text: the client's theme shows around it, never through it."""
    image = decoded(band_chart_png(DAYS, COLUMNS))
    assert {p[3] for p in pixels(image)} == {255}
    assert image.getpixel((0, 0))[:3] == rgb(BACKGROUND)
    text, card = luminance(rgb(TEXT)), luminance(rgb(BACKGROUND))
    assert (text + 0.05) / (card + 0.05) >= 7  # WCAG AAA for text
    for _label, colour in BANDS.values():
        assert (luminance(rgb(colour)) + 0.05) / (card + 0.05) >= 3, "bars stand out from the card"


def test_one_column_of_counts_per_day() -> None:
    with pytest.raises(ValueError):
        band_chart_png(DAYS, COLUMNS[:-1])
