"""`charlm bench`: its measurements run the real paths, and `--quick` prints every part.

Benchmarks print numbers; nothing here asserts a time. The `--quick` run takes about 20 s
on 2 cores (most of it the notebook recipe, in a bare Trainer and in the headless app, and
the training rows); CI runs it like any other test.
"""

from __future__ import annotations

import io
import math

import torch

from charlm_tui import bench
from charlm_tui.cli import main
from charlm_tui.core.models import build_model
from charlm_tui.core.vocab import Vocab
from tests.conftest import TINY_TEXT, needs_corpora


def test_recompute_timing_runs_forward_over_the_cropped_window(monkeypatch) -> None:
    """The uncached column times one forward over the last block_size characters."""
    vocab = Vocab.from_text(TINY_TEXT)
    model = build_model("gpt", vocab.size, n_layer=1, n_head=2, n_embd=16, block_size=8).eval()
    shapes: list[tuple[int, ...]] = []
    forward = model.compute_logits

    def recording(idx: torch.Tensor) -> torch.Tensor:
        shapes.append(tuple(idx.shape))
        return forward(idx)

    monkeypatch.setattr(model, "compute_logits", recording)
    ms = bench.time_recompute(model, vocab, TINY_TEXT, 50, 3)
    assert shapes == [(1, 8)] * 4 and ms > 0 and math.isfinite(ms)


def test_the_bench_module_is_core_only_and_takes_the_app_line_from_its_caller() -> None:
    """bench.run_bench prints what `in_app` returns; it never imports the screen itself."""
    import subprocess
    import sys

    probe = "import charlm_tui.bench, sys; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@needs_corpora
def test_bench_quick_prints_machine_training_generation_notebook_and_app(capsys) -> None:
    assert main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    for heading in ("cpu ", "torch ", "bfloat16 ", "training:", "generation:", "notebook recipe:"):
        assert heading in out
    assert "Trainer" in out and "x the speed of float32" in out
    assert "x the speed of 1 thread" in out and "benchmarks/against_nanogpt.py" in out
    for context in ("64", "256", "1024"):
        assert any(line.split()[:1] == [context] for line in out.splitlines())
    assert "flat:" in out and "next-character distribution" in out and "load avg" in out
    assert "inside the app (headless)" in out and "of its speed" in out


@needs_corpora
def test_run_bench_without_an_app_line_prints_none(monkeypatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(bench, "QUICK", bench.Plan(2, 0, 3, 1, 3, 1, False, 1))
    assert bench.run_bench(quick=True, out=out) == 0
    from charlm_tui.core.precision import bf16_native

    assert "inside the app" not in out.getvalue()
    assert bf16_native(torch.device("cpu")) or "emulated: skipped" in out.getvalue()
