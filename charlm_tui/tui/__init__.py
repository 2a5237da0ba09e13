"""Provides the Textual face of charlm-tui (start it with `charlm_tui.tui.entry.run_tui`)."""
