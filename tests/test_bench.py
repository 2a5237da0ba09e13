"""`charlm bench`: its generation paths agree, and `--quick` prints every part of the table.

Benchmarks print numbers; nothing here asserts a time. The `--quick` run takes about 15 s
on 2 cores (most of it the notebook recipe, in a bare Trainer and in the headless app, and
the training rows); CI runs it like any other test.
"""

from __future__ import annotations

import torch

from charlm_tui.bench import WindowRecompute
from charlm_tui.cli import main
from charlm_tui.core.models import build_model
from charlm_tui.core.sample import Generator, SamplingOptions
from charlm_tui.core.vocab import Vocab
from tests.conftest import TINY_TEXT, needs_corpora


def test_cached_and_recomputed_generation_draw_the_same_characters_for_a_seed() -> None:
    """The KV cache changes the cost of a character, not the character drawn."""
    vocab = Vocab.from_text(TINY_TEXT)
    torch.manual_seed(0)
    model = build_model("gpt", vocab.size, n_layer=2, n_head=2, n_embd=32, block_size=96).eval()
    for seed in (1, 2, 3):
        options = SamplingOptions(seed=seed, length=60)
        cached = "".join(Generator(model, vocab, TINY_TEXT[:30], options))
        recomputed = "".join(Generator(WindowRecompute(model), vocab, TINY_TEXT[:30], options))
        assert cached == recomputed


def test_window_recompute_reads_only_the_last_block_size_characters() -> None:
    vocab = Vocab.from_text(TINY_TEXT)
    model = build_model("gpt", vocab.size, n_layer=1, n_head=2, n_embd=16, block_size=8).eval()
    gen = Generator(WindowRecompute(model), vocab, TINY_TEXT[:50])
    assert gen._state.shape == (1, 8)
    expected = model.compute_logits(torch.tensor([vocab.encode(TINY_TEXT[42:50])]))[0, -1]
    torch.testing.assert_close(gen.probs, torch.softmax(expected, -1))


@needs_corpora
def test_bench_quick_prints_machine_training_generation_notebook_and_app(capsys) -> None:
    assert main(["bench", "--quick"]) == 0
    out = capsys.readouterr().out
    for heading in ("cpu ", "torch ", "bfloat16 ", "training:", "generation:", "notebook recipe:"):
        assert heading in out
    assert "nanoGPT-style plain loop" in out and "Trainer" in out
    for context in ("64", "256", "1024"):
        assert any(line.split()[:1] == [context] for line in out.splitlines())
    assert "next-character distribution" in out and "load avg" in out
    assert "inside the app (headless)" in out and "of its speed" in out
