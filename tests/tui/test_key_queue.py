"""Tests of KeyQueue on its own: order, no wait for a quiet app, and a bound for a busy one."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from textual import events

from charlm_tui.tui import key_queue
from charlm_tui.tui.key_queue import KeyQueue


def pump(unfinished: int) -> SimpleNamespace:
    """A stand-in message pump with `unfinished` messages queued or in hand."""
    return SimpleNamespace(
        is_running=True, _message_queue=SimpleNamespace(_unfinished_tasks=unfinished)
    )


async def route_all(busy: bool, keys: str) -> tuple[list[str], float]:
    routed: list[str] = []

    async def route(key: events.Key) -> None:
        routed.append(key.key)

    queue = KeyQueue(route, lambda: [pump(1 if busy else 0)])
    queue.start()
    start = time.monotonic()
    for key in keys:
        queue.put(events.Key(key, key))
    while len(routed) < len(keys) and time.monotonic() - start < 5:
        await asyncio.sleep(0.001)
    elapsed = time.monotonic() - start
    queue.stop()
    return routed, elapsed


async def test_keys_go_out_in_order_and_a_quiet_app_holds_none_back(monkeypatch) -> None:
    monkeypatch.setattr(key_queue, "SETTLE_S", 10.0)
    routed, elapsed = await route_all(False, "abcdef")
    assert routed == list("abcdef")
    assert elapsed < 5  # none waited for the bound


async def test_a_busy_app_holds_each_key_back_only_for_a_while(monkeypatch) -> None:
    """A pump that never empties (a stream of messages) delays each key by SETTLE_S at
    most: every key still goes out, in order."""
    monkeypatch.setattr(key_queue, "SETTLE_S", 0.02)
    routed, elapsed = await route_all(True, "abc")
    assert routed == list("abc")
    assert elapsed >= 2 * 0.02  # it did wait for the busy app between keys
    assert elapsed < 5


def test_a_pump_not_running_or_without_a_queue_counts_as_quiet() -> None:
    stopped = SimpleNamespace(is_running=False, _message_queue=SimpleNamespace(_unfinished_tasks=3))
    assert key_queue.unfinished(stopped) == 0  # type: ignore[arg-type]
    other_textual = SimpleNamespace(is_running=True)
    assert key_queue.unfinished(other_textual) == 0  # type: ignore[arg-type]
