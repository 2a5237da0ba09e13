"""Provides the interface's two languages: `_` translates, `set_language` switches.

Catalogs are gettext's (`charlm_tui/locale/<lang>/LC_MESSAGES/charlm_tui.mo`), extracted and
compiled with Babel (docs/i18n.md). Mark a shown string with `_()` where it is shown; a string
defined before a language is chosen (a class attribute, a table) is marked with `N_()` and
passed through `_()` when it is drawn, so switching the language takes effect at once.
English is the source language: it needs no catalog.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "charlm_tui"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "ja")
NAMES = {"en": "English", "ja": "日本語"}

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language the locale variables ask for (LC_ALL, LC_MESSAGES, LANG, in POSIX order).

    The first one set decides: "ja_JP.UTF-8" or "ja" gives "ja"; anything else "en".
    """
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def set_language(lang: str) -> None:
    """Switch every later `_()` to `lang` (one of LANGUAGES)."""
    global _translations, _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    if lang == "en":
        _translations = gettext.NullTranslations()
    else:
        _translations = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    _language = lang


def language() -> str:
    """The language `_()` translates into now."""
    return _language


def _(message: str) -> str:
    """`message` in the current language (itself where the catalog lacks it)."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks `message` for extraction without translating it (translate it where it is shown)."""
    return message
