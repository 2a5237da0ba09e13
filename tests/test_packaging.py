"""What pyproject.toml promises: the licence, the entry points' names."""

from __future__ import annotations

import pytest

from charlm_tui.cli import tui_main
from tests.conftest import REPO

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_licence_is_an_spdx_string_with_its_file() -> None:
    meta = project()
    assert meta["project"]["license"] == "MIT"
    assert meta["project"]["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "charlm-tui authors" in text
    # PEP 639 metadata (a license string, license-files) needs setuptools 77 or later
    assert "setuptools>=77" in meta["build-system"]["requires"][0]


def test_charlm_tui_help_names_charlm_tui(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.argv", ["charlm-tui", "--help"])
    with pytest.raises(SystemExit) as exit_:
        tui_main()
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: charlm-tui [-h]")
