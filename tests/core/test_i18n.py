"""The language comes from --lang or the locale variables, and switching it takes effect."""

from __future__ import annotations

import pytest

from charlm_tui.core import i18n


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, "en"),  # LC_ALL wins over LANG
        ({"LC_ALL": "", "LC_MESSAGES": "ja_JP", "LANG": "C"}, "ja"),
        ({"LANG": "C.UTF-8"}, "en"),
    ],
)
def test_language_follows_the_locale_variables_in_posix_order(environ, expected) -> None:
    assert i18n.language_from_environment(environ) == expected


def test_an_unknown_language_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="en, ja"):
        i18n.set_language("fr")


def test_english_is_the_source_language() -> None:
    i18n.set_language("en")
    assert i18n._("Dataset") == "Dataset"
    assert i18n.language() == "en"
