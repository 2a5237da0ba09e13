"""Provides the in-app line of `charlm bench`: the notebook recipe trained inside the real
app (headless) against a bare `Trainer`, pair by pair. It lives in `tui/` because it runs
the app; `charlm bench` hands it to `bench.run_bench`, which imports only the core."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path

import torch

from charlm_tui.core.corpus import Corpus
from charlm_tui.core.train import TrainConfig, Trainer
from charlm_tui.tui.app import CharLMApp
from charlm_tui.tui.options import TuiOptions
from charlm_tui.tui.session import Dataset


def notebook_in_app_and_alone(
    dataset: Dataset, device: str, app_first: bool = True
) -> tuple[float, float]:
    """Seconds to the last eval of the notebook recipe in the app and in a bare Trainer:
    both on one torch thread (the app leaves the other core to the UI) and writing a run
    folder. The app is the real one, headless: its worker thread trains while its event
    loop takes the run's messages and draws the training screen, chart and all. Which
    goes first alternates from pair to pair, so that neither always inherits the heap and
    the caches the other left."""
    corpus = dataset.corpus
    config = TrainConfig.defaults_for(
        "bigram", device=device, threads=1, newlines_to_spaces=corpus.newlines_to_spaces
    )

    async def in_app(runs_root: Path) -> float:
        options = TuiOptions(threads=1, runs_root=runs_root, load_on_start=False, remember=False)
        app = CharLMApp(options)  # remember=False: the user's settings stay as they were
        async with app.run_test(size=(100, 30)) as pilot:
            app.set_dataset(dataset)
            await pilot.press("2")  # the training screen, where a run costs the UI most
            if not app.start_training(config):
                raise RuntimeError("the app did not start the run")
            while app.history.finished is None:
                await asyncio.sleep(0.05)
        if not app.history.evals:
            raise RuntimeError(f"the run in the app ended early: {app.history.finished.message}")
        return app.history.evals[-1].elapsed_s

    def alone(runs_root: Path) -> float:  # Trainer.run takes config.threads (1)
        return Trainer(config, corpus.text, out_dir=runs_root / "alone").run().history[-1].elapsed_s

    threads_before = torch.get_num_threads()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if app_first:
                app_s = asyncio.run(in_app(Path(tmp)))
                alone_s = alone(Path(tmp))
            else:
                alone_s = alone(Path(tmp))
                app_s = asyncio.run(in_app(Path(tmp)))
    finally:
        torch.set_num_threads(threads_before)
    return app_s, alone_s


def in_app_line(corpus: Corpus, pairs: int, device: str) -> str:
    """`pairs` interleaved runs in the app and alone, as the bench's line."""
    dataset = Dataset.build(corpus)
    timings = [
        notebook_in_app_and_alone(dataset, device, app_first=i % 2 == 0) for i in range(pairs)
    ]
    in_app = statistics.median(p[0] for p in timings)
    alone = statistics.median(p[1] for p in timings)
    ratio = statistics.median(p[1] / p[0] for p in timings)
    plural = "s" if len(timings) > 1 else ""
    return (
        f"inside the app (headless), 1 thread, run folder: {in_app:.2f} s against {alone:.2f} s "
        f"for a bare Trainer: the app trains at {ratio:.0%} of its speed "
        f"(medians of {len(timings)} interleaved pair{plural})"
    )
