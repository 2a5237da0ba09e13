"""Provides PathSuggester: Input completion from the files on disk, as a shell's Tab."""

from __future__ import annotations

import os

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first file or folder (with a trailing /) that extends what is typed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        folder, stem = os.path.split(os.path.expanduser(value))
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            return None
        for name in names:
            if name.startswith(stem) and name != stem and not name.startswith("."):
                suffix = "/" if os.path.isdir(os.path.join(folder, name)) else ""
                return value + name[len(stem) :] + suffix
        return None
