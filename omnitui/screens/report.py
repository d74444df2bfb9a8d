"""The report screen (I in the inbox): the service insights of a period, as tables beside
charts drawn in the terminal, with the period and the filters on keys (t and a pick a
tag or an agent in ``FilterPicker``).

The numbers are ``omnitui.reports.compute``'s, run by the app in a thread worker (the
app's ``compute_report``) for the agent's zone and clock, and the tables are the cells of
``reports.sections``: what ``omnitui report`` prints for the same days and filters. The
charts (volume by day, the backlog) are Plotext's, through textual-plotext, imported when
the screen is composed, never on the way to the inbox's first paint; the hour of the week
is a grid of Rich blocks. Channel, tag and agent names are the team's or the store's:
shown as Text, never markup. When another connection commits, the app's poll calls
``store_changed`` and the figures are computed again, at most every ``REFRESH_SECONDS``.

Must not import the store or the network.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from omnitui import reports
from omnitui.formatting import clock_time, day, digits, number
from omnitui.i18n import _, ngettext
from omnitui.reports import Report, ReportError, ReportFilter, Section
from omnitui.text import one_line
from omnitui.widgets.channels import CHANNEL_MARKS, OTHER_MARK
from omnitui.widgets.footer import Footer
from omnitui.widgets.rtl import VisualText, show_title
from omnitui.widgets.strips import cell

if TYPE_CHECKING:
    from textual_plotext import PlotextPlot

    from omnitui.app import OmniApp

log = logging.getLogger(__name__)

PERIOD_DAYS = (7, 30, 90, 365)
"""The lengths p cycles through."""
NARROW = 120
"""Below this many columns the charts go under the tables."""
HEAT = (" ", "░", "▒", "▓", "█")
"""The hour-of-week grid's cells, from none to the busiest hour."""
REFRESH_SECONDS = 10.0
"""After a store change, the figures are computed again once this long has passed since
the last computation started (a year of a big store takes about a second)."""
ALL = ""
"""What FilterPicker is dismissed with for "All" (None is: cancelled)."""


@dataclass(frozen=True, slots=True)
class ReportChoices:
    """What the filters offer: the store's tags and agents, and whether the config has
    ``[business_hours]`` (without it, b only says so)."""

    tags: tuple[str, ...]
    agents: tuple[str, ...]
    business_hours: bool


class ReportScreen(Screen[None]):
    """One period's report; [ and ] move the period, the other keys change the filters."""

    CSS_PATH = "report.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", _("Close the report"), id="report-close"),
        # Priority: the scrolling columns would take left and right for themselves.
        Binding(
            "left_square_bracket,left",
            "move(-1)",
            _("Earlier period"),
            id="report-earlier",
            priority=True,
        ),
        Binding(
            "right_square_bracket,right",
            "move(1)",
            _("Later period"),
            id="report-later",
            priority=True,
        ),
        Binding("p", "length", _("Period: 7, 30, 90, 365 days"), id="report-length"),
        Binding("c", "channel", _("Channel filter"), id="report-channel"),
        Binding("t", "tag", _("Tag filter"), id="report-tag"),
        Binding("a", "agent", _("Agent filter"), id="report-agent"),
        Binding("b", "business_hours", _("Business hours only"), id="report-business-hours"),
        Binding("r", "refresh", _("Compute again"), id="report-refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days = PERIOD_DAYS[0]
        self.last: date | None = None
        """The period's last day, in the agent's zone (set on mount: today)."""
        self.channel: str | None = None
        self.tag: str | None = None
        self.agent: str | None = None
        self.business_hours = False
        self.choices: ReportChoices | None = None
        self.channels_seen: set[str] = set(CHANNEL_MARKS)
        self.report: Report | None = None
        """The report shown (None until the first one is computed)."""
        self._wanted: ReportFilter | None = None
        self._started = 0.0
        self._computing = False
        self._stale = False
        """Another connection committed since the report shown was asked for."""
        self._checking = False
        self._mark: object = None
        """The store's change mark when the figures were last refreshed (Reader.change_mark)."""

    @property
    def omni(self) -> OmniApp:
        return cast("OmniApp", self.app)

    def compose(self) -> ComposeResult:
        from textual_plotext import PlotextPlot

        with Vertical(id="report-box"):
            yield Static(id="report-filters")
            yield Static(id="report-status")
            with VerticalScroll(id="report-body"), Horizontal(id="report-columns"):
                with Vertical(id="report-tables"):
                    yield Static(id="report-summary")
                    yield Static(id="report-agents")
                with Vertical(id="report-charts"):
                    yield PlotextPlot(id="report-volume")
                    yield Static(id="report-legend")
                    yield PlotextPlot(id="report-backlog")
                    yield Static(id="report-heat")
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        # Tables above the charts when the charts would get too few columns beside them.
        self.set_class(event.size.width < NARROW, "-narrow")

    def on_mount(self) -> None:
        self.query_one("#report-body").focus()
        self.last = self._today()
        self.omni.report_choices(self._chosen)
        self.recompute()
        # A change that came too soon after a computation is caught up with here.
        self.set_interval(1.0, self._refresh_if_stale)

    # -- the period and the filters -----------------------------------------------------

    def _today(self) -> date:
        return self.omni.clock().astimezone(self.omni.tz).date()

    def wanted(self) -> ReportFilter:
        """The report the keys ask for now."""
        app = self.omni
        start, end = reports.period(None, self.last, zone=app.tz, now=app.clock(), days=self.days)
        return ReportFilter(
            start,
            end,
            channels=(self.channel,) if self.channel else (),
            tags=(self.tag,) if self.tag else (),
            agents=(self.agent,) if self.agent else (),
            business_hours=self.business_hours,
        )

    def recompute(self, *, quiet: bool = False) -> None:
        """Ask the app for the report of the period and filters chosen; the one shown stays
        until it arrives (``quiet``: and so does the status line, for a refresh)."""
        try:
            flt = self.wanted()
        except ReportError as exc:
            self._status(Text(str(exc), style="bold red"))
            return
        self._wanted = flt
        self._started = time.monotonic()
        self._computing, self._stale = True, False
        self._show_filters()
        if not quiet:
            self._status(Text(_("Computing the report…"), style="dim"))
        self.omni.compute_report(flt, self._computed, self._failed)

    def store_changed(self) -> None:
        """Another connection committed (the app's poll): compute the figures again, soon."""
        self._stale = True
        self._refresh_if_stale()

    def _refresh_if_stale(self) -> None:
        # Never while a report is computed, nor sooner than REFRESH_SECONDS after the last.
        if not self._stale or self._computing or self._checking or not self.is_mounted:
            return
        if time.monotonic() - self._started < REFRESH_SECONDS:
            return
        self._stale, self._checking = False, True
        self._check_changes()

    @work(thread=True, exclusive=True, group="report-changes", exit_on_error=False)
    def _check_changes(self) -> None:
        """Whether a message or an event was stored since the last refresh (two seeks):
        most commits are presence heartbeats and drafts, which change no figure."""
        try:
            mark: object = self.omni.reader.change_mark()
        except Exception:
            log.exception("reading the store's change mark failed")
            mark = None
        self.app.call_from_thread(self._changes_checked, mark)

    def _changes_checked(self, mark: object) -> None:
        self._checking = False
        if not self.is_attached or (mark is not None and mark == self._mark):
            return
        self._mark = mark
        self.omni.report_choices(self._chosen)  # a new tag or agent shows in the pickers
        self.recompute(quiet=True)

    def _chosen(self, choices: ReportChoices) -> None:
        if not self.is_attached:  # closed while the app's worker ran
            return
        self.choices = choices
        self._show_filters()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_move(self, direction: int) -> None:
        assert self.last is not None
        today = self._today()
        later = self.last + timedelta(days=direction * self.days)
        if later > today:
            if self.last >= today:
                self._status(Text(_("The period already ends today."), style="yellow"))
                return
            later = today
        self.last = later
        self.recompute()

    def action_length(self) -> None:
        at = PERIOD_DAYS.index(self.days) if self.days in PERIOD_DAYS else -1
        self.days = PERIOD_DAYS[(at + 1) % len(PERIOD_DAYS)]
        self.recompute()

    def action_channel(self) -> None:
        self.channel = _next(self.channel, sorted(self.channels_seen))
        self.recompute()

    def action_tag(self) -> None:
        tags = self.choices.tags if self.choices else ()
        if not tags:
            self._status(Text(_("No tags in the store to filter by."), style="yellow"))
            return
        self._pick("tag", _("Tag filter"), tags)

    def action_agent(self) -> None:
        agents = self.choices.agents if self.choices else ()
        if not agents:
            self._status(Text(_("No agents in the store to filter by."), style="yellow"))
            return
        self._pick("agent", _("Agent filter"), agents)

    def _pick(self, kind: Literal["tag", "agent"], title: str, names: Sequence[str]) -> None:
        """Open FilterPicker for the ``kind`` filter; a new choice computes the report."""
        current: str | None = getattr(self, kind)

        def picked(name: str | None) -> None:
            if name is not None and (name or None) != current:
                setattr(self, kind, name or None)
                self.recompute()

        self.app.push_screen(FilterPicker(title, names, current), picked)

    def action_business_hours(self) -> None:
        if self.choices is None or not self.choices.business_hours:
            said = _(
                "No [business_hours] in the config: durations count every hour. Add the "
                "opening hours there to count business hours only."
            )
            self._status(Text(said, style="yellow"))
            return
        self.business_hours = not self.business_hours
        self.recompute()

    def action_refresh(self) -> None:
        self.recompute()

    # -- showing ------------------------------------------------------------------------

    def _status(self, text: Text) -> None:
        self.query_one("#report-status", Static).update(VisualText(text, self.app))

    def _show_filters(self) -> None:
        """The period in the border title; the filters on the line under it."""
        flt = self._wanted
        if flt is None:
            return
        tz = self.omni.tz
        first = day(flt.start, tz)
        last = day(flt.end - timedelta(microseconds=1), tz)
        days = ngettext("{count} day", "{count} days", self.days).format(count=number(self.days))
        title = _("Report · {first} – {last} ({days})").format(first=first, last=last, days=days)
        show_title(self.query_one("#report-box"), title)
        everything = _("all")
        if self.choices is None:
            hours = "…"
        elif not self.choices.business_hours:
            hours = _("not configured")
        else:
            hours = _("on") if self.business_hours else _("off")
        parts = [
            _("channel: {channel}").format(
                channel=one_line(self.channel, 20) if self.channel else everything
            ),
            _("tag: {tag}").format(tag=one_line(self.tag, 40) if self.tag else everything),
            _("agent: {agent}").format(
                agent=one_line(self.agent, 40) if self.agent else everything
            ),
            _("business hours: {state}").format(state=hours),
        ]
        keys = _("[ ] period · p length · c channel · t tag · a agent · b hours · esc closes")
        line = Text.assemble((" · ".join(parts), "bold"), ("   " + keys, "dim"))
        self.query_one("#report-filters", Static).update(VisualText(line, self.app))

    def _failed(self, error: str) -> None:
        if not self.is_attached:  # closed while the app's worker ran
            return
        self._computing = False
        said = _("The report failed: {error}").format(error=one_line(error, 200))
        self._status(Text(said, style="bold red"))

    def _computed(self, found: Report) -> None:
        if not self.is_attached:  # closed while the app's worker ran
            return
        if found.filter != self._wanted:
            return  # an older report, finished after a key asked for another
        self._computing = False
        self.report = found
        self.channels_seen.update(found.channels)
        took = number(time.monotonic() - self._started, 2)
        now = self.omni.clock()
        said = _("As of {time} · computed in {seconds} s · days and hours in {zone}").format(
            time=clock_time(now, now, self.omni.tz), seconds=took, zone=found.zone
        )
        self._status(Text(said, style="dim"))
        shown = reports.sections(found)
        summary, agents, heat = shown[0], shown[1], shown[-1]
        self.query_one("#report-summary", Static).update(self._table(summary, numeric_from=1))
        self.query_one("#report-agents", Static).update(self._table(agents, numeric_from=1))
        self._draw_volume(found)
        self._draw_backlog(found)
        self.query_one("#report-heat", Static).update(
            heat_grid(found.hour_of_week, [row[0] for row in heat.rows], heat.title)
        )

    def _table(self, section: Section, *, numeric_from: int) -> Table:
        """A section as the CLI prints it; the cells from ``numeric_from`` on are numbers
        (in the console's digits, right-aligned)."""
        app = self.app
        table = Table(
            title=Text(section.title, style="bold"),
            title_justify="left",
            box=None,
            pad_edge=False,
            expand=False,
        )
        for index, column in enumerate(section.columns):
            numeric = index >= numeric_from
            table.add_column(
                VisualText(Text(column, style="dim"), app),
                justify="right" if numeric else "left",
                no_wrap=numeric,
            )
        if not section.rows:
            table.add_row(Text(_("nothing in this period"), style="dim"))
        for row in section.rows:
            table.add_row(
                *(
                    Text(digits(cell)) if index >= numeric_from else VisualText(Text(cell), app)
                    for index, cell in enumerate(row)
                )
            )
        return table

    def _draw_volume(self, found: Report) -> None:
        """Conversations opened a day (a week or month for long periods), stacked by channel."""
        plot = self.query_one("#report-volume", _plot_type())
        plt = cast(Any, plot.plt)  # its stub names stacked_bar's arguments wrongly
        plt.clear_figure()
        labels, series = volume_series(found)
        plt.title(_("Conversations opened, by channel"))
        if labels and any(any(values) for values in series.values()):
            channels = list(series)
            plt.stacked_bar(
                labels,
                [series[channel] for channel in channels],
                color=[channel_color(channel) for channel in channels],
                minimum=0,  # else a day without any shows a bar one row high
            )
            _integer_ticks(plt, max(sum(v) for v in zip(*series.values(), strict=True)))
        plot.refresh()
        # The legend under the chart: Plotext's own covers the first bars.
        legend = Text()
        for channel in series:
            red, green, blue = channel_color(channel)
            legend.append("██ ", style=f"rgb({red},{green},{blue})")
            legend.append(f"{one_line(channel, 20)}   ")
        self.query_one("#report-legend", Static).update(legend)

    def _draw_backlog(self, found: Report) -> None:
        plot = self.query_one("#report-backlog", _plot_type())
        plt = cast(Any, plot.plt)
        plt.clear_figure()
        plt.title(_("Open at the end of each day"))
        points = found.backlog
        if points:
            xs = list(range(len(points)))
            plt.plot(xs, [p.open for p in points], marker="braille")
            every = max(1, math.ceil(len(points) / 6))
            ticks = xs[::every]
            plt.xticks(ticks, [points[i].day.strftime("%m-%d") for i in ticks])
            _integer_ticks(plt, max(p.open for p in points))
        plot.refresh()


class FilterPicker(ModalScreen[str | None]):
    """All, or one of the store's tags or agents, for a report filter: typing narrows the
    list, enter applies the one highlighted, esc leaves the filter as it was. Dismissed
    with the name, ``ALL``, or None (cancelled)."""

    CSS_PATH = "report.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Cancel"), id="report-pick-close"),
        Binding("down", "move(1)", _("Next"), id="report-pick-down", show=False),
        Binding("up", "move(-1)", _("Previous"), id="report-pick-up", show=False),
    ]

    def __init__(self, title: str, names: Sequence[str], current: str | None) -> None:
        super().__init__()
        self._title = title
        self.names = tuple(names)
        self.current = current or ALL
        self.shown: list[str] = []
        """What each option stands for, in order (``ALL`` first)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="report-pick-box"):
            yield Input(placeholder=_("type to narrow the list"), id="report-pick-query")
            yield OptionList(id="report-pick-options")
            yield Static(
                Text(_("↑↓ choose · enter applies · esc cancels"), style="dim"),
                id="report-pick-info",
            )

    def on_mount(self) -> None:
        show_title(self.query_one("#report-pick-box"), self._title)
        self._show("")
        self.query_one(Input).focus()

    def _show(self, typed: str) -> None:
        """All, then the names holding what is typed; the current one marked ✓."""
        wanted = typed.strip().casefold()
        self.shown = [ALL, *(n for n in self.names if wanted in n.casefold())]
        options = self.query_one(OptionList)
        options.clear_options()
        for name in self.shown:
            label = Text(end="")
            label.append("✓ " if name == self.current else "  ", style="bold")
            if name == ALL:
                label.append(_("All"), style="italic")
            else:
                label.append_text(cell(one_line(name, 60)))
            options.add_option(Option(VisualText(label, self.app)))
        if wanted:  # the first name that fits (All would rarely be what is typed)
            options.highlighted = 1 if len(self.shown) > 1 else None
        else:
            options.highlighted = (
                self.shown.index(self.current) if self.current in self.shown else 0
            )

    @on(Input.Changed, "#report-pick-query")
    def _typed(self, event: Input.Changed) -> None:
        self._show(event.value)

    @on(Input.Submitted, "#report-pick-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        index = self.query_one(OptionList).highlighted
        if index is not None:
            self.dismiss(self.shown[index])

    @on(OptionList.OptionSelected, "#report-pick-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.shown[event.option_index])

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -1
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_close(self) -> None:
        self.dismiss(None)


def _plot_type() -> type[PlotextPlot]:
    from textual_plotext import PlotextPlot

    return PlotextPlot


def _next(current: str | None, choices: Sequence[str]) -> str | None:
    """The choice after ``current``: everything (None), then each in turn, then None."""
    if current is None:
        return choices[0] if choices else None
    try:
        at = list(choices).index(current)
    except ValueError:
        return None
    return choices[at + 1] if at + 1 < len(choices) else None


def volume_series(found: Report) -> tuple[list[str], dict[str, list[int]]]:
    """The volume chart's bars: one a day up to 31 days, else one a week (Monday first)
    up to 92, else one a month; and for each channel the conversations opened in each."""
    first, last = reports.local_days(found)
    span = (last - first).days + 1

    def bucket(when: date) -> date:
        if span <= 31:
            return when
        if span <= 92:
            return when - timedelta(days=when.weekday())
        return when.replace(day=1)

    buckets: list[date] = []
    when = first
    while when <= last:
        key = bucket(when)
        if not buckets or buckets[-1] != key:
            buckets.append(key)
        when += timedelta(days=1)
    position = {key: i for i, key in enumerate(buckets)}
    series: dict[str, list[int]] = {}
    for row in found.volume:
        counts = series.setdefault(row.channel, [0] * len(buckets))
        at = position.get(bucket(row.day))
        if at is not None:
            counts[at] += row.opened
    shape = "%Y-%m" if span > 92 else "%m-%d"
    return [key.strftime(shape) for key in buckets], dict(sorted(series.items()))


def channel_color(channel: str) -> tuple[int, int, int]:
    """A channel's colour in the charts: its mark's (widgets/channels.py)."""
    _letter, style = CHANNEL_MARKS.get(channel, OTHER_MARK)
    hexa = style.split("#", 1)[1][:6]
    return int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16)


def _integer_ticks(plt: Any, top: int) -> None:
    """Whole numbers on the y axis (Plotext would write 0.50 conversations)."""
    step = max(1, math.ceil(top / 5))
    ticks = list(range(0, top + step, step))
    plt.yticks(ticks, [str(t) for t in ticks])


def heat_grid(matrix: Sequence[Sequence[int]], days: Sequence[str], title: str) -> Text:
    """The hour-of-week grid: a row a day, two cells an hour, darker for busier hours."""
    busiest = max((n for row in matrix for n in row), default=0)
    width = max((len(name) for name in days), default=3)
    text = Text(title + "\n", style="bold")
    text.append(" " * (width + 1))
    for hour in range(0, 24, 3):
        text.append(digits(f"{hour:02d}").ljust(6), style="dim")
    text.append("\n")
    for name, row in zip(days, matrix, strict=True):
        text.append(name.ljust(width) + " ", style="dim")
        for count in row:
            level = 0 if not count else max(1, math.ceil(count * (len(HEAT) - 1) / busiest))
            text.append(HEAT[level] * 2, style="#d7875f" if level else "")
        text.append("\n")
    most = ngettext(
        "busiest hour: {count} customer message", "busiest hour: {count} customer messages", busiest
    ).format(count=number(busiest))
    text.append(f"{HEAT[1]} … {HEAT[-1]}  {most}", style="dim")
    return text
