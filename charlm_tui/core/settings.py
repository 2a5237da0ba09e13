"""Provides the settings the app remembers between runs, read from and written to a TOML file.

    Settings                      what is remembered (a frozen dataclass; defaults throughout)
    default_settings_path()       <user config dir>/charlm-tui/settings.toml
    load_settings(path=None)      -> (Settings, problem or None)
    save_settings(settings, path=None)

A missing file is the first run: defaults, no problem. A file that cannot be used (not UTF-8,
not TOML, a value of the wrong type or out of range) gives the defaults and a problem in
words naming the file, what is wrong and what happens now; the file itself is moved aside
(settings.toml.bad, or .bad-<time> when that name is taken) so nothing its owner wrote is
lost and the next save cannot overwrite it. Keys this version does not know are ignored
quietly (a newer version may have written them); a save writes only the known ones.
Saves are atomic (core/atomic.py): a reader sees the old file or the new one.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from charlm_tui.core.atomic import atomic_write_bytes
from charlm_tui.core.i18n import LANGUAGES, _

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 backport has the same interface
    import tomli as tomllib

FILE_NAME = "settings.toml"
MAX_LENGTH = 100_000  # characters per generation: far past the console's longest step


def default_settings_path() -> Path:
    """Where the settings live: settings.toml in the user config dir (XDG_CONFIG_HOME on Linux)."""
    return platformdirs.user_config_path("charlm-tui") / FILE_NAME


@dataclass(frozen=True)
class Settings:
    """What the app remembers: the language, the theme, the console's knobs, the last files."""

    language: str | None = None  # "en" or "ja"; None: the locale decides
    theme: str | None = None  # a Textual theme name; None: Textual's default
    temperature: float = 1.0  # the console's sampling knobs (core.sample.SamplingOptions)
    top_k: int = 0
    top_p: float = 1.0
    length: int = 200
    seed: int = 1
    last_corpus: str | None = None  # a catalog name or an absolute path
    last_newlines_to_spaces: bool | None = None
    last_checkpoint: str | None = None  # an absolute path


class SettingsError(ValueError):
    """A settings value of the wrong type or out of range; the message says which."""


# the file's layout: a table name (None: the top level) for each field
_TABLES: dict[str, str | None] = {
    "language": None,
    "theme": None,
    "temperature": "sampling",
    "top_k": "sampling",
    "top_p": "sampling",
    "length": "sampling",
    "seed": "sampling",
    "last_corpus": "last",
    "last_newlines_to_spaces": "last",
    "last_checkpoint": "last",
}
_KEYS = {
    "last_corpus": "corpus",
    "last_newlines_to_spaces": "newlines_to_spaces",
    "last_checkpoint": "checkpoint",
}


def _key(name: str) -> str:
    table = _TABLES[name]
    key = _KEYS.get(name, name)
    return f"{table}.{key}" if table else key


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)  # type: ignore[arg-type]


def _shown(value: object) -> str:
    """A value as the file spells it: "hot" in quotes, true, 3, or what kind of thing it is."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return _("a table")
    if isinstance(value, list):
        return _("a list")
    return str(value)


def _check(name: str, value: object) -> object:
    """`value` for field `name` (an int given for a float becomes a float); else SettingsError."""
    key = _key(name)

    def bad(expected: str) -> SettingsError:
        return SettingsError(
            _("{key} = {value} is not valid: it must be {expected}").format(
                key=key, value=_shown(value), expected=expected
            )
        )

    if name == "language":
        if value not in LANGUAGES:
            raise bad(_("one of {choices}").format(choices=", ".join(f'"{x}"' for x in LANGUAGES)))
        return value
    if name in ("theme", "last_corpus", "last_checkpoint"):
        if not isinstance(value, str) or not value.strip():
            raise bad(_("a non-empty text in quotes"))
        return value
    if name == "last_newlines_to_spaces":
        if not isinstance(value, bool):
            raise bad(_("true or false"))
        return value
    if name == "temperature":
        if not _is_number(value) or not 0 <= value <= 5:  # type: ignore[operator]
            raise bad(_("a number from 0 (greedy) to 5"))
        return float(value)  # type: ignore[arg-type]
    if name == "top_p":
        if not _is_number(value) or not 0 < value <= 1:  # type: ignore[operator]
            raise bad(_("a number above 0 and at most 1 (1 = off)"))
        return float(value)  # type: ignore[arg-type]
    if name == "top_k":
        if not _is_int(value) or value < 0:  # type: ignore[operator]
            raise bad(_("a whole number, 0 or more (0 = off)"))
        return value
    if name == "length":
        if not _is_int(value) or not 1 <= value <= MAX_LENGTH:  # type: ignore[operator]
            raise bad(_("a whole number from 1 to {most}").format(most=f"{MAX_LENGTH:,}"))
        return value
    if name == "seed":
        if not _is_int(value) or value < 0:  # type: ignore[operator]
            raise bad(_("a whole number, 0 or more"))
        return value
    raise KeyError(name)


def settings_from_mapping(data: Mapping[str, Any]) -> Settings:
    """Settings from a parsed TOML document; SettingsError names the first bad value."""
    values: dict[str, object] = {}
    for name, table in _TABLES.items():
        where: Any = data if table is None else data.get(table, {})
        if not isinstance(where, Mapping):
            raise SettingsError(
                _("[{table}] must be a table of settings, not a single value").format(table=table)
            )
        key = _KEYS.get(name, name)
        if key in where:
            values[name] = _check(name, where[key])
    return Settings(**values)  # type: ignore[arg-type]


def settings_to_mapping(settings: Settings) -> dict[str, Any]:
    """The TOML document for `settings`; a None value is left out (TOML has no null)."""
    document: dict[str, Any] = {}
    for name, value in asdict(settings).items():
        if value is None:
            continue
        table = _TABLES[name]
        target = document if table is None else document.setdefault(table, {})
        target[_KEYS.get(name, name)] = value
    return document


def _aside_path(path: Path) -> Path:
    aside = path.with_name(path.name + ".bad")
    if not aside.exists():
        return aside
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while aside.exists():  # two bad files in one second: number them
        aside = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        n += 1
    return aside


def _move_aside(path: Path) -> str:
    """Move the unusable file out of the way; say in words where it went (or why it stayed)."""
    aside = _aside_path(path)
    try:
        os.replace(path, aside)
    except OSError as exc:
        return _(
            "It could not be moved aside ({reason}); fix or delete it, or settings changed now "
            "will not be saved."
        ).format(reason=exc.strerror or exc)
    return _("Your file is kept as {aside}.").format(aside=aside)


def load_settings(path: Path | None = None) -> tuple[Settings, str | None]:
    """The settings in `path` (default: default_settings_path()) and None, or the defaults
    and a problem in words when the file is there but cannot be used (it is moved aside)."""
    path = default_settings_path() if path is None else Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings(), None
    except OSError as exc:  # unreadable (permissions, a folder by that name): leave it be
        return Settings(), _(
            "Could not read the settings file {path} ({reason}); using the default settings."
        ).format(path=path, reason=exc.strerror or exc)
    try:
        document = tomllib.loads(data.decode("utf-8"))
        settings = settings_from_mapping(document)
    except UnicodeDecodeError:
        what = _("it is not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        what = _("it is not valid TOML: {error}").format(error=exc)
    except SettingsError as exc:
        what = str(exc)
    else:
        return settings, None
    problem = _(
        "The settings file {path} could not be used: {what}. The default settings are used "
        "for now."
    ).format(path=path, what=what)
    return Settings(), f"{problem} {_move_aside(path)}"


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write `settings` to `path` (default: default_settings_path()) atomically, making its
    folder if needed; return the path. OSError when it cannot be written."""
    path = default_settings_path() if path is None else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# charlm-tui settings: the app rewrites this file when a setting changes.\n"
    text = header + tomli_w.dumps(settings_to_mapping(settings))
    return atomic_write_bytes(path, text.encode("utf-8"))
