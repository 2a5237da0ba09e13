"""Provides ModelSource, a model as the console and the heat-map use it, and
source_from_checkpoint, which opens one from a checkpoint file (off the UI thread)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from charlm_tui.core.checkpoint import CheckpointError
from charlm_tui.core.i18n import _
from charlm_tui.core.models import CharModel
from charlm_tui.core.runs import load_model
from charlm_tui.core.surprise import EVAL_BLOCK_DEFAULT, eval_block_size
from charlm_tui.core.vocab import Vocab


@dataclass(frozen=True)
class ModelSource:
    """A model, the vocabulary it reads, its name on screen, and the window `charlm eval`
    scores it in (its training block size)."""

    model: CharModel
    vocab: Vocab
    label: str
    block_size: int = EVAL_BLOCK_DEFAULT


class CheckpointUnusable(Exception):
    """A file that cannot be opened as a model; the message says why, in words."""


def source_from_checkpoint(path: Path) -> ModelSource:
    """The model in the checkpoint at `path`, named by its file and step."""
    try:
        loaded = load_model(path)
    except CheckpointError as exc:
        raise CheckpointUnusable(
            _("cannot open that checkpoint: {reason}").format(reason=exc)
        ) from None
    except OSError as exc:
        said = _("cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        raise CheckpointUnusable(said) from None
    label = _("{model} from {file} (step {step:,})").format(
        model=loaded.name, file=path.name, step=loaded.checkpoint.step
    )
    block = eval_block_size(loaded.checkpoint.train_config)
    return ModelSource(loaded.model, loaded.vocab, label, block)
