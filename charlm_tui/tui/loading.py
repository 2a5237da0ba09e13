"""Provides load_dataset_posting: a corpus loaded and built into a Dataset, off the UI thread.

It runs in a thread worker and reports only by posting messages (progress, then the
dataset or why there is none), so the app's loading state changes on its own thread.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from textual.message import Message

from charlm_tui.core.corpus import CorpusError, load_corpus
from charlm_tui.core.data import CorpusTooSmallError
from charlm_tui.core.i18n import _
from charlm_tui.tui import messages
from charlm_tui.tui.session import Dataset


def load_dataset_posting(
    post: Callable[[Message], object],
    request: int,
    corpus: str,
    *,
    fallback: bool,
    newlines_to_spaces: bool,
    encoding: str,
    errors: str,
) -> None:
    """Load `corpus` and build its Dataset; post DatasetLoaded (for load number `request`)
    with it or with the reason there is none. With `fallback`, a default corpus that cannot
    be had offline gives way to python-docs (see load_corpus)."""

    def progress(done: int, total: int | None) -> None:
        post(messages.CorpusLoadProgressed(done, total))

    try:
        loaded = load_corpus(
            corpus,
            fallback=fallback,
            newlines_to_spaces=newlines_to_spaces,
            encoding=encoding,
            errors=errors,
            progress=progress,
        )
        dataset = Dataset.build(loaded)
    except (CorpusError, CorpusTooSmallError) as error:
        post(messages.DatasetLoaded(request, None, str(error)))
        return
    except Exception as error:  # a corpus that breaks the loader is still refused in words
        reason = _("the corpus could not be loaded ({reason}); try another file").format(
            reason=error
        )
        post(messages.DatasetLoaded(request, None, reason))
        return
    post(messages.DatasetLoaded(request, dataset, None))
    # after the post: the corpus shows ~4 s sooner on a cold start (the tour's first steps
    # need no optimizer), and the warm-up still ends long before a run is started
    warm_up_torch()


_warmed_up = False


def warm_up_torch() -> None:
    """Pay torch's one-time lazy imports (the first optimizer's) before Start is pressed."""
    global _warmed_up
    if not _warmed_up:
        _warmed_up = True
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
