"""Provides Lesson: the notebook's live objects for the guided tour, computed from a Dataset.

Everything the tour shows comes from the core's own functions on the loaded corpus: the
sorted vocabulary, the encode/decode round trip, the seeded window, its one-hot rows, the
notebook's model built with torch.manual_seed(1), its parameter table, its untrained text
and loss. Nothing here touches a widget, and nothing draws from the global RNG: the model is
built under a forked RNG, as the console builds its untrained model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F

from charlm_tui.core.data import random_window
from charlm_tui.core.metrics import chance_of_right, perplexity
from charlm_tui.core.models import CharModel, build_model
from charlm_tui.core.sample import Generator, SamplingOptions
from charlm_tui.tui.session import Dataset

NOTEBOOK_MODEL = "bigram"  # Linear(V, 128) -> ReLU -> Linear(128, V) (N6)
SEED = 1  # torch.manual_seed(1) (N11)
WINDOW = 16  # the notebook's window (N4)
PHRASE = "Do you know, Watson,"  # the notebook's encode/decode example (N3)
UNTRAINED_LENGTH = 100  # the notebook generates 100 characters (N7)
SAMPLE_LENGTH = 200  # characters of text after training (N10)


def untrained_model(vocab_size: int) -> CharModel:
    """The notebook's model as torch.manual_seed(1) initialises it, in eval mode.

    The RNG is forked: seeding here must not shift a training thread's random draws.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        return build_model(NOTEBOOK_MODEL, vocab_size).eval()


def generate_text(
    model: CharModel, dataset: Dataset, length: int, *, temperature: float = 1.0, seed: int = SEED
) -> str:
    """`length` characters from a random first character (drawn with `seed`), as the notebook."""
    options = SamplingOptions(temperature=temperature, length=length, seed=seed)
    return "".join(Generator(model, dataset.vocab, "", options))


@dataclass(frozen=True)
class PositionLoss:
    """One position of the window: the character read, the one that came next, and the
    chance the model gave that one."""

    read: str
    target: str
    p: float

    @property
    def surprise(self) -> float:
        """-ln p: this position's share of the cross-entropy."""
        return -math.log(self.p) if self.p > 0 else math.inf


class Lesson:
    """The notebook's objects for one dataset, each computed the first time it is asked for."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.vocab = dataset.vocab

    # --- N1-N4: the text, the vocabulary, encoding, the split --------------------------

    @property
    def is_sherlock(self) -> bool:
        """Whether this is the notebook's text: Sherlock with newlines as spaces."""
        corpus = self.dataset.corpus
        return corpus.name == "sherlock" and corpus.newlines_to_spaces

    @cached_property
    def phrase_ids(self) -> list[int]:
        """encode("Do you know, Watson,"), characters the vocabulary lacks dropped."""
        return self.vocab.encode(PHRASE, "drop")

    @cached_property
    def phrase_unknown(self) -> list[str]:
        return sorted({ch for _, ch in self.vocab.unknown_chars(PHRASE)})

    @cached_property
    def window(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The seeded 16-character window x and its target y, or None when the train part
        is too short for one."""
        generator = torch.Generator().manual_seed(SEED)
        try:
            return random_window(self.dataset.split.train, WINDOW, generator)
        except (RuntimeError, ValueError):
            return None

    # --- N5-N8: one-hot, the model, its untrained text and loss -----------------------

    @cached_property
    def one_hot(self) -> torch.Tensor | None:
        """F.one_hot(x, V) of the window: (16, V), a single 1 per row."""
        if self.window is None:
            return None
        return F.one_hot(self.window[0], self.vocab.size)

    @cached_property
    def model(self) -> CharModel:
        return untrained_model(self.vocab.size)

    @cached_property
    def parameter_table(self) -> list[tuple[str, tuple[int, ...], int]]:
        """(name, shape, count) of each of named_parameters()."""
        return self.model.parameter_table()

    @cached_property
    def untrained_text(self) -> str:
        return generate_text(self.model, self.dataset, UNTRAINED_LENGTH)

    @cached_property
    def window_losses(self) -> tuple[list[PositionLoss], float] | None:
        """Each position's chance of the right character under the untrained model, and
        the model's own loss on the window (F.cross_entropy, the mean of -ln p)."""
        if self.window is None:
            return None
        x, y = self.window
        with torch.inference_mode():
            logits, loss = self.model(x, y)
            probs = torch.softmax(logits.float(), dim=-1)  # (16, V)
        assert loss is not None
        chars = self.vocab.chars
        rows = [
            PositionLoss(chars[int(a)], chars[int(b)], float(probs[i, int(b)]))
            for i, (a, b) in enumerate(zip(x.tolist(), y.tolist(), strict=True))
        ]
        return rows, float(loss)

    @property
    def untrained_loss(self) -> float | None:
        losses = self.window_losses
        return None if losses is None else losses[1]

    def loss_numbers(self) -> tuple[float, float, float] | None:
        """(loss, q = e^-loss, 1/q) of the untrained model on the window."""
        loss = self.untrained_loss
        if loss is None:
            return None
        return loss, chance_of_right(loss), perplexity(loss)
