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


def imported_top_level_modules() -> set[str]:
    """Every top-level module that charlm_tui's own files import, anywhere in them."""
    import ast

    found: set[str] = set()
    for path in (REPO / "charlm_tui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    """rich was imported but not declared; textual-serve is the `serve` extra's."""
    import importlib.metadata
    import re
    import sys

    meta = project()["project"]

    def normal(name: str) -> str:  # PEP 503: tomli-w and tomli_w are one project
        return re.sub(r"[-_.]+", "-", name).lower()

    declared = {
        normal(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0])
        for requirement in meta["dependencies"]
        + [r for extra in meta["optional-dependencies"].values() for r in extra]
    }
    distributions = importlib.metadata.packages_distributions()
    third_party = imported_top_level_modules() - set(sys.stdlib_module_names) - {"charlm_tui"}
    assert "rich" in third_party
    for module in sorted(third_party):
        names = {normal(d) for d in distributions.get(module, [module])}
        assert names & declared, f"{module} is imported but {sorted(names)} is not declared"
