"""Render the inbox in one language and write it out: run by tests/test_i18n_snapshots.py.

    python tests/snapshot_app.py LANG STORE_URL DATA_DIR OUT_TXT OUT_SVG

One process, one language: the bindings' descriptions are translated when omnitui.app and
the screens are imported, so the language is set before anything imports them (this
script's own imports of the app come after ``set_language``). The store is the one the
test filled (tests/tui_support.fill_store); the clock and the zone are make_app's.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from textual.pilot import Pilot

ROOT = Path(__file__).resolve().parents[1]
SIZE = (120, 32)
CELL_ORDER = "text { unicode-bidi: bidi-override; direction: ltr; }"
"""The SVG's text drawn in cell order, as a terminal without bidi support draws it."""


def terminal_svg(svg: str) -> str:
    """``svg`` (Rich's export) showing the cells left to right: a browser would otherwise
    reorder right-to-left runs that the app has already put in visual order."""
    return svg.replace("<style>", f"<style>\n    {CELL_ORDER}", 1)


async def render(store_url: str, data_dir: Path, out_txt: Path, out_svg: Path) -> None:
    from omnitui.widgets.customer_list import CustomerList
    from omnitui.widgets.timeline import Timeline
    from omnitui.widgets.view_bar import ViewBar
    from tests.tui_support import make_app, screen_text, settings_for, wait_for

    app = make_app(settings_for(data_dir, store_url))
    async with app.run_test(size=SIZE) as running:
        pilot = cast("Pilot[object]", running)  # as tui_support.wait_for takes it
        customers = app.inbox.query_one(CustomerList)
        timeline = app.inbox.query_one(Timeline)
        status = app.inbox.query_one("#status")
        await wait_for(pilot, lambda: customers.selected_row is not None, 10, "the first paint")
        first = customers.selected_row
        assert first is not None
        await pilot.press("enter")  # open the first customer: the timeline shows its history
        await wait_for(
            pilot,
            lambda: (
                app.inbox.opened_id == first.id
                and timeline.customer_id == first.id
                and timeline.ready
            ),
            10,
            "the first customer's history",
        )
        # What comes after the first paint: the view bar's counts, the hotlist, the
        # status line's runner, the Footer; then the opened customer's unread are read.
        await wait_for(pilot, lambda: app.inbox.query_one(ViewBar).counts, 10, "the counts")
        await wait_for(pilot, lambda: not app.inbox.query("#footer-placeholder"), 10, "footer")
        await wait_for(
            pilot,
            lambda: customers.selected_row is not None and customers.selected_row.unread == 0,
            10,
            "the opened customer read",
        )
        # The hotlist drops the opened customer once the read is committed and polled.
        await wait_for(
            pilot, lambda: f"{first.name}(" not in str(status.render()), 10, "the hotlist"
        )
        await pilot.pause()
        out_txt.write_text(screen_text(app).rstrip() + "\n", "utf-8")
        out_svg.write_text(terminal_svg(app.export_screenshot()), "utf-8")


def main(argv: list[str]) -> int:
    language, store_url, data_dir, out_txt, out_svg = argv
    sys.path.insert(0, str(ROOT))
    from omnitui.i18n import set_language

    set_language(language)  # before omnitui.app is imported (by tests.tui_support)
    asyncio.run(render(store_url, Path(data_dir), Path(out_txt), Path(out_svg)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
