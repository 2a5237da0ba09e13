"""Provides a run's record read back from its folder: the evals in RUN/metrics.jsonl.

Each eval line holds the step, the train and val loss and the text sampled then, so a run
trained before class can be browsed later: its curve and how its text got better.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charlm_tui.core.events import EvalCompleted
from charlm_tui.core.i18n import _


class RunLogError(Exception):
    """A run's metrics cannot be read; the message says why and what to choose instead."""


@dataclass(frozen=True)
class RunLog:
    """What a run folder's metrics.jsonl recorded."""

    folder: Path
    evals: tuple[EvalCompleted, ...]
    final: dict[str, Any] | None  # the whole-val line ("final": true) of a run that ended
    unreadable: int  # lines that were neither (a line torn by a crash, a hand edit)


def read_run_log(path: str | Path) -> RunLog:
    """The evals of the run in `path`: a run folder or any file in it (a checkpoint)."""
    where = Path(path).expanduser()
    folder = where if where.is_dir() else where.parent
    target = folder / "metrics.jsonl"
    try:
        lines = target.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise RunLogError(
            _(
                "{path}: no run's metrics there ({why}); choose a run folder, or a "
                "checkpoint in one, that charlm train or the app wrote"
            ).format(path=target, why=exc.strerror or exc)
        ) from None
    evals: list[EvalCompleted] = []
    final: dict[str, Any] | None = None
    unreadable = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if record.get("final"):
                final = record
                continue
            evals.append(eval_from(record))
        except (KeyError, ValueError, TypeError, AttributeError):
            unreadable += 1
    if not evals:
        raise RunLogError(
            _("{path} holds no evals yet: a run logs one at each eval").format(path=target)
        )
    return RunLog(folder=folder, evals=tuple(evals), final=final, unreadable=unreadable)


def eval_from(record: dict[str, Any]) -> EvalCompleted:
    """An eval line back as the event it was written from; KeyError, ValueError or TypeError
    for a line that is not one."""
    sample = record.get("sample")
    return EvalCompleted(
        step=int(record["step"]),
        total_steps=int(record["total_steps"]),
        train_loss=float(record["train_loss"]),
        val_loss=float(record["val_loss"]),
        best_val_loss=float(record["best_val_loss"]),
        is_best=bool(record["is_best"]),
        elapsed_s=float(record["elapsed_s"]),
        sample=sample if isinstance(sample, str) else None,
    )
