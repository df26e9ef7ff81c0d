"""Helpers for the browser tests: screenshots, a hand-made PNG, and layout checks in the page."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# "1 peers", "1 posts", "≥1 copies": a singular count followed by a plural noun.
WRONG_PLURAL = re.compile(
    r"(?<![\d.])1 (peers|seeds|posts|authors|DHT nodes|torrents|copies|nodes)\b"
)

LAYOUT_PROBE = """() => {
  const doc = document.documentElement;
  const overflowing = [...document.querySelectorAll(
      'main .card, main article, main table, .topbar, .statusbar')]
    .filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => `${el.tagName.toLowerCase()}.${el.className}: `
               + `${el.scrollWidth} > ${el.clientWidth}`);
  const navTops = [...document.querySelectorAll('.topbar nav a')]
    .map(a => Math.round(a.getBoundingClientRect().top));
  const badges = [...document.querySelectorAll('article.post .post-head')].map(head => {
    const name = head.querySelector('.name').getBoundingClientRect();
    const badge = head.querySelector('.badge').getBoundingClientRect();
    return Math.abs((name.top + name.bottom) / 2 - (badge.top + badge.bottom) / 2);
  });
  return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, overflowing,
          navRows: new Set(navTops).size, badgeOffsets: badges};
}"""


def shoot(page: Page, folder: Path, name: str) -> None:
    """Save a full-page screenshot for a person to look at."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def layout_problems(page: Page) -> list[str]:
    """Return what is wrong with the page's layout at its current width (empty: nothing)."""
    probe: dict[str, Any] = page.evaluate(LAYOUT_PROBE)
    problems = []
    if probe["scrollWidth"] > probe["innerWidth"]:
        problems.append(f"scrolls sideways: {probe['scrollWidth']} > {probe['innerWidth']} px")
    problems += [f"wider than its box: {item}" for item in probe["overflowing"]]
    if probe["navRows"] != 1:
        problems.append(f"the nav takes {probe['navRows']} lines")
    problems += [
        f"the signed badge sits {offset:.0f} px off the author's line"
        for offset in probe["badgeOffsets"]
        if offset > 6
    ]
    wrong = WRONG_PLURAL.findall(page.locator("body").inner_text())
    if wrong:
        problems.append(f"singular count with a plural noun: {wrong}")
    return problems


def make_png(width: int = 96, height: int = 64) -> bytes:
    """Return a small gradient PNG (written by hand so the tests need no imaging library)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
