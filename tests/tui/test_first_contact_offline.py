"""First start with no cache, no mirror and no network: the app opens on python-docs by
itself and says why, instead of waiting on an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox, Select, Static

from charlm_tui.core.corpus import DEFAULT_CORPUS
from tests.pilot import loaded, until


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No mirror, an empty cache, and every download refused at once (a proxy on a closed
    port: the real urllib path fails as it does offline, without waiting on DNS)."""
    monkeypatch.delenv("CHARLM_CORPUS_MIRROR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)


async def test_offline_first_start_opens_python_docs_and_says_why(offline, make_app) -> None:
    app = make_app(DEFAULT_CORPUS)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        assert app.dataset is not None and app.dataset.corpus.name == "python-docs"
        assert app.load_error is None
        screen = app.screen
        message = str(screen.query_one("#dataset-message", Static).render())
        assert "Opened python-docs" in message and "sherlock is not on this machine" in message
        assert "CHARLM_CORPUS_MIRROR" in message  # how to get Sherlock
        # the picker shows what is open, and nothing loads again behind it
        select = screen.query_one("#corpus-select", Select)
        assert select.value == "python-docs"
        assert screen.query_one("#newlines", Checkbox).value is False
        await pilot.pause(0.3)
        assert app.loading is None and app.dataset.corpus.name == "python-docs"

        # asked for by name later, Sherlock is refused in words; python-docs stays open
        select.value = DEFAULT_CORPUS
        await until(pilot, lambda: app.load_error is not None)
        assert "not at hand" in app.load_error
        assert app.dataset.corpus.name == "python-docs"
