"""Provides per-character surprise: −log2 p of each character of a text under a model.

`surprise(model, vocab, text, block_size)` gives every character's surprise in bits and
the average bits/char. The average is what `charlm eval --checkpoint X --text FILE` prints
for the same text, because it follows eval's own computation step by step:

- Characters outside the vocabulary are dropped, as eval drops them (`policy="drop"`):
  they get no surprise (`None`, `known=False`) and the characters on either side of
  them read as neighbours, so the next known character is predicted from the known
  characters before it.
- The first known character has no surprise (nothing precedes it: eval predicts the
  characters from the second on).
- The known ids are cut into the windows `core.data.sequential_batches` cuts for
  `train.evaluate_loss`: consecutive, non-overlapping windows of `block_size`
  characters. A character is predicted from the characters before it *in its own
  window*, so the context restarts every `block_size` characters, exactly as in eval.
  (A left-to-right pass with a sliding context would give an RNN or a GPT more context
  near the start of each window, and a different average.)
- `block_size` is the run's training window, `eval_block_size(train_config)`: `cmd_eval`
  calls the same function for its window.

This function follows eval's windows (eval does not call it): `evaluate_loss` keeps the
model's own batched loss, which training's evals share, and `tests/core/test_surprise.py`
holds the two to the same numbers for bigram, MLP, GRU and GPT checkpoints.

Then bits/char = (mean of the per-character losses in nats) / ln 2, the same mean
`evaluate_loss` takes (it weights each batch's mean loss by its number of targets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from charlm_tui.core.data import sequential_batches
from charlm_tui.core.models import CharModel
from charlm_tui.core.vocab import Vocab

EVAL_BLOCK_DEFAULT = 64  # cmd_eval's block for a checkpoint that recorded none
BATCH_SIZE = 64  # evaluate_loss's default: the same windows are batched the same way


def eval_block_size(train_config: Mapping[str, Any] | None) -> int:
    """The window `charlm eval` evaluates a checkpoint with: its training block size."""
    return int((train_config or {}).get("block_size", EVAL_BLOCK_DEFAULT))


@dataclass(frozen=True)
class Surprise:
    """Each character of a text with its surprise in bits (None where none is defined)."""

    text: str
    bits: tuple[float | None, ...]
    """Per character of `text`: −log2 p, or None (unknown, or the first known character)."""
    known: tuple[bool, ...]
    """Per character of `text`: whether the vocabulary has it."""
    total_nats: float
    """Sum of −ln p over the predicted characters."""

    @property
    def n_chars(self) -> int:
        return len(self.text)

    @property
    def n_known(self) -> int:
        """Characters the model reads: `charlm eval`'s "N characters"."""
        return sum(self.known)

    @property
    def n_unknown(self) -> int:
        return self.n_chars - self.n_known

    @property
    def n_predicted(self) -> int:
        """Characters with a surprise: every known one but the first."""
        return max(0, self.n_known - 1)

    @property
    def loss(self) -> float | None:
        """Mean cross-entropy in nats/char (eval's "loss"); None with nothing predicted."""
        return self.total_nats / self.n_predicted if self.n_predicted else None

    @property
    def bits_per_char(self) -> float | None:
        """The average surprise: eval's "bits/char"; None with nothing predicted."""
        loss = self.loss
        return None if loss is None else loss / math.log(2)

    @property
    def unknown_chars(self) -> list[str]:
        """The distinct characters the vocabulary lacks, in order of first appearance."""
        return list(dict.fromkeys(c for c, k in zip(self.text, self.known, strict=True) if not k))

    @property
    def max_bits(self) -> float | None:
        values = [b for b in self.bits if b is not None]
        return max(values) if values else None


def surprise(model: CharModel, vocab: Vocab, text: str, block_size: int) -> Surprise:
    """Every character's surprise under `model`, computed in `charlm eval`'s windows.

    `block_size` is eval's window (`eval_block_size`); see the module docstring for how
    unknown characters and the window boundaries are handled.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    stoi = vocab.stoi
    known = tuple(ch in stoi for ch in text)
    positions = [i for i, k in enumerate(known) if k]
    bits: list[float | None] = [None] * len(text)
    total = 0.0
    if len(positions) >= 2:
        ids = torch.tensor([stoi[text[i]] for i in positions], dtype=torch.long)
        nats = _target_nats(model, ids, block_size)
        total = float(nats.double().sum())
        for pos, value in zip(positions[1:], nats.tolist(), strict=True):
            bits[pos] = value / math.log(2)
    return Surprise(text=text, bits=tuple(bits), known=known, total_nats=total)


def _target_nats(model: CharModel, ids: torch.Tensor, block_size: int) -> torch.Tensor:
    """−ln p of ids[1:], in order, each predicted within its eval window."""
    was_training = model.training
    model.eval()
    device = model.device
    parts: list[torch.Tensor] = []
    try:
        with torch.inference_mode():
            # windows come in text order: each group's full ones, then the text's short tail
            for x, y in sequential_batches(ids, block_size, BATCH_SIZE):
                logits, _ = model(x.to(device))  # (B, T, V)
                logp = F.log_softmax(logits.float(), dim=-1)
                picked = -logp.gather(-1, y.to(device)[..., None])[..., 0]  # (B, T)
                parts.append(picked.reshape(-1).cpu())
    finally:
        model.train(was_training)
    nats = torch.cat(parts) if parts else torch.empty(0)
    if len(nats) != len(ids) - 1:  # sequential_batches covers every target once
        raise RuntimeError(f"{len(nats)} predictions for {len(ids) - 1} targets")
    return nats
