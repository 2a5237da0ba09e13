"""Provides the Textual face of charlm-tui (start it with `charlm_tui.tui.app.run_tui`)."""
