"""The Data health page's SVG charts: well-formed, accessible, escaped, with exact geometry and counts."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from airflow_provider_dataeng.health import svg
from airflow_provider_dataeng.health.svg import STATUS_COLOURS, Cell, Point, series_chart, sparkline, timeline

NS = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]
NASTY = '<script>"&'


def parse(text: str) -> ET.Element:
    """Parse an SVG (fails the test if it is not well-formed XML)."""
    return ET.fromstring(text)


def find(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    """Elements with this tag and, if given, exactly this class."""
    return [e for e in root.iter(f"{NS}{tag}") if cls is None or e.get("class") == cls]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [e.text or "" for e in find(root, "text", cls)]


def title_of(element: ET.Element) -> str:
    title = element.find(f"{NS}title")
    assert title is not None
    return title.text or ""


def linked(root: ET.Element) -> list[tuple[str, ET.Element]]:
    """(href, child) for every <a> in the SVG."""
    return [(a.get("href") or "", child) for a in root.iter(f"{NS}a") for child in a]


def points(n: int) -> list[Point]:
    """``n`` points labelled ``run 0``.. with values 0, 1, ..."""
    return [Point(label=f"run {i}", value=float(i)) for i in range(n)]


# --- every chart --------------------------------------------------------------------------------------

ALL_CHARTS = {
    "sparkline": lambda: sparkline([1, 2, None, 3]),
    "sparkline no data": lambda: sparkline([]),
    "series": lambda: series_chart(points(5), title="rows"),
    "series no data": lambda: series_chart([], title="rows"),
    "timeline": lambda: timeline([("check", [Cell("a", "pass")])]),
    "timeline no data": lambda: timeline([]),
}


@pytest.mark.parametrize("name", sorted(ALL_CHARTS))
def test_every_svg_is_accessible_and_explicitly_sized(name: str) -> None:
    text = ALL_CHARTS[name]()
    root = parse(text)
    assert root.tag == f"{NS}svg"
    assert text.startswith('<svg xmlns="http://www.w3.org/2000/svg" ')
    assert root.get("role") == "img"
    assert root.get("aria-label")
    width, height = root.get("width"), root.get("height")
    assert width and height and int(width) > 0 and int(height) > 0
    assert root.get("viewBox") == f"0 0 {width} {height}"


def test_status_colours() -> None:
    assert STATUS_COLOURS == {"pass": "#2e7d32", "warn": "#ed6c02", "fail": "#c62828", "error": "#6a1b9a"}
    assert svg.status_colour("none") == "#9e9e9e"
    assert svg.status_colour("FAIL") == "#c62828"


def test_module_does_not_import_airflow() -> None:
    code = "import sys; import airflow_provider_dataeng.health.svg; print('airflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
    source = (ROOT / "airflow_provider_dataeng" / "health" / "svg.py").read_text()
    assert not re.search(r"^\s*(import|from)\s+airflow\b", source, re.MULTILINE)


# --- sparkline ----------------------------------------------------------------------------------------


def test_sparkline_exact_coordinates() -> None:
    root = parse(sparkline([0, 10], width=100, height=24))
    (line,) = find(root, "polyline", "spark")
    assert line.get("points") == "2.0,22.0 98.0,2.0"
    (last,) = find(root, "circle", "last")
    assert (last.get("cx"), last.get("cy")) == ("98.0", "2.0")
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("100", "24", "0 0 100 24")
    assert root.get("aria-label") == "row count"


def test_sparkline_skips_none_but_keeps_positions() -> None:
    root = parse(sparkline([1, None, 3, None], width=124, height=24))
    # x positions 2, 42, 82, 122: the gaps keep their place, the last value is at the third position.
    (line,) = find(root, "polyline", "spark")
    assert line.get("points") == "2.0,22.0 82.0,2.0"
    (last,) = find(root, "circle", "last")
    assert (last.get("cx"), last.get("cy")) == ("82.0", "2.0")


def test_sparkline_constant_series_is_flat_in_the_middle() -> None:
    (line,) = find(parse(sparkline([5, 5, 5], width=100, height=24)), "polyline", "spark")
    assert line.get("points") == "2.0,12.0 50.0,12.0 98.0,12.0"


def test_sparkline_single_value_is_centred() -> None:
    root = parse(sparkline([7], width=100, height=20))
    (last,) = find(root, "circle", "last")
    assert (last.get("cx"), last.get("cy")) == ("50.0", "10.0")


@pytest.mark.parametrize("values", [[], [None, None], [math.nan]])
def test_sparkline_no_data(values: list[float | None]) -> None:
    root = parse(sparkline(values, label="orders rows"))
    assert texts(root, "empty") == ["no data"]
    assert find(root, "polyline") == [] and find(root, "circle") == []
    assert root.get("aria-label") == "orders rows"


def test_sparkline_label_is_escaped() -> None:
    text = sparkline([1, 2], label=NASTY)
    assert 'aria-label="&lt;script&gt;&quot;&amp;"' in text
    assert parse(text).get("aria-label") == NASTY


# --- series chart -------------------------------------------------------------------------------------


def test_series_one_dot_per_value_and_tripped_dots() -> None:
    pts = [
        Point("a", 1),
        Point("b", 2, tripped=True),
        Point("c", None),
        Point("d", 4),
        Point("e", 9, tripped=True),
    ]
    root = parse(series_chart(pts, title="rows"))
    circles = find(root, "circle")
    assert len(circles) == 4
    assert len(find(root, "circle", "point")) == 2
    tripped = find(root, "circle", "point tripped")
    assert len(tripped) == 2
    assert all(c.get("fill") == "#c62828" and c.get("r") == "5" for c in tripped)
    assert [title_of(c) for c in circles] == ["a: 1", "b: 2 - tripped", "d: 4", "e: 9 - tripped"]
    # The line breaks at the gap: a-b and d-e.
    assert len(find(root, "polyline", "line")) == 2


def test_series_line_skips_lone_values() -> None:
    pts = [Point("a", 1), Point("b", None), Point("c", 2), Point("d", None), Point("e", 3), Point("f", 4)]
    root = parse(series_chart(pts, title="t"))
    assert len(find(root, "polyline", "line")) == 1
    assert len(find(root, "circle", "point")) == 4


def test_series_exact_coordinates() -> None:
    # y range [0, 10] padded 5% -> [-0.5, 10.5] over the plot rows 10..74 (height 100 - 26 margin).
    # x: 56 + 6 = 62 to 200 - 12 - 6 = 182.
    root = parse(series_chart([Point("a", 0), Point("b", 10)], title="t", width=200, height=100))
    (line,) = find(root, "polyline", "line")
    assert line.get("points") == "62.0,71.1 182.0,12.9"
    assert [(c.get("cx"), c.get("cy")) for c in find(root, "circle", "point")] == [
        ("62.0", "71.1"),
        ("182.0", "12.9"),
    ]
    assert texts(root, "tick") == ["0", "5", "10"]
    assert [g.get("y1") for g in find(root, "line", "grid")] == ["71.1", "42.0", "12.9"]
    assert [(e.get("x"), e.text) for e in find(root, "text", "xlabel")] == [("62.0", "a"), ("182.0", "b")]


def test_series_band_one_polygon_per_run() -> None:
    full = [Point(str(i), 5, lower=4, upper=6) for i in range(4)]
    assert len(find(parse(series_chart(full, title="t")), "polygon", "band")) == 1
    gapped = [
        Point("a", 5, 4, 6),
        Point("b", 5, 4, 6),
        Point("c", 5, None, 6),
        Point("d", 5, 4, 6),
        Point("e", 5, 4, 6),
    ]
    assert len(find(parse(series_chart(gapped, title="t")), "polygon", "band")) == 2
    assert find(parse(series_chart(points(3), title="t")), "polygon", "band") == []


def test_series_band_geometry_and_range() -> None:
    # Values 5 and bounds 0..10: the band decides the y range [-0.5, 10.5] (plot rows 10..74).
    pts = [Point("a", 5, 0, 10), Point("b", 5, 0, 10)]
    (band,) = find(parse(series_chart(pts, title="t", width=200, height=100)), "polygon", "band")
    assert band.get("points") == "62.0,12.9 182.0,12.9 182.0,71.1 62.0,71.1"


def test_series_point_title_label_value_band() -> None:
    pts = [Point("2024-01-02 00:00", 1234, lower=1000, upper=1500.5, tripped=True), Point("x", 0.125)]
    root = parse(series_chart(pts, title="orders rows", unit="rows"))
    titles = [title_of(c) for c in find(root, "circle")]
    assert titles == [
        "2024-01-02 00:00: 1,234 rows (expected 1,000\u20131,500.5 rows) - tripped",
        "x: 0.125 rows",
    ]
    assert root.get("aria-label") == "orders rows"
    assert title_of(root) == "orders rows"


def test_series_tick_labels_compact_with_thousands_separator() -> None:
    root = parse(series_chart([Point("a", 0), Point("b", 4000)], title="t"))
    assert texts(root, "tick") == ["0", "2,000", "4,000"]


@pytest.mark.parametrize(
    ("value", "ticks"),
    [(0, ["-1", "-0.5", "0", "0.5", "1"]), (100, ["95", "97.5", "100", "102.5", "105"])],
)
def test_series_constant_data_gets_a_range(value: float, ticks: list[str]) -> None:
    root = parse(series_chart([Point("a", value), Point("b", value)], title="t", width=200, height=100))
    assert texts(root, "tick") == ticks
    # Flat in the middle of the plot rows 10..74.
    assert [c.get("cy") for c in find(root, "circle", "point")] == ["42.0", "42.0"]


def test_series_xlabels_first_last_at_most_six() -> None:
    root = parse(series_chart(points(20), title="t"))
    labels = texts(root, "xlabel")
    assert len(labels) == 6
    assert labels[0] == "run 0" and labels[-1] == "run 19"
    assert texts(parse(series_chart(points(3), title="t")), "xlabel") == ["run 0", "run 1", "run 2"]


def test_series_hrefs_wrap_dots_and_are_escaped() -> None:
    pts = [Point("a", 1, href="/dags/x/runs/r?a=1&b=2"), Point("b", 2), Point("c", 3, href="javascript:x()")]
    text = series_chart(pts, title="t")
    assert 'href="/dags/x/runs/r?a=1&amp;b=2"' in text
    root = parse(text)
    pairs = linked(root)
    assert [href for href, _ in pairs] == ["/dags/x/runs/r?a=1&b=2"]
    assert pairs[0][1].tag == f"{NS}circle" and pairs[0][1].get("class") == "point"
    assert len(find(root, "circle", "point")) == 3
    assert "javascript" not in text


def test_series_escapes_every_text() -> None:
    pts = [Point(NASTY, 1, href=f"/r?{NASTY}"), Point("b", 2)]
    text = series_chart(pts, title=NASTY, unit=NASTY)
    assert "<script>" not in text
    assert "&lt;script&gt;&quot;&amp;" in text
    root = parse(text)
    assert root.get("aria-label") == NASTY and title_of(root) == NASTY
    assert texts(root, "xlabel")[0] == NASTY
    assert title_of(find(root, "circle", "point")[0]) == f"{NASTY}: 1 {NASTY}"
    assert linked(root)[0][0] == f"/r?{NASTY}"


def test_series_nan_is_a_gap() -> None:
    root = parse(series_chart([Point("a", 1), Point("b", math.nan), Point("c", 2)], title="t"))
    assert len(find(root, "circle", "point")) == 2
    assert find(root, "polyline", "line") == []


def test_series_no_data() -> None:
    root = parse(series_chart([], title="orders rows", width=300, height=100))
    assert texts(root, "empty") == ["no data"]
    assert (root.get("aria-label"), root.get("width"), root.get("height")) == ("orders rows", "300", "100")
    assert find(root, "circle") == []


# --- timeline -----------------------------------------------------------------------------------------


def test_timeline_cells_classes_colours_and_geometry() -> None:
    rows = [
        ("unique(id)", [Cell("r1", "pass"), Cell("r2", "warn"), Cell("r3", "fail")]),
        ("not_null(ts)", [Cell("r1", "error")]),
        ("freshness", [Cell("r1", "none"), Cell("r2", "Weird-Status 2")]),
    ]
    root = parse(timeline(rows, cell=10, gap=2, label_width=100))
    assert (root.get("width"), root.get("height")) == ("136", "36")
    assert texts(root, "rowlabel") == ["unique(id)", "not_null(ts)", "freshness"]
    cells = find(root, "rect")
    assert [c.get("class") for c in cells] == [
        "cell status-pass",
        "cell status-warn",
        "cell status-fail",
        "cell status-error",
        "cell status-none",
        "cell status-weirdstatus",
    ]
    assert [c.get("fill") for c in cells] == [
        "#2e7d32",
        "#ed6c02",
        "#c62828",
        "#6a1b9a",
        "#9e9e9e",
        "#9e9e9e",
    ]
    assert [(c.get("x"), c.get("y")) for c in cells] == [
        ("100.0", "0.0"),
        ("112.0", "0.0"),
        ("124.0", "0.0"),
        ("100.0", "12.0"),
        ("100.0", "24.0"),
        ("112.0", "24.0"),
    ]
    assert [title_of(c) for c in cells] == ["r1", "r2", "r3", "r1", "r1", "r2"]


def test_timeline_hrefs_and_escaping() -> None:
    rows = [(NASTY, [Cell(NASTY, "fail", href="/runs?a=1&b=2"), Cell("x", "pass")])]
    text = timeline(rows)
    assert "<script>" not in text
    root = parse(text)
    assert texts(root, "rowlabel") == [NASTY]
    pairs = linked(root)
    assert [href for href, _ in pairs] == ["/runs?a=1&b=2"]
    assert pairs[0][1].get("class") == "cell status-fail"
    assert title_of(pairs[0][1]) == NASTY
    assert len(find(root, "rect")) == 2


def test_timeline_long_row_label_is_shortened_with_full_tooltip() -> None:
    label = "a" * 100
    (text,) = find(parse(timeline([(label, [Cell("x", "pass")])], label_width=68)), "text", "rowlabel")
    # (68 - 8) // 6 = 10 characters fit: 9 and an ellipsis.
    assert title_of(text) == label
    assert "".join(text.itertext()) == label + "a" * 9 + "\u2026"


def test_timeline_no_data() -> None:
    root = parse(timeline([]))
    assert texts(root, "empty") == ["no data"]
    assert find(root, "rect") == []
