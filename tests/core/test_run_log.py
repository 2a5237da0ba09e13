"""A run folder's metrics.jsonl reads back as the evals the run reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charlm_tui.cli import main
from charlm_tui.core.run_log import RunLogError, read_run_log


@pytest.fixture
def run_folder(tiny_corpus: str, tmp_path: Path) -> Path:
    """A real run of the notebook recipe on the tiny corpus, 40 steps, an eval every 10."""
    out = tmp_path / "run"
    argv = ["train", "--corpus", tiny_corpus, "--steps", "40", "--out", str(out), "--quiet"]
    assert main([*argv, "--threads", "1"]) == 0
    return out


def test_a_run_reads_back_with_its_samples_and_final_line(run_folder: Path) -> None:
    lines = [json.loads(x) for x in (run_folder / "metrics.jsonl").read_text().splitlines()]
    log = read_run_log(run_folder / "last.safetensors")  # a checkpoint names its folder
    assert log.folder == run_folder
    assert [e.step for e in log.evals] == [x["step"] for x in lines if not x.get("final")]
    assert log.evals[-1].val_loss == lines[-2]["val_loss"]
    assert all(e.sample for e in log.evals)
    assert log.final is not None and log.final["val_loss"] == lines[-1]["val_loss"]
    assert log.unreadable == 0


def test_a_torn_last_line_is_skipped_and_counted(run_folder: Path) -> None:
    metrics = run_folder / "metrics.jsonl"
    whole = read_run_log(run_folder)
    with metrics.open("a") as f:
        f.write('{"step": 50, "total_steps": 40, "train_lo')  # the crash cut it here
    torn = read_run_log(run_folder)
    assert torn.evals == whole.evals and torn.unreadable == 1


@pytest.mark.parametrize(
    "content", [None, "", '{"final": true, "val_loss": 2.0}\n', '{"step": "ten"}\n']
)
def test_a_folder_without_evals_is_refused_in_words(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "metrics.jsonl").write_text(content)
    with pytest.raises(RunLogError, match="metrics.jsonl"):
        read_run_log(tmp_path)
