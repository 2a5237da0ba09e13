"""Provides the engine: corpora, vocabulary, data, models, training, sampling, checkpoints.

Nothing in this package imports textual, plotext or rich: the CLI and the TUI are two
faces of the same engine.
"""
