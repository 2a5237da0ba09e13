"""Shared fixtures: the shared corpora as a mirror, an isolated cache, one torch thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPORA = REPO.parent / "shared" / "corpora"

# Tests never download: the shared corpora (beside the checkout) stand in for the network.
if "CHARLM_CORPUS_MIRROR" not in os.environ and SHARED_CORPORA.is_dir():
    os.environ["CHARLM_CORPUS_MIRROR"] = str(SHARED_CORPORA)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Cache and data dirs of the tests' own, so no test reads or writes the user's."""
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    import torch

    torch.set_num_threads(1)


def mirror() -> Path:
    return Path(os.environ.get("CHARLM_CORPUS_MIRROR", SHARED_CORPORA))


needs_corpora = pytest.mark.skipif(
    not (mirror() / "sherlock-advs.txt").is_file(),
    reason="needs ../shared/corpora (or CHARLM_CORPUS_MIRROR) for the Sherlock text",
)


@pytest.fixture(scope="session")
def sherlock_text() -> str:
    """The notebook's text: Sherlock, normalised, newlines as spaces."""
    if not (mirror() / "sherlock-advs.txt").is_file():
        pytest.skip("needs the shared corpora")
    from charlm_tui.core.corpus import load_corpus

    return load_corpus("sherlock", newlines_to_spaces=True).text


def run_charlm(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m charlm_tui ARGS` with its output piped (UTF-8); wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "charlm_tui", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ if env is None else env, PYTHONIOENCODING="utf-8"),
        timeout=timeout,
    )


TINY_TEXT = (
    "It is a capital mistake to theorize before one has data. "
    "Insensibly one begins to twist facts to suit theories, "
    "instead of theories to suit facts. "
) * 8
