"""A run the app starts holds its folder as `charlm train` does, and records its corpus so
that `charlm eval` finds it from anywhere."""

from __future__ import annotations

import json
import os

import pytest

from charlm_tui.cli import main
from charlm_tui.core.run_folder import RunFolderInUse, claim_run_folder
from tests.pilot import loaded, pause_a_long_run, until


async def test_the_apps_run_locks_its_folder_and_records_the_file_by_path(
    make_app, tiny_corpus, tmp_path, capsys
) -> None:
    app = make_app(tiny_corpus)
    async with app.run_test() as pilot:
        await loaded(pilot)
        await pause_a_long_run(pilot)
        run = app.training_run
        assert run is not None
        # even a run that would continue this one (--resume) is refused: the folder is locked
        with pytest.raises(RunFolderInUse, match="another run"):
            claim_run_folder(run.out_dir, continuing=True)
        await pilot.press("x")
        await until(pilot, lambda: app.training_state == "finished", timeout=10)
        await until(pilot, lambda: run.done.is_set(), timeout=10)
    last = run.out_dir / "last.safetensors"
    assert last.is_file() and not (run.out_dir / ".lock").exists()
    recorded = json.loads((run.out_dir / "config.json").read_text())["corpus"]
    assert recorded == str((tmp_path / tiny_corpus).resolve())

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)  # the tiny_corpus fixture's monkeypatch restores the cwd
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(last)]) == 0
    assert "perplexity" in capsys.readouterr().out
