"""Provides `python -m charlm_tui`."""

from charlm_tui.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
