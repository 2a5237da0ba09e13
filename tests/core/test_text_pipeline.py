"""Corpus loading, the vocabulary and the data split: the notebook's numbers, and bad input."""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np
import pytest
import torch

from charlm_tui.core.corpus import CATALOG, CorpusError, decode_text, load_corpus, read_text_file
from charlm_tui.core.data import (
    CorpusTooSmallError,
    check_size,
    encode_corpus,
    encode_to_file,
    open_ids,
    random_batch,
    random_window,
    sequential_batches,
    split_ids,
)
from charlm_tui.core.metrics import reference_losses
from charlm_tui.core.vocab import UnknownCharsError, Vocab
from tests.conftest import needs_corpora

NOTEBOOK_VOCAB = (
    " !\"&'(),-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWYZ[]abcdefghijklmnopqrstuvwxyz£½àâèé"
)


@needs_corpora
def test_sherlock_normalises_to_the_notebooks_562263_bytes() -> None:
    text = load_corpus("sherlock").text
    assert len(text.encode("utf-8")) == 562_263
    assert hashlib.sha256(text.encode()).hexdigest() == CATALOG["sherlock"].normalized_sha256


def test_vocabulary_is_the_notebooks_83_characters_in_order(sherlock_text: str) -> None:
    vocab = Vocab.from_text(sherlock_text)
    assert vocab.size == 83
    assert "".join(vocab.chars) == NOTEBOOK_VOCAB


def test_encode_decode_round_trip_of_do_you_know_watson(sherlock_text: str) -> None:
    vocab = Vocab.from_text(sherlock_text)
    ids = vocab.encode("Do you know, Watson,")
    assert ids == [27, 65, 0, 75, 65, 71, 0, 61, 64, 65, 73, 7, 0, 46, 51, 70, 69, 65, 64, 7]
    assert vocab.decode(ids) == "Do you know, Watson,"


def test_seed_1_draws_the_notebooks_first_two_windows(sherlock_text: str) -> None:
    vocab = Vocab.from_text(sherlock_text)
    split = split_ids(encode_corpus(sherlock_text, vocab))
    assert split.sizes == (449_770, 112_443)  # 80/20 by position
    gen = torch.Generator().manual_seed(1)
    x, y = random_window(split.train, 16, gen)
    assert vocab.decode(x.tolist()) == "rip has been upo"
    assert vocab.decode(y.tolist()) == "ip has been upon"
    x, _ = random_window(split.train, 16, gen)
    assert vocab.decode(x.tolist()) == "bited. The bedro"


def test_count_bigram_limit_of_the_notebook_split_is_about_10_8(sherlock_text: str) -> None:
    vocab = Vocab.from_text(sherlock_text)
    split = split_ids(encode_corpus(sherlock_text, vocab))
    refs = reference_losses(split.train, split.val, vocab.size).as_perplexities()
    assert refs["uniform"] == pytest.approx(83.0)
    assert 10.7 < refs["bigram"] < 10.9
    assert refs["bigram"] < refs["unigram"] < refs["uniform"]


def test_unknown_characters_are_reported_dropped_or_replaced_never_keyerror() -> None:
    vocab = Vocab.from_text("abc ")
    with pytest.raises(UnknownCharsError) as err:
        vocab.encode("abxc~")
    assert err.value.chars == ["x", "~"] and err.value.positions == [2, 4]
    assert "'x'" in str(err.value)
    assert vocab.encode("abxc", "drop") == vocab.encode("abc")
    assert vocab.decode(vocab.encode("abxc", "replace")) == "ab c"
    assert vocab.unknown_chars("axb") == [(1, "x")]


def test_vocab_json_round_trip() -> None:
    vocab = Vocab.from_text("héllo wörld\n")
    assert Vocab.from_json(vocab.to_json()) == vocab


def test_more_than_65535_distinct_characters_use_a_wider_dtype_without_wrapping(tmp_path) -> None:
    # code points from U+20000 on (CJK extension planes and beyond): 70,000 distinct chars
    chars = "".join(chr(c) for c in range(0x20000, 0x20000 + 70_000))
    vocab = Vocab.from_text(chars)
    assert vocab.size > 65_535
    assert vocab.dtype == np.uint32
    out = encode_to_file_text(tmp_path, chars, vocab)
    ids = open_ids(out, vocab)
    assert int(ids[-1]) == vocab.size - 1  # uint16 would wrap this
    assert Vocab.from_text("ab").dtype == np.uint16


def encode_to_file_text(tmp_path, text: str, vocab: Vocab):
    src = tmp_path / "big.txt"
    src.write_text(text, encoding="utf-8")
    return encode_to_file(src, vocab, tmp_path / "ids.bin", chunk_chars=1000)


def test_memory_mapped_ids_give_the_same_batches_as_in_memory(tmp_path) -> None:
    text = "the quick brown fox jumps over the lazy dog " * 50
    vocab = Vocab.from_text(text)
    mapped = open_ids(encode_to_file_text(tmp_path, text, vocab), vocab)
    in_memory = encode_corpus(text, vocab)
    a = random_batch(in_memory, 8, 4, torch.Generator().manual_seed(3))
    b = random_batch(mapped, 8, 4, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_sequential_batches_cover_every_prediction_once() -> None:
    data = torch.arange(103)
    seen = torch.cat([y.flatten() for _, y in sequential_batches(data, 10, 3)])
    assert torch.equal(seen, torch.arange(1, 103))


def test_corpus_too_small_for_a_window_is_refused_naming_both_sizes() -> None:
    vocab = Vocab.from_text("abcdefghij")
    split = split_ids(encode_corpus("abcdefghij" * 3, vocab))
    with pytest.raises(CorpusTooSmallError, match=r"train part has 24 .* val part has 6"):
        check_size(split, 32)
    check_size(split, 4)


# --- bad text input --------------------------------------------------------------------


def test_latin1_file_is_refused_with_the_byte_offset(tmp_path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"byte offset 3") as err:
        read_text_file(path)
    assert str(path) in str(err.value) and "--encoding" in str(err.value)
    assert read_text_file(path, encoding="latin-1").startswith("café")


def test_shift_jis_file_is_refused_and_readable_when_named(tmp_path) -> None:
    path = tmp_path / "sjis.txt"
    path.write_bytes("坊っちゃん\r\n親譲りの無鉄砲".encode("shift_jis"))
    with pytest.raises(CorpusError, match="byte offset 0"):
        read_text_file(path)
    assert read_text_file(path, encoding="shift_jis") == "坊っちゃん\n親譲りの無鉄砲"


def test_binary_file_is_refused_as_binary(tmp_path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(CorpusError, match="binary"):
        read_text_file(path)


@pytest.mark.parametrize("kind", ["empty", "missing", "folder", "whitespace"])
def test_unusable_paths_are_refused_naming_the_path(tmp_path, kind: str) -> None:
    path = tmp_path / "x.txt"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "folder":
        path.mkdir()
    elif kind == "whitespace":
        path.write_text(" \n\n ")
    with pytest.raises(CorpusError) as err:
        read_text_file(path)
    assert str(path) in str(err.value)


def test_bom_crlf_and_nfd_are_normalised() -> None:
    nfd = unicodedata.normalize("NFD", "café\r\nnaïve\rend")
    text = decode_text(b"\xef\xbb\xbf" + nfd.encode("utf-8"))
    assert text == "café\nnaïve\nend"
    assert len(set(text) & {"é"}) == 1 and "\u0301" not in text


def test_offline_and_uncached_catalog_corpus_says_what_to_do(monkeypatch) -> None:
    monkeypatch.delenv("CHARLM_CORPUS_MIRROR", raising=False)
    with pytest.raises(CorpusError) as err:
        load_corpus("shakespeare", download=False)
    message = str(err.value)
    assert "CHARLM_CORPUS_MIRROR" in message and "python-docs" in message


def test_python_docs_corpus_is_always_at_hand_offline(monkeypatch) -> None:
    monkeypatch.delenv("CHARLM_CORPUS_MIRROR", raising=False)
    corpus = load_corpus("python-docs", download=False)
    assert len(corpus.text) > 100_000


def test_a_corrupted_mirror_file_is_refused_by_its_sha256(tmp_path, monkeypatch) -> None:
    (tmp_path / "tinyshakespeare.txt").write_text("First Citizen: not the real file\n")
    monkeypatch.setenv("CHARLM_CORPUS_MIRROR", str(tmp_path))
    with pytest.raises(CorpusError, match="sha256"):
        load_corpus("shakespeare", download=False)


@needs_corpora
def test_bocchan_loads_as_japanese_with_1948_characters() -> None:
    text = load_corpus("bocchan").text
    assert len(text) == 105_100 and len(set(text)) == 1948
    assert text.startswith("坊っちゃん")
