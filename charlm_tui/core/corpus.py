"""Provides the corpus catalog and loading: resolve, download, verify, validate, normalise.

A corpus is named (`sherlock`, `shakespeare`, `bocchan`, `python-docs`) or is any local
UTF-8 text file. Named corpora resolve in this order: the user cache, the mirror named by
`CHARLM_CORPUS_MIRROR` (a folder or a base URL), then the network. Every file a catalog
entry stands for is checked against a pinned sha256, so a corrupted or substituted file is
never trained on. The project ships none of these texts; `python-docs` (the English
documentation that every CPython carries as `pydoc_data`) is always at hand offline.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from charlm_tui.core.i18n import _

MIRROR_ENV = "CHARLM_CORPUS_MIRROR"
DEFAULT_CORPUS = "sherlock"
FALLBACK_CORPUS = "python-docs"

# (bytes done, total bytes or None when the server does not say)
ProgressCallback = Callable[[int, "int | None"], None]


class CorpusError(Exception):
    """A corpus could not be had; the message says what happened and what to do next."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class CorpusUnavailable(CorpusError):
    """A catalog corpus is neither cached nor in the mirror, and could not be downloaded."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems  # what was tried and how it failed, in words


@dataclass(frozen=True)
class CorpusEntry:
    """A named corpus: where it comes from and the sha256 of the file it stands for."""

    name: str
    title: str
    language: str
    filename: str  # its name in a mirror folder and in the cache
    sha256: str  # of that file's bytes
    url: str
    licence: str
    description: str
    normalized_sha256: str | None = None  # of the text after the entry's own normalisation
    download_sha256: str | None = None  # when the download differs from the cached file


CATALOG: dict[str, CorpusEntry] = {
    entry.name: entry
    for entry in [
        CorpusEntry(
            name="sherlock",
            title="The Adventures of Sherlock Holmes (Arthur Conan Doyle)",
            language="en",
            filename="sherlock-advs.txt",
            sha256="484e36e4df0e5910160bdaaf8aa963b8a2281cebde92f8bbe8c1f47343e068ab",
            normalized_sha256="556d5b01cc377d146d4950a3da6341a95042618645c4c8bdebf888f0a5243a89",
            url="https://sherlock-holm.es/stories/plain-text/advs.txt",
            licence="public domain (published 1891-1892; the edition claims no copyright)",
            description="The notebook's corpus: 12 stories, normalised to 562,263 bytes.",
        ),
        CorpusEntry(
            name="shakespeare",
            title="Tiny Shakespeare",
            language="en",
            filename="tinyshakespeare.txt",
            sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            url="https://raw.githubusercontent.com/karpathy/char-rnn/"
            "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",
            licence="public domain (plays c. 1590-1613)",
            description="40,000 lines of Shakespeare, as used by char-rnn and nanoGPT.",
        ),
        CorpusEntry(
            name="bocchan",
            title="坊っちゃん (Botchan), Natsume Sōseki, Aozora Bunko",
            language="ja",
            filename="soseki-bocchan.txt",
            sha256="835f8a4f3769d89cb58be6697137f29eab3c751ff4566fe884077bf96d935974",
            url="https://raw.githubusercontent.com/sensinkoku/nlkadai/"
            "f11ac1b3595ea64ab85501494e394116450609dd/bocchan.txt",
            licence="public domain (Sōseki died 1916); Aozora colophon kept",
            description="Japanese: 1,948 distinct characters, Aozora ruby markup kept.",
        ),
        CorpusEntry(
            name=FALLBACK_CORPUS,
            title="Python documentation topics (pydoc_data, ships with CPython)",
            language="en",
            filename="",
            sha256="",
            url="",
            licence="PSF licence, part of every CPython installation",
            description="Always at hand offline: English prose and code from Python's docs.",
        ),
    ]
}


@dataclass(frozen=True)
class Corpus:
    """A loaded, validated text: `text` is NFC, LF line endings, no BOM."""

    name: str
    text: str
    source: str
    reference: str  # what a run records to find it again (see corpus_reference)
    newlines_to_spaces: bool = False
    fallback_reason: str | None = None  # why this corpus was opened in place of the default

    def __len__(self) -> int:
        return len(self.text)


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("charlm-tui")) / "corpora"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- validation -----------------------------------------------------------------------


def decode_text(
    data: bytes, *, source: str = "<bytes>", encoding: str = "utf-8", errors: str = "strict"
) -> str:
    """Bytes to clean text: refuse binary and undecodable input; strip BOM, LF, NFC."""
    if not data:
        said = _("{source} is empty: choose a text file with some content")
        raise CorpusError(said.format(source=source), source)
    nul = data.find(b"\x00")
    if nul >= 0 and encoding.lower().replace("-", "") not in ("utf16", "utf32"):
        said = _(
            "{source} looks binary (a NUL byte at byte offset {offset}): choose a plain-text file"
        )
        raise CorpusError(said.format(source=source, offset=nul), source)
    try:
        text = data.decode(encoding, errors=errors)
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise CorpusError(
            _(
                "{source} is not valid {encoding} (byte 0x{byte} at byte offset {offset}). "
                "If it is Latin-1 or Shift_JIS, say so with --encoding latin-1 / shift_jis, "
                "or use --encoding-errors replace"
            ).format(source=source, encoding=encoding, byte=bad, offset=exc.start),
            source,
        ) from None
    except LookupError:
        raise CorpusError(
            _("unknown encoding {encoding!r}").format(encoding=encoding), source
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    if not text.strip():
        said = _("{source} holds only whitespace: choose a file with text")
        raise CorpusError(said.format(source=source), source)
    return text


def read_text_file(path: str | Path, *, encoding: str = "utf-8", errors: str = "strict") -> str:
    """Read and validate a local text file; every failure is a CorpusError naming the path."""
    p = Path(path).expanduser()
    if not p.exists():
        raise CorpusError(_("{path} does not exist: check the path").format(path=p), p)
    if p.is_dir():
        raise CorpusError(_("{path} is a folder: choose a text file inside it").format(path=p), p)
    try:
        data = p.read_bytes()
    except PermissionError:
        said = _("{path} cannot be read (permission denied)")
        raise CorpusError(said.format(path=p), p) from None
    except OSError as exc:
        said = _("{path} cannot be read ({reason})")
        raise CorpusError(said.format(path=p, reason=exc.strerror or exc), p) from None
    return decode_text(data, source=str(p), encoding=encoding, errors=errors)


# --- normalisation ----------------------------------------------------------------------


def normalize_sherlock(text: str) -> str:
    """The notebook's advs.txt from sherlock-holm.es advs.txt (see shared corpora README).

    Strip every line, keep at most one blank line in a row, strip the whole, end in "\\n".
    """
    lines = "\n".join(line.strip() for line in text.split("\n"))
    lines = re.sub(r"\n{3,}", "\n\n", lines)
    return lines.strip() + "\n"


def _bocchan_from_source(data: bytes) -> bytes:
    """The Aozora Shift_JIS source to the catalog's UTF-8 file (one stray 'い' removed)."""
    text = data.decode("cp932").replace("\r\n", "\n")
    text = text.replace("腰い《こし》を抜《ぬ》かした", "腰《こし》を抜《ぬ》かした", 1)
    return text.encode("utf-8")


_FROM_DOWNLOAD: dict[str, Callable[[bytes], bytes]] = {"bocchan": _bocchan_from_source}


def fallback_text() -> str:
    """English prose that every CPython ships: the pydoc topics, in a fixed order."""
    try:
        from pydoc_data.topics import topics
    except ImportError as exc:  # a stripped-down Python
        raise CorpusError(
            _("this Python has no pydoc_data; open a text file of your own with --corpus PATH")
        ) from exc
    return "\n\n".join(topics[key].strip() for key in sorted(topics)) + "\n"


# --- resolution -------------------------------------------------------------------------


def _verify(entry: CorpusEntry, data: bytes, where: str) -> None:
    digest = sha256_bytes(data)
    if digest != entry.sha256:
        raise CorpusError(
            _(
                "{where} does not match the pinned sha256 of {name} "
                "(got {got}…, expected {expected}…); "
                "delete it and try again, or open the file by path"
            ).format(where=where, name=entry.name, got=digest[:12], expected=entry.sha256[:12]),
            where,
        )


def _store_in_cache(entry: CorpusEntry, data: bytes) -> Path:
    folder = cache_dir()
    target = folder / entry.filename
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError:
        return Path("")  # a read-only cache is no reason to fail the load
    return target


def _fetch(url: str, progress: ProgressCallback | None, timeout: float = 30.0) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "charlm-tui"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        chunks: list[bytes] = []
        done = 0
        while chunk := response.read(64 * 1024):
            chunks.append(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        return b"".join(chunks)


def _from_mirror(entry: CorpusEntry, mirror: str, progress: ProgressCallback | None) -> bytes:
    if re.match(r"^[a-z]+://", mirror):
        return _fetch(mirror.rstrip("/") + "/" + entry.filename, progress)
    path = Path(mirror).expanduser() / entry.filename
    return path.read_bytes()


def fetch_entry_bytes(
    entry: CorpusEntry, *, download: bool = True, progress: ProgressCallback | None = None
) -> tuple[bytes, str]:
    """The verified file bytes of a catalog entry, and where they came from."""
    cached = cache_dir() / entry.filename
    if cached.is_file():
        data = cached.read_bytes()
        if sha256_bytes(data) == entry.sha256:
            return data, str(cached)
    mirror = os.environ.get(MIRROR_ENV)
    problems: list[str] = []
    if mirror:
        try:
            data = _from_mirror(entry, mirror, progress)
        except (OSError, urllib.error.URLError) as exc:
            said = _("the mirror {mirror} has no usable {file} ({reason})")
            problems.append(said.format(mirror=mirror, file=entry.filename, reason=exc))
        else:
            _verify(entry, data, f"{mirror}/{entry.filename}")
            _store_in_cache(entry, data)
            return data, f"{mirror}/{entry.filename}"
    if not download:
        problems.append(_("downloading is switched off"))
    else:
        try:
            data = _fetch(entry.url, progress)
        except (OSError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", exc)
            said = _("downloading {url} failed ({reason}), so this machine may be offline")
            problems.append(said.format(url=entry.url, reason=reason))
        else:
            convert = _FROM_DOWNLOAD.get(entry.name)
            if convert is not None:
                try:
                    data = convert(data)
                except UnicodeDecodeError:
                    problems.append(_("{url} did not hold the expected text").format(url=entry.url))
                    data = b""
            if data:
                _verify(entry, data, entry.url)
                stored = _store_in_cache(entry, data)
                return data, str(stored) if stored.name else entry.url
    raise CorpusUnavailable(
        _(
            "corpus {name!r} is not at hand: {problems}. What to do: put {file} in a folder "
            "and set {env} to it, open a text file of your own (--corpus PATH), or use "
            "--corpus {fallback}, which is always available offline."
        ).format(
            name=entry.name,
            problems="; ".join(problems),
            file=entry.filename,
            env=MIRROR_ENV,
            fallback=FALLBACK_CORPUS,
        ),
        problems,
    )


def newlines_default(name_or_path: str | Path) -> bool:
    """Newlines become spaces by default only for Sherlock, as in the notebook (N1)."""
    return str(name_or_path) == DEFAULT_CORPUS


def is_catalog_name(name_or_path: str) -> bool:
    return name_or_path in CATALOG


def corpus_reference(name_or_path: str | Path | None) -> str:
    """What a run records as its corpus: a catalog name as is, a file as its absolute path
    (so `charlm eval` finds it from any folder), and nothing given as the default's name."""
    if name_or_path is None or str(name_or_path) == "":
        return DEFAULT_CORPUS
    key = str(name_or_path)
    if key in CATALOG:
        return key
    return str(Path(key).expanduser().resolve())


def recorded_corpus(value: object) -> str:
    """The corpus a run's metadata names; runs made before the default was recorded by name
    hold "None" (or nothing) there, which meant the default."""
    if value is None or str(value) in ("", "None"):
        return DEFAULT_CORPUS
    return str(value)


def load_corpus(
    name_or_path: str | Path = DEFAULT_CORPUS,
    *,
    newlines_to_spaces: bool = False,
    encoding: str = "utf-8",
    errors: str = "strict",
    download: bool = True,
    progress: ProgressCallback | None = None,
    fallback: bool = False,
) -> Corpus:
    """Load a catalog corpus or a local file, validated and normalised.

    `newlines_to_spaces` reproduces the notebook (N1), where the text is one long line.
    With `fallback`, the default corpus, when it cannot be had (no cache, no mirror, no
    network), gives python-docs with newlines kept instead; its `fallback_reason` says why,
    and how to get the default, in the user's words (a first start offline opens on a
    corpus, not on an error).
    """
    key = str(name_or_path)
    if key == FALLBACK_CORPUS:
        text, source = fallback_text(), "pydoc_data.topics"
    elif key in CATALOG:
        entry = CATALOG[key]
        try:
            data, source = fetch_entry_bytes(entry, download=download, progress=progress)
        except CorpusUnavailable as exc:
            if not (fallback and key == DEFAULT_CORPUS):
                raise
            return _fallback_corpus(exc.problems)
        text = decode_text(data, source=source)
        if entry.name == "sherlock":
            text = normalize_sherlock(text)
        if entry.normalized_sha256 and sha256_bytes(text.encode()) != entry.normalized_sha256:
            said = _("{name} normalised to an unexpected text; please report it")
            raise CorpusError(said.format(name=entry.name))
    else:
        path = Path(key).expanduser()
        if not path.exists() and os.sep not in key and "." not in key:
            names = ", ".join(CATALOG)
            said = _("{key!r} is neither a corpus name ({names}) nor an existing file")
            raise CorpusError(said.format(key=key, names=names), key)
        text, source = read_text_file(path, encoding=encoding, errors=errors), str(path)
    if newlines_to_spaces:
        text = text.replace("\n", " ")
    name = key if key in CATALOG else Path(key).name
    return Corpus(
        name=name,
        text=text,
        source=source,
        reference=corpus_reference(key),
        newlines_to_spaces=newlines_to_spaces,
    )


def _fallback_corpus(problems: list[str]) -> Corpus:
    """python-docs, with why it was opened instead of the default and how to get that."""
    corpus = load_corpus(FALLBACK_CORPUS, newlines_to_spaces=newlines_default(FALLBACK_CORPUS))
    entry = CATALOG[DEFAULT_CORPUS]
    reason = _(
        "Opened {fallback} (Python's own documentation, always here) because "
        "{default} is not on this machine: {problems}. "
        "To get {default}: when online, pick it from the corpus list (c); or put "
        "{file} in a folder and start with {env} set to that folder."
    ).format(
        fallback=FALLBACK_CORPUS,
        default=DEFAULT_CORPUS,
        problems="; ".join(problems),
        file=entry.filename,
        env=MIRROR_ENV,
    )
    return replace(corpus, fallback_reason=reason)


def cached_path(name: str) -> Path | None:
    """Where a catalog corpus sits in the cache, if it does (for the dataset screen)."""
    entry = CATALOG.get(name)
    if entry is None or not entry.filename:
        return None
    path = cache_dir() / entry.filename
    return path if path.is_file() else None


def clear_cache() -> None:
    shutil.rmtree(cache_dir(), ignore_errors=True)
