"""Provides CharModel, the interface every character model implements.

A model reads ids `idx` of shape (B, T) and gives next-character logits for every
position. Training calls `forward(idx, targets)`; generation calls `init_state()` once
and then `step(idx, state)` with only the new characters, so that each character costs
O(1) in the length of the context (a KV cache, an RNN hidden state, a window of ids).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

State = Any
"""Generation state: a logits table (bigram), a window of ids (mlp), an RNN hidden state,
a KV cache (gpt)."""


class CharModel(nn.Module):
    """Base of the character models: one `forward`, one `step`, one parameter table.

    Subclasses set `name`, keep their config dataclass in `self.config` (it has
    `vocab_size` and `block_size`) and implement `compute_logits`, `init_state`, `step`.
    """

    name: str = "base"

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    # ---- what the model reads -------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return int(self.config.vocab_size)

    @property
    def block_size(self) -> int:
        """The window the model is built for: its training window and its attention span."""
        return int(self.config.block_size)

    @property
    def context_size(self) -> int | None:
        """How many past characters can change the next prediction (None: unbounded).

        Feeding more than this many characters from a fresh state gives exactly the state
        that feeding the whole text would give, so a long paste only runs its tail.
        """
        return self.block_size

    # ---- training ---------------------------------------------------------------

    def compute_logits(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) for ids (B, T); position t predicts the character at t + 1."""
        raise NotImplementedError

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits for every position and, given targets, the mean cross-entropy (nats).

        idx (B, T) gives logits (B, T, V); a single sequence (T,) gives (T, V). Targets
        have idx's shape; -1 marks a position to leave out of the loss.
        """
        unbatched = idx.dim() == 1
        if unbatched:
            idx = idx.unsqueeze(0)  # (1, T)
        logits = self.compute_logits(idx)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1
            )
        if unbatched:
            logits = logits.squeeze(0)  # (T, V)
        return logits, loss

    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """AdamW groups: matrices and embeddings decay; biases and norm gains do not."""
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        return [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]

    # ---- generation ---------------------------------------------------------------

    def init_state(self, batch_size: int = 1) -> State:
        """A fresh generation state for `batch_size` streams (nothing read yet)."""
        raise NotImplementedError

    def step(self, idx: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Read new ids (B, T_new), T_new >= 1; give the last position's logits (B, V).

        The state may be updated in place (the GPT's KV cache is); use the returned one
        and never an older one. Call under torch.inference_mode() and in eval mode.
        """
        raise NotImplementedError

    # ---- description --------------------------------------------------------------

    def parameter_table(self) -> list[tuple[str, tuple[int, ...], int]]:
        """(name, shape, numel) for each parameter, in registration order; tied ones once."""
        return [(name, tuple(p.shape), p.numel()) for name, p in self.named_parameters()]

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device
