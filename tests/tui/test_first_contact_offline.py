"""First start with no cache, no mirror and no network: the app opens on python-docs by
itself and says why, instead of waiting on an error."""

from __future__ import annotations

import urllib.request
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
    # urlopen keeps the opener (and the dead proxy) of its first call: later tests get a new one
    monkeypatch.setattr(urllib.request, "_opener", None)


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


async def test_the_corpus_list_has_no_empty_row_and_shows_an_open_file(
    make_app, tiny_corpus, tmp_path
) -> None:
    """The picker lists the catalog and the open file, and never a blank row; a file
    opened by its path joins the list and is what the picker shows."""
    app = make_app(tiny_corpus)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot)
        select = app.screen.query_one("#corpus-select", Select)
        rows = [value for _, value in select._options]  # Select keeps its rows private
        assert all(isinstance(value, str) and value for value in rows)  # no Select.NULL row
        assert select.value == tiny_corpus and rows[-1] == tiny_corpus
        assert app.dataset is not None and app.dataset.corpus.name == "tiny.txt"

        other = tmp_path / "other.txt"
        other.write_text((tmp_path / tiny_corpus).read_text() * 2, encoding="utf-8")
        path = app.screen.query_one("#path-input")
        path.focus()
        path.value = str(other)
        await pilot.press("enter")
        await until(
            pilot, lambda: app.dataset is not None and app.dataset.corpus.name == "other.txt"
        )
        await pilot.pause(0.2)
        rows = [value for _, value in select._options]
        assert select.value == str(other) and rows.count(str(other)) == 1
        assert tiny_corpus not in rows  # only the file that is open
        assert app.loading is None and app.dataset.corpus.name == "other.txt"
