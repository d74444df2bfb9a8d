"""How long a test waits for what happens in another thread, process or server.

A wait ends as soon as its condition holds, so a longer limit costs nothing when the code
works; it only keeps a loaded machine from failing a test. CI runs the SQLite and the
PostgreSQL passes side by side on two cores, where a step that takes 0.1 s on a laptop has
taken over 5 s, so there every limit is three times what the test names.
``OMNITUI_TEST_PATIENCE`` sets the factor by hand.
"""

from __future__ import annotations

import os

FACTOR = float(os.environ.get("OMNITUI_TEST_PATIENCE") or (3 if os.environ.get("CI") else 1))


def patience(seconds: float) -> float:
    """The limit to wait for something a test says should take at most ``seconds``."""
    return seconds * FACTOR
