"""Provides the app's screens: dataset, training, generation console and help."""
