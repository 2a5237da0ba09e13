"""Provides the data pipeline: encode a corpus, split it by position, draw windows and batches.

The notebook draws one random 16-character window per step with
`torch.randint(0, len(train) - 16 - 1, (1,))`; `random_window` does exactly that with a
generator of its own, so seed 1 gives the notebook's windows ('rip has been upo', then
'bited. The bedro'). Larger models draw batches of windows. Corpora larger than memory are
encoded once to a uint16/uint32 file and memory-mapped (`encode_to_file`, `open_ids`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from charlm_tui.core.i18n import _
from charlm_tui.core.vocab import Vocab


class CorpusTooSmallError(ValueError):
    """A split is too short to draw one window of block_size + 1 characters."""


@dataclass(frozen=True)
class Split:
    """Train and val ids (1-D int64 tensors), split by position at `split_at`."""

    train: torch.Tensor
    val: torch.Tensor
    split_at: int

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.train), len(self.val)


def encode_corpus(text: str, vocab: Vocab, policy: str = "error") -> torch.Tensor:
    """The whole text as ids: (N,) int64."""
    ids = np.fromiter(vocab.encode(text, policy), dtype=np.int64, count=-1)
    return torch.from_numpy(ids)


def split_ids(ids: torch.Tensor, train_fraction: float = 0.8) -> Split:
    """The first `train_fraction` of the text trains, the rest validates (the notebook: 0.8)."""
    if not 0.0 < train_fraction < 1.0:
        said = _("train fraction must be between 0 and 1 (exclusive), got {fraction}")
        raise ValueError(said.format(fraction=train_fraction))
    n = int(train_fraction * len(ids))
    return Split(train=ids[:n], val=ids[n:], split_at=n)


def check_size(split: Split, block_size: int) -> None:
    """Refuse, with the sizes named, a split too short for one window of block_size + 1."""
    need = block_size + 2  # randint(0, len - T - 1) needs len - T - 1 >= 1
    parts = (
        (_("the train part has {n:,} characters"), split.train),
        (_("the val part has {n:,} characters"), split.val),
    )
    problems = [said.format(n=len(part)) for said, part in parts if len(part) < need]
    if problems:
        said = _(
            "the corpus is too small for a context of {block} characters: {problems}, but "
            "each needs at least {need:,}. Use a longer text, a smaller block size, or "
            "another split"
        )
        joined = _(" and ").join(problems)
        raise CorpusTooSmallError(said.format(block=block_size, problems=joined, need=need))


def random_window(
    data: torch.Tensor | np.ndarray, block_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random window, as the notebook draws it: x (T,), y (T,) shifted by one."""
    start = int(torch.randint(0, len(data) - block_size - 1, (1,), generator=generator))
    chunk = data[start : start + block_size + 1]  # a view: one call where a gather took three
    if isinstance(chunk, np.ndarray):
        chunk = torch.from_numpy(chunk.astype(np.int64))
    return chunk[:-1], chunk[1:]


def random_batch(
    data: torch.Tensor | np.ndarray, block_size: int, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of random windows: x (B, T), y (B, T)."""
    starts = torch.randint(0, len(data) - block_size - 1, (batch_size,), generator=generator)
    # (B, T+1) gathered in one indexing op rather than B slices
    offsets = torch.arange(block_size + 1)
    chunk = _gather(data, starts[:, None] + offsets)
    return chunk[:, :-1], chunk[:, 1:]


def sequential_batches(data: torch.Tensor, block_size: int, batch_size: int):
    """Every position of `data` once, as (x, y) batches of contiguous windows (for eval).

    The last window is shorter when the data does not divide evenly; each target is
    predicted from at most block_size preceding characters of its own window.
    """
    n = len(data) - 1
    starts = list(range(0, n, block_size))
    for i in range(0, len(starts), batch_size):
        group = starts[i : i + batch_size]
        full = [s for s in group if s + block_size <= n]
        if full:
            idx = torch.tensor(full)[:, None] + torch.arange(block_size + 1)
            chunk = data[idx]
            yield chunk[:, :-1], chunk[:, 1:]
        for s in group:
            if s + block_size > n:
                chunk = data[s : n + 1]
                yield chunk[None, :-1], chunk[None, 1:]


def encode_to_file(
    text_path: str | Path, vocab: Vocab, out_path: str | Path, chunk_chars: int = 1 << 22
) -> Path:
    """Encode a large UTF-8 text file to raw ids (vocab.dtype) without holding it all."""
    out = Path(out_path)
    with open(text_path, encoding="utf-8") as src, open(out, "wb") as dst:
        while chunk := src.read(chunk_chars):
            np.asarray(vocab.encode(chunk), dtype=vocab.dtype).tofile(dst)
    return out


def open_ids(path: str | Path, vocab: Vocab) -> np.memmap:
    """A memory-mapped id file: pages are read on demand, never the whole file at once.

    `random_batch` and `random_window` accept it in place of a tensor.
    """
    return np.memmap(path, dtype=vocab.dtype, mode="r")


def _gather(data: torch.Tensor | np.ndarray, index: torch.Tensor) -> torch.Tensor:
    """data[index] as int64, for a tensor or a (memory-mapped) numpy array."""
    if isinstance(data, np.ndarray):
        return torch.from_numpy(data[index.numpy()].astype(np.int64))
    return data[index]
