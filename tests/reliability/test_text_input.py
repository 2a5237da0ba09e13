"""Text people feed the CLI and the app: wrong encodings, binary, empty, huge alphabets.

Already proven elsewhere (not repeated here):

- Latin-1, Shift_JIS, binary, empty/missing/folder, BOM+CRLF+NFD in core:
  tests/core/test_text_pipeline.py (test_latin1_file_is_refused_with_the_byte_offset,
  test_shift_jis_file_is_refused_and_readable_when_named, test_binary_file_is_refused_as_binary,
  test_unusable_paths_are_refused_naming_the_path, test_bom_crlf_and_nfd_are_normalised)
- a binary corpus through `charlm prep` in a real process: tests/test_cli.py::
  test_bad_corpus_and_bad_checkpoint_give_one_line_not_a_traceback
- binary and missing files through the app: tests/tui/test_tui_flows.py::
  test_load_errors_are_shown_in_words
- ids for > 65,535 characters never wrap (uint32): tests/core/test_text_pipeline.py::
  test_more_than_65535_distinct_characters_use_a_wider_dtype_without_wrapping
- a file larger than memory is encoded once and memory-mapped: tests/core/
  test_text_pipeline.py::test_memory_mapped_ids_give_the_same_batches_as_in_memory
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
import unicodedata
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from charlm_tui.cli import main
from charlm_tui.core.corpus import CorpusError, read_text_file
from charlm_tui.core.data import encode_corpus, split_ids
from charlm_tui.core.metrics import reference_losses
from charlm_tui.core.train import TrainConfig, Trainer
from charlm_tui.core.vocab import Vocab
from tests.reliability.harness import TINY_TEXT, isolated_env, loaded, until

NFD_TEXT = unicodedata.normalize("NFD", "Le café de la rue, naïve et très élégante. ") * 30
# 70,000 code points from U+20000 on; NFC folds the compatibility ideographs among them,
# which still leaves more than 65,535 distinct characters.
WIDE_ALPHABET = "".join(chr(c) for c in range(0x20000, 0x20000 + 70_000))


def write_corpus(kind: str, folder: Path) -> tuple[Path, str]:
    """One kind of corpus file; returns its path and words the refusal must hold."""
    path = folder / f"{kind}.txt"
    if kind == "latin1":
        path.write_bytes("café au lait, crème brûlée. ".encode("latin-1") * 40)
        return path, "byte offset 3"
    if kind == "shift_jis":
        path.write_bytes(
            "坊っちゃん、親譲りの無鉄砲で小供の時から損ばかりしている。".encode("shift_jis")
        )
        return path, "byte offset 0"
    if kind == "binary":
        path.write_bytes(b"text\x00\x01\x02" * 100)
        return path, "binary"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "is empty"
    if kind == "folder":
        path.mkdir()
        return path, "is a folder"
    if kind == "missing":
        return path, "does not exist"
    raise AssertionError(kind)


CORPUS_KINDS = ["latin1", "shift_jis", "binary", "empty", "folder", "missing"]


@pytest.mark.parametrize("command", ["prep", "train"])
@pytest.mark.parametrize("kind", CORPUS_KINDS)
def test_a_corpus_the_cli_cannot_use_is_one_line_naming_it_and_the_way_out(
    kind, command, tmp_path, capsys
) -> None:
    """Exit 2 and one line on stderr: the path, what is wrong, what to do; no traceback."""
    path, words = write_corpus(kind, tmp_path)
    out = ["--out", str(tmp_path / "run")] if command == "train" else []
    assert main([command, "--corpus", str(path), *out]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"charlm {command}: "), captured.err
    assert str(path) in lines[0] and words in lines[0]
    if kind in ("latin1", "shift_jis"):
        assert "--encoding" in lines[0]
    assert not (tmp_path / "run").exists(), "nothing is written for a corpus that failed"


@pytest.mark.parametrize(
    "kind, encoding, expected", [("latin1", "latin-1", "é"), ("shift_jis", "shift_jis", "坊")]
)
def test_naming_the_encoding_reads_the_file(kind, encoding, expected, tmp_path, capsys) -> None:
    """The way out the refusal names works: `--encoding` reads Latin-1 and Shift_JIS."""
    path, _ = write_corpus(kind, tmp_path)
    assert main(["prep", "--corpus", str(path), "--encoding", encoding]) == 0
    vocabulary = next(line for line in capsys.readouterr().out.splitlines() if "vocabulary" in line)
    assert expected in vocabulary


def test_eval_accepts_the_encoding_option_its_refusal_suggests(tmp_path, capsys) -> None:
    """`eval --text` on Latin-1 says "--encoding latin-1"; eval takes that option."""
    config = TrainConfig.defaults_for("bigram", steps=10, block_size=8, sample_length=0)
    Trainer(config, TINY_TEXT + "café crème", out_dir=tmp_path / "run").run()
    checkpoint = str(tmp_path / "run" / "last.safetensors")
    path, _ = write_corpus("latin1", tmp_path)
    assert main(["eval", "--checkpoint", checkpoint, "--text", str(path)]) == 2
    assert "--encoding latin-1" in capsys.readouterr().err
    assert (
        main(["eval", "--checkpoint", checkpoint, "--text", str(path), "--encoding", "latin-1"])
        == 0
    )
    assert "bits/char" in capsys.readouterr().out


def test_bom_crlf_and_nfd_reach_the_vocabulary_as_one_nfc_character_each(tmp_path, capsys) -> None:
    """A Windows-made file of decomposed accents: no BOM, no CR, "é" is one character."""
    path = tmp_path / "windows.txt"
    path.write_bytes(b"\xef\xbb\xbf" + NFD_TEXT.replace(" ", "\r\n", 5).encode("utf-8"))
    assert main(["prep", "--corpus", str(path), "--keep-newlines"]) == 0
    vocabulary = next(line for line in capsys.readouterr().out.splitlines() if "vocabulary" in line)
    assert "é" in vocabulary and "ï" in vocabulary and "è" in vocabulary
    for unwanted in ("\\r", "\\ufeff", "\u0301", "\u0308", "\u0300"):
        assert unwanted not in vocabulary, unwanted


def test_a_seed_typed_in_nfd_matches_the_nfc_vocabulary(tmp_path, capsys) -> None:
    """`sample --seed-text` from a terminal that sends NFD: no character reads as unknown."""
    corpus = tmp_path / "cafe.txt"
    corpus.write_text(NFD_TEXT, encoding="utf-8")
    seed = unicodedata.normalize("NFD", "café")
    args = ["sample", "--corpus", str(corpus), "--seed-text", seed, "-n", "5", "--seed", "1"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "not in the vocabulary" not in captured.err, captured.err
    assert captured.out.startswith("café")  # NFC: four characters


def test_more_than_65535_distinct_characters_need_no_dense_v_by_v_table() -> None:
    """Reference perplexities for 70,000 characters: a dense bigram table would be 36 GiB."""
    text = WIDE_ALPHABET * 2
    vocab = Vocab.from_text(text)
    assert vocab.size > 65_535
    split = split_ids(encode_corpus(text, vocab))
    tracemalloc.start()
    try:
        refs = reference_losses(split.train, split.val, vocab.size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MiB for the reference losses"
    assert refs.uniform == pytest.approx(__import__("math").log(vocab.size))


def test_more_than_65535_distinct_characters_through_prep_and_a_few_training_steps(
    tmp_path, capsys
) -> None:
    """`charlm prep` on such a text answers (uint32 ids); the trainer takes two steps."""
    path = tmp_path / "wide.txt"
    path.write_text(WIDE_ALPHABET * 2, encoding="utf-8")
    assert main(["prep", "--corpus", str(path), "--memmap", str(tmp_path / "ids.bin")]) == 0
    out = capsys.readouterr().out
    assert "uint32" in out
    config = TrainConfig.defaults_for(
        "bigram", steps=2, steps_per_epoch=2, eval_batches=1, sample_length=0, final_eval=False
    )
    result = Trainer(config, read_text_file(path)).run()
    assert result.reason == "completed" and result.history[-1].val_loss > 0


def test_eval_from_another_folder_says_the_recorded_corpus_is_not_found_and_the_way_round(
    tmp_path, monkeypatch, capsys
) -> None:
    """A run trained on "tiny.txt" (relative) records its absolute path, so eval from
    elsewhere finds it; once the file has moved, the message says the path came from the
    checkpoint and names --corpus / --text."""
    (tmp_path / "tiny.txt").write_text(TINY_TEXT)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--corpus", "tiny.txt", "--steps", "10", "--out", "run", "--quiet"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["eval", "--checkpoint", str(tmp_path / "run" / "last.safetensors")]) == 0
    (tmp_path / "tiny.txt").rename(tmp_path / "moved.txt")
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(tmp_path / "run" / "last.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "tiny.txt does not exist" in err
    assert "the corpus this checkpoint was trained on" in err and "--corpus PATH" in err


@pytest.mark.skipif(os.name != "posix", reason="needs RLIMIT_AS")
def test_more_than_65535_distinct_characters_can_be_sampled_in_bounded_memory(tmp_path) -> None:
    """`charlm sample` with a 70,000-character vocabulary, its address space capped at
    6 GiB: a (V, V) table of next-character logits would need 19.5 GB."""
    import resource

    (tmp_path / "wide.txt").write_text(WIDE_ALPHABET * 2, encoding="utf-8")

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, resource.RLIM_INFINITY))

    result = subprocess.run(
        [sys.executable, "-m", "charlm_tui", "sample", "--corpus", "wide.txt", "-n", "5"]
        + ["--seed", "1"],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        preexec_fn=cap_memory,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-600:]
    assert len(result.stdout.strip()) == 5


def test_a_file_that_exists_but_cannot_be_read_is_named_with_the_reason(capsys) -> None:
    """A read that fails (EIO from /proc/self/mem at offset 0): the path and the reason."""
    unreadable = Path("/proc/self/mem")
    if not unreadable.exists():
        pytest.skip("needs Linux /proc")
    with pytest.raises(CorpusError, match="cannot be read") as err:
        read_text_file(unreadable)
    assert str(unreadable) in str(err.value)
    assert main(["prep", "--corpus", str(unreadable)]) == 2
    assert "cannot be read" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_a_file_without_read_permission_is_named_with_the_reason(tmp_path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(TINY_TEXT)
    path.chmod(0)
    with pytest.raises(CorpusError, match="permission denied"):
        read_text_file(path)


def test_prep_piped_into_head_ends_quietly(tmp_path) -> None:
    """`charlm prep | head -1`: the reader leaves early; no BrokenPipeError traceback."""
    (tmp_path / "tiny.txt").write_text(TINY_TEXT)
    with subprocess.Popen(
        [sys.executable, "-m", "charlm_tui", "prep", "--corpus", "tiny.txt"],
        cwd=tmp_path,
        env=isolated_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        proc.stdout.close()  # what head does after its line
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert first.startswith(b"corpus")
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 0


async def test_the_app_says_why_it_cannot_read_a_corpus_and_keeps_the_last_one(
    make_app, tiny_corpus, tmp_path
) -> None:
    """Latin-1, Shift_JIS, empty and a folder typed into the dataset screen: words, no crash."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        good = app.dataset
        path_input = app.screen.query_one("#path-input", Input)
        for kind in ("latin1", "shift_jis", "empty", "folder"):
            path, words = write_corpus(kind, tmp_path)
            app.load_error = None
            path_input.value = str(path)
            path_input.focus()
            await pilot.press("enter")
            await until(pilot, lambda: app.load_error is not None)
            message = str(app.screen.query_one("#dataset-message", Static).render())
            assert words in message, message
            assert app.dataset is good, "the corpus loaded before stays loaded"
