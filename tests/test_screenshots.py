"""Snapshot test: the screenshots in screenshots/ are what the app draws today.

``scripts/screenshots.py`` renders every main screen from the demo with a fixed
seed and clock; the SVGs it writes are byte-for-byte reproducible.  This test
runs it (in a subprocess: the script sets TZ and NO_COLOR for itself) into a
temporary directory and compares each SVG with the committed one, so a visual
change fails CI until the screenshots are regenerated on purpose
(``python scripts/screenshots.py``) and the README shows the truth.

On a difference the failure shows the screen's text lines that changed (the
SVG's characters, laid out by row and column), which is usually enough to see
what moved; a colour-only change says so.
"""

from __future__ import annotations

import difflib
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "screenshots.py"
COMMITTED = ROOT / "screenshots"

_TEXT = re.compile(
    r'<text class="[^"]*" x="([0-9.]+)" y="[0-9.]+" textLength="[0-9.]+" '
    r'clip-path="url\(#[^)]*-line-(\d+)\)">([^<]*)</text>'
)
CELL_WIDTH = 12.2  # Textual's SVG: one terminal cell
LEFT = 0.0  # the first cell's x


def screen_lines(svg: str) -> list[str]:
    """The characters of an exported screen, one string per terminal row."""
    rows: dict[int, dict[int, str]] = {}
    for x, line, text in _TEXT.findall(svg):
        column = round((float(x) - LEFT) / CELL_WIDTH)
        row = rows.setdefault(int(line), {})
        for i, ch in enumerate(html.unescape(text).replace("\u00a0", " ")):
            row[column + i] = ch
    out = []
    for n in range(max(rows, default=-1) + 1):
        cells = rows.get(n, {})
        out.append("".join(cells.get(i, " ") for i in range(max(cells, default=-1) + 1)).rstrip())
    return out


def test_screen_lines_reads_an_svg_row_by_row() -> None:
    svg = (
        '<text class="t-r1" x="0" y="20" textLength="24.4" clip-path="url(#t-line-0)">ab</text>'
        '<text class="t-r2" x="36.6" y="20" textLength="12.2" clip-path="url(#t-line-0)">&#160;c</text>'
        '<text class="t-r1" x="12.2" y="44" textLength="12.2" clip-path="url(#t-line-1)">&lt;</text>'
    )
    assert screen_lines(svg) == ["ab  c", " <"]


@pytest.mark.timeout(240)
def test_screenshots_match_what_the_app_draws(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TEXTUAL")}
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=220)
    assert run.returncode == 0, f"scripts/screenshots.py failed:\n{run.stderr[-3000:]}"
    made = sorted(p.name for p in tmp_path.glob("*.svg"))
    committed = sorted(p.name for p in COMMITTED.glob("*.svg"))
    assert made == committed, "screenshots/ does not hold exactly the screenshots the script makes"
    problems = []
    for name in made:
        new = (tmp_path / name).read_text(encoding="utf-8")
        old = (COMMITTED / name).read_text(encoding="utf-8")
        if new == old:
            continue
        diff = list(difflib.unified_diff(screen_lines(old), screen_lines(new), "committed", "now",
                                         lineterm="", n=1))
        problems.append(f"{name}:\n" + ("\n".join(diff[:40]) if diff else "  (same text; colours or styles changed)"))
    assert not problems, (
        "the screens changed; if that is intended, run `python scripts/screenshots.py` and commit:\n\n"
        + "\n\n".join(problems)
    )
