"""omnitui: a terminal console for a small support team answering customers on every channel."""

__version__ = "0.1.0"
