"""Pages as a person sees them: headless Chromium (Debian's `chromium`) lays a page out at a window width, and a
probe script measures what a reader would notice: the page scrolling sideways, a table or banner wider than the
window, a word (a number, a header, a verdict) broken across lines. The probe goes into a copy of the page, never
into what the suite writes (its pages carry no script).

Headless Chromium will not make a window narrower than 500 px, so the page is laid out in a frame of the width
asked for (its own viewport: the page's media queries see that width), inside a host page the probe reports to."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

# Words are what a reader reads as one: split at white space and where browsers may break ('-', '/'). Code spans
# (URLs, ids, pointers) may break anywhere: a 400 px window cannot hold a URL on one line. So may a word wider
# than its line (a 300-letter id in a message) and Chinese or Japanese text, which breaks between characters.
PROBE = r"""
<script>
(() => {
  const width = document.documentElement.clientWidth;
  const canvas = document.createElement("canvas").getContext("2d");
  const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
  const out = {width, scrollWidth: document.scrollingElement.scrollWidth, wide: [], broken: []};
  for (const el of document.querySelectorAll(%(wide)s)) {
    const box = el.getBoundingClientRect();
    const name = `${el.tagName.toLowerCase()}#${el.id || el.className}`;
    const span = `${Math.round(box.left)}..${Math.round(box.right)}`;
    if (box.width && (box.right > width + 1 || box.left < -1)) out.wide.push(`${name} ${span}`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("code, pre, script, style, svg, title")) continue;
    const style = getComputedStyle(parent);
    if (style.display === "none" || style.visibility === "hidden") continue;
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const line = parent.closest("td, th, li, p, div, section, h1, h2, h3, summary, body").clientWidth;
    for (const match of node.data.matchAll(/[^\s\-\/]+/g)) {
      if (cjk.test(match[0]) || canvas.measureText(match[0]).width > line - 4) continue;
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) out.broken.push(match[0]);
    }
  }
  const pre = document.createElement("pre");
  pre.id = "layout-probe";
  pre.textContent = JSON.stringify(out);
  parent.document.body.appendChild(pre);
})();
</script>
"""


@dataclass(frozen=True)
class Layout:
    width: int
    scroll_width: int
    wide: list[str]  # elements wider than the window (or off its left edge)
    broken: list[str]  # words laid out over more than one line

    @property
    def problems(self) -> list[str]:
        found = []
        if self.scroll_width > self.width + 1:
            found.append(f"the page scrolls sideways: {self.scroll_width} px in a {self.width} px window")
        found += [f"wider than the window: {element}" for element in self.wide]
        found += [f"broken across lines: {word!r}" for word in self.broken]
        return found


def chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium here (apt-get install chromium) to lay the page out in")
    return browser


MIN_WINDOW = 500  # headless Chromium's narrowest window


def framed(page: Path, width: int, height: int, tmp_path: Path, script: str = "") -> Path:
    """A host page showing `page` (with `script` added at its end) in a frame `width` x `height` px."""
    text = page.read_text(encoding="utf-8").replace("</body>", script + "</body>")
    host = tmp_path / f"framed-{width}-{page.name}"
    host.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
        f'<iframe style="border:0;display:block;width:{width}px;height:{height}px" srcdoc="{html.escape(text)}">'
        "</iframe></body></html>",
        encoding="utf-8",
    )
    return host


def layout(page: Path, width: int, tmp_path: Path, wide: str = "table, #verdict, figure, svg, pre") -> Layout:
    """`page` laid out by Chromium in a viewport `width` px wide, measured by the probe."""
    host = framed(page, width, 900, tmp_path, PROBE % {"wide": json.dumps(wide)})
    run = subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={tmp_path / f'profile-{width}'}",
            f"--window-size={max(width, MIN_WINDOW)},900",
            "--dump-dom",
            host.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', run.stdout, re.S)
    assert found, f"the probe did not run: {run.stderr[-1500:]}"
    data = json.loads(html.unescape(found.group(1)))
    return Layout(data["width"], data["scrollWidth"], data["wide"], data["broken"])


def screenshot(page: Path, width: int, height: int, tmp_path: Path) -> Path:
    """A PNG of the page's top `height` px in a viewport `width` px wide (the columns past `width` are the host's
    white, where the window is wider than the viewport)."""
    shot = tmp_path / f"shot-{width}-{page.stem}.png"
    subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={tmp_path / f'profile-shot-{width}'}",
            f"--window-size={max(width, MIN_WINDOW)},{height}",
            f"--screenshot={shot}",
            framed(page, width, height, tmp_path).as_uri(),
        ],
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert shot.is_file(), "Chromium wrote no screenshot"
    return shot
