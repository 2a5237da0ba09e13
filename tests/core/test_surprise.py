"""Per-character surprise: hand-computed values, unknown characters, eval's windows, and the
same numbers as `charlm eval --text` on trained checkpoints."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from charlm_tui.cli import main
from charlm_tui.core.corpus import read_text_file
from charlm_tui.core.data import encode_corpus
from charlm_tui.core.models import build_model
from charlm_tui.core.runs import load_model
from charlm_tui.core.surprise import eval_block_size, surprise
from charlm_tui.core.train import evaluate_loss
from charlm_tui.core.vocab import Vocab
from tests.conftest import TINY_TEXT
from tests.core.test_sample import LOGITS, VOCAB, FixedLogits

torch.set_num_threads(1)


def hand_bits(char: str) -> float:
    """−log2 softmax(LOGITS)[char], by hand: no torch."""
    z = sum(math.exp(v) for v in LOGITS)
    return -math.log2(math.exp(LOGITS[VOCAB.stoi[char]]) / z)


def test_each_character_has_the_hand_computed_surprise() -> None:
    result = surprise(FixedLogits(), VOCAB, "abh", block_size=8)
    assert result.bits[0] is None  # nothing precedes the first character
    assert result.bits[1] == pytest.approx(hand_bits("b"), abs=1e-6)
    assert result.bits[2] == pytest.approx(hand_bits("h"), abs=1e-6)
    # by hand: the exps of LOGITS add up to 48.2456; b's is e^2.5 = 12.1825, h's e^-2 = 0.1353
    assert round(result.bits[1], 3) == 1.986 and round(result.bits[2], 3) == 8.478
    assert result.bits_per_char == pytest.approx((hand_bits("b") + hand_bits("h")) / 2)
    assert result.loss == pytest.approx(result.bits_per_char * math.log(2))
    assert (result.n_chars, result.n_known, result.n_predicted) == (3, 3, 2)


def test_unknown_characters_are_dropped_as_eval_drops_them() -> None:
    result = surprise(FixedLogits(), VOCAB, "aZ™b", block_size=8)
    assert result.known == (True, False, False, True)
    assert result.bits[1] is None and result.bits[2] is None
    assert result.bits[3] == pytest.approx(hand_bits("b"), abs=1e-6)  # read right after a
    assert result.unknown_chars == ["Z", "™"]
    assert (result.n_unknown, result.n_predicted) == (2, 1)


def test_nothing_to_predict_gives_no_average() -> None:
    for text in ("", "a", "Z™a"):
        result = surprise(FixedLogits(), VOCAB, text, block_size=8)
        assert result.bits_per_char is None and result.loss is None
        assert all(b is None for b in result.bits)


def test_the_context_restarts_at_each_eval_window() -> None:
    """A GRU's surprise at a character equals the forward pass of its own window only."""
    vocab = Vocab.from_text(TINY_TEXT)
    torch.manual_seed(0)
    model = build_model("gru", vocab.size, n_hidden=16, n_embd=8, n_layer=1).eval()
    text = TINY_TEXT[:40]
    block = 8
    result = surprise(model, vocab, text, block)
    ids = torch.tensor(vocab.encode(text))
    with torch.no_grad():
        for target in (1, 8, 9, 16, 17, 39):
            start = (target - 1) // block * block  # the window that predicts `target`
            logits, _ = model(ids[start:target])
            p = torch.softmax(logits[-1].double(), -1)[ids[target]]
            assert result.bits[target] == pytest.approx(-math.log2(float(p)), abs=1e-5)
    # a sliding context would differ: the window restart is real for an RNN
    with torch.no_grad():
        logits, _ = model(ids[:17])
    sliding = -math.log2(float(torch.softmax(logits[-1].double(), -1)[ids[17]]))
    assert abs(sliding - result.bits[17]) > 1e-4


def eval_numbers(checkpoint: Path, text_file: Path, capsys) -> dict[str, float]:
    """What `charlm eval --checkpoint X --text F` prints, as numbers."""
    assert main(["eval", "--checkpoint", str(checkpoint), "--text", str(text_file)]) == 0
    out = capsys.readouterr().out
    numbers = {
        key: float(value)
        for key, value in re.findall(r"^(loss|perplexity|bits/char)\s+([0-9.]+)", out, re.M)
    }
    numbers["characters"] = float(re.search(r": ([0-9,]+) characters", out)[1].replace(",", ""))
    return numbers


@pytest.mark.parametrize(
    "model, extra",
    [
        pytest.param("bigram", [], id="bigram-one-character"),
        pytest.param("mlp", [], id="mlp"),
        pytest.param("gru", ["--n-embd", "16", "--n-layer", "1"], id="gru-unbounded"),
        pytest.param("gpt", ["--n-embd", "16", "--n-layer", "1", "--n-head", "2"], id="gpt"),
    ],
)
def test_the_average_equals_charlm_eval_on_the_same_text(
    model: str, extra: list[str], tiny_corpus: str, tmp_path: Path, capsys
) -> None:
    """Trained for a few steps, a checkpoint's heat-map average is `charlm eval`'s number.

    The text has unknown characters (dropped by both), more than 64 windows (two batches
    of evaluate_loss) and a length that leaves a short last window.
    """
    out_dir = tmp_path / "run"
    args = ["train", "--corpus", tiny_corpus, "--model", model, "--steps", "15"]
    args += ["--block-size", "8", "--out", str(out_dir), "--quiet", *extra]
    assert main(args) == 0
    capsys.readouterr()
    checkpoint = out_dir / "last.safetensors"
    text_file = tmp_path / "probe.txt"
    text_file.write_text("Zé™ " + TINY_TEXT + TINY_TEXT[:203] + " ünknown", encoding="utf-8")

    printed = eval_numbers(checkpoint, text_file, capsys)
    loaded = load_model(checkpoint)
    block = eval_block_size(loaded.checkpoint.train_config)
    assert block == 8
    text = read_text_file(text_file)  # as eval reads it (NFC, newlines)
    result = surprise(loaded.model, loaded.vocab, text, block)

    assert result.n_unknown > 0 and result.n_predicted > 64 * block
    assert result.n_known == printed["characters"]
    assert f"{result.loss:.4f}" == f"{printed['loss']:.4f}"
    assert f"{result.bits_per_char:.3f}" == f"{printed['bits/char']:.3f}"
    assert f"{math.exp(result.loss):.3f}" == f"{printed['perplexity']:.3f}"
    # and beyond the printed digits: evaluate_loss itself, on eval's ids
    data = encode_corpus(text, loaded.vocab, policy="drop")
    assert result.loss == pytest.approx(evaluate_loss(loaded.model, data, block), abs=1e-6)
