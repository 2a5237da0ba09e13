"""Training under fault: a loss driven to NaN, a full disk, signals, quitting, bad settings.

The signal tests run the real `charlm` in a pseudo-terminal: Ctrl+C typed, SIGTERM and
SIGHUP sent, and the terminal hung up (its pty closed, as when an SSH session drops).

Already proven elsewhere (not repeated here):

- the stop event ends training at a step boundary and saves: tests/core/test_train.py::
  test_stop_event_ends_training_at_a_step_boundary_and_saves
- a loss that becomes inf on the first steps stops with a reason: tests/core/test_train.py::
  test_a_learning_rate_that_drives_the_loss_to_inf_stops_with_a_reason
- q while a (Pilot) training worker runs stops it at a step, saves, exits: tests/tui/
  test_tui_flows.py::test_quit_while_training_stops_at_a_step_and_saves
- the app's default thread count is cores - 1: tests/tui/test_tui_entry_and_palette.py::
  test_app_leaves_a_core_to_the_ui_by_default
- a corpus too small for one window, with both sizes named (core): tests/core/
  test_text_pipeline.py::test_corpus_too_small_for_a_window_is_refused_naming_both_sizes
"""

from __future__ import annotations

import errno
import math
import os
import re
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from textual.app import App, ComposeResult
from textual.widgets import Static

from charlm_tui.cli import main
from charlm_tui.core import atomic
from charlm_tui.core import events as ev
from charlm_tui.core.checkpoint import load_checkpoint, read_metadata
from charlm_tui.core.control import RunControl
from charlm_tui.core.events import EvalCompleted
from charlm_tui.core.metrics import References
from charlm_tui.core.train import TrainConfig, Trainer
from charlm_tui.tui.widgets.perplexity_plot import PerplexityPlot
from tests.conftest import TINY_TEXT
from tests.reliability.harness import (
    ENTER_ALTERNATE_SCREEN,
    LEAVE_ALTERNATE_SCREEN,
    isolated_env,
    loaded,
    scenario,
    start_run,
    until,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs pty, signals, rlimits")


def tiny_config(**overrides: object) -> TrainConfig:
    return TrainConfig.defaults_for("bigram", steps=60, block_size=8, sample_length=0, **overrides)


def finite(path: Path) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in load_checkpoint(path).model_state().values())


# --------------------------------------------------------------------------- NaN and inf


def test_a_validation_loss_driven_to_nan_is_never_saved_over_the_last_good_checkpoint(
    tmp_path,
) -> None:
    """lr jumps to 1e30 before step 20: its update breaks the weights, the eval at 20 reads
    NaN; training stops there and last.safetensors stays the step-10 one, still usable."""
    seen: list[object] = []
    trainer: Trainer

    def on_event(event: object) -> None:
        seen.append(event)
        if isinstance(event, ev.StepCompleted) and event.step == 19:
            trainer.config.lr = 1e30  # the notebook recipe reads it at every step

    trainer = Trainer(tiny_config(), TINY_TEXT, out_dir=tmp_path, on_event=on_event)
    result = trainer.run()
    assert result.reason == "non_finite" and result.step == 20
    assert "validation loss became nan at step 20" in result.message
    assert f"the last good checkpoint is {tmp_path / 'last.safetensors'} (step 10)" in (
        result.message
    )
    assert read_metadata(tmp_path / "last.safetensors")["step"] == 10
    assert finite(tmp_path / "last.safetensors") and finite(tmp_path / "best.safetensors")
    assert not any(isinstance(e, ev.CheckpointSaved) and e.step == 20 for e in seen)


def test_the_cli_stops_a_run_whose_loss_becomes_nan_in_one_line_keeping_its_checkpoint(
    tiny_corpus, tmp_path, capsys
) -> None:
    """`train --resume ... --lr 1e30`: exit 3, one line on stderr naming the last good file."""
    run = tmp_path / "run"
    args = ["--corpus", str(tiny_corpus), "--keep-newlines", "--quiet"]
    assert main(["train", *args, "--steps", "20", "--out", str(run)]) == 0
    capsys.readouterr()
    last = run / "last.safetensors"
    assert main(["train", *args, "--resume", str(last), "--steps", "60", "--lr", "1e30"]) == 3
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("charlm train: the loss became nan"), lines
    assert f"last good checkpoint is {last} (step 20)" in lines[0]
    assert read_metadata(last)["step"] == 20 and finite(last)


def test_a_learning_rate_too_large_for_float32_is_refused_before_training(capsys) -> None:
    """--lr 1e39 overflowed inside Adam's step (RuntimeError); now refused with the range."""
    assert main(["train", "--corpus", "python-docs", "--lr", "1e39"]) == 2
    err = capsys.readouterr().err
    assert "lr must be a positive number up to 3.4e+38" in err and "Traceback" not in err


def evals(*losses: tuple[float, float]) -> list[EvalCompleted]:
    return [
        EvalCompleted(
            step=10 * (i + 1),
            total_steps=100,
            train_loss=train,
            val_loss=val,
            best_val_loss=3.0,
            is_best=False,
            elapsed_s=1.0,
        )
        for i, (train, val) in enumerate(losses)
    ]


class ChartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield PerplexityPlot(id="chart")


async def test_the_chart_draws_inf_nan_and_huge_losses_in_every_unit() -> None:
    """plotext crashes on inf ("cannot convert float NaN to integer"); the chart clamps."""
    refs = References(uniform=math.log(30), unigram=3.0, bigram=2.5)
    runs = [
        evals((3.2, 3.3), (math.inf, math.nan)),
        evals((3.2, 3.3), (709.7, 709.7)),  # e^709.7 is finite; x1.05 headroom is not
        evals((1e308, -math.inf), (math.nan, math.nan)),
        evals((math.nan, 3.0)),
    ]
    app = ChartApp()
    async with app.run_test(size=(60, 20)) as pilot:
        chart = app.query_one(PerplexityPlot)
        for run in runs:
            for unit in ("perplexity", "loss", "bpc"):
                chart.unit = unit
                chart.show_run(run, refs, 100)
                await pilot.pause()
                chart.render()  # draw now, in this test, not only on the next refresh
    assert app.return_code in (None, 0)


# --------------------------------------------------------------------------- full disk


@posix_only
@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs SIGXFSZ")
def test_a_full_disk_during_cli_training_is_reported_and_the_previous_checkpoint_kept(
    tiny_corpus, tmp_path, capsys
) -> None:
    """The trainer's own save hits a file-size limit (EFBIG, as ENOSPC): exit 2, one line
    saying the disk may be full and that the previous checkpoint is intact; it is."""
    run = tmp_path / "run"
    args = ["--corpus", str(tiny_corpus), "--keep-newlines", "--quiet"]
    assert main(["train", *args, "--steps", "20", "--out", str(run)]) == 0
    capsys.readouterr()
    last = run / "last.safetensors"
    assert last.stat().st_size > 32 * 1024 > (run / "config.json").stat().st_size

    def full_disk() -> None:  # in the child: files may not grow past 32 KiB
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so write() fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, resource.RLIM_INFINITY))

    result = subprocess.run(
        [sys.executable, "-m", "charlm_tui", "train", *args, "--resume", str(last)]
        + ["--steps", "40"],
        capture_output=True,
        text=True,
        env=isolated_env(tmp_path),
        preexec_fn=full_disk,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("charlm train: training stopped at step 30: checkpoint ")
    assert "disk may be full" in line and "is intact" in line
    assert read_metadata(last)["step"] == 20 and finite(last)
    assert not [p for p in run.iterdir() if ".tmp-" in p.name], "no temporary file left"


async def test_a_full_disk_in_the_app_is_said_on_the_training_screen(
    make_app, tiny_corpus, tmp_path, monkeypatch
) -> None:
    """The saves after step 10 fail with ENOSPC: the screen says so, the app runs on."""
    real_write_all = atomic._write_all
    writes = []

    def disk_fills_up(fd: int, data: object) -> None:
        writes.append(fd)
        if len(writes) > 2:  # best and last at step 10 fit; nothing after
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write_all(fd, data)

    monkeypatch.setattr(atomic, "_write_all", disk_fills_up)
    app = make_app(tiny_corpus, remember=False)  # the settings file's writes would count too
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await start_run(pilot, 100)
        await until(pilot, lambda: app.training_state == "failed")
        message = str(app.screen.query_one("#train-message", Static).render())
        assert "No space left on device" in message and "is intact" in message, message
        await pilot.press("3")  # the app goes on working
        assert app.is_running
    (last,) = (tmp_path / "runs").glob("*/last.safetensors")
    assert read_metadata(last)["step"] == 10


def test_a_metrics_file_that_cannot_be_written_ends_training_in_words(tmp_path) -> None:
    """metrics.jsonl is a folder (EISDIR): reason "error", the file named, the last good
    checkpoint named; no OSError escapes run()."""
    trainer = Trainer(tiny_config(), TINY_TEXT, out_dir=tmp_path)
    first = trainer.run(_stop_after(trainer, 10))
    assert first.reason == "stopped"
    (tmp_path / "metrics.jsonl").unlink()
    (tmp_path / "metrics.jsonl").mkdir()
    result = trainer.run()
    assert result.reason == "error"
    assert f"cannot write {tmp_path / 'metrics.jsonl'}" in result.message
    assert "(step 10)" in result.message


def _stop_after(trainer: Trainer, steps: int) -> RunControl:
    stop = RunControl()
    trainer.on_event = lambda e: stop.request_stop() if getattr(e, "step", 0) >= steps else None
    return stop


def test_a_run_folder_that_cannot_be_made_is_one_line(tiny_corpus, capsys) -> None:
    """--out under a file (ENOTDIR): one line naming the folder; no traceback."""
    out = Path(tiny_corpus) / "run"  # under a file
    assert main(["train", "--corpus", str(tiny_corpus), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "training could not start" in err and str(out) in err and "Traceback" not in err


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--model", "transformer"], "model must be one of bigram"),
        (["--n-layer", "3"], "bigram has no setting n_layer"),
        (["--device", "tpu:9"], "device must be auto, cpu, cuda or mps"),
        (["--threads", "-1"], "threads must be >= 1"),
        (["--eval-batches", "0"], "eval_batches must be >= 1"),
        (["--lr", "nan"], "lr must be a positive number"),
        (["--min-lr", "-1"], "min_lr must be a number >= 0"),
        (["--warmup-steps", "-5"], "warmup_steps must be >= 0"),
        (["--batch-size", "0"], "batch_size must be >= 1"),
    ],
)
def test_a_setting_out_of_range_is_one_line_naming_it(flags, words, tiny_corpus, capsys) -> None:
    assert main(["train", "--corpus", str(tiny_corpus), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_is_one_line(tiny_corpus, capsys) -> None:
    """--device cuda on a CPU-only torch was an AssertionError deep in .to(); now words."""
    assert main(["train", "--corpus", str(tiny_corpus), "--device", "cuda"]) == 2
    assert "not available here" in capsys.readouterr().err


def test_a_corpus_too_small_for_one_window_is_one_line_naming_both_parts(tmp_path, capsys) -> None:
    """`charlm train` on "abc def": the train and val sizes and the need, in one line."""
    path = tmp_path / "small.txt"
    path.write_text("abc def")
    assert main(["train", "--corpus", str(path)]) == 2
    err = capsys.readouterr().err
    assert "train part has 5 characters and the val part has 2" in err and "at least 18" in err


async def test_the_app_refuses_to_train_on_a_corpus_too_small_in_words(make_app, tmp_path) -> None:
    path = tmp_path / "small.txt"
    path.write_text("It is a capital mistake.")
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("2", "s")
        await until(pilot, lambda: app.training_state == "failed")
        message = str(app.screen.query_one("#train-message", Static).render())
        assert "too small" in message and "val part has 5 characters" in message, message


# --------------------------------------------------------------------------- threads


async def test_training_from_the_app_leaves_a_core_to_the_ui(
    make_app, tiny_corpus, monkeypatch
) -> None:
    """On 4 cores the app trains with 3 torch threads, never 4; a tiny model gets 1 alone."""
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    asked: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", asked.append)
    app = make_app(tiny_corpus, threads=None)
    async with app.run_test() as pilot:
        await loaded(pilot)
        app.train_config.steps = 20
        app.start_training()
        await until(pilot, lambda: app.training_state == "finished")
    assert asked and set(asked) == {3}, asked
    assert Trainer(tiny_config(), TINY_TEXT).auto_threads() == 1  # the CLI's default


# --------------------------------------------------------------------------- security


def test_no_network_is_touched_by_prep_train_and_sample(tmp_path, monkeypatch, capsys) -> None:
    """Every socket connect raises: a catalog corpus comes from the mirror folder and the
    cache, and prep, train and sample all work."""
    mirror = os.environ.get("CHARLM_CORPUS_MIRROR")
    if not mirror or not (Path(mirror) / "tinyshakespeare.txt").is_file():
        pytest.skip("needs the shared corpora as CHARLM_CORPUS_MIRROR")

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing cached yet
    run = tmp_path / "run"
    assert main(["prep", "--corpus", "shakespeare"]) == 0
    assert (tmp_path / "cache" / "charlm-tui" / "corpora" / "tinyshakespeare.txt").is_file()
    monkeypatch.delenv("CHARLM_CORPUS_MIRROR")  # the cache alone is enough now
    train = ["train", "--corpus", "shakespeare", "--steps", "10", "--out", str(run), "--quiet"]
    assert main(train) == 0
    assert main(["sample", "--checkpoint", str(run / "last.safetensors"), "-n", "10"]) == 0
    assert "Traceback" not in capsys.readouterr().err


# --------------------------------------------------------------------------- signals


def assert_saved_on_the_way_out(report: dict[str, object]) -> None:
    runs = report["runs"]
    assert len(runs) == 1, report["files"]
    saved = read_metadata(runs[0])["step"]
    assert saved >= report["shown"] > 0, f"saved step {saved}, screen showed {report['shown']}"


def assert_terminal_restored(report: dict[str, object]) -> None:
    output = report["output"]
    assert output.rfind(LEAVE_ALTERNATE_SCREEN) > output.rfind(ENTER_ALTERNATE_SCREEN) >= 0
    after = output[output.rfind(LEAVE_ALTERNATE_SCREEN) :]
    assert not re.search(rb"\x1b\[\d+;\d+H", after), f"drawing after leaving: {after[-300:]!r}"


@posix_only
@pytest.mark.parametrize(
    "ending, status", [("sigterm", 128 + 15), ("sighup", 128 + 1), ("ctrl+c", 0)]
)
def test_the_app_stops_training_saves_and_restores_the_terminal(sessions, ending, status) -> None:
    """SIGTERM, SIGHUP (terminal still there) and Ctrl+C typed while training runs: the
    process leaves within seconds with the status of its ending, the terminal left the
    alternate screen, the trainer saved at its step boundary, the last line says how to
    resume."""
    report = scenario(sessions, f"app {ending}")
    assert report["hang"] is None, report["hang"]
    assert report["returncode"] == status, report["text"][-800:]
    assert report["exit_s"] < 10
    assert_terminal_restored(report)
    assert_saved_on_the_way_out(report)
    assert "resume" in report["text"].strip().splitlines()[-1]


@posix_only
def test_the_app_saves_and_exits_when_its_terminal_hangs_up(sessions) -> None:
    """The pty closes under the app (SSH dropped): SIGHUP arrives and every write fails
    (EIO). The trainer still saves, and the process ends promptly with 128 + SIGHUP."""
    report = scenario(sessions, "app hang up")
    assert_saved_on_the_way_out(report)
    assert report["hang"] is None, "the process did not end: " + str(report["hang"])[:200]
    assert report["returncode"] == 128 + 1


@posix_only
def test_the_app_writes_only_its_run_folder(sessions) -> None:
    """Whole sessions of the app, trained and stopped: new files only in the run folder
    (and the settings file, which remembers the corpus and the checkpoint)."""
    for name in ("app sigterm", "app sighup", "app ctrl+c", "app hang up"):
        report = scenario(sessions, name)
        allowed = re.compile(
            r"^(work/tiny\.txt|data/charlm-tui/runs/[^/]+/[^/]+|config/charlm-tui/settings\.toml)$"
        )
        assert [f for f in report["files"] if not allowed.match(f)] == [], name


@posix_only
@pytest.mark.parametrize("ending", ["ctrl+c", "sigterm"])
def test_cli_training_stops_at_a_step_saves_and_says_how_to_resume(sessions, ending) -> None:
    """Ctrl+C typed, or SIGTERM: the stop checkpoint is written (no eval would have saved
    one) and the last line says how to resume; exit 0."""
    report = scenario(sessions, f"cli {ending}")
    assert report["returncode"] == 0, report["text"][-800:]
    assert report["step"] is not None and report["step"] > 0
    assert "resume with --resume" in report["text"].strip().splitlines()[-1]
    assert "Traceback" not in report["text"]


@posix_only
def test_cli_training_saves_when_its_terminal_hangs_up(sessions) -> None:
    """SSH dropped: SIGHUP, then every print fails with EIO; the trainer still saves and
    the process ends cleanly instead of dying on a print."""
    report = scenario(sessions, "cli hang up")
    assert report["returncode"] == 0
    assert report["step"] is not None and report["step"] > 0


@posix_only
def test_cli_training_writes_only_its_run_folder_in_the_data_dir(sessions) -> None:
    """`charlm train` with no --out, as a fresh user in an empty folder: every new file is
    in the data dir's runs/ (HOME, the cache, the config dir and the cwd stay empty)."""
    report = scenario(sessions, "cli sigterm")
    allowed = re.compile(r"^(work/tiny\.txt|data/charlm-tui/runs/[^/]+/[^/]+)$")
    assert [f for f in report["files"] if not allowed.match(f)] == [], report["files"]
    assert report["checkpoints"] and report["checkpoints"][0].startswith("data/charlm-tui/runs/")
