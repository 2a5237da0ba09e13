"""The README's first run, `charlm train` with no flags: it records its corpus by name, and
what the trainer prints after it (resume, eval) works on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charlm_tui.cli import main
from charlm_tui.core.corpus import DEFAULT_CORPUS, corpus_reference, recorded_corpus
from tests.conftest import TINY_TEXT, needs_corpora


@pytest.fixture()
def runs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data dir of this test's own, so the run it makes is the only one there."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "charlm-tui" / "runs"


def only_run(root: Path) -> Path:
    runs = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(runs) == 1, runs
    return runs[0]


@needs_corpora
def test_a_run_made_with_no_flags_resumes_and_evaluates(runs_root: Path, capsys) -> None:
    """`charlm train`, then `--resume RUN/last.safetensors` and `eval --checkpoint RUN/best`."""
    assert main(["train", "--quiet"]) == 0
    run = only_run(runs_root)
    assert json.loads((run / "config.json").read_text())["corpus"] == DEFAULT_CORPUS
    capsys.readouterr()

    assert main(["train", "--resume", str(run / "last.safetensors"), "--steps", "1010"]) == 0
    out = capsys.readouterr()
    assert "finished 1010 steps" in out.out, out.err
    assert "neither a corpus name" not in out.err

    assert main(["eval", "--checkpoint", str(run / "best.safetensors")]) == 0
    out = capsys.readouterr()
    assert "sherlock val split: 112,443 characters" in out.out, out.err
    assert "bits/char" in out.out


@needs_corpora
def test_an_old_run_whose_corpus_reads_none_evaluates_on_the_default(
    tmp_path: Path, capsys
) -> None:
    """Checkpoints written before this fix hold the corpus "None": that meant the default."""
    from charlm_tui.core.train import TrainConfig, Trainer

    run = tmp_path / "old-run"
    config = TrainConfig.defaults_for("bigram", steps=20, newlines_to_spaces=True)
    Trainer(config, TINY_TEXT, out_dir=run, corpus_name="None").run()
    assert json.loads((run / "config.json").read_text())["corpus"] == "None"

    code = main(["eval", "--checkpoint", str(run / "best.safetensors"), "--offline"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "sherlock val split" in out.out


def test_the_recorded_corpus_is_a_name_or_an_absolute_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert corpus_reference(None) == DEFAULT_CORPUS
    assert corpus_reference("shakespeare") == "shakespeare"
    assert corpus_reference("novel.txt") == str(tmp_path / "novel.txt")
    assert recorded_corpus("None") == recorded_corpus(None) == recorded_corpus("") == "sherlock"
    assert recorded_corpus("/texts/novel.txt") == "/texts/novel.txt"
