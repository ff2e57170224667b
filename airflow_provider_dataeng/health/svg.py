"""Server-side SVG charts for the "Data health" page: sparklines, metric series and status timelines.

The page is rendered on the server without JavaScript and must work offline, so the charts are plain SVG
strings built with the standard library only (no Airflow, no plotting library). Every text that goes into
the markup (labels, titles, hrefs) is escaped, and every number is formatted deterministically
(coordinates with one decimal) so the output is stable and testable. Colours are presentation attributes,
so a chart looks right without a stylesheet; the classes let the page restyle it.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["STATUS_COLOURS", "Cell", "Point", "series_chart", "sparkline", "timeline"]

STATUS_COLOURS: dict[str, str] = {
    "pass": "#2e7d32",
    "warn": "#ed6c02",
    "fail": "#c62828",
    "error": "#6a1b9a",
}
"""Fill colour of each check status; any other status is drawn in ``DEFAULT_COLOUR``."""

DEFAULT_COLOUR = "#9e9e9e"
LINE_COLOUR = "#1565c0"
BAND_COLOUR = "#90caf9"
GRID_COLOUR = "#e0e0e0"
TEXT_COLOUR = "#616161"
SVG_NS = "http://www.w3.org/2000/svg"
NO_DATA = "no data"

# series_chart's plot area margins (px): room for tick labels on the left and x labels below.
_MARGIN_LEFT = 56
_MARGIN_RIGHT = 12
_MARGIN_TOP = 10
_MARGIN_BOTTOM = 26
_MAX_XLABELS = 6
_SPARK_PAD = 2.0
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Point:
    """One run of a metric series: its value, anomaly band and check outcome."""

    label: str
    value: float | None
    lower: float | None = None
    upper: float | None = None
    tripped: bool = False
    href: str | None = None


@dataclass(frozen=True)
class Cell:
    """One check outcome of one run in a status timeline."""

    label: str
    status: str
    href: str | None = None


# --- formatting helpers -------------------------------------------------------------------------------


def _esc(text: object) -> str:
    """Escape a text for SVG content or attributes (and drop characters XML 1.0 forbids)."""
    return html.escape(_INVALID_XML_CHARS.sub("", str(text)), quote=True)


def _n(x: float) -> str:
    """A coordinate with one decimal (never ``-0.0``), so the output is deterministic."""
    out = f"{x:.1f}"
    return "0.0" if out == "-0.0" else out


def _fmt(value: float) -> str:
    """A number for humans: integers without decimals, thousands separators, at most 4 significant digits
    below 1000."""
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.4g}"


def _finite(value: float | None) -> float | None:
    """The value as a float, or None when missing or not finite (NaN/inf cannot be plotted)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def status_class(status: str) -> str:
    """The status reduced to ``[a-z]`` for use in a CSS class (``unknown`` when nothing is left)."""
    return re.sub(r"[^a-z]", "", status.lower()) or "unknown"


def status_colour(status: str) -> str:
    """The fill colour of a status (case-insensitive; unknown statuses are grey)."""
    return STATUS_COLOURS.get(status_class(status), DEFAULT_COLOUR)


def _safe_href(href: str | None) -> str | None:
    """The href if it is relative or http(s); other schemes (``javascript:``) are dropped."""
    if not href:
        return None
    try:
        scheme = urlsplit(href.strip()).scheme.lower()
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    return href if scheme in ("", "http", "https") else None


def _link(element: str, href: str | None) -> str:
    """Wrap an element in ``<a href>`` when it has a (safe) link; it opens in the whole window (the page is
    shown in the Airflow UI's frame, the links lead to the UI's own pages)."""
    safe = _safe_href(href)
    return f'<a href="{_esc(safe)}" target="_top">{element}</a>' if safe else element


def _svg(width: int, height: int, label: str, body: Iterable[str], title: str | None = None) -> str:
    """The root element: accessible (role/aria-label), explicitly sized and scalable (viewBox)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"SVG size must be positive, got {width}x{height}")
    head = (
        f'<svg xmlns="{SVG_NS}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_esc(label)}" font-family="sans-serif" font-size="11">'
    )
    title_el = f"<title>{_esc(title)}</title>" if title is not None else ""
    return head + title_el + "".join(body) + "</svg>"


def _no_data(width: int, height: int, label: str) -> str:
    """A chart with nothing to draw: a centred "no data" text."""
    text = (
        f'<text class="empty" x="{_n(width / 2)}" y="{_n(height / 2 + 4)}" text-anchor="middle" '
        f'fill="{TEXT_COLOUR}">{NO_DATA}</text>'
    )
    return _svg(width, height, label, [text])


def _spread(count: int, start: float, end: float) -> list[float]:
    """``count`` positions evenly spread over ``[start, end]`` (one position: the middle)."""
    if count == 1:
        return [(start + end) / 2]
    step = (end - start) / (count - 1)
    return [start + i * step for i in range(count)]


def _runs(flags: Sequence[bool]) -> list[list[int]]:
    """The indices of each maximal run of consecutive True flags."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, flag in enumerate(flags):
        if flag:
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _coords(pairs: Iterable[tuple[float, float]]) -> str:
    """An SVG ``points`` attribute value."""
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in pairs)


# --- sparkline ----------------------------------------------------------------------------------------


def sparkline(
    values: Sequence[float | None], *, width: int = 120, height: int = 24, label: str = "row count"
) -> str:
    """A tiny line of recent values (e.g. row counts) for a table cell; None values are skipped.

    x is spread evenly over all positions, y between the min and max value with 2px padding (a constant
    series is a flat line in the middle); the last value gets a dot.
    """
    numbers = [_finite(v) for v in values]
    present = [(i, v) for i, v in enumerate(numbers) if v is not None]
    if not present:
        return _no_data(width, height, label)
    xs = _spread(len(numbers), _SPARK_PAD, width - _SPARK_PAD)
    low = min(v for _, v in present)
    high = max(v for _, v in present)

    def y(v: float) -> float:
        if high == low:
            return height / 2
        return _SPARK_PAD + (high - v) / (high - low) * (height - 2 * _SPARK_PAD)

    pairs = [(xs[i], y(v)) for i, v in present]
    last_x, last_y = pairs[-1]
    body = [
        f'<polyline class="spark" points="{_coords(pairs)}" fill="none" stroke="{LINE_COLOUR}" '
        f'stroke-width="1.5"/>',
        f'<circle class="last" cx="{_n(last_x)}" cy="{_n(last_y)}" r="2" fill="{LINE_COLOUR}"/>',
    ]
    return _svg(width, height, label, body, title=f"{label}: {_fmt(present[-1][1])}")


# --- series chart -------------------------------------------------------------------------------------


def _y_range(points: Sequence[Point]) -> tuple[float, float]:
    """The y axis range: all values and band bounds, plus 5% padding (constant data: +/- max(1, 5%))."""
    numbers = [
        n for p in points for n in (_finite(p.value), _finite(p.lower), _finite(p.upper)) if n is not None
    ]
    if not numbers:
        return 0.0, 1.0
    low, high = min(numbers), max(numbers)
    if high == low:
        delta = max(1.0, abs(low) * 0.05)
        return low - delta, high + delta
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _ticks(low: float, high: float, target: int = 4) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) inside ``[low, high]``."""
    raw = (high - low) / target
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [0.0 if k == 0 else k * step for k in range(first, last + 1)]


def _xlabel_indices(count: int, limit: int = _MAX_XLABELS) -> list[int]:
    """Which points get an x label: all up to ``limit``, else ``limit`` evenly chosen incl. first/last."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def _point_title(point: Point, value: float, unit: str) -> str:
    """A dot's tooltip: label, value, expected band and whether it tripped its check."""
    suffix = f" {unit}" if unit else ""
    text = f"{point.label}: {_fmt(value)}{suffix}"
    band = _band(point)
    if band is not None:
        text += f" (expected {_fmt(band[0])}\u2013{_fmt(band[1])}{suffix})"
    if point.tripped:
        text += " - tripped"
    return text


class _Scale:
    """Maps a value to its y pixel in the plot area (higher values higher up)."""

    def __init__(self, low: float, high: float, top: float, bottom: float) -> None:
        self.low, self.high, self.top, self.bottom = low, high, top, bottom

    def __call__(self, value: float) -> float:
        return self.bottom - (value - self.low) / (self.high - self.low) * (self.bottom - self.top)


def _band(point: Point) -> tuple[float, float] | None:
    """A point's anomaly band as (low, high), or None when a bound is missing."""
    lower, upper = _finite(point.lower), _finite(point.upper)
    if lower is None or upper is None:
        return None
    return min(lower, upper), max(lower, upper)


def _band_polygons(points: Sequence[Point], xs: Sequence[float], y: _Scale) -> list[str]:
    """One ``polygon.band`` per run of consecutive points with both bounds (a lone one is 6px wide)."""
    bands = [_band(p) for p in points]
    polygons = []
    for run in _runs([b is not None for b in bands]):
        offsets = (-3.0, 3.0) if len(run) == 1 else (0.0,)
        edges = [(xs[i] + dx, band) for i in run if (band := bands[i]) is not None for dx in offsets]
        tops = [(x, y(high)) for x, (_, high) in edges]
        bottoms = [(x, y(low)) for x, (low, _) in reversed(edges)]
        polygons.append(
            f'<polygon class="band" points="{_coords(tops + bottoms)}" fill="{BAND_COLOUR}" '
            f'fill-opacity="0.4" stroke="none"/>'
        )
    return polygons


def _lines(values: Sequence[float | None], xs: Sequence[float], y: _Scale) -> list[str]:
    """One ``polyline.line`` per run of consecutive values (a lone value is shown by its dot only)."""
    lines = []
    for run in _runs([v is not None for v in values]):
        if len(run) < 2:
            continue
        pairs = [(xs[i], y(v)) for i in run if (v := values[i]) is not None]
        lines.append(
            f'<polyline class="line" points="{_coords(pairs)}" fill="none" stroke="{LINE_COLOUR}" '
            f'stroke-width="1.5"/>'
        )
    return lines


def _dots(
    points: Sequence[Point], values: Sequence[float | None], xs: Sequence[float], y: _Scale, unit: str
) -> list[str]:
    """One ``circle.point`` per value (tripped: larger and red), with a tooltip and optional link."""
    dots = []
    for point, value, x in zip(points, values, xs):
        if value is None:
            continue
        cls, r, colour = (
            ("point tripped", 5, STATUS_COLOURS["fail"]) if point.tripped else ("point", 3, LINE_COLOUR)
        )
        circle = (
            f'<circle class="{cls}" cx="{_n(x)}" cy="{_n(y(value))}" r="{r}" fill="{colour}">'
            f"<title>{_esc(_point_title(point, value, unit))}</title></circle>"
        )
        dots.append(_link(circle, point.href))
    return dots


def _grid(ticks: Sequence[float], y: _Scale, width: int) -> list[str]:
    """A horizontal ``line.grid`` and a ``text.tick`` label per tick value."""
    out = []
    for tick in ticks:
        ty = _n(y(tick))
        out.append(
            f'<line class="grid" x1="{_MARGIN_LEFT}" y1="{ty}" x2="{width - _MARGIN_RIGHT}" y2="{ty}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
        )
        out.append(
            f'<text class="tick" x="{_MARGIN_LEFT - 6}" y="{_n(y(tick) + 4)}" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{_esc(_fmt(tick))}</text>'
        )
    return out


def _xlabels(points: Sequence[Point], xs: Sequence[float], height: int) -> list[str]:
    """``text.xlabel`` under at most 6 evenly chosen points, always the first and the last, and no more
    than fit side by side (about 6.5 px per character of the longest label, and as much again between
    labels: the chosen points are not evenly spaced when the points do not divide evenly)."""
    longest = max(len(p.label) for p in points)
    span = (xs[-1] - xs[0]) if len(xs) > 1 else 0.0
    fit = int(span // (2 * longest * 6.5 + 16)) + 1
    indices = _xlabel_indices(len(points), max(2, min(_MAX_XLABELS, fit)))
    out = []
    for i in indices:
        if len(points) == 1:
            anchor = "middle"
        else:
            anchor = "start" if i == 0 else "end" if i == len(points) - 1 else "middle"
        out.append(
            f'<text class="xlabel" x="{_n(xs[i])}" y="{height - 8}" text-anchor="{anchor}" '
            f'fill="{TEXT_COLOUR}">{_esc(points[i].label)}</text>'
        )
    return out


def series_chart(
    points: Sequence[Point], *, title: str, width: int = 720, height: int = 220, unit: str = ""
) -> str:
    """A metric over runs: its anomaly band, the values (broken at gaps) and one dot per value.

    Tripped points are larger red dots; each dot's tooltip gives the run, value and expected band, and
    links to the run when the point has an href. ``title`` is the chart's accessible name.
    """
    if not points:
        return _no_data(width, height, title)
    low, high = _y_range(points)
    y = _Scale(low, high, _MARGIN_TOP, height - _MARGIN_BOTTOM)
    xs = _spread(len(points), _MARGIN_LEFT + 6, width - _MARGIN_RIGHT - 6)
    values = [_finite(p.value) for p in points]
    body = [
        *_grid(_ticks(low, high), y, width),
        *_band_polygons(points, xs, y),
        *_lines(values, xs, y),
        *_dots(points, values, xs, y, unit),
        *_xlabels(points, xs, height),
    ]
    if unit:
        body.append(
            f'<text class="unit" x="4" y="{_MARGIN_TOP + 4}" fill="{TEXT_COLOUR}">{_esc(unit)}</text>'
        )
    return _svg(width, height, title, body, title=title)


# --- timeline -----------------------------------------------------------------------------------------


def _row_label(label: str, y: float, label_width: int) -> str:
    """A ``text.rowlabel``, shortened with an ellipsis (full text in its tooltip) if too long to fit."""
    max_chars = max(1, (label_width - 8) // 6)
    shown, tooltip = label, ""
    if len(label) > max_chars:
        shown = label[: max_chars - 1] + "\u2026"
        tooltip = f"<title>{_esc(label)}</title>"
    return f'<text class="rowlabel" x="0" y="{_n(y)}" fill="{TEXT_COLOUR}">{tooltip}{_esc(shown)}</text>'


def _cell(cell: Cell, x: float, y: float, size: int) -> str:
    """A ``rect.cell`` coloured by status, with the cell label as tooltip and an optional link."""
    rect = (
        f'<rect class="cell status-{status_class(cell.status)}" x="{_n(x)}" y="{_n(y)}" width="{size}" '
        f'height="{size}" rx="2" fill="{status_colour(cell.status)}"><title>{_esc(cell.label)}</title></rect>'
    )
    return _link(rect, cell.href)


def timeline(
    rows: Sequence[tuple[str, Sequence[Cell]]], *, cell: int = 14, gap: int = 3, label_width: int = 180
) -> str:
    """A grid of check outcomes: one row per check (label on the left), one coloured square per run."""
    pitch = cell + gap
    if not rows:
        return _no_data(label_width, pitch * 2, "check timeline")
    width = label_width + max(len(cells) for _, cells in rows) * pitch
    body = []
    for r, (row_label, cells) in enumerate(rows):
        top = r * pitch
        body.append(_row_label(row_label, top + cell / 2 + 4, label_width))
        body.extend(_cell(c, label_width + j * pitch, top, cell) for j, c in enumerate(cells))
    return _svg(width, len(rows) * pitch, "check timeline", body)
