"""Provides the char-rnn models: an embedding, a stacked GRU or LSTM, a linear head.

Generation carries the hidden state, so the context is unbounded and each character
costs one RNN step. `block_size` is only the training window (truncated BPTT length).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from charlm_tui.core.i18n import _
from charlm_tui.core.models.base import CharModel

RNNState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # GRU h, or LSTM (h, c)


@dataclass
class RNNConfig:
    vocab_size: int = 84
    cell: str = "gru"  # "gru" or "lstm"
    block_size: int = 128  # training window; generation context is unbounded
    n_embd: int = 64
    n_hidden: int = 256
    n_layer: int = 2
    dropout: float = 0.0  # between stacked layers

    def __post_init__(self) -> None:
        if self.cell not in ("gru", "lstm"):
            raise ValueError(_("cell must be 'gru' or 'lstm', got {cell!r}").format(cell=self.cell))
        for key in ("vocab_size", "block_size", "n_embd", "n_hidden", "n_layer"):
            if getattr(self, key) < 1:
                raise ValueError(
                    _("{key} must be >= 1, got {value}").format(key=key, value=getattr(self, key))
                )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(
                _("dropout must be in [0, 1), got {dropout}").format(dropout=self.dropout)
            )


@dataclass
class GRUConfig(RNNConfig):
    cell: str = "gru"


@dataclass
class LSTMConfig(RNNConfig):
    cell: str = "lstm"


class CharRNN(CharModel):
    """Embedding -> GRU/LSTM (batch_first) -> Linear; `name` is the cell, "gru" or "lstm"."""

    def __init__(self, config: RNNConfig) -> None:
        super().__init__(config)
        self.name = config.cell  # one class, two registry names
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        rnn_cls = nn.GRU if config.cell == "gru" else nn.LSTM
        self.rnn = rnn_cls(
            config.n_embd,
            config.n_hidden,
            num_layers=config.n_layer,
            batch_first=True,
            dropout=config.dropout if config.n_layer > 1 else 0.0,
        )
        self.lm_head = nn.Linear(config.n_hidden, config.vocab_size)

    @property
    def context_size(self) -> int | None:
        return None  # the hidden state carries everything read so far

    def compute_logits(self, idx: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.wte(idx))  # (B, T, n_hidden), from a zero state
        return self.lm_head(out)  # (B, T, V)

    def init_state(self, batch_size: int = 1) -> RNNState:
        c = self.config
        p = self.lm_head.weight
        h = p.new_zeros(c.n_layer, batch_size, c.n_hidden)  # (n_layer, B, n_hidden)
        return (h, h.clone()) if c.cell == "lstm" else h

    def step(self, idx: torch.Tensor, state: RNNState) -> tuple[torch.Tensor, RNNState]:
        out, state = self.rnn(self.wte(idx), state)  # (B, T_new, n_hidden)
        return self.lm_head(out[:, -1]), state  # (B, V)
