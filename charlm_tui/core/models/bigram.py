"""Provides the notebook's model: one-hot(V) -> Linear(V, 128) -> ReLU -> Linear(128, V).

It predicts the next character from the current one only. With V = 83 its parameters
are fc1.weight 10624, fc1.bias 128, fc2.weight 10624, fc2.bias 83, as in the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from charlm_tui.core.i18n import _
from charlm_tui.core.models.base import CharModel

TABLE_MAX_VOCAB = 4096  # a (V, V) float32 logits table up to 64 MB


@dataclass
class BigramConfig:
    vocab_size: int = 83
    n_hidden: int = 128
    block_size: int = 1  # reads one character; training windows may be any length

    def __post_init__(self) -> None:
        if self.block_size != 1:
            raise ValueError(
                _(
                    "bigram reads only the current character: block_size must be 1, got {block_size} (training windows may still be any length)"
                ).format(block_size=self.block_size)
            )
        if self.vocab_size < 1 or self.n_hidden < 1:
            raise ValueError(_("vocab_size and n_hidden must be >= 1"))


class Bigram(CharModel):
    """Two nn.Linear layers with their default init, exactly the notebook's."""

    name = "bigram"

    def __init__(self, config: BigramConfig) -> None:
        super().__init__(config)
        self.fc1 = nn.Linear(config.vocab_size, config.n_hidden)
        self.fc2 = nn.Linear(config.n_hidden, config.vocab_size)

    def compute_logits(self, idx: torch.Tensor) -> torch.Tensor:
        # one_hot(idx) @ fc1.weight.T picks row idx of fc1.weight.T: the same numbers as
        # the notebook's one-hot product without building a (B, T, V) one-hot tensor.
        h = F.embedding(idx, self.fc1.weight.t()) + self.fc1.bias  # (B, T, n_hidden)
        # F.linear, not self.fc2(...): the same product without nn.Module's call overhead
        return F.linear(F.relu(h), self.fc2.weight, self.fc2.bias)  # (B, T, V)

    def forward_one_hot(self, x: torch.Tensor) -> torch.Tensor:
        """The notebook's literal path: one-hot float rows (..., V) -> logits (..., V)."""
        return self.fc2(F.relu(self.fc1(x)))

    def init_state(self, batch_size: int = 1) -> torch.Tensor | None:
        """The logits after every character, (V, V): all that generation needs.

        The next logits depend on the current character only, so one batched forward
        makes every row a step can ask for, and a step is a lookup (two tensor calls
        where the forward took seven). Like a KV cache, it belongs to the weights it was
        made from: make a new one after they change. A large vocabulary gets no table
        (70,000 characters would need 19.5 GB): each step then computes its one row.
        """
        if self.vocab_size > TABLE_MAX_VOCAB:
            return None
        with torch.no_grad():
            ids = torch.arange(self.vocab_size, device=self.fc1.weight.device)
            return self.compute_logits(ids[None])[0].float()  # (V, V)

    def step(
        self, idx: torch.Tensor, state: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if state is None:
            return self.compute_logits(idx[:, -1:])[:, -1].float(), None  # (B, V)
        return state.index_select(0, idx[:, -1]), state  # (B, V)
