"""Provides Vocab: the sorted character vocabulary, stoi/itos, encode/decode, unknown chars."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from charlm_tui.core.i18n import _


class UnknownPolicy(str, Enum):
    """What encode() does with a character the vocabulary does not have."""

    ERROR = "error"
    DROP = "drop"
    REPLACE = "replace"


class UnknownCharsError(ValueError):
    """Raised by encode() under the ERROR policy; names the characters and where they are."""

    def __init__(self, unknown: Sequence[tuple[int, str]]) -> None:
        self.positions = [pos for pos, _ in unknown]
        self.chars = sorted({ch for _, ch in unknown})
        shown = ", ".join(repr(c) for c in self.chars[:10])
        if len(self.chars) > 10:
            said = _(
                "{n} character(s) not in the vocabulary: {shown} and {more} more "
                "(first at position {first}); drop or replace them"
            )
        else:
            said = _(
                "{n} character(s) not in the vocabulary: {shown} "
                "(first at position {first}); drop or replace them"
            )
        super().__init__(
            said.format(
                n=len(self.chars), shown=shown, more=len(self.chars) - 10, first=self.positions[0]
            )
        )


def describe_char(ch: str) -> str:
    """A printable label for a character: control characters and spaces made visible."""
    names = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍", "\u3000": "□"}
    if ch in names:
        return names[ch]
    if not ch.isprintable():
        return f"U+{ord(ch):04X}"
    return ch


@dataclass(frozen=True)
class Vocab:
    """A character vocabulary: `chars` is itos, sorted as the notebook sorts it."""

    chars: tuple[str, ...]
    stoi: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("a vocabulary cannot hold a character twice")
        object.__setattr__(self, "stoi", {ch: i for i, ch in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        if not text:
            raise ValueError("cannot build a vocabulary from an empty text")
        return cls(tuple(sorted(set(text))))

    @property
    def size(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: object) -> bool:
        return ch in self.stoi

    @property
    def itos(self) -> tuple[str, ...]:
        return self.chars

    @property
    def dtype(self) -> np.dtype:
        """The narrowest unsigned dtype that holds every id (uint16 wraps past 65,535)."""
        return np.dtype(np.uint16) if self.size <= 65536 else np.dtype(np.uint32)

    def unknown_chars(self, text: str) -> list[tuple[int, str]]:
        stoi = self.stoi
        return [(i, ch) for i, ch in enumerate(text) if ch not in stoi]

    def encode(
        self,
        text: str,
        policy: UnknownPolicy | str = UnknownPolicy.ERROR,
        replacement: str | None = None,
    ) -> list[int]:
        """Text to ids. Unknown characters raise, are dropped, or become `replacement`.

        REPLACE without a replacement uses a space if the vocabulary has one, else its
        first character.
        """
        stoi = self.stoi
        try:
            return [stoi[ch] for ch in text]
        except KeyError:
            pass
        policy = UnknownPolicy(policy)
        if policy is UnknownPolicy.ERROR:
            raise UnknownCharsError(self.unknown_chars(text))
        if policy is UnknownPolicy.DROP:
            return [stoi[ch] for ch in text if ch in stoi]
        if replacement is None:
            replacement = " " if " " in stoi else self.chars[0]
        if replacement not in stoi:
            said = _("the replacement {char!r} is not in the vocabulary")
            raise ValueError(said.format(char=replacement))
        fill = stoi[replacement]
        return [stoi.get(ch, fill) for ch in text]

    def decode(self, ids: Iterable[int]) -> str:
        itos = self.chars
        return "".join(itos[int(i)] for i in ids)

    def to_json(self) -> dict[str, Any]:
        return {"chars": list(self.chars)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vocab:
        chars = data.get("chars")
        if not isinstance(chars, list) or not all(
            isinstance(c, str) and len(c) == 1 for c in chars
        ):
            raise ValueError("a vocabulary is a list of single characters")
        return cls(tuple(chars))
