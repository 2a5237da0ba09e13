"""Provides the GPT's generation path: a ring-buffer KV cache and one-position steps.

It holds no weights of its own: `GPT.init_state` hands it the training modules (its
blocks' Linear and LayerNorm layers, `wte`, `ln_f`, `lm_head`), whose weights
`init_cache` copies into the layout one-position steps read fastest; `decode` then gives
the logits `GPT.forward` gives over the whole text with the sliding-window mask
(tests/core/test_gpt_decode.py checks it to 1e-5). It imports nothing of gpt.py.

Generation keeps, per layer, the keys and values of the last `block_size` positions in a
ring buffer (position p lives in slot p % block_size). Positions are rotations of the
queries and keys (RoPE), so a score depends only on the distance between two positions:
a key is rotated once, when written, and never again; and since softmax attention does
not care about the order of its keys, the ring needs no reordering when the window
slides. Each new character therefore costs O(block_size) work and no copying.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from charlm_tui.core.models.rope import apply_rope, rope_rotations

ROPE_TABLE_LEN = 512  # positions of rotations precomputed per stream, refreshed as it goes


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
    rope_base: float
    scratch: StepScratch
    pos: int = 0  # positions read so far; the next character gets position `pos`
    # (N, 3C/2) complex: per position the rotations of the q and k pairs of a qkv row,
    # then ones for the v pairs, so one in-place product rotates the whole row.
    rot: torch.Tensor = field(default_factory=lambda: torch.empty(0))
    rot_start: int = 0  # position of rot[0]
    slot_ids: torch.Tensor = field(default_factory=lambda: torch.empty(0))  # (W, 1) long

    @property
    def window(self) -> int:
        """The attention window W: slots in each layer's ring."""
        return self.kv[0].size(3) if self.kv else self.slot_ids.size(0)


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


def step_weights(
    ln_1: nn.LayerNorm,
    c_attn: nn.Linear,
    attn_proj: nn.Linear,
    ln_2: nn.LayerNorm,
    c_fc: nn.Linear,
    mlp_proj: nn.Linear,
    act: Callable[[torch.Tensor], torch.Tensor],
) -> StepWeights:
    """One training block's layers as `block_step` reads them: float32 copies, not views."""

    def t(linear: nn.Linear) -> torch.Tensor:
        return linear.weight.detach().float().t().contiguous()

    def b(linear: nn.Linear) -> torch.Tensor | None:
        return None if linear.bias is None else linear.bias.detach().float().clone()

    return StepWeights(
        layer_norm_weights(ln_1), t(c_attn), b(c_attn), t(attn_proj), b(attn_proj),
        layer_norm_weights(ln_2), t(c_fc), b(c_fc), t(mlp_proj), b(mlp_proj), act,
    )  # fmt: skip


# ---- the model-level path ----------------------------------------------------------------


def init_cache(
    weights: list[StepWeights],
    wte: nn.Embedding,
    ln_f: nn.LayerNorm,
    lm_head: nn.Linear,
    n_head: int,
    block_size: int,
    rope_base: float,
    batch_size: int = 1,
) -> KVCache:
    """An empty cache for `batch_size` streams, holding float32 copies of the weights."""
    device = wte.weight.device
    n_embd = wte.weight.size(1)
    head_dim = n_embd // n_head
    # Generation runs in float32 whatever the model's dtype (no bf16 complex RoPE).
    shape = (batch_size, 2, n_head, block_size, head_dim)
    kv = [torch.zeros(shape, device=device) for _ in weights]
    state = KVCache(
        kv=kv,
        keys=[layer[:, 0] for layer in kv],
        values=[layer[:, 1] for layer in kv],
        weights=weights,
        wte=wte.weight.detach().float().clone(),
        ln_f=layer_norm_weights(ln_f),
        head=lm_head.weight.detach().float().t().contiguous(),
        n_head=n_head,
        rope_base=rope_base,
        scratch=StepScratch.make(batch_size, n_embd, n_head, device),
        slot_ids=torch.arange(block_size, device=device).view(-1, 1),
    )
    _refresh_rotations(state, 0)
    return state


def _rotations(state: KVCache, start: int, length: int) -> torch.Tensor:
    positions = torch.arange(start, start + length)
    head_dim = state.wte.size(1) // state.n_head
    return rope_rotations(positions, head_dim, state.rope_base).to(state.wte.device)


def _refresh_rotations(state: KVCache, start: int) -> None:
    # One head's rotations, tiled over the 2 * n_head q and k heads of a qkv row,
    # then ones over the n_head v heads.
    rot = _rotations(state, start, ROPE_TABLE_LEN)  # (N, D/2)
    n_embd, n_head = state.wte.size(1), state.n_head
    ones = torch.ones(ROPE_TABLE_LEN, n_embd // 2, dtype=rot.dtype, device=rot.device)
    state.rot = torch.cat([rot.repeat(1, 2 * n_head), ones], dim=1)  # (N, 3C/2)
    state.rot_start = start


def decode(idx: torch.Tensor, state: KVCache) -> torch.Tensor:
    """Read idx (B, T) after what `state` holds; the last position's logits (B, V)."""
    if idx.size(1) == 1:
        return _step_one(idx, state)
    logits = idx.new_empty(0)
    for chunk in idx.split(state.window, dim=1):  # bounds the mask at (W, 2W)
        logits = _prefill(chunk, state)
    return logits


def _step_one(idx: torch.Tensor, state: KVCache) -> torch.Tensor:
    pos, W = state.pos, state.window
    if not 0 <= pos - state.rot_start < state.rot.size(0):
        _refresh_rotations(state, pos)
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


def _prefill(idx: torch.Tensor, state: KVCache) -> torch.Tensor:
    B, T = idx.shape
    pos, W = state.pos, state.window
    device = idx.device
    new = torch.arange(pos, pos + T)  # (T,) positions of the new characters
    ring = torch.arange(W)
    # The latest position before `pos` held by each slot; negative means empty.
    held = ring + W * torch.div(pos - 1 - ring, W, rounding_mode="floor")  # (W,)
    key_pos = torch.cat([held, new])  # (W + T,)
    dist = new[:, None] - key_pos[None, :]  # (T, W + T)
    mask = ((key_pos >= 0) & (dist >= 0) & (dist < W)).to(device)
    slots = (new[-min(T, W) :] % W).to(device)  # where the last new keys go
    rot = _rotations(state, pos, T)  # (T, D/2)
    x = state.wte[idx]  # (B, T, C)
    for w, kv in zip(state.weights, state.kv, strict=True):
        x = block_prefill(x, w, kv, rot, mask, slots, state.n_head)
    x = F.layer_norm(x[:, -1], x.shape[-1:], *state.ln_f)
    state.pos = pos + T
    return torch.mm(x, state.head)  # (B, V)
