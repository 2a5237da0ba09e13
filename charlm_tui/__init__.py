"""charlm-tui: a keyboard-driven terminal studio for character-level language models."""

__version__ = "0.1.0"
