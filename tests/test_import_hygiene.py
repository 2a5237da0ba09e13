"""The core and the headless CLI never import Textual (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCREEN_MODULES = ("textual", "plotext", "textual_plotext", "rich")


def modules_loaded_by(code: str) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    import json

    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


@pytest.mark.parametrize(
    "code",
    [
        "import charlm_tui.core.corpus, charlm_tui.core.vocab, charlm_tui.core.data",
        "import charlm_tui.core.train, charlm_tui.core.sample, charlm_tui.core.checkpoint",
        "import charlm_tui.core.runs, charlm_tui.core.errors, charlm_tui.core.metrics",
        "import charlm_tui.cli",
    ],
)
def test_core_and_cli_import_without_the_screen_libraries(code: str) -> None:
    loaded = modules_loaded_by(code)
    assert not loaded & set(SCREEN_MODULES), loaded & set(SCREEN_MODULES)


def test_charlm_help_runs_without_importing_textual_or_torch() -> None:
    code = (
        "import sys\n"
        "from charlm_tui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
    )
    loaded = modules_loaded_by(code)
    assert "textual" not in loaded and "torch" not in loaded


def test_charlm_help_in_japanese_runs_without_importing_textual_or_torch() -> None:
    code = (
        "from charlm_tui.cli import main\n"
        "try:\n    main(['--lang', 'ja', '--help'])\nexcept SystemExit:\n    pass\n"
    )
    loaded = modules_loaded_by(code)
    assert "textual" not in loaded and "torch" not in loaded
