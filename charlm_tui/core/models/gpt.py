"""Provides the small GPT: pre-norm transformer blocks, RoPE positions, sliding-window attention.

Attention span, precisely: every position attends to itself and the `block_size - 1`
positions before it (sliding-window attention). Up to `block_size` characters this is
plain causal attention; past it, `forward` applies `sliding_window_mask`.

These modules are the only weights: training runs `forward`; generation (`init_state`,
`step`) runs `gpt_decode`, which reads the same modules' weights into a ring-buffer KV
cache and is tested to give `forward`'s logits (tests/core/test_gpt_decode.py).

Receptive field: each layer looks `block_size - 1` positions back, so the last logits
depend on the last `n_layer * (block_size - 1) + 1` characters (`context_size`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from charlm_tui.core.i18n import _
from charlm_tui.core.models.base import CharModel
from charlm_tui.core.models.gpt_decode import KVCache, StepWeights, decode, init_cache, step_weights
from charlm_tui.core.models.rope import apply_rope, rope_rotations


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


# The MLP's activation. ReLU is the default: on a 2-core AVX2 CPU, forward and backward
# of a (768, 512) batch took 0.29 ms against 1.2 ms for the erf GELU and 3.5 ms for the
# tanh one (14 ms of a 4-layer training step), and on Tiny Shakespeare the 4x128 model
# reached a lower val loss after 2000 steps with it (docs/performance.md).
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": _gelu_tanh,
}


@dataclass
class GPTConfig:
    vocab_size: int = 84
    block_size: int = 128  # attention window (and training window)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False  # biases in Linear and LayerNorm layers
    rope_base: float = 10000.0
    tie_weights: bool = True  # lm_head shares the token embedding matrix
    activation: str = "relu"  # of the MLP: see ACTIVATIONS

    def __post_init__(self) -> None:
        for key in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            if getattr(self, key) < 1:
                raise ValueError(
                    _("{key} must be >= 1, got {value}").format(key=key, value=getattr(self, key))
                )
        if self.n_embd % self.n_head or (self.n_embd // self.n_head) % 2:
            raise ValueError(
                _(
                    "n_embd ({n_embd}) must split into n_head ({n_head}) heads of even size (RoPE rotates pairs)"
                ).format(n_embd=self.n_embd, n_head=self.n_head)
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(
                _("dropout must be in [0, 1), got {dropout}").format(dropout=self.dropout)
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                _("activation must be one of {value}, got {activation!r}").format(
                    value=", ".join(ACTIVATIONS), activation=self.activation
                )
            )


def sliding_window_mask(
    size: int, window: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """(size, size) bool, True where query i may attend key j: 0 <= i - j < window."""
    pos = torch.arange(size, device=device)
    dist = pos[:, None] - pos[None, :]
    return (dist >= 0) & (dist < window)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def qkv(
        self, x: torch.Tensor, rot: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, C), rot (T, D/2) -> q, k, v each (B, H, T, D), q and k rotated."""
        B, T, C = x.shape
        qkv = self.c_attn(x).view(B, T, 3, self.n_head, self.head_dim)
        qk = apply_rope(qkv[:, :, :2], rot[:, None, None])  # (B, T, 2, H, D)
        q = qk[:, :, 0].transpose(1, 2)
        k = qk[:, :, 1].transpose(1, 2)
        v = qkv[:, :, 2].transpose(1, 2)
        return q, k, v

    def forward(
        self, x: torch.Tensor, rot: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Whole-sequence attention: causal (mask None) or under a (T, T) bool mask."""
        B, T, C = x.shape
        q, k, v = self.qkv(x, rot)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=mask is None,
        )  # (B, H, T, D)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C)))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        self.act = ACTIVATIONS[config.activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, rot: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), rot, mask)
        return x + self.mlp(self.ln_2(x))

    def step_weights(self) -> StepWeights:
        """This block's weights as the decoder's one-position step reads them (copies)."""
        a, m = self.attn, self.mlp
        return step_weights(self.ln_1, a.c_attn, a.c_proj, self.ln_2, m.c_fc, m.c_proj, m.act)


class GPT(CharModel):
    """Token embedding -> n_layer pre-norm blocks -> LayerNorm -> lm_head (tied)."""

    name = "gpt"

    def __init__(self, config: GPTConfig) -> None:
        super().__init__(config)
        self.head_dim = config.n_embd // config.n_head
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        # GPT-2: scale the projections into the residual stream by 1/sqrt(2 n_layer) so
        # its variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    @property
    def blocks(self) -> list[Block]:
        return cast("list[Block]", list(self.h))

    @property
    def context_size(self) -> int:
        return self.config.n_layer * (self.block_size - 1) + 1

    def _rotations(self, start: int, length: int) -> torch.Tensor:
        positions = torch.arange(start, start + length)
        return rope_rotations(positions, self.head_dim, self.config.rope_base).to(self.device)

    def compute_logits(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape
        W = self.block_size
        rot = self._rotations(0, T)  # (T, D/2)
        # Within the window plain causal attention (SDPA's fast path); past it, a mask.
        mask = None if T <= W else sliding_window_mask(T, W, idx.device)
        x = self.drop(self.wte(idx))  # (B, T, C)
        for block in self.h:
            x = block(x, rot, mask)
        return self.lm_head(self.ln_f(x))  # (B, T, V)

    # ---- generation: gpt_decode reads these modules' weights -----------------------------

    def init_state(self, batch_size: int = 1) -> KVCache:
        c = self.config
        return init_cache(
            [block.step_weights() for block in self.blocks],
            self.wte, self.ln_f, self.lm_head, c.n_head, c.block_size, c.rope_base, batch_size,
        )  # fmt: skip

    def step(self, idx: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        return decode(idx, state), state
