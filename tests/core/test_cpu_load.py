"""The trainer's thread count follows the cores other processes leave free."""

from __future__ import annotations

import time

import pytest

from charlm_tui.core import cpu_load
from charlm_tui.core.train import TrainConfig, Trainer
from tests.conftest import TINY_TEXT


def test_free_cores_leaves_the_busy_ones_and_keeps_at_least_one(monkeypatch) -> None:
    monkeypatch.setattr(cpu_load, "cores", lambda: 2)
    assert [cpu_load.free_cores(x) for x in (0.0, 0.4, 0.6, 1.2, 5.0)] == [2, 2, 1, 1, 1]


def test_cpu_load_counts_other_processes_not_this_one() -> None:
    load = cpu_load.CpuLoad(every_s=0.0)
    if load._last is None:
        pytest.skip("no /proc/stat on this platform")
    end = time.process_time() + 0.3
    while time.process_time() < end:  # keep one core busy in this process
        pass
    others = load.others_busy()
    assert others is not None and 0.0 <= others < cpu_load.cores()


def test_large_steps_take_the_free_cores_and_small_ones_one_thread(monkeypatch) -> None:
    monkeypatch.setattr(cpu_load, "cores", lambda: 2)
    monkeypatch.setattr(cpu_load, "load_average", lambda: 0.1)
    big = TrainConfig.defaults_for("gpt", batch_size=64, block_size=64, sample_length=0)
    assert Trainer(big, TINY_TEXT * 20).auto_threads() == 2
    monkeypatch.setattr(cpu_load, "load_average", lambda: 1.3)  # another process on a core
    assert Trainer(big, TINY_TEXT * 20).auto_threads() == 1
    assert Trainer(TrainConfig.defaults_for("bigram"), TINY_TEXT).auto_threads() == 1
    assert Trainer(TrainConfig.defaults_for("bigram", threads=3), TINY_TEXT).auto_threads() == 3
