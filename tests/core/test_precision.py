"""Precision: what `auto` means on this machine, and bfloat16 training agrees with float32."""

from __future__ import annotations

import math

import pytest
import torch

from charlm_tui.core import events as ev
from charlm_tui.core.precision import autocast, bf16_native, resolve_dtype
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


def test_auto_is_bfloat16_exactly_where_the_cpu_multiplies_it_natively() -> None:
    expected = "bfloat16" if bf16_native("cpu") else "float32"
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
