"""`charlm serve`: the served app starts (it is not refused as "no terminal") and draws itself."""

from __future__ import annotations

import asyncio
import io
import re
import shlex
import sys
import time

import pytest

from tests.conftest import needs_corpora

aiohttp = pytest.importorskip("aiohttp", reason="the serve tests need textual-serve (and aiohttp)")
pytest.importorskip(
    "textual_serve", reason="the serve tests need textual-serve: pip install -e '.[dev]'"
)

from tests.served import served_app  # noqa: E402

REFUSAL = "needs an interactive terminal"
ESCAPES = re.compile(r"\x1b\[[0-9;?<>=$]*[A-Za-z]|\x1b\][^\x07]*\x07")


def test_a_served_app_counts_as_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    """With TEXTUAL_DRIVER set (textual-serve sets it) a pipe is the app's terminal."""
    from charlm_tui.tui.terminal import why_not_interactive

    pipe = io.StringIO()
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    assert why_not_interactive(pipe) == "not a TTY"
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    assert why_not_interactive(pipe) is None


def test_serve_command_survives_a_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's command line, which textual-serve runs through a shell, keeps a path whole."""
    from charlm_tui.cli import serve_command

    monkeypatch.setattr(sys, "executable", "/opt/my env/bin/python")
    line = serve_command(corpus="my novel.txt")
    assert shlex.split(line) == [
        "/opt/my env/bin/python",
        *("-m", "charlm_tui", "tui", "--corpus", "my novel.txt"),
    ]


@needs_corpora
async def test_served_app_draws_itself_not_the_refusal() -> None:
    """The first thing the app sends a browser is its screen, and the dataset screen follows."""
    with served_app() as served:
        url = served.url + "/ws?width=100&height=30"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            first, screen = await read_screen(ws, until="The Adventures of Sherlock", timeout=60)
        log = served.log()
    assert first is not None, f"the app sent nothing; the server said:\n{log}"
    assert REFUSAL not in first, first
    assert "Application failed to start" not in log, log
    assert "The Adventures of Sherlock" in screen, f"{screen[-2000:]}\n---server---\n{log}"


async def read_screen(ws: aiohttp.ClientWebSocketResponse, until: str, timeout: float):
    """The app's first output, and all its text (escapes removed) once `until` is in it."""
    first: str | None = None
    text = ""
    deadline = time.monotonic() + timeout
    while until not in text and (left := deadline - time.monotonic()) > 0:
        try:
            message = await ws.receive(timeout=left)
        except asyncio.TimeoutError:
            break
        if message.type == aiohttp.WSMsgType.BINARY:
            chunk = message.data.decode("utf-8", errors="replace")
            first = chunk if first is None else first
            text += ESCAPES.sub("", chunk)
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            break
    return first, text
