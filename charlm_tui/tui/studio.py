"""Provides Studio: what the screens and the command palette need from the app.

Screens read the app through this Protocol rather than the app's class, so that the app
imports its screens and no screen imports the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from charlm_tui.core.models import CharModel
    from charlm_tui.core.settings import Settings
    from charlm_tui.core.train import TrainConfig
    from charlm_tui.tui.options import TuiOptions
    from charlm_tui.tui.session import Dataset, RunHistory


class Studio(Protocol):
    """The app's state that every screen draws from, and the actions they ask of it."""

    options: TuiOptions
    train_config: TrainConfig
    history: RunHistory
    snapshot: CharModel | None
    dataset: Dataset | None
    loading: str | None
    load_error: str | None
    training_state: str
    run_version: int
    lang: str

    def apply_language(self, lang: str) -> None: ...

    def choose_language(self, lang: str) -> None: ...

    @property
    def settings(self) -> Settings: ...

    def remember(self, **values: object) -> None: ...

    def load_dataset(self, corpus: str, newlines_to_spaces: bool | None = None) -> None: ...

    def start_training(self, config: TrainConfig | None = None) -> bool: ...

    def pause_training(self) -> None: ...

    def stop_training(self) -> None: ...

    def request_save(self) -> None: ...
