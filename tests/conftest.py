"""Shared fixtures: the shared corpora as a mirror, an isolated cache, one torch thread, and
the one tiny corpus every test trains on."""

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

# The one tiny corpus of the tests: a few plain English sentences, small enough to train on
# in a second, big enough for a 16-character window in both the train and the val part.
TINY_TEXT = (
    "It was a bright cold day in April, and the clocks were striking thirteen. "
    "Holmes sat in his armchair with his eyes closed and his finger-tips together. "
    "Do you know, Watson, that it is the small things which matter most? "
    "The fog rolled down the street, and the lamps were lit early that evening. "
    "We had no visitors, but a letter lay upon the table, sealed with red wax.\n"
)


def write_tiny_corpus(folder: Path, repeat: int = 1) -> Path:
    """TINY_TEXT (`repeat` times over, for a model with a long window) written to
    folder/tiny.txt in UTF-8; returns that path."""
    path = folder / "tiny.txt"
    path.write_text(TINY_TEXT * repeat, encoding="utf-8")
    return path


@pytest.fixture
def tiny_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """TINY_TEXT in tmp_path/tiny.txt; returns "tiny.txt", relative to the cwd (tmp_path).

    A relative path keeps tmp_path's random name out of screenshots and messages.
    """
    write_tiny_corpus(tmp_path)
    monkeypatch.chdir(tmp_path)
    return "tiny.txt"


@pytest.fixture(autouse=True)
def english_unless_asked(monkeypatch: pytest.MonkeyPatch):
    """English, whatever the machine's locale says, and English again after a test that
    switched the language (the language is the process's, as gettext's is)."""
    from charlm_tui.core.i18n import set_language

    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("LC_MESSAGES", "C.UTF-8")
    set_language("en")
    yield
    set_language("en")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Cache and data dirs of the tests' own, so no test reads or writes the user's."""
    root = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))


@pytest.fixture(autouse=True)
def isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """A config dir of each test's own, so no test reads or writes the user's settings and no
    test sees the settings another one saved (platformdirs honours XDG_CONFIG_HOME)."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


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
