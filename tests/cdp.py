"""Provides a small Chrome DevTools Protocol client: headless Chromium driven over a websocket.

Enough for the browser tests: start Chromium, open a page, run JavaScript in it, and press
keys as a person would (key events that reach the page's focused element).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")

# What CDP's Input.dispatchKeyEvent needs for the keys that are not plain characters.
SPECIAL_KEYS = {
    "enter": {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"},
    "escape": {"key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27},
    "tab": {"key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9, "text": "\t"},
    "backspace": {"key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8},
    "f1": {"key": "F1", "code": "F1", "windowsVirtualKeyCode": 112},
}


class CDPError(RuntimeError):
    """A DevTools command failed, or the browser went away."""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) on PATH, or None."""
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


class Session:
    """One DevTools websocket: numbered commands and their answers; events are dropped."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            future = self._waiting.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
        for future in self._waiting.values():  # the socket closed under a command
            if not future.done():
                future.set_exception(CDPError("the browser closed the DevTools connection"))

    async def send(self, method: str, timeout: float = 20, **params: Any) -> dict[str, Any]:
        """Run one command; its result, or CDPError with the browser's message."""
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self._ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
        answer = await asyncio.wait_for(future, timeout)
        if "error" in answer:
            raise CDPError(f"{method}: {answer['error'].get('message', answer['error'])}")
        return dict(answer.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited if it is a promise)."""
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            thrown = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"{expression!r} threw: {thrown}")
        return result["result"].get("value")

    async def press(self, key: str) -> None:
        """Press and release one key: a character ('2', 'H') or a name from SPECIAL_KEYS."""
        if key.lower() in SPECIAL_KEYS:
            fields = dict(SPECIAL_KEYS[key.lower()])
        elif len(key) == 1:
            code = f"Key{key.upper()}" if key.isalpha() else f"Digit{key}" if key.isdigit() else ""
            fields = {"key": key, "code": code, "text": key}
            if key.isalnum() and key.isascii():
                fields["windowsVirtualKeyCode"] = ord(key.upper())
        else:
            raise ValueError(
                f"no key called {key!r}: give one character or one of {list(SPECIAL_KEYS)}"
            )
        await self.send("Input.dispatchKeyEvent", type="keyDown", **fields)
        fields.pop("text", None)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **fields)

    async def type(self, text: str) -> None:
        """Press the keys of `text`, one character after another."""
        for char in text:
            await self.press(char)

    async def poll(self, expression: str, timeout: float, every: float = 0.1) -> Any:
        """Evaluate `expression` until it is truthy; its value, or the last one at the timeout."""
        deadline = time.monotonic() + timeout
        value = await self.evaluate(expression)
        while not value and time.monotonic() < deadline:
            await asyncio.sleep(every)
            value = await self.evaluate(expression)
        return value

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def chromium(
    binary: str, width: int = 1280, height: int = 800, timeout: float = 30
) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """Run headless Chromium with a fresh profile; yields an HTTP session and its DevTools URL."""
    with tempfile.TemporaryDirectory(prefix="charlm-chromium-") as tmp:
        profile, log_path = Path(tmp) / "profile", Path(tmp) / "chromium.log"
        with open(log_path, "wb") as log:  # a file, not a pipe: a full pipe would stall it
            proc = subprocess.Popen(
                [
                    binary,
                    "--headless=new",
                    "--remote-debugging-port=0",  # Chromium picks one and writes it to the profile
                    f"--user-data-dir={profile}",
                    f"--window-size={width},{height}",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-gpu",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            port_file = profile / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not port_file.is_file() or not port_file.read_text().strip():
                if proc.poll() is not None or time.monotonic() > deadline:
                    said = log_path.read_text(errors="replace")[-2000:]
                    raise CDPError(f"Chromium did not open its DevTools port:\n{said}")
                await asyncio.sleep(0.05)
            port = port_file.read_text().split()[0]
            async with aiohttp.ClientSession() as http:
                yield http, f"http://127.0.0.1:{port}"
        finally:
            # the browser and its renderers: the process group it was started in
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.asynccontextmanager
async def new_page(http: aiohttp.ClientSession, devtools: str) -> AsyncIterator[Session]:
    """A new tab, as a Session on its own websocket; the tab closes with the block."""
    async with http.put(f"{devtools}/json/new?about:blank") as response:
        target = await response.json()
    async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
        session = Session(ws)
        try:
            yield session
        finally:
            await session.close()
            async with http.get(f"{devtools}/json/close/{target['id']}") as response:
                await response.read()
