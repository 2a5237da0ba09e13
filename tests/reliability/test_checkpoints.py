"""Checkpoints people hand the CLI: truncated, empty, foreign, pickled, another vocabulary.

Already proven elsewhere (not repeated here):

- a SIGKILL mid-save leaves the previous checkpoint loadable:
  tests/core/test_checkpoint.py::test_sigkill_mid_save_leaves_the_previous_checkpoint_loadable
- a full disk mid-save (RLIMIT_FSIZE) keeps the old file: tests/core/test_checkpoint.py::
  test_full_disk_mid_save_raises_checkpoint_error_and_keeps_the_old_file
- a malicious pickle is refused without running it: tests/core/test_checkpoint.py::
  test_a_malicious_pickle_is_refused_without_running_it
- each bad file gives one CheckpointError naming it (core): tests/core/test_checkpoint.py::
  test_each_bad_file_gives_one_checkpoint_error_naming_the_file
- stop/resume is bit-identical: tests/core/test_train.py::
  test_stop_and_resume_is_bit_identical_to_an_uninterrupted_run
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from charlm_tui.cli import main
from charlm_tui.core import checkpoint as ck
from charlm_tui.core.train import TrainConfig, Trainer
from tests.conftest import TINY_TEXT, write_tiny_corpus


class Trap:
    """Unpickling this creates `marker`: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (open, (str(self.marker), "w"))


def train_tiny(out: Path, steps: int = 20, text: str = TINY_TEXT, **overrides: object) -> Path:
    config = TrainConfig.defaults_for("bigram", steps=steps, block_size=8, sample_length=0)
    for key, value in overrides.items():
        setattr(config, key, value)
    Trainer(config, text, out_dir=out).run()
    return out / "last.safetensors"


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("good") / "run")


def forbid_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("something tried to unpickle")

    for owner, name in ((torch, "load"), (pickle, "load"), (pickle, "loads")):
        monkeypatch.setattr(owner, name, forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)


def bad_checkpoint(kind: str, folder: Path, good: Path) -> tuple[Path, str]:
    """Write one kind of bad checkpoint; return its path and words the message must hold."""
    path = folder / f"{kind}.safetensors"
    data = good.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
        return path, "truncated"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "empty"
    if kind == "wrong_format":
        path.write_text('{"weights": [1, 2, 3]}\n')
        return path, "not in safetensors format"
    if kind == "pickle":
        path = folder / "model.pt"
        path.write_bytes(pickle.dumps({"w": Trap(folder / "pwned")}))
        return path, "refuses to open it"
    if kind == "other_tool":
        save_file({"weight": torch.zeros(3)}, path, metadata={"format": "pt"})
        return path, "another tool"
    if kind == "unknown_model":
        ck.save_checkpoint(
            path,
            model=torch.nn.Linear(2, 2),
            model_name="transformer-xl",
            model_config={"n_layer": 9},
            vocab_chars=["a", "b"],
            step=1,
        )
        return path, "cannot be built by this version"
    if kind == "folder":
        path.mkdir()
        return path, "is a folder"
    if kind == "missing":
        return path, "no such file"
    raise AssertionError(kind)


KINDS = [
    "truncated",
    "empty",
    "wrong_format",
    "pickle",
    "other_tool",
    "unknown_model",
    "folder",
    "missing",
]


@pytest.mark.parametrize("command", ["sample", "eval"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_checkpoint_given_to_sample_or_eval_is_one_line_naming_it(
    kind, command, good_checkpoint, tmp_path, monkeypatch, capsys
) -> None:
    """Each bad file: exit 2, one line that names the file and says what to do; no trace."""
    path, words = bad_checkpoint(kind, tmp_path, good_checkpoint)
    forbid_unpickling(monkeypatch)
    assert main([command, "--checkpoint", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"charlm {command}: ") and str(path) in lines[0]
    assert words in lines[0]
    assert captured.out == ""
    assert not (tmp_path / "pwned").exists(), "the pickle ran"


def test_resuming_on_another_vocabulary_is_refused_in_words_and_changes_nothing(
    tmp_path, capsys
) -> None:
    """`train --resume` with a corpus of other characters: refused up front, files untouched."""
    last = train_tiny(tmp_path / "run")
    before = {p.name: p.read_bytes() for p in last.parent.iterdir()}
    other = tmp_path / "other.txt"
    other.write_text("zyxw vuts rqpo! " * 40, encoding="utf-8")
    code = main(["train", "--resume", str(last), "--corpus", str(other), "--steps", "40"])
    assert code == 2
    err = capsys.readouterr().err
    assert "another vocabulary" in err and "characters differ" in err and str(last) in err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in last.parent.iterdir()} == before


def test_resuming_with_another_recipe_is_refused_before_loading_the_optimizer(
    tmp_path, capsys
) -> None:
    """Adam state offered to AdamW (`--recipe modern`): said in words, not a ValueError."""
    last = train_tiny(tmp_path / "run")
    corpus = write_tiny_corpus(tmp_path)
    code = main(
        ["train", "--resume", str(last), "--corpus", str(corpus), "--keep-newlines"]
        + ["--recipe", "modern"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "optimizer state is for Adam, not AdamW" in err and "Traceback" not in err


def test_a_checkpoint_with_a_damaged_history_is_refused_and_the_trainer_is_untouched(
    tmp_path,
) -> None:
    """Metrics that do not parse: CheckpointError naming the file; step and weights as built."""
    last = train_tiny(tmp_path / "run")
    state = ck.load_checkpoint(last)
    damaged = tmp_path / "damaged.safetensors"
    ck.save_checkpoint(
        damaged,
        model=_model_from(state),
        model_name=state.model_name,
        model_config=state.model_config,
        vocab_chars=state.vocab_chars,
        step=state.step,
        train_config=state.train_config,
        metrics={**state.metrics, "history": [{"step": "not an eval"}]},
    )
    trainer = Trainer(TrainConfig.from_dict(state.train_config), TINY_TEXT)
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(ck.CheckpointError, match="training history is damaged") as err:
        trainer.resume_from(damaged)
    assert str(damaged) in str(err.value)
    assert trainer.step == 0
    assert all(torch.equal(weights[k], v) for k, v in trainer.model.state_dict().items())


def _model_from(state: ck.Checkpoint) -> torch.nn.Module:
    from charlm_tui.core.runs import load_model

    return load_model(state.path).model
