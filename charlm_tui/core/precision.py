"""Provides the precision choice: whether this device multiplies bfloat16 natively, and autocast.

bfloat16 autocast pays where the hardware multiplies bfloat16 itself: CUDA GPUs from
Ampere on, and x86 CPUs with AVX-512 BF16 or AMX (oneDNN kernels, about 4x the float32
matmul rate on such a CPU). Elsewhere torch emulates it: on an AVX2-only CPU a bfloat16
matmul ran at 0.6 GFLOP/s against 26 for float32, and a training step took 25x longer.
So `auto` means bfloat16 where it is native and float32 everywhere else.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

DTYPES = ("auto", "float32", "bfloat16")


def bf16_native(device: torch.device | str = "cpu") -> bool:
    """True when `device` multiplies bfloat16 in hardware (not emulated)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)
    return False  # mps and others: float32 unless asked


def resolve_dtype(name: str, device: torch.device | str = "cpu") -> str:
    """`float32` or `bfloat16` for a setting of `auto`, `float32` or `bfloat16`."""
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)} (got {name!r})")
    if name == "auto":
        return "bfloat16" if bf16_native(device) else "float32"
    return name


def autocast(dtype: str, device: torch.device | str) -> contextlib.AbstractContextManager[Any]:
    """bfloat16 autocast for `bfloat16`, nothing for `float32` (weights stay float32)."""
    if dtype == "bfloat16":
        return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def describe(device: torch.device | str = "cpu") -> str:
    """One line for reports: what bfloat16 support this device has."""
    device = torch.device(device)
    if device.type == "cpu":
        cap = torch.backends.cpu.get_cpu_capability()
        return f"{'native' if bf16_native(device) else 'emulated'} (CPU capability {cap})"
    return "native" if bf16_native(device) else "emulated or absent"
