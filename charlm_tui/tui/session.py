"""Provides what the app remembers across screens: the dataset and the training run's history.

Screens are rebuilt freely; everything they show comes from here. Nothing in this module
touches a widget, so the loading worker can build a `Dataset` off the UI thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from charlm_tui.core import events
from charlm_tui.core.corpus import Corpus
from charlm_tui.core.data import Split, encode_corpus, split_ids
from charlm_tui.core.i18n import _
from charlm_tui.core.metrics import References, char_frequencies, reference_losses
from charlm_tui.core.run_log import RunLog
from charlm_tui.core.vocab import Vocab


@dataclass(frozen=True)
class Dataset:
    """A loaded corpus with its vocabulary, ids, 80/20 split, counts and reference losses."""

    corpus: Corpus
    vocab: Vocab
    ids: torch.Tensor  # (N,) int64
    split: Split
    counts: np.ndarray  # (V,) how often each id occurs in the whole text
    references: References  # uniform / unigram / bigram loss of val under train counts
    train_fraction: float = 0.8

    @classmethod
    def build(cls, corpus: Corpus, train_fraction: float = 0.8) -> Dataset:
        """Encode and split a corpus: slow on a large one, so done off the UI thread."""
        vocab = Vocab.from_text(corpus.text)
        ids = encode_corpus(corpus.text, vocab)
        split = split_ids(ids, train_fraction)
        return cls(
            corpus=corpus,
            vocab=vocab,
            ids=ids,
            split=split,
            counts=char_frequencies(ids, vocab.size),
            references=reference_losses(split.train, split.val, vocab.size),
            train_fraction=train_fraction,
        )


@dataclass
class RunHistory:
    """Everything one training run reported, in order; `version` bumps at each change."""

    started: events.TrainingStarted | None = None
    last_step: events.StepCompleted | None = None
    evals: list[events.EvalCompleted] = field(default_factory=list)
    checkpoints: list[events.CheckpointSaved] = field(default_factory=list)
    finished: events.TrainingFinished | None = None
    version: int = 0
    planned_steps: int = 0
    """The steps the run was started for: the screens draw its axes before it reports."""

    @classmethod
    def from_log(cls, log: RunLog) -> RunHistory:
        """A finished history from a run folder's metrics: its curve and its samples."""
        history = cls(planned_steps=max(e.total_steps for e in log.evals))
        for event in log.evals:
            history.record(event)
        last = log.evals[-1].step
        final_loss = None
        message = _("the saved run {folder}: {n} evals up to step {step:,}").format(
            folder=log.folder.name, n=len(log.evals), step=last
        )
        if log.final is not None:
            try:
                final_loss = float(log.final["val_loss"])
                message += _("; whole val split: perplexity {ppl:.3f}").format(
                    ppl=math.exp(final_loss)
                )
            except (KeyError, TypeError, ValueError, OverflowError):
                final_loss = None
        if log.unreadable:
            message += _(" ({n} unreadable lines skipped)").format(n=log.unreadable)
        history.record(events.TrainingFinished(last, "completed", message, final_loss))
        return history

    def record(self, event: events.TrainingEvent) -> None:
        if isinstance(event, events.StepCompleted):
            self.last_step = event
        elif isinstance(event, events.EvalCompleted):
            self.evals.append(event)
        elif isinstance(event, events.CheckpointSaved):
            self.checkpoints.append(event)
        elif isinstance(event, events.TrainingStarted):
            self.started = event
            self.finished = None
        elif isinstance(event, events.TrainingFinished):
            self.finished = event
        self.version += 1

    @property
    def step(self) -> int:
        """The latest step heard of: step messages are thinned, evals and saves are not."""
        steps = [self.started.start_step if self.started else 0]
        if self.last_step is not None:
            steps.append(self.last_step.step)
        if self.evals:
            steps.append(self.evals[-1].step)
        if self.checkpoints:
            steps.append(self.checkpoints[-1].step)
        if self.finished is not None:
            steps.append(self.finished.step)
        return max(steps)

    @property
    def total_steps(self) -> int:
        if self.last_step is not None:
            return self.last_step.total_steps
        return self.started.total_steps if self.started else self.planned_steps

    @property
    def last_checkpoint(self) -> events.CheckpointSaved | None:
        return self.checkpoints[-1] if self.checkpoints else None
