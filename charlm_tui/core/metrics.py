"""Provides the units of the chart and count-based reference models.

Loss is cross-entropy in nats per character. q = e^-loss is the geometric-mean chance the
model gave the right character; its inverse, the perplexity, is how many characters the
model is choosing between. Bits per character is loss / ln 2. The count models (uniform,
unigram, bigram) give the lines a model class can reach: the notebook's model sees one
character, so at best it matches the count bigram model of the same split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from charlm_tui.core.i18n import _

LN2 = math.log(2.0)
UNITS = ("perplexity", "loss", "bpc")


def perplexity(loss: float) -> float:
    """exp(loss), inf instead of an OverflowError for a huge loss."""
    try:
        return math.exp(loss)
    except OverflowError:
        return math.inf


def chance_of_right(loss: float) -> float:
    """q = e^-loss: the (geometric-mean) probability given to the right character."""
    return math.exp(-loss)


def bits_per_char(loss: float) -> float:
    return loss / LN2


def convert(loss: float, unit: str) -> float:
    """A loss in nats shown in one of UNITS."""
    if unit == "perplexity":
        return perplexity(loss)
    if unit == "bpc":
        return bits_per_char(loss)
    if unit == "loss":
        return loss
    raise ValueError(
        _("unknown unit {unit!r}; choose one of {value}").format(unit=unit, value=", ".join(UNITS))
    )


@dataclass(frozen=True)
class References:
    """Reference losses (nats/char) on the val split, from counts on the train split."""

    uniform: float  # ln V: a guess among all characters
    unigram: float  # character frequencies only
    bigram: float  # the previous character: the limit of the notebook's model class

    def as_perplexities(self) -> dict[str, float]:
        return {name: perplexity(getattr(self, name)) for name in ("uniform", "unigram", "bigram")}


def _pair_counts(
    first: np.ndarray, second: np.ndarray, tr: np.ndarray, vocab_size: int
) -> np.ndarray:
    """How often each (first[i], second[i]) pair follows in `tr`: (N,) float64.

    Sparse: only the pairs that occur are counted, so memory follows the text, not V^2 (a
    dense V x V table for 70,000 distinct characters would be 36 GiB).
    """
    seen, counts = np.unique(tr[:-1] * vocab_size + tr[1:], return_counts=True)
    if len(seen) == 0:
        return np.zeros(len(first), dtype=np.float64)
    wanted = first * vocab_size + second
    at = np.searchsorted(seen, wanted).clip(max=len(seen) - 1)
    return np.where(seen[at] == wanted, counts[at], 0).astype(np.float64)


def reference_losses(
    train: torch.Tensor | np.ndarray,
    val: torch.Tensor | np.ndarray,
    vocab_size: int,
    smoothing: float = 0.1,
) -> References:
    """Uniform, unigram and bigram cross-entropy of `val` under counts of `train`.

    Add-`smoothing` (Lidstone) counts keep characters unseen in train finite. The bigram
    model predicts each val character from the one before it, exactly the information the
    notebook's model gets.
    """
    tr = np.asarray(train, dtype=np.int64)
    va = np.asarray(val, dtype=np.int64)
    uni = np.bincount(tr, minlength=vocab_size).astype(np.float64)
    p_uni = (uni + smoothing) / (uni.sum() + smoothing * vocab_size)
    unigram = float(-np.log(p_uni[va]).mean())
    if len(va) > 1:
        # counts of "a then b" over counts of "a followed by anything", smoothed
        rows = np.bincount(tr[:-1], minlength=vocab_size).astype(np.float64)
        pairs = _pair_counts(va[:-1], va[1:], tr, vocab_size)
        p_bi = (pairs + smoothing) / (rows[va[:-1]] + smoothing * vocab_size)
        bigram = float(-np.log(p_bi).mean())
    else:
        bigram = unigram
    return References(uniform=math.log(vocab_size), unigram=unigram, bigram=bigram)


def char_frequencies(ids: torch.Tensor | np.ndarray, vocab_size: int) -> np.ndarray:
    """How often each id occurs: (V,) int64."""
    return np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocab_size)
