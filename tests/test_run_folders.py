"""A run folder belongs to one run: unique names, a lock, a refusal to reuse one, and the
final whole-val numbers in its metrics.jsonl."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from charlm_tui.cli import main
from charlm_tui.core.run_folder import RunFolderInUse, RunFolderLock, claim_run_folder
from charlm_tui.core.runs import new_run_dir
from tests.conftest import TINY_TEXT


@pytest.fixture()
def tiny_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_TEXT, encoding="utf-8")
    return path


def tiny_train(corpus: Path, *more: str) -> list[str]:
    return ["train", "--corpus", str(corpus), "--block-size", "8", "--sample-length", "0", *more]


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path: Path) -> None:
    """Eight threads ask at once: eight folders, each created (the mkdir is the claim)."""
    got: list[Path] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        got.append(new_run_dir("bigram", tmp_path))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 8 and all(p.is_dir() for p in got)
    stems = {p.name.split("-bigram")[0] for p in got}
    if len(stems) == 1:  # all in one second: the name, then -2 … -8
        suffixes = sorted(p.name.split("-bigram")[1] for p in got)
        assert suffixes == ["", *[f"-{n}" for n in range(2, 9)]]


def test_reusing_the_out_of_a_finished_run_refuses_and_says_the_way_out(
    tiny_corpus: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    assert main(tiny_train(tiny_corpus, "--steps", "20", "--out", str(out))) == 0
    metrics = (out / "metrics.jsonl").read_bytes()
    last = (out / "last.safetensors").read_bytes()
    capsys.readouterr()

    assert main(tiny_train(tiny_corpus, "--steps", "30", "--out", str(out))) == 2
    err = capsys.readouterr().err
    assert f"{out} already holds a run" in err
    assert f"--resume {out / 'last.safetensors'}" in err and "new --out" in err
    assert (out / "metrics.jsonl").read_bytes() == metrics  # nothing appended
    assert (out / "last.safetensors").read_bytes() == last

    # the way out it names works: the run continues in its own folder
    resume = ["train", "--resume", str(out / "last.safetensors"), "--steps", "30"]
    assert main([*resume, "--corpus", str(tiny_corpus)]) == 0
    assert "finished 30 steps" in capsys.readouterr().out


def test_resuming_into_the_folder_of_another_run_refuses(tiny_corpus: Path, tmp_path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        assert main(tiny_train(tiny_corpus, "--steps", "20", "--out", str(out))) == 0
    resume = ["--resume", str(first / "last.safetensors"), "--steps", "30", "--out", str(second)]
    assert main(tiny_train(tiny_corpus, *resume)) == 2


def test_a_second_run_on_a_folder_in_use_refuses_while_the_first_goes_on(
    tiny_corpus: Path, tmp_path: Path, capsys
) -> None:
    """A real `charlm train` holds the folder; another one aimed at it exits 2 at once."""
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "-m", "charlm_tui", *tiny_train(tiny_corpus, "--out", str(out))]
        + ["--steps", "10000000", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
    )
    try:
        deadline = time.monotonic() + 60
        while not (out / "last.safetensors").is_file():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never saved"
            time.sleep(0.1)
        before = (out / "metrics.jsonl").read_text().count("\n")

        assert main(tiny_train(tiny_corpus, "--steps", "5", "--out", str(out))) == 2
        err = capsys.readouterr().err
        assert f"{out} is in use by another run (process {first.pid})" in err
        assert "new --out" in err
    finally:
        first.send_signal(signal.SIGINT)  # it saves and stops
        stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    assert "resume with --resume" in stdout
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) >= before
    assert all(json.loads(line)["step"] > 0 for line in lines)  # the refused run wrote none


def test_the_lock_is_free_again_when_its_run_ends(tmp_path: Path) -> None:
    with claim_run_folder(tmp_path / "run"):
        with pytest.raises(RunFolderInUse, match="in use by another run"):
            RunFolderLock(tmp_path / "run").acquire()
    with RunFolderLock(tmp_path / "run").acquire():
        assert (tmp_path / "run" / ".lock").read_text() == str(os.getpid())
    assert list((tmp_path / "run").iterdir()) == []  # the folder is left as the run left it


def test_a_run_that_cannot_start_leaves_no_empty_folder(
    tiny_corpus: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(tiny_train(tiny_corpus, "--lr", "-1")) == 2
    runs = tmp_path / "data" / "charlm-tui" / "runs"
    assert not runs.exists() or not any(runs.iterdir())


def test_metrics_end_with_the_final_whole_val_numbers(tiny_corpus: Path, tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(tiny_train(tiny_corpus, "--steps", "30", "--out", str(out))) == 0
    printed = capsys.readouterr().out
    final = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert final["final"] is True and final["step"] == 30 and final["split"] == "val"
    assert final["perplexity"] == pytest.approx(math.exp(final["val_loss"]))
    assert final["bits_per_char"] == pytest.approx(final["val_loss"] / math.log(2))
    assert f"loss {final['val_loss']:.4f}, perplexity {final['perplexity']:.3f}" in printed
