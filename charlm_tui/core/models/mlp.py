"""Provides the context-window MLP (Bengio et al. 2003, as in makemore).

The last `block_size` characters are embedded, concatenated and passed through one tanh
hidden layer. Positions before the start of the text read a blank token (id V), so
the first characters of a window see a shorter context, as in makemore.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from charlm_tui.core.i18n import _
from charlm_tui.core.models.base import CharModel


@dataclass
class MLPConfig:
    vocab_size: int = 84
    block_size: int = 8  # characters of context
    n_embd: int = 32
    n_hidden: int = 256

    def __post_init__(self) -> None:
        for key in ("vocab_size", "block_size", "n_embd", "n_hidden"):
            if getattr(self, key) < 1:
                raise ValueError(
                    _("{key} must be >= 1, got {value}").format(key=key, value=getattr(self, key))
                )


class ContextMLP(CharModel):
    """Embed the window, concatenate, one tanh layer, logits."""

    name = "mlp"

    def __init__(self, config: MLPConfig) -> None:
        super().__init__(config)
        self.blank = config.vocab_size  # the id read before the text starts
        self.wte = nn.Embedding(config.vocab_size + 1, config.n_embd)
        self.hidden = nn.Linear(config.block_size * config.n_embd, config.n_hidden)
        self.lm_head = nn.Linear(config.n_hidden, config.vocab_size)
        with torch.no_grad():
            self.lm_head.weight.mul_(0.1)  # near-uniform predictions at init: loss ~ ln V

    def _head(self, window: torch.Tensor) -> torch.Tensor:
        x = self.wte(window).flatten(-2)  # (..., block_size * n_embd)
        return self.lm_head(torch.tanh(self.hidden(x)))  # (..., V)

    def compute_logits(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape
        pad = idx.new_full((B, self.block_size - 1), self.blank)
        windows = torch.cat([pad, idx], dim=1).unfold(1, self.block_size, 1)  # (B, T, bs)
        return self._head(windows)  # (B, T, V)

    def init_state(self, batch_size: int = 1) -> torch.Tensor:
        return torch.full(
            (batch_size, self.block_size), self.blank, dtype=torch.long, device=self.device
        )

    def step(self, idx: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        window = torch.cat([state, idx], dim=1)[:, -self.block_size :]  # (B, bs)
        return self._head(window), window  # (B, V)
