"""The search screen (/): customers and messages as you type, enter opens the customer.

The query is omnitui/query.py's language (words, "phrases", -negation, fields such as
is:open or from:NAME), the same as `omnitui search`. It is parsed here, in the UI thread
(microseconds), so a malformed query shows its one-line error under the input at once
and the last good results stay; a good one is run by the Reader in a thread worker,
debounced. Names and excerpts are customer text and are built as Rich Text through
omnitui.text; with the right-to-left display on (omnitui.bidi) each column of a result is
put in visual order alone, the excerpt with its highlighted words (widgets/rtl.py). ctrl+b
acts on every conversation the query finds (not only those shown):
the bulk action of screens/bulk.py, asked and confirmed with the count.
Must not import the store or the network.
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from typing import ClassVar, Protocol

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.query import Context, Query, QueryError, parse
from omnitui.reads import SearchHit
from omnitui.text import one_line
from omnitui.widgets.channels import channel_name
from omnitui.widgets.rtl import VisualText, show_title
from omnitui.widgets.strips import cell
from omnitui.widgets.times import Clock, relative_time
from omnitui.widgets.workflow import status_word

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.15
LIMIT = 50
"""Customers and messages each (so at most 100 rows)."""
KIND_WIDTH = 8
"""Cells of the kind column ("customer", "message") before the name."""


class SearchSource(Protocol):
    def search_query(
        self, query: Query, limit: int = 50, *, context: Context | None = None
    ) -> list[SearchHit]: ...

    def search_conversations(
        self, query: str | Query, *, context: Context | None = None, limit: int | None = None
    ) -> list[int]: ...

    def tags(self, limit: int = 1000) -> list[str]: ...


BULK_LIMIT = 10_000
"""Conversations a bulk action on a search may change at most (inbox.BULK_LIMIT)."""


def hint() -> str:
    """What the search screen says before anything is typed."""
    return _(
        'Type to search. Words, "exact phrases", -not, and fields: from: to: channel: tag: '
        "is:open|pending|snoozed|resolved|unread assignee:me|none before:7d after:2026-01-31 "
        "has:attachment customer:"
    )


class SearchScreen(ModalScreen[SearchHit | None]):
    """Type to search; up/down pick a result; enter opens it; escape goes back."""

    CSS_PATH = "search.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Close"), id="search-close"),
        Binding("down", "next_hit", _("Next result"), id="search-down", show=False),
        Binding("up", "previous_hit", _("Previous result"), id="search-up", show=False),
        Binding("enter", "open_hit", _("Open customer"), id="search-open"),
        Binding("ctrl+b", "bulk", _("Bulk action on every result"), id="search-bulk"),
    ]

    class _Collected(Message, bubble=False):
        def __init__(self, query: Query, conversations: list[int]) -> None:
            super().__init__()
            self.query = query
            self.conversations = conversations

    class _Results(Message, bubble=False):
        def __init__(self, token: int, query: Query, hits: list[SearchHit]) -> None:
            super().__init__()
            self.token = token
            self.query = query
            self.hits = hits

    def __init__(
        self, source: SearchSource, *, clock: Clock, tz: tzinfo, agent: str | None = None
    ) -> None:
        super().__init__()
        self._source = source
        self._clock = clock
        self._tz = tz
        self._agent = agent
        self.hits: list[SearchHit] = []
        self.searched = ""
        """The query whose results are shown."""
        self.error: QueryError | None = None
        """Why the query in the input is malformed (shown under it), or None."""
        self._timer: Timer | None = None
        self._token = 0
        self._open_when_ready = False

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            yield Input(
                placeholder=_("Words, names, addresses; is:open from:NAME tag:NAME after:7d …"),
                id="search-input",
            )
            yield Static(id="search-error")
            yield OptionList(id="search-results")
            yield Static(id="search-info")

    def on_mount(self) -> None:
        show_title(self.query_one("#search-box"), _("Search"))
        self._info(Text(hint(), style="dim"))
        self.query_one(Input).focus()

    def _info(self, text: Text) -> None:
        self.query_one("#search-info", Static).update(VisualText(text, self.app))

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._search_now)

    def _search_now(self) -> bool:
        """Search for what the input holds; False when there is nothing to wait for (an
        empty or malformed query: the error is shown and the last results stay)."""
        self._timer = None
        text = self.query_one(Input).value
        try:
            query = parse(text)
        except QueryError as exc:
            # The token stays: a good query's search under way still lands.
            self._show_error(exc)
            return False
        self._token += 1
        self._show_error(None)
        if not query.terms:
            self._show(query, [])
            return False
        self._search(self._token, query, self._query_context())
        return True

    def _query_context(self) -> Context:
        agent = self._agent
        if agent is None:  # the app's agent (OmniApp.settings), for assignee:me
            agent = str(getattr(getattr(self.app, "settings", None), "agent", "") or "")
        return Context(agent=agent, tz=self._tz, now=self._clock())

    def _show_error(self, error: QueryError | None) -> None:
        self.error = error
        line = self.query_one("#search-error", Static)
        line.set_class(error is not None, "-shown")
        # The query may hold pasted customer text: one clean line, never markup.
        line.update(Text(one_line(str(error), 300), no_wrap=True) if error else Text())

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, token: int, query: Query, context: Context) -> None:
        try:
            hits = self._source.search_query(query, LIMIT, context=context)
        except Exception as exc:
            log.warning("search %r failed: %s", query.text, exc)
            hits = []
        self.post_message(self._Results(token, query, hits))

    @on(_Results)
    def _results(self, message: _Results) -> None:
        if message.token == self._token:
            self._show(message.query, message.hits)
            if self._open_when_ready:
                self._open_when_ready = False
                self.action_open_hit()

    def _show(self, query: Query, hits: list[SearchHit]) -> None:
        self.hits = hits
        self.searched = query.text
        results = self.query_one(OptionList)
        results.clear_options()
        words = query.highlights
        for index, hit in enumerate(hits):
            results.add_option(Option(self._prompt(hit, words), id=str(index)))
        if hits:
            results.highlighted = 0
            said = ngettext(
                "{count} results · enter opens · esc closes",
                "{count} results · enter opens · esc closes",
                len(hits),
            )
            self._info(Text(said.format(count=number(len(hits))), style="dim"))
        elif query.text.strip():
            self._info(Text(_("Nothing found."), style="dim"))
        else:
            self._info(Text(hint(), style="dim"))

    def _prompt(self, hit: SearchHit, words: list[str]) -> VisualText:
        # Columns, as in the customer list: each is a cell, in visual order alone.
        line = Text(end="")
        kind = _("customer") if hit.message_id is None else _("message")
        line.append_text(cell(kind, "dim"))
        # The kinds in one column: "customer" is the longer word in English.
        line.append(" " * max(2, KIND_WIDTH + 2 - cell_len(kind)), style="dim")
        line.append_text(cell(one_line(hit.name, 60) or _("(no name)"), "bold"))
        if hit.at is not None:
            line.append("  ")
            line.append_text(cell(relative_time(hit.at, self._clock(), self._tz), "dim"))
        status = status_word(hit.status) if hit.status else ""
        where = " · ".join(p for p in (channel_name(hit.channel), status) if p)
        if where:
            line.append("  ")
            line.append_text(cell(where, "dim"))
        excerpt = Text(one_line(hit.excerpt, 160), style="")
        excerpt.highlight_words(words, style="bold reverse", case_sensitive=False)
        line.append("\n          ")
        line.append_text(cell(excerpt))
        return VisualText(line, self.app)

    def _highlighted_hit(self) -> SearchHit | None:
        index = self.query_one(OptionList).highlighted
        if index is None or not 0 <= index < len(self.hits):
            return None
        return self.hits[index]

    def action_next_hit(self) -> None:
        results = self.query_one(OptionList)
        if results.option_count:
            results.action_cursor_down()

    def action_previous_hit(self) -> None:
        results = self.query_one(OptionList)
        if results.option_count:
            results.action_cursor_up()

    def action_open_hit(self) -> None:
        hit = self._highlighted_hit()
        if hit is not None:
            self.dismiss(hit)

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._timer is not None:  # enter before the debounce fired: search at once
            self._timer.stop()
            self._open_when_ready = self._search_now()
        elif self.error is not None:  # a malformed query: its error stays, nothing opens
            self.app.bell()
        elif self.searched != event.value:  # a search is under way: open its first result
            self._open_when_ready = True
        else:
            self.action_open_hit()

    @on(OptionList.OptionSelected, "#search-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open_hit()

    def action_close(self) -> None:
        self.dismiss(None)

    # -- a bulk action on every result -------------------------------------------------

    def action_bulk(self) -> None:
        """Act on every conversation the query in the input finds: they are collected in a
        worker, then the action is asked for and confirmed with their count."""
        try:
            query = parse(self.query_one(Input).value)
        except QueryError as exc:
            self._show_error(exc)
            self.app.bell()
            return
        if not query.terms:
            self._info(Text(_("Type a query first: the action applies to what it finds."), "dim"))
            return
        self._info(Text(_("Collecting every conversation the query finds…"), style="dim"))
        self._collect(query, self._query_context())

    @work(thread=True, exclusive=True, group="search-bulk", exit_on_error=False)
    def _collect(self, query: Query, context: Context) -> None:
        try:
            found = self._source.search_conversations(query, context=context, limit=BULK_LIMIT + 1)
        except Exception as exc:
            log.warning("collecting the conversations of %r failed: %s", query.text, exc)
            found = []
        self.post_message(self._Collected(query, found))

    @on(_Collected)
    def _collected(self, message: _Collected) -> None:
        from omnitui.screens.bulk import BulkChoice, ask_bulk, bulk_done

        found = message.conversations
        if not found:
            self._info(Text(_("The query finds no conversation to act on."), style="dim"))
            return
        if len(found) > BULK_LIMIT:
            too_many = _("More than {limit} conversations: narrow the query.")
            self._info(Text(too_many.format(limit=number(BULK_LIMIT)), "bold red"))
            return
        count = len(found)
        shown = one_line(message.query.text, 80)

        def apply(choice: BulkChoice) -> None:
            app = self.app
            bulk_apply = getattr(app, "bulk_apply", None)  # OmniApp's: the app owns writes
            if bulk_apply is None:
                return

            def done(conversations: int, changed: int) -> None:
                self._info(Text(bulk_done(changed, conversations)))

            def refused(error: str) -> None:
                said = _("Bulk action refused: {error}").format(error=one_line(error, 200))
                self._info(Text(said, "bold red"))

            bulk_apply(
                choice.action,
                conversations=found,
                add=choice.add,
                remove=choice.remove,
                done=done,
                refused=refused,
            )

        what = ngettext(
            "{count} conversation found by: {query}",
            "{count} conversations found by: {query}",
            count,
        )
        ask_bulk(
            self.app, what.format(count=number(count), query=shown), count, self._source.tags, apply
        )
