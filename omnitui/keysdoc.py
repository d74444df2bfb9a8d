"""docs/keys.md: every key binding, where it works, its default key and its id, made from the
bindings themselves (``python -m omnitui.keysdoc > docs/keys.md``; tests/test_app.py checks
the file is current)."""

from __future__ import annotations

import tempfile
from pathlib import Path


def keys_markdown() -> str:
    from omnitui.app import OmniApp
    from omnitui.config import Settings
    from omnitui.config.models import Config

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            config_path=Path(tmp) / "config.toml",
            config=Config(),
            agent="agent",
            store_url=f"sqlite:///{tmp}/store.db",
            run_runner=False,
            log_file=Path(tmp) / "log",
        )
        rows = OmniApp(settings).binding_rows()
    lines = [
        "# Keys",
        "",
        "The default key of every binding, where it works, and its id. Rebind any of them in",
        'the config: `[keymap]` then `ID = "KEY"` (several keys: `"ctrl+s,f5"`); an unknown id',
        "is a config error. `?` in the TUI shows the keys as they are after your keymap.",
        "Made by `python -m omnitui.keysdoc > docs/keys.md`.",
        "",
        "| where | key | what it does | id |",
        "|---|---|---|---|",
    ]
    for row in rows:
        keys = row.keys.replace("|", "\\|")
        lines.append(f"| {row.section} | `{keys}` | {row.description} | `{row.id}` |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(keys_markdown(), end="")
