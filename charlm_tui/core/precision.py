"""Provides the precision choice: whether bfloat16 is native here and faster, and autocast.

bfloat16 autocast pays where the hardware multiplies bfloat16 itself: CUDA GPUs from
Ampere on, and x86 CPUs with AVX-512 BF16 or AMX (oneDNN kernels). Elsewhere torch
emulates it, far slower than float32 (docs/performance.md). Native is not always
faster, though (a small model on a GPU only queues kernels), so `auto` means bfloat16
where it is native AND measured faster on this machine: the measurement runs once per
machine (device, CPU or GPU name, torch version) and its answer is cached as JSON in the
user cache dir. Where bfloat16 is emulated nothing is measured: float32.
"""

from __future__ import annotations

import contextlib
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from charlm_tui.core.i18n import _

DTYPES = ("auto", "float32", "bfloat16")
CACHE_NAME = "precision.json"
MIN_SPEEDUP = 1.05  # bfloat16 must beat float32 by this much: a tie is not worth rounding


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


def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it where there is one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("charlm-tui")) / CACHE_NAME


def machine_key(device: torch.device | str = "cpu") -> str:
    """What the answer depends on: the device kind, its model, torch's version."""
    device = torch.device(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = f"{cpu_model()} ({torch.backends.cpu.get_cpu_capability()})"
    return f"{device.type}: {name}, torch {torch.__version__}"


def measure_bf16_speedup(
    device: torch.device | str = "cpu", reps: int = 7, rows: int = 2048
) -> float:
    """float32 time / bfloat16-autocast time of a forward and backward through an MLP
    block of a small GPT's size (a (rows, 256) batch, 4x wide), interleaved, medians."""
    device = torch.device(device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 256, generator=gen).to(device).requires_grad_()
    w1 = torch.randn(256, 1024, generator=gen).to(device).requires_grad_()
    w2 = torch.randn(1024, 256, generator=gen).to(device).requires_grad_()

    def once(dtype: str) -> float:
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        with autocast(dtype, device):
            y = torch.relu(x @ w1) @ w2
        y.float().square().mean().backward()
        sync()
        return time.perf_counter() - t0

    once("float32"), once("bfloat16")  # warm-up: kernels picked, memory allocated
    times: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    for _rep in range(reps):
        for dtype in times:
            times[dtype].append(once(dtype))
    return statistics.median(times["float32"]) / statistics.median(times["bfloat16"])


def bf16_faster(
    device: torch.device | str = "cpu",
    measure: Callable[[torch.device | str], float] = measure_bf16_speedup,
    path: Path | None = None,
) -> bool:
    """Whether bfloat16 autocast beat float32 on this machine: measured at the first call
    for this machine and cached in `path`; an unreadable or unwritable cache only costs
    a new measurement."""
    path = path or cache_path()
    key = machine_key(device)
    cache: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        cache = json.loads(path.read_text(encoding="utf-8"))
    entry = cache.get(key) if isinstance(cache, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("bfloat16_speedup"), float):
        entry = {"bfloat16_speedup": measure(device), "measured_at": time.time()}
        cache = {**(cache if isinstance(cache, dict) else {}), key: entry}
        with contextlib.suppress(OSError):
            from charlm_tui.core.atomic import atomic_write_bytes

            path.parent.mkdir(parents=True, exist_ok=True)
            data = json.dumps(cache, indent=1).encode()
            atomic_write_bytes(path, data, durable=False)
    return float(entry["bfloat16_speedup"]) >= MIN_SPEEDUP


def resolve_dtype(name: str, device: torch.device | str = "cpu") -> str:
    """`float32` or `bfloat16` for a setting of `auto`, `float32` or `bfloat16`."""
    if name not in DTYPES:
        raise ValueError(
            _("dtype must be one of {value} (got {name!r})").format(
                value=", ".join(DTYPES), name=name
            )
        )
    if name == "auto":
        faster = bf16_native(device) and bf16_faster(device)  # never measured if emulated
        return "bfloat16" if faster else "float32"
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
