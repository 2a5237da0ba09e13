"""assets/ is current: regenerating it from today's app gives the committed files."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, needs_corpora

ASSETS = REPO / "assets"
# Rich names an SVG's CSS classes after a hash of its content: the same screen, the same name.
# Normalised anyway, so that a new hash in Rich alone does not count as a changed screen.
CLASS_IDS = re.compile(r"\bterminal-\d+")


def normalised(svg: str) -> list[str]:
    return CLASS_IDS.sub("terminal", svg).splitlines()


@needs_corpora
def test_assets_match_the_app(tmp_path: Path) -> None:
    """Every screenshot and the demo, made again into a temp dir, equal what assets/ holds."""
    done = subprocess.run(
        [sys.executable, str(ASSETS / "make_assets.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONIOENCODING="utf-8"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    made = sorted(path.name for path in tmp_path.glob("*.svg"))
    committed = sorted(path.name for path in ASSETS.glob("*.svg"))
    assert made == committed, (
        "assets/ lacks or has extra pictures: run python assets/make_assets.py"
    )
    stale = []
    for name in made:
        new, old = (normalised((d / name).read_text(encoding="utf-8")) for d in (tmp_path, ASSETS))
        if new != old:
            diff = difflib.unified_diff(old, new, f"assets/{name}", "regenerated", n=0, lineterm="")
            stale.append("\n".join(line[:200] for line in list(diff)[:12]))
    assert not stale, "assets/ is stale: run python assets/make_assets.py\n" + "\n".join(stale)


def test_demo_keys_parse_and_a_bad_line_is_named(tmp_path: Path) -> None:
    """demo.keys starts a run and types Holmes; a line that is no step fails with its number."""
    sys.path.insert(0, str(ASSETS))
    try:
        import make_assets
    finally:
        sys.path.remove(str(ASSETS))
    steps = make_assets.read_keys(ASSETS / "demo.keys")
    assert ("press", "s") in steps and ("type", "Holmes") in steps, steps
    bad = tmp_path / "bad.keys"
    bad.write_text("press 2\nclick somewhere\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="bad.keys:2"):
        make_assets.read_keys(bad)
