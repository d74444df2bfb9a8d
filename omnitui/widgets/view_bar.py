"""The view bar: one line over the customer list naming the views (All, Open, Mine, ...,
saved searches, channels), each with how many customers it lists, the one shown marked.

It is as wide as the list, so it scrolls sideways to keep the shown view in sight ("‹"
and "›" say more views are off to a side). Counts arrive after the first paint (the
inbox reads them in a worker); until then the titles stand alone. Titles of saved views
come from the config and go through omnitui.text like everything else shown; with the
right-to-left display on (omnitui.bidi) each title is put in visual order alone.

Must not import the store or the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from omnitui.formatting import compact_number
from omnitui.text import one_line
from omnitui.views import BUILT_IN, View
from omnitui.widgets.rtl import app_rtl
from omnitui.widgets.strips import visual_cell

GAP = ""
TITLE_WIDTH = 20


class ViewBar(Widget):
    """The views as tabs on one line; a click picks one (``Picked``)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "view-bar--active",
        "view-bar--title",
        "view-bar--count",
        "view-bar--more",
    }
    DEFAULT_CSS = """
    ViewBar {
        height: 1;
        padding: 0 1;
        & > .view-bar--active { background: $accent 40%; color: $text; text-style: bold; }
        & > .view-bar--title { color: $text-muted; }
        & > .view-bar--count { color: $text-accent; }
        & > .view-bar--more { color: $text-muted; text-style: bold; }
    }
    """

    class Picked(Message):
        """The agent clicked a view."""

        def __init__(self, view: View) -> None:
            super().__init__()
            self.view = view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.views: tuple[View, ...] = BUILT_IN
        self.active = BUILT_IN[0].id
        self.counts: dict[str, int] = {}
        self._spans: list[tuple[int, int, View]] = []
        """Where each view was drawn last (start and end cell), for clicks."""

    def set_views(self, views: Sequence[View], counts: Mapping[str, int] | None = None) -> None:
        self.views = tuple(views)
        if counts is not None:
            self.counts = dict(counts)
        self.refresh()

    def set_active(self, view_id: str) -> None:
        if view_id != self.active:
            self.active = view_id
            self.refresh()

    def parts(self, view: View) -> tuple[str, str]:
        """How a view reads in the bar: its title and its count ("" until read)."""
        title = one_line(view.shown_title, TITLE_WIDTH) or view.id
        count = self.counts.get(view.id)
        return title, "" if count is None else compact_number(count)

    def label(self, view: View) -> str:
        """ "Mine 3", or "Mine" before the counts are read."""
        title, count = self.parts(view)
        return f"{title} {count}" if count else title

    def render(self) -> Text:
        width = max(self.content_region.width, 1)
        style = self.get_component_rich_style
        widths = [cell_len(self.label(v)) + 2 for v in self.views]
        active = next((i for i, v in enumerate(self.views) if v.id == self.active), 0)
        # The first view drawn: as far left as keeps the active one whole on the line.
        first = 0
        while first < active and _span(widths, first, active) + 2 > width - 2:
            first += 1
        line = Text(no_wrap=True, overflow="crop", end="")
        rtl = app_rtl(self.app)
        self._spans = []
        if first:
            line.append("‹ ", style=style("view-bar--more"))
        for index in range(first, len(self.views)):
            view = self.views[index]
            gap = GAP if index > first else ""
            room = width - line.cell_len - len(gap)
            more = 2 if index < len(self.views) - 1 else 0
            if widths[index] + more > room and index != active:
                line.append(" ›", style=style("view-bar--more"))
                break
            line.append(gap)
            start = line.cell_len
            title, count = self.parts(view)
            # Each title is a cell: in visual order alone with the right-to-left display.
            title = visual_cell(title, rtl)
            if view.id == self.active:
                label = f"{title} {count}" if count else title
                line.append(f" {label} ", style=style("view-bar--active"))
            else:
                line.append(f" {title}", style=style("view-bar--title"))
                if count:
                    line.append(f" {count}", style=style("view-bar--count"))
                line.append(" ")
            self._spans.append((start, line.cell_len, view))
        line.truncate(width)
        return line

    def on_click(self, event: events.Click) -> None:
        x = event.x - self.styles.padding.left
        for start, end, view in self._spans:
            if start <= x < end:
                self.post_message(self.Picked(view))
                return


def _span(widths: Sequence[int], first: int, last: int) -> int:
    """Cells from the start of view ``first`` to the end of view ``last``, gaps included."""
    return sum(widths[first : last + 1]) + len(GAP) * (last - first)
