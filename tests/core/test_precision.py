"""Precision: what `auto` means on this machine, and bfloat16 training agrees with float32."""

from __future__ import annotations

import json
import math

import pytest
import torch

from charlm_tui.core import events as ev
from charlm_tui.core import precision
from charlm_tui.core.precision import autocast, bf16_faster, bf16_native, resolve_dtype
from charlm_tui.core.train import ConfigError, TrainConfig, Trainer
from tests.conftest import TINY_TEXT


def tiny_gpt(dtype: str, steps: int = 40) -> TrainConfig:
    return TrainConfig.defaults_for(
        "gpt",
        steps=steps,
        batch_size=8,
        block_size=16,
        lr=3e-3,
        warmup_steps=5,
        eval_interval=steps,
        eval_batches=2,
        sample_length=0,
        dtype=dtype,
        model_overrides={"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 16},
    )


def losses(dtype: str) -> list[float]:
    seen: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, ev.StepCompleted):
            seen.append(event.loss)

    Trainer(tiny_gpt(dtype), TINY_TEXT, on_event=on_event).run()
    return seen


def test_auto_is_bfloat16_only_where_the_cpu_multiplies_it_natively_and_faster() -> None:
    expected = "bfloat16" if bf16_native("cpu") and bf16_faster("cpu") else "float32"
    assert resolve_dtype("auto", "cpu") == expected
    assert Trainer(tiny_gpt("auto"), TINY_TEXT).dtype == expected
    assert resolve_dtype("float32", "cpu") == "float32"
    assert resolve_dtype("bfloat16", "cpu") == "bfloat16"  # asked for: honoured, even emulated


def test_an_unknown_dtype_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        resolve_dtype("float16", "cpu")
    with pytest.raises(ConfigError, match="dtype"):
        Trainer(tiny_gpt("half"), TINY_TEXT)


def test_bfloat16_autocast_computes_in_bfloat16_and_float32_does_not() -> None:
    a, b = torch.randn(4, 8), torch.randn(8, 3)
    with autocast("bfloat16", "cpu"):
        assert (a @ b).dtype == torch.bfloat16
    with autocast("float32", "cpu"):
        assert (a @ b).dtype == torch.float32


def test_bfloat16_and_float32_training_losses_agree_within_a_tolerance() -> None:
    """Same seed, same batches: bfloat16 rounding moves each loss by about a thousandth here."""
    full, half = losses("float32"), losses("bfloat16")
    assert len(full) == len(half) == 40
    assert all(math.isfinite(x) for x in half)
    assert abs(full[0] - half[0]) < 0.01  # the same initial model and batch
    assert max(abs(a - b) for a, b in zip(full, half, strict=True)) < 0.05
    assert sum(half[-10:]) / 10 < half[0] - 0.5  # and bfloat16 learns as float32 does


def test_auto_never_measures_where_bfloat16_is_emulated(monkeypatch) -> None:
    def no_measuring(*args: object) -> bool:
        raise AssertionError("measured where bfloat16 is emulated")

    monkeypatch.setattr(precision, "bf16_native", lambda device="cpu": False)
    monkeypatch.setattr(precision, "bf16_faster", no_measuring)
    assert resolve_dtype("auto", "cpu") == "float32"


def test_auto_takes_bfloat16_where_native_only_if_measured_faster(monkeypatch) -> None:
    monkeypatch.setattr(precision, "bf16_native", lambda device="cpu": True)
    for faster, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(precision, "bf16_faster", lambda device="cpu", f=faster: f)
        assert resolve_dtype("auto", "cpu") == expected


def test_the_answer_is_measured_once_per_machine_and_cached_as_json(tmp_path) -> None:
    path = tmp_path / "cache" / "precision.json"
    calls: list[object] = []

    def measure(device: object) -> float:
        calls.append(device)
        return 1.4

    assert bf16_faster("cpu", measure, path) is True
    assert bf16_faster("cpu", measure, path) is True
    assert len(calls) == 1  # the second answer came from the file
    entry = json.loads(path.read_text())[precision.machine_key("cpu")]
    assert entry["bfloat16_speedup"] == 1.4
    path.write_text(json.dumps({precision.machine_key("cpu"): {"bfloat16_speedup": 1.01}}))
    assert bf16_faster("cpu", measure, path) is False  # under MIN_SPEEDUP: float32
    assert len(calls) == 1


def test_an_unreadable_cache_is_measured_again_and_rewritten(tmp_path) -> None:
    path = tmp_path / "precision.json"
    path.write_text("{not json")
    assert bf16_faster("cpu", lambda device: 0.1, path) is False
    assert json.loads(path.read_text())[precision.machine_key("cpu")]["bfloat16_speedup"] == 0.1


def test_the_measurement_gives_a_finite_positive_ratio() -> None:
    ratio = precision.measure_bf16_speedup("cpu", reps=1, rows=32)
    assert math.isfinite(ratio) and ratio > 0
