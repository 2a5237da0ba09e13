"""The charlm command as a user runs it: output, files, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from charlm_tui.cli import duration, main
from tests.conftest import TINY_TEXT, needs_corpora, run_charlm


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["prep", "train", "sample", "eval", "bench", "tui"])
def test_every_subcommand_has_help_with_examples(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "examples:" in capsys.readouterr().out


@needs_corpora
def test_prep_shows_the_notebooks_vocabulary_and_split(capsys) -> None:
    assert main(["prep"]) == 0
    out = capsys.readouterr().out
    assert "83 characters" in out and "train 449,770 | val 112,443" in out
    assert "bigram" in out


def test_train_then_sample_then_eval_a_tiny_run(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    out_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "--corpus",
            str(tiny_corpus),
            "--steps",
            "40",
            "--block-size",
            "8",
            "--out",
            str(out_dir),
            "--sample-length",
            "20",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "finished 40 steps" in printed and "perplexity" in printed
    best = out_dir / "best.safetensors"
    assert best.is_file() and (out_dir / "metrics.jsonl").is_file()

    assert (
        main(
            ["sample", "--checkpoint", str(best), "-n", "30", "--seed", "3", "--seed-text", "It is"]
        )
        == 0
    )
    sampled = capsys.readouterr().out
    assert sampled.startswith("It is") and len(sampled.rstrip("\n")) == 35

    assert main(["eval", "--checkpoint", str(best), "--text", str(tiny_corpus)]) == 0
    assert "bits/char" in capsys.readouterr().out


def test_train_resume_reads_the_checkpoint_once(tiny_corpus, tmp_path, monkeypatch) -> None:
    """The CLI reads the checkpoint for its settings and hands it to the Trainer as is."""
    from charlm_tui.core import checkpoint

    out_dir = tmp_path / "run"
    args = ["train", "--corpus", str(tiny_corpus), "--block-size", "8", "--quiet"]
    assert main([*args, "--steps", "20", "--out", str(out_dir)]) == 0
    last = out_dir / "last.safetensors"
    reads: list[Path] = []
    real_load = checkpoint.load_checkpoint

    def counted_load(path):
        reads.append(Path(path))
        return real_load(path)

    monkeypatch.setattr(checkpoint, "load_checkpoint", counted_load)
    assert main(["train", "--resume", str(last), "--steps", "30", "--quiet"]) == 0
    assert reads == [last]
    assert checkpoint.read_metadata(last)["step"] == 30  # it did resume, and went on


def test_train_for_a_time_budget_runs_the_short_gpt_until_the_time_is_up(
    tiny_corpus: Path, tmp_path: Path, capsys
) -> None:
    out_dir = tmp_path / "run"
    args = ["train", "--model", "gpt", "--corpus", str(tiny_corpus), "--time", "1.5s"]
    assert main([*args, "--block-size", "16", "--out", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    assert "1.5 s of training from step 0" in printed and "finished" in printed
    saved = json.loads((out_dir / "config.json").read_text())
    assert saved["train_config"]["time_budget_s"] == 1.5
    assert saved["model_config"]["n_layer"] == 2  # the short-budget recipe
    assert json.loads((out_dir / "metrics.jsonl").read_text().splitlines()[-1])["elapsed_s"] >= 1.5


@pytest.mark.parametrize(
    "text, seconds", [("90", 90.0), ("90s", 90.0), ("1.5m", 90.0), ("2h", 7200.0), (" 5M ", 300.0)]
)
def test_durations_read_seconds_minutes_and_hours(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "ten", "-5", "0", "nan", "inf", "5d"])
def test_a_bad_duration_is_refused_with_the_forms_that_work(text: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--time", text])
    assert "90s, 5m, 1h" in capsys.readouterr().err


def test_sample_reports_unknown_seed_characters_instead_of_a_traceback(tiny_corpus, capsys) -> None:
    code = main(
        ["sample", "--corpus", str(tiny_corpus), "-n", "10", "--seed-text", "It ZZ~", "--seed", "1"]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "not in the vocabulary" in err and "'Z'" in err and "'~'" in err


def test_untrained_model_samples_gibberish_from_a_random_first_char(tiny_corpus, capsys) -> None:
    assert main(["sample", "--corpus", str(tiny_corpus), "-n", "50", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out.rstrip("\n")) == 50


@pytest.mark.parametrize(
    "args, words",
    [
        (["sample", "--temperature", "-1"], "temperature"),
        (["sample", "--top-p", "1.5"], "top_p"),
        (["sample", "--top-k", "-2"], "top_k"),
        (["sample", "-n", "-5"], "length"),
    ],
)
def test_out_of_range_sampling_options_are_refused_naming_the_range(args, words, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err.replace("-", "_") and "Traceback" not in err


def test_bad_corpus_and_bad_checkpoint_give_one_line_not_a_traceback(tmp_path: Path) -> None:
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02binary")
    result = run_charlm("prep", "--corpus", str(binary))
    assert result.returncode == 2 and "binary" in result.stderr
    assert "Traceback" not in result.stderr

    pickle_file = tmp_path / "model.pt"
    pickle_file.write_bytes(b"\x80\x04\x95not a checkpoint")
    result = run_charlm("sample", "--checkpoint", str(pickle_file))
    assert result.returncode == 2 and str(pickle_file) in result.stderr
    assert "Traceback" not in result.stderr

    result = run_charlm("train", "--corpus", "no_such_corpus")
    assert result.returncode == 2 and "neither a corpus name" in result.stderr


def test_torchrun_trains_with_distributed_data_parallel_on_two_processes(tiny_corpus, tmp_path):
    """Two CPU processes (gloo) train one model; only rank 0 reports and saves."""
    out_dir = tmp_path / "ddp"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "-m",
            "charlm_tui",
            "train",
            "--corpus",
            str(tiny_corpus),
            "--model",
            "gpt",
            "--n-layer",
            "1",
            "--n-embd",
            "16",
            "--n-head",
            "2",
            "--block-size",
            "8",
            "--batch-size",
            "4",
            "--steps",
            "20",
            "--eval-interval",
            "10",
            "--sample-length",
            "0",
            "--out",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("finished 20 steps") == 1
    assert (out_dir / "last.safetensors").is_file()


def test_prep_memmap_writes_ids_that_open_ids_maps_back(tiny_corpus, tmp_path, capsys) -> None:
    from charlm_tui.core.data import encode_corpus, open_ids
    from charlm_tui.core.vocab import Vocab

    out = tmp_path / "ids.bin"
    assert main(["prep", "--corpus", str(tiny_corpus), "--memmap", str(out)]) == 0
    assert "ids written to" in capsys.readouterr().out
    vocab = Vocab.from_text(TINY_TEXT)
    mapped = open_ids(out, vocab)
    assert mapped.tolist() == encode_corpus(TINY_TEXT, vocab).tolist()
