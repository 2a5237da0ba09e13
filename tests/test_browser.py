"""The served app in a real browser: headless Chromium, driven by keys as a person would.

The page draws the app with xterm.js on a canvas, so the text is not in the DOM. A script
that runs before the page's own keeps each terminal the page creates, and the test reads
the screen from that terminal's buffer: exactly what the browser shows.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import needs_corpora

pytest.importorskip("aiohttp", reason="the browser test needs textual-serve (and aiohttp)")
pytest.importorskip(
    "textual_serve", reason="the browser test needs textual-serve: pip install -e '.[dev]'"
)

from tests.cdp import chromium, find_chromium, new_page  # noqa: E402
from tests.served import served_app  # noqa: E402

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Chromium for the browser test (Debian: apt-get install chromium; .ci/run does)",
)

# textual-serve's page keeps its xterm.js Terminal in `this.terminal`: catch the assignment.
KEEP_TERMINALS = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true});
    if (value && value.buffer && value.buffer.active) window.__terminals.push(value);
  },
});
window.__screen = () => {
  const term = window.__terminals[0];
  if (!term) return "";
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
};
"""

SCREEN = '(window.__screen ? window.__screen() : "")'  # "" until the app's page has loaded
GENERATED = re.compile(r"› Holmes(?P<text>.+?)\[\d+ characters\]", re.S)


@needs_chromium
@needs_corpora
async def test_browser_trains_and_generates(tmp_path) -> None:
    """2, s, 3, Holmes, Enter in Chromium: a run starts and the console writes after Holmes."""
    assert CHROMIUM is not None
    with served_app(cwd=tmp_path) as served:
        async with chromium(CHROMIUM) as (http, devtools), new_page(http, devtools) as page:
            await page.send("Page.enable")  # without it the script below never runs
            await page.send("Page.addScriptToEvaluateOnNewDocument", source=KEEP_TERMINALS)
            await page.send("Page.navigate", url=served.url + "/")

            async def shows(text: str, timeout: float = 30) -> str:
                """The screen once `text` is on it; fails with the screen and the server's log."""
                found = await page.poll(f"{SCREEN}.includes({text!r})", timeout)
                screen = await page.evaluate(SCREEN)
                if not found:
                    terminals = await page.evaluate("(window.__terminals || []).length")
                    pytest.fail(
                        f"{text!r} not on the page within {timeout} s ({terminals} terminal(s))"
                        f"\n---screen---\n{screen}\n---server---\n{served.log()}"
                    )
                return str(screen)

            await shows("vocabulary of 83", timeout=60)  # the app starts with Sherlock loaded
            await page.evaluate("window.__terminals[0].focus()")
            await page.press("2")
            await shows("press s to train")
            await page.press("s")
            await shows("steps/s")  # the run's progress line: training is under way
            await page.press("3")
            await shows("type a seed and press Enter")
            await page.type("Holmes")
            await shows("Holmes")
            await page.press("Enter")
            screen = await shows(" characters]")
    generated = GENERATED.search(screen)
    assert generated is not None, screen
    assert re.search(r"[a-z]{2}", generated["text"]), f"no text after Holmes:\n{screen}"
