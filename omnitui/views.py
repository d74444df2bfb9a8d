"""The inbox's views: which customers the list shows (All, Open, Mine, ..., a channel, a
saved search from the config).

A view is a search-language query (omnitui/query.py) read as a set of customers: those
with at least one conversation that matches it, listed newest activity first like the
whole list unless the view says otherwise (``View.order``: the SLA view lists the most
urgent first). The built-in views are queries too ("Mine" is ``assignee:me is:open``), so a
view and a search agree on what they mean; All and the channel views are not queries:
All is every customer, a channel view every customer with an address on that channel
(the list's own ``channels`` column, so it costs what the plain list costs).

Views are values: reads.py turns them into SQL, the view bar shows them, the config adds
saved ones (``[views.NAME] query = "tag:vip is:open"``). The built-in and channel views'
titles are msgids, translated where they are shown (``View.shown_title``); a saved view's
title is the config's, shown as written. The first paint shows the
built-in ones only; saved and channel views join once the config and the counts are
read, after it.

Must not import Textual, the store (sqlite3, SQLAlchemy) or any connector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from omnitui import i18n
from omnitui.i18n import N_, NP_, _

CHANNEL_TITLES = {
    # TRANSLATORS: the view bar's tabs (views of the customer list): keep them short.
    "email": NP_("view", "Email"),
    "telegram": NP_("view", "Telegram"),
    "webchat": NP_("view", "Web chat"),
    "phone": NP_("view", "Phone"),
}
"""Every channel a customer address can be on (query.CHANNELS), as the view bar names it
(msgids in the "view" context)."""
SAVED_PREFIX = "saved:"
CHANNEL_PREFIX = "channel:"
DIGIT_VIEWS = 9
"""Views 1-9 are picked by their digit; the rest by cycling."""
ORDER_ACTIVITY = "activity"
ORDER_DUE = "due"
"""``View.order``: by last activity, newest first; by SLA urgency (reads.py writes both)."""


class View(NamedTuple):
    """One entry of the view bar: ``id`` is stable (the bar and the palette key on it).
    (A NamedTuple: cheaper to define than a dataclass, on the way to the first paint.)"""

    id: str
    title: str
    query: str = ""
    """The search-language query the customers' conversations must match ("": none)."""
    channel: str = ""
    """For a channel view: the channel the customers have an address on."""
    key: str = ""
    """A key that picks the view (saved views, from the config); "" for none."""
    description: str = ""
    """A built-in view's description (a msgid); see ``shown_description``."""
    order: str = ORDER_ACTIVITY
    """How the list sorts the view's customers: ``ORDER_ACTIVITY`` (newest activity first)
    or ``ORDER_DUE`` (the earliest SLA target still to meet first, most overdue on top)."""

    @property
    def shown_title(self) -> str:
        """The title in the console's language; a saved view's as the config wrote it."""
        if self.id.startswith(SAVED_PREFIX) or not self.title:
            return self.title
        # Marked with NP_("view", ...) where the view is made; a channel not in
        # CHANNEL_TITLES has no msgid and stays as it is.
        return i18n.pgettext("view", self.title)

    @property
    def shown_description(self) -> str:
        """What the view lists, in the console's language (the command palette's line)."""
        if self.id.startswith(SAVED_PREFIX):
            return _("Saved search: {query}").format(query=self.query)
        if self.channel:
            return _("Customers with an address on {channel}").format(channel=self.shown_title)
        # A built-in view's description is an N_() msgid.
        return i18n._(self.description) if self.description else ""

    @property
    def follows_the_clock(self) -> bool:
        """Whether who is in the view, or their order, changes as time passes with no
        store change (SLA targets falling due: the SLA view, a saved ``sla:`` search)."""
        if self.order == ORDER_DUE:
            return True
        if not self.query:
            return False
        from omnitui.query import QueryError, parse  # the list's 20 s tick, not its first paint

        try:
            return parse(self.query).follows_the_clock
        except QueryError:  # a saved search the config got wrong: no clock to follow
            return False

    @property
    def lists_everyone(self) -> bool:
        """Whether the view is the whole list (All): the first paint's view."""
        return not self.query and not self.channel


# TRANSLATORS: the view bar's tabs (views of the customer list): keep them short.
ALL = View("all", NP_("view", "All"), description=N_("Every customer"))
OPEN = View(
    "open",
    NP_("view", "Open"),
    "is:open",
    description=N_("Customers with an open conversation"),
)
MINE = View(
    "mine",
    NP_("view", "Mine"),
    "assignee:me is:open",
    description=N_("Open conversations assigned to you"),
)
UNASSIGNED = View(
    "unassigned",
    NP_("view", "Unassigned"),
    "assignee:none is:open",
    description=N_("Open conversations nobody has taken"),
)
PENDING = View(
    "pending",
    NP_("view", "Pending"),
    "is:pending",
    description=N_("Conversations waiting on the customer"),
)
SNOOZED = View(
    "snoozed",
    NP_("view", "Snoozed"),
    "is:snoozed",
    description=N_("Conversations put away for now"),
)
RESOLVED = View(
    "resolved",
    NP_("view", "Resolved"),
    "is:resolved",
    description=N_("Customers with a resolved conversation"),
)
BUILT_IN = (ALL, OPEN, MINE, UNASSIGNED, PENDING, SNOOZED, RESOLVED)
"""The views every inbox has, in the bar's order (digits 1-7)."""
SLA = View(
    "sla",
    NP_("view", "SLA"),
    "sla:breaching",
    description=N_("Open conversations with an SLA target due within an hour or overdue"),
    order=ORDER_DUE,
)
"""Shown when the config has SLA policies, after the saved searches (``with_sla``); the
most overdue customer first, then the soonest due: what a team lead works through."""


def channel_view(channel: str) -> View:
    title = CHANNEL_TITLES.get(channel, channel.capitalize())
    return View(f"{CHANNEL_PREFIX}{channel}", title, channel=channel)


def saved_view(name: str, query: str, *, title: str = "", key: str = "") -> View:
    """A saved search from the config (``[views.NAME]``)."""
    return View(f"{SAVED_PREFIX}{name}", title or name, query, key=key)


def arrange(saved: Iterable[View], channels: Iterable[str]) -> list[View]:
    """The bar's views in order: the built-in ones, the saved searches (so their digits do
    not move when a channel appears), then one a channel present in the store."""
    ordered = [*BUILT_IN, *saved]
    ordered += [channel_view(c) for c in CHANNEL_TITLES if c in set(channels)]
    return ordered


def saved_views(config_views: Mapping[str, object]) -> list[View]:
    """The config's ``[views.NAME]`` tables (``config.models.SavedView``) as views."""
    found = []
    for name, table in config_views.items():
        query = str(getattr(table, "query", ""))
        title = str(getattr(table, "title", "") or "")
        key = str(getattr(table, "key", "") or "")
        found.append(saved_view(name, query, title=title, key=key))
    return found


def with_sla(saved: list[View], policies: Mapping[str, object]) -> list[View]:
    """The saved searches, and the SLA view after them when the config has policies
    (``[sla.NAME]``): it joins the bar where they do, so their digits never move."""
    return [*saved, SLA] if policies else saved


def compact_count(count: int) -> str:
    """A count in a few cells: 950, 9,500 -> 9.5k, 66,666 -> 67k, 1,200,000 -> 1.2M."""
    if count < 1_000:
        return str(count)
    if count < 10_000:
        return f"{count / 1_000:.1f}k".replace(".0k", "k")
    if count < 999_500:
        return f"{round(count / 1_000)}k"
    return f"{count / 1_000_000:.1f}M".replace(".0M", "M")
