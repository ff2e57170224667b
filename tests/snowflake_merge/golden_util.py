"""Golden SQL files: one file of ``-- case: <name>`` blocks per builder; ``UPDATE_GOLDEN=1`` rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"


def load(name: str) -> dict[str, str]:
    path = GOLDEN_DIR / name
    if not path.exists():
        return {}
    cases: dict[str, str] = {}
    for block in path.read_text().split("-- case: ")[1:]:
        title, _, body = block.partition("\n")
        cases[title.strip()] = body.rstrip("\n")
    return cases


def check(name: str, actual: dict[str, str]) -> None:
    """Compare every case with the golden file (or rewrite the file when UPDATE_GOLDEN=1)."""
    if os.environ.get("UPDATE_GOLDEN") == "1":
        text = "".join(f"-- case: {case}\n{sql}\n\n" for case, sql in actual.items())
        (GOLDEN_DIR / name).write_text(text)
        return
    expected = load(name)
    assert sorted(expected) == sorted(actual), (
        f"golden cases differ; run with UPDATE_GOLDEN=1 and review {name}"
    )
    for case, sql in actual.items():
        assert sql == expected[case], f"{name} case {case!r} changed:\n{sql}"
