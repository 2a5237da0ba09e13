"""Provides the waits Pilot tests share: run the app until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from charlm_tui.tui.app import CharLMApp


async def until(pilot: Pilot, condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)


async def loaded(pilot: Pilot) -> CharLMApp:
    """Wait for the app's corpus; fail with the app's own words if it did not load."""
    app = pilot.app
    assert isinstance(app, CharLMApp)
    await until(pilot, lambda: app.dataset is not None or app.load_error is not None)
    assert app.dataset is not None, app.load_error
    return app
