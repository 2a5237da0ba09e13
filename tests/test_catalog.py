"""The Japanese catalog covers every marked string, and the compiled .mo matches the .po.

When this fails, docs/i18n.md has the three pybabel commands that bring the catalog up to date.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

babel_extract = pytest.importorskip("babel.messages.extract")
from babel.messages.mofile import write_mo  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

import charlm_tui  # noqa: E402
from charlm_tui.core.i18n import DOMAIN, LOCALE_DIR  # noqa: E402

PACKAGE = Path(charlm_tui.__file__).resolve().parent
KEYWORDS = {**babel_extract.DEFAULT_KEYWORDS, "N_": None}
PO = LOCALE_DIR / "ja" / "LC_MESSAGES" / f"{DOMAIN}.po"
MO = PO.with_suffix(".mo")


def marked_strings() -> dict[str, str]:
    """Each msgid marked in the package, with one place it is marked."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in babel_extract.extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def read_catalog():  # noqa: ANN201
    with PO.open("rb") as f:
        return read_po(f, locale="ja", domain=DOMAIN)


def test_every_marked_string_has_a_japanese_translation() -> None:
    catalog = read_catalog()
    missing = {
        msgid: where
        for msgid, where in marked_strings().items()
        if msgid not in catalog or not catalog[msgid].string or catalog[msgid].fuzzy
    }
    assert not missing, f"untranslated (see docs/i18n.md): {missing}"


def test_the_compiled_catalog_matches_the_po_file() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, read_catalog())
    assert MO.read_bytes() == compiled.getvalue(), "run: pybabel compile (docs/i18n.md)"
