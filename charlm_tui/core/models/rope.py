"""Provides rotary positions (RoPE): the GPT's training forward and its decoder both rotate
queries and keys with these, so a score depends only on the distance between positions."""

from __future__ import annotations

import torch


def rope_rotations(positions: torch.Tensor, head_dim: int, base: float) -> torch.Tensor:
    """Unit complex numbers (T, head_dim // 2) rotating each (even, odd) pair of a head."""
    # float64: generation positions grow without bound, and a float32 angle
    # position * frequency has lost most of its fraction by position ~1e5.
    inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = positions.to(torch.float64)[:, None] * inv_freq  # (T, D/2)
    return torch.polar(torch.ones_like(angles), angles).to(torch.complex64)


def apply_rope(x: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """Rotate x (..., D) by rot (broadcastable to (..., D/2), complex) pair by pair."""
    # In float32: there is no bfloat16 complex type (bf16 autocast on CUDA).
    xc = torch.view_as_complex(x.float().unflatten(-1, (-1, 2)))  # (..., D/2)
    return torch.view_as_real(xc * rot).flatten(-2).to(x.dtype)  # (..., D)
