"""Provides counted_bigram: the notebook's model set by arithmetic to counted probabilities.

fc1 copies the one-hot input into the hidden layer (ReLU keeps it) and fc2 holds log
probabilities counted with add-0.5: the function the bigram converges to, the same on every
machine (math.log, not a vectorised log that may differ in the last bit). The TUI tests
and assets/make_assets.py use it where a trained model would make pictures drift.
"""

from __future__ import annotations

import math

import torch

from charlm_tui.core.models import CharModel, build_model


def counted_bigram(ids: torch.Tensor, size: int, *, unigram: bool = False) -> CharModel:
    """The notebook's model holding log P(next | current) counted on `ids` (add-0.5), or,
    with `unigram`, log P(next) whatever the current character."""
    pairs = torch.bincount(ids[:-1] * size + ids[1:], minlength=size * size)
    counts = pairs.reshape(size, size)
    if unigram:
        counts = counts.sum(0, keepdim=True).expand(size, size)
    rows = counts.tolist()
    model = build_model("bigram", size)
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.zero_()
            if name == "fc1.weight":
                param[:size, :size] = torch.eye(size)
            elif name == "fc2.weight":
                for current, row in enumerate(rows):
                    total = sum(row) + 0.5 * size
                    column = [math.log((n + 0.5) / total) for n in row]
                    param[:, current] = torch.tensor(column, dtype=param.dtype)
    return model.eval()
