"""The backtest's HTML page, rendered by a real headless Chromium: offline, and not blank.

The page is written by `promo backtest --html`, opened from disk with the network off, and
screenshot; the PNG is decoded here (zlib and the five PNG row filters, no imaging library)
and must show the page's ink and the chart colours. Without Chromium the test is skipped,
unless PROMO_REQUIRE_CHROMIUM=1 (.ci/run installs Debian's chromium and sets it).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

import dsl
from benchmarks.seed_sales import seed_sales
from dsl.programme import bundle_text, read_folder
from engine.compiled import compile_ruleset
from server.cli.main import main

HEALTH = bundle_text(read_folder("rulesets/health"))  # the programme folder as one text
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _pixels(png: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, RGB(A) pixels) of an 8-bit, non-interlaced PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        header = data if kind == b"IHDR" else header
        idat += data if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    pixels = [tuple(r[x * bpp : x * bpp + 3]) for r in rows for x in range(width)]
    return width, height, pixels


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("PROMO_REQUIRE_CHROMIUM") != "1", reason="no chromium on this machine"
)
def test_the_page_renders_offline_and_is_not_blank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert CHROMIUM is not None, "PROMO_REQUIRE_CHROMIUM=1 but chromium is not installed"
    from server.storage.store import Ledger

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = Ledger.open(url)
    seed_sales(ledger, compile_ruleset(dsl.load(HEALTH, "health.rules")), 300, date(2026, 11, 1), 10)
    ledger.engine.dispose()
    candidate = tmp_path / "candidate.rules"
    candidate.write_text(
        HEALTH.replace("then item discount 9.5折", "then item discount 9折"), encoding="utf-8"
    )
    page = tmp_path / "backtest.html"
    args = ["backtest", "--ruleset", str(candidate), "--from", "2026-11-01", "--to", "2026-11-10"]
    assert main([*args, "--db", url, "--workers", "0", "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert (
        html.count("<svg") == 3 and "http://" not in html and "https://" not in html and "<script" not in html
    )

    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--proxy-server=127.0.0.1:9", "--window-size=800,1400", f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    width, height, pixels = _pixels(shot.read_bytes())
    assert (width, height) == (800, 1400)
    ink = sum(1 for p in pixels if p != (255, 255, 255))
    assert ink > len(pixels) // 50  # text, cards, charts: far from a white page
    colours = Counter(pixels)
    assert colours[(0xD9, 0x48, 0x0F)] > 500  # the "after" line and the histogram bars
    assert colours[(0x8A, 0x8F, 0x98)] > 50  # the "before" line
    assert colours[(0xC9, 0x2A, 0x2A)] > 100  # a_class's cost going up in the delta chart
