"""Screens of the TUI, one module each with its .tcss beside it."""
