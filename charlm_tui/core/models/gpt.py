"""Provides the small GPT: pre-norm transformer blocks, RoPE positions, a ring-buffer KV cache.

Attention span, precisely: every position attends to itself and the `block_size - 1`
positions before it (sliding-window attention). Up to `block_size` characters this is
plain causal attention; past it, `forward` applies `sliding_window_mask`.

Generation keeps, per layer, the keys and values of the last `block_size` positions in a
ring buffer (position p lives in slot p % block_size). Positions are rotations of the
queries and keys (RoPE), so a score depends only on the distance between two positions:
a key is rotated once, when written, and never again; and since softmax attention does
not care about the order of its keys, the ring needs no reordering when the window
slides. Each new character therefore costs O(block_size) work and no copying, and the
cached logits equal `forward` over the whole text with the sliding-window mask.

Receptive field: each layer looks `block_size - 1` positions back, so the last logits
depend on the last `n_layer * (block_size - 1) + 1` characters (`context_size`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, cast

import torch
import torch.nn.functional as F
from torch import nn

from charlm_tui.core.models.base import CharModel

ROPE_TABLE_LEN = 512  # positions of rotations precomputed per stream, refreshed as it goes


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
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.n_embd % self.n_head or (self.n_embd // self.n_head) % 2:
            raise ValueError(
                f"n_embd ({self.n_embd}) must split into n_head ({self.n_head}) heads "
                "of even size (RoPE rotates pairs)"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )


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


def sliding_window_mask(
    size: int, window: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """(size, size) bool, True where query i may attend key j: 0 <= i - j < window."""
    pos = torch.arange(size, device=device)
    dist = pos[:, None] - pos[None, :]
    return (dist >= 0) & (dist < window)


class StepWeights(NamedTuple):
    """One block's weights laid out for one-position steps: matrices transposed to (in, out).

    A (1, in) @ (in, out) product reads the matrix row by row; with the (out, in) layout of
    nn.Linear the four matrices of a block took about 1.7x longer per character here.
    """

    ln_1: tuple[torch.Tensor, torch.Tensor | None, float]  # (weight, bias, eps)
    w_qkv: torch.Tensor  # (C, 3C)
    b_qkv: torch.Tensor | None
    w_o: torch.Tensor  # (C, C)
    b_o: torch.Tensor | None
    ln_2: tuple[torch.Tensor, torch.Tensor | None, float]
    w_fc: torch.Tensor  # (C, 4C)
    b_fc: torch.Tensor | None
    w_p: torch.Tensor  # (4C, C)
    b_p: torch.Tensor | None
    act: Callable[[torch.Tensor], torch.Tensor]  # the MLP's activation


class StepScratch(NamedTuple):
    """The row one step computes q, k, v into, and the views of it the step reads.

    Made once per stream: each view costs a dispatch (~1.5 us) if made per layer and
    per character, which was a tenth of a character's time.
    """

    qkv: torch.Tensor  # (B, 3C): q, k, v of the current layer
    pairs: torch.Tensor  # complex view (B, 3C/2) of qkv: RoPE rotates it in place
    q: torch.Tensor  # view (B, H, 1, D): the query
    kv_new: torch.Tensor  # view (B, 2, H, 1, D): the key and value to write to the ring

    @classmethod
    def make(cls, batch_size: int, n_embd: int, n_head: int, device: torch.device) -> StepScratch:
        qkv = torch.zeros(batch_size, 3 * n_embd, device=device)
        heads = qkv.view(batch_size, 3, n_head, 1, n_embd // n_head)
        pairs = torch.view_as_complex(qkv.view(batch_size, -1, 2))
        return cls(qkv, pairs, heads.select(1, 0), heads.narrow(1, 1, 2))


@dataclass
class KVCache:
    """Generation state: per layer a ring of the last `block_size` keys and values.

    It also holds the float32 weights that `step` reads, in the layout it reads them
    (copied at init_state): a cache belongs to the weights that filled it, so start a new
    one after the weights change (the trainer's next eval, a loaded checkpoint).
    """

    kv: list[torch.Tensor]  # per layer (B, 2, H, W, D): RoPE-rotated keys [:, 0], values [:, 1]
    keys: list[torch.Tensor]  # per layer kv[:, 0] (B, H, W, D), a view made once
    values: list[torch.Tensor]  # per layer kv[:, 1]
    weights: list[StepWeights]
    wte: torch.Tensor  # (V, C) token embedding
    ln_f: tuple[torch.Tensor, torch.Tensor | None, float]
    head: torch.Tensor  # (C, V) lm_head, transposed
    n_head: int
    scratch: StepScratch
    pos: int = 0  # positions read so far; the next character gets position `pos`
    # (N, 3C/2) complex: per position the rotations of the q and k pairs of a qkv row,
    # then ones for the v pairs, so one in-place product rotates the whole row.
    rot: torch.Tensor = field(default_factory=lambda: torch.empty(0))
    rot_start: int = 0  # position of rot[0]
    slot_ids: torch.Tensor = field(default_factory=lambda: torch.empty(0))  # (W, 1) long


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
        """This block's weights as `block_step` reads them: float32 copies, not views."""

        def t(linear: nn.Linear) -> torch.Tensor:
            return linear.weight.detach().float().t().contiguous()

        def b(linear: nn.Linear) -> torch.Tensor | None:
            return None if linear.bias is None else linear.bias.detach().float().clone()

        a, m = self.attn, self.mlp
        return StepWeights(
            layer_norm_weights(self.ln_1), t(a.c_attn), b(a.c_attn), t(a.c_proj), b(a.c_proj),
            layer_norm_weights(self.ln_2), t(m.c_fc), b(m.c_fc), t(m.c_proj), b(m.c_proj), m.act,
        )  # fmt: skip


def layer_norm_weights(norm: nn.LayerNorm) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """(weight, bias, eps) float32 copies: the trailing arguments of F.layer_norm."""
    bias = None if norm.bias is None else norm.bias.detach().float().clone()
    return norm.weight.detach().float().clone(), bias, norm.eps


def _linear(x: torch.Tensor, w_t: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """x (..., in) @ w_t (in, out) [+ b]."""
    y = torch.matmul(x, w_t)
    return y if b is None else y + b


def block_step(
    x: torch.Tensor,
    w: StepWeights,
    kv: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    scratch: StepScratch,
    rot: torch.Tensor,
    slot: torch.Tensor,
    n: int,
) -> torch.Tensor:
    """One block for one new position of each stream: x (B, C) -> (B, C), in eval mode.

    q, k and v land in `scratch`; rot (3C/2,) complex rotates its q and k pairs in place;
    the key and value go to ring `slot` of kv (B, 2, H, W, D), whose halves are the views
    keys and values; the query attends the first n slots. Plain tensor calls, a dozen per
    block: each costs microseconds, per layer, per character.
    """
    B, C = x.shape
    h = torch.layer_norm(x, (C,), *w.ln_1)
    if w.b_qkv is None:
        torch.mm(h, w.w_qkv, out=scratch.qkv)
    else:
        torch.addmm(w.b_qkv, h, w.w_qkv, out=scratch.qkv)
    scratch.pairs.mul_(rot)  # RoPE on q and k; v's factors are 1
    kv.index_copy_(3, slot, scratch.kv_new)  # write key and value to the ring
    if n < keys.size(2):  # the ring is still filling
        keys, values = keys.narrow(2, 0, n), values.narrow(2, 0, n)
    y = F.scaled_dot_product_attention(scratch.q, keys, values)  # (B, H, 1, D)
    x = torch.addmm(x, y.view(B, C), w.w_o)  # (B, H, 1, D) is (B, C) in memory
    if w.b_o is not None:
        x = x + w.b_o
    h = torch.layer_norm(x, (C,), *w.ln_2)
    h = torch.mm(h, w.w_fc) if w.b_fc is None else torch.addmm(w.b_fc, h, w.w_fc)
    x = torch.addmm(x, w.act(h), w.w_p)
    return x if w.b_p is None else x + w.b_p


def block_prefill(
    x: torch.Tensor,
    w: StepWeights,
    kv: torch.Tensor,
    rot: torch.Tensor,
    mask: torch.Tensor,
    slots: torch.Tensor,
    n_head: int,
) -> torch.Tensor:
    """One block for T new positions at once: x (B, T, C) -> (B, T, C), in eval mode.

    The new queries attend the ring and the new keys under mask (T, W + T); then the
    last len(slots) new keys and values are written to the ring `slots`.
    """
    B, T, C = x.shape
    h = F.layer_norm(x, (C,), *w.ln_1)
    qkv = _linear(h, w.w_qkv, w.b_qkv).view(B, T, 3, n_head, C // n_head)
    qk = apply_rope(qkv[:, :, :2], rot[:, None, None])  # (B, T, 2, H, D)
    q = qk[:, :, 0].transpose(1, 2)  # (B, H, T, D)
    k = qk[:, :, 1].transpose(1, 2)
    v = qkv[:, :, 2].transpose(1, 2)
    keys = torch.cat([kv[:, 0], k], dim=2)  # (B, H, W + T, D)
    values = torch.cat([kv[:, 1], v], dim=2)
    y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)  # (B, H, T, D)
    m = slots.numel()
    kv[:, 0].index_copy_(2, slots, k[:, :, T - m :])
    kv[:, 1].index_copy_(2, slots, v[:, :, T - m :])
    x = x + _linear(y.transpose(1, 2).reshape(B, T, C), w.w_o, w.b_o)
    h = F.layer_norm(x, (C,), *w.ln_2)
    return x + _linear(w.act(_linear(h, w.w_fc, w.b_fc)), w.w_p, w.b_p)


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

    # ---- generation -------------------------------------------------------------------

    def init_state(self, batch_size: int = 1) -> KVCache:
        c = self.config
        p = self.wte.weight
        # Generation runs in float32 whatever the model's dtype (no bf16 complex RoPE).
        shape = (batch_size, 2, c.n_head, c.block_size, self.head_dim)
        kv = [torch.zeros(shape, device=p.device) for _ in range(c.n_layer)]
        state = KVCache(
            kv=kv,
            keys=[layer[:, 0] for layer in kv],
            values=[layer[:, 1] for layer in kv],
            weights=[block.step_weights() for block in self.blocks],
            wte=self.wte.weight.detach().float().clone(),
            ln_f=layer_norm_weights(self.ln_f),
            head=self.lm_head.weight.detach().float().t().contiguous(),
            n_head=c.n_head,
            scratch=StepScratch.make(batch_size, c.n_embd, c.n_head, p.device),
            slot_ids=torch.arange(c.block_size, device=p.device).view(-1, 1),
        )
        self._refresh_rotations(state, 0)
        return state

    def _refresh_rotations(self, state: KVCache, start: int) -> None:
        # One head's rotations, tiled over the 2 * n_head q and k heads of a qkv row,
        # then ones over the n_head v heads.
        rot = self._rotations(start, ROPE_TABLE_LEN)  # (N, D/2)
        ones = torch.ones(
            ROPE_TABLE_LEN, self.config.n_embd // 2, dtype=rot.dtype, device=rot.device
        )
        state.rot = torch.cat([rot.repeat(1, 2 * self.config.n_head), ones], dim=1)  # (N, 3C/2)
        state.rot_start = start

    def step(self, idx: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        if idx.size(1) == 1:
            return self._step_one(idx, state), state
        logits = idx.new_empty(0)
        for chunk in idx.split(self.block_size, dim=1):  # bounds the mask at (W, 2W)
            logits = self._prefill(chunk, state)
        return logits, state

    def _step_one(self, idx: torch.Tensor, state: KVCache) -> torch.Tensor:
        pos, W = state.pos, self.block_size
        if not 0 <= pos - state.rot_start < state.rot.size(0):
            self._refresh_rotations(state, pos)
        rot = state.rot.select(0, pos - state.rot_start)  # (3C/2,)
        slot = state.slot_ids.select(0, pos % W)  # (1,)
        n = min(pos + 1, W)  # filled slots
        scratch = state.scratch
        x = state.wte.index_select(0, idx.view(-1))  # (B, C)
        layers = zip(state.weights, state.kv, state.keys, state.values, strict=True)
        for w, kv, keys, values in layers:
            x = block_step(x, w, kv, keys, values, scratch, rot, slot, n)
        x = torch.layer_norm(x, x.shape[-1:], *state.ln_f)
        state.pos = pos + 1
        return torch.mm(x, state.head)  # (B, V)

    def _prefill(self, idx: torch.Tensor, state: KVCache) -> torch.Tensor:
        B, T = idx.shape
        pos, W = state.pos, self.block_size
        device = idx.device
        new = torch.arange(pos, pos + T)  # (T,) positions of the new characters
        ring = torch.arange(W)
        # The latest position before `pos` held by each slot; negative means empty.
        held = ring + W * torch.div(pos - 1 - ring, W, rounding_mode="floor")  # (W,)
        key_pos = torch.cat([held, new])  # (W + T,)
        dist = new[:, None] - key_pos[None, :]  # (T, W + T)
        mask = ((key_pos >= 0) & (dist >= 0) & (dist < W)).to(device)
        slots = (new[-min(T, W) :] % W).to(device)  # where the last new keys go
        rot = self._rotations(pos, T)  # (T, D/2)
        x = state.wte[idx]  # (B, T, C)
        for w, kv in zip(state.weights, state.kv, strict=True):
            x = block_prefill(x, w, kv, rot, mask, slots, state.n_head)
        x = F.layer_norm(x[:, -1], x.shape[-1:], *state.ln_f)
        state.pos = pos + T
        return torch.mm(x, state.head)  # (B, V)
