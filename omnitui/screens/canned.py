"""Canned replies in the TUI: the picker that ``::`` in the composer opens, and the
editor (command palette: "Canned replies") that lists, adds, edits and deletes them.

The picker filters the library as the agent types (omnitui.canned.rank: shortcut, title
and tags, folded), and on enter fills the chosen reply's variant in the customer's
language (else the agent's ``[agent] language``, else English, else its first) with the
customer's values; a body it cannot fill (an unknown variable) is said on one line and
nothing is inserted. It is dismissed with a ``Picked``: the text, or None and the query
as typed (esc), which the composer then puts after its ``::``.

Lists and replies are read in thread workers through the ``CannedSource`` given (the
app's Reader); writes go through the callables given (the app's workers). Titles and
bodies are the team's text, shown as plain Text all the same, and with the right-to-left
display on (omnitui.bidi) each column of a row in visual order alone (a Persian title).
Must not import the store or the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from omnitui.canned import (
    VARIABLES,
    CannedError,
    CannedReply,
    check_reply,
    pick_language,
    rank,
    render,
    values_for,
)
from omnitui.i18n import N_, _
from omnitui.reads import CannedDetail, CannedRow
from omnitui.screens.library import LibraryForm, LibraryScreen, row_label
from omnitui.text import clean, one_line
from omnitui.widgets.rtl import VisualText, show_title
from omnitui.widgets.strips import cell

if TYPE_CHECKING:
    from omnitui.app import OmniApp
    from omnitui.widgets.composer import Composer

log = logging.getLogger(__name__)

SHOWN = 50
"""Replies listed in the picker at most (the best matches)."""


class CannedSource(Protocol):
    def canned_replies(self, limit: int = 10_000) -> list[CannedRow]: ...
    def canned(self, canned_id: int) -> CannedDetail | None: ...
    def customer_language(self, customer_id: int) -> str | None: ...


Done = Callable[[], None]
Refused = Callable[[str], None]


class SaveCanned(Protocol):
    def __call__(
        self, canned_id: int | None, reply: CannedReply, *, done: Done, refused: Refused
    ) -> None: ...


class DeleteCanned(Protocol):
    def __call__(self, canned_id: int, *, done: Done, refused: Refused) -> None: ...


@dataclass(frozen=True, slots=True)
class Picked:
    """What the picker closed with: the reply filled in (``text``), or None when the agent
    cancelled, and what they typed into it (``query``)."""

    text: str | None
    query: str
    missing: tuple[str, ...] = ()
    """Variables the customer has no value for, left in the text as written."""
    shortcut: str = ""
    language: str = ""


def open_picker(app: OmniApp, composer: Composer, wanted: Composer.CannedWanted) -> None:
    """``::`` in the composer: the picker for the customer the composer writes to; its
    choice replaces the ``::``, a cancel leaves what was typed."""
    detail = composer.detail
    if detail is None or detail.row.id != wanted.customer_id:
        return
    settings = app.settings
    picker = CannedPicker(
        app.reader,
        detail.row.id,
        values_for(detail, settings.agent),
        agent_language=settings.config.agent.language or None,
        typed=lambda: composer.take_typed_after(wanted),
    )

    def picked(result: Picked | None) -> None:
        if result is None or result.text is None:
            composer.type_back(wanted, result.query if result is not None else "")
        elif composer.insert_canned(wanted, result.text, result.missing):
            said = _("Inserted ::{shortcut} ({language})")
            app.inbox.notice(said.format(shortcut=result.shortcut, language=result.language))

    app.push_screen(picker, picked)


def _read_failed(what: str) -> None:
    log.exception("reading %s failed", what)


class CannedPicker(ModalScreen[Picked]):
    """Find a canned reply by a few letters of its shortcut, title or tags; enter inserts
    it filled in for the customer."""

    CSS_PATH = "canned.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Cancel (keeps what was typed)"), id="canned-picker-close"),
        Binding("down", "move(1)", _("Next reply"), id="canned-picker-down", show=False),
        Binding("up", "move(-1)", _("Previous reply"), id="canned-picker-up", show=False),
    ]

    class _Listed(Message, bubble=False):
        def __init__(self, rows: list[CannedRow], language: str | None) -> None:
            super().__init__()
            self.rows = rows
            self.language = language

    class _Read(Message, bubble=False):
        def __init__(self, detail: CannedDetail | None) -> None:
            super().__init__()
            self.detail = detail

    def __init__(
        self,
        source: CannedSource,
        customer_id: int,
        values: Mapping[str, str],
        *,
        agent_language: str | None = None,
        typed: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self._source = source
        self._typed_before = typed
        """What was typed after the ``::`` before the picker was up: its first query."""
        self.customer_id = customer_id
        self.values = dict(values)
        self.agent_language = agent_language
        self.customer_language: str | None = None
        self.rows: list[CannedRow] | None = None
        """The library (None until read)."""
        self.shown: list[CannedRow] = []
        self.error = ""
        self._enter_waiting = False
        """Enter was pressed before the library was read: pick once it is."""

    def compose(self) -> ComposeResult:
        with Vertical(id="canned-picker-box", classes="canned-box"):
            yield Input(placeholder=_("shortcut, title or tag"), id="canned-query")
            yield OptionList(id="canned-options")
            yield Static(id="canned-picker-error")
            yield Static(
                Text(_("↑↓ choose · enter inserts · esc cancels"), style="dim"),
                classes="canned-info",
            )

    def on_mount(self) -> None:
        show_title(self.query_one("#canned-picker-box"), _("Canned reply"))
        query = self.query_one(Input)
        if self._typed_before is not None:
            query.value = self._typed_before()
            query.cursor_position = len(query.value)
        query.focus()
        self._show_error(_("Reading the canned replies…"), style="dim")
        self._read_list()

    @work(thread=True, exclusive=True, group="canned-list", exit_on_error=False)
    def _read_list(self) -> None:
        try:
            rows = self._source.canned_replies()
            language = self._source.customer_language(self.customer_id)
        except Exception:
            _read_failed("the canned replies")
            rows, language = [], None
        self.post_message(self._Listed(rows, language))

    @on(_Listed)
    def _listed(self, message: _Listed) -> None:
        self.rows = message.rows
        self.customer_language = message.language
        self._show_error("")
        self._filter(self.query_one(Input).value)
        if self._enter_waiting:
            self._enter_waiting = False
            self._pick_highlighted()

    def _language(self, languages: tuple[str, ...]) -> str:
        return pick_language(languages, customer=self.customer_language, agent=self.agent_language)

    def _filter(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        rows = self.rows or []
        self.shown = rank(query, rows)[:SHOWN]
        for row in self.shown:
            options.add_option(Option(VisualText(self._label(row), self.app), id=str(row.id)))
        if self.shown:
            options.highlighted = 0
        elif not rows:
            self._show_error(
                _(
                    "No canned replies yet: add some (ctrl+p, Canned replies) or import a folder "
                    "(omnitui canned import DIR)."
                ),
                style="dim",
            )
        else:
            self._show_error(_("No canned reply fits."), style="dim")

    def _label(self, row: CannedRow) -> Text:
        label = cell(one_line(row.title, 70), "bold")
        label.append("  ")
        label.append_text(cell(f"::{one_line(row.shortcut, 40)}", "cyan"))
        if row.languages:
            chosen = self._language(row.languages)
            label.append("  ")
            for index, language in enumerate(row.languages):
                label.append(" " if index else "")
                label.append(language, style="bold reverse" if language == chosen else "dim")
        for index, tag in enumerate(row.tags):
            label.append(" " if index else "  ")
            label.append_text(cell(f"#{one_line(tag, 30)}", "dim"))
        return label

    @on(Input.Changed, "#canned-query")
    def _typed(self, event: Input.Changed) -> None:
        if self.rows is not None:
            self._show_error("")
            self._filter(event.value)

    @on(Input.Submitted, "#canned-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.rows is None:
            self._enter_waiting = True
            return
        self._pick_highlighted()

    @on(OptionList.OptionSelected, "#canned-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self._read_reply(int(event.option.id))

    def _pick_highlighted(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None or not self.shown:
            return
        self._read_reply(self.shown[options.highlighted].id)

    @work(thread=True, exclusive=True, group="canned-read", exit_on_error=False)
    def _read_reply(self, canned_id: int) -> None:
        try:
            detail = self._source.canned(canned_id)
        except Exception:
            _read_failed(f"canned reply {canned_id}")
            detail = None
        self.post_message(self._Read(detail))

    @on(_Read)
    def _read(self, message: _Read) -> None:
        detail = message.detail
        if detail is None or not detail.variants:
            self._show_error(_("That reply is gone (deleted meanwhile?)"))
            return
        shortcut = detail.row.shortcut
        language = self._language(tuple(detail.variants))
        try:
            rendered = render(detail.variants[language], self.values)
        except CannedError as exc:
            said = _("Not inserted: ::{shortcut} ({language}): {error}")
            self._show_error(said.format(shortcut=shortcut, language=language, error=exc))
            return
        query = self.query_one(Input).value
        self.dismiss(Picked(rendered.text, query, rendered.missing, shortcut, language))

    def _show_error(self, error: str, *, style: str = "bold red") -> None:
        self.error = error if style == "bold red" else ""
        self.query_one("#canned-picker-error", Static).update(
            Text(one_line(error, 300), style=style, no_wrap=True, overflow="ellipsis")
        )

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -1
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_close(self) -> None:
        self.dismiss(Picked(None, self.query_one(Input).value))


# ---------------------------------------------------------------------------
# The editor


class CannedScreen(LibraryScreen[CannedRow, CannedDetail]):
    """The library: every canned reply by shortcut; a adds, e (or enter) edits, d deletes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", _("Add a reply"), id="canned-add"),
        Binding("e", "edit", _("Edit the reply"), id="canned-edit"),
        Binding("d,delete", "delete", _("Delete the reply"), id="canned-delete"),
        Binding("escape,q", "close", _("Close"), id="canned-close"),
    ]

    def __init__(self, source: CannedSource, save: SaveCanned, delete: DeleteCanned) -> None:
        super().__init__(delete)
        self._source = source
        self._save = save

    def read_rows(self) -> list[CannedRow]:
        return self._source.canned_replies()

    def read_item(self, item_id: int) -> CannedDetail | None:
        return self._source.canned(item_id)

    def label(self, row: CannedRow) -> Text:
        return row_label(f"::{one_line(row.shortcut, 40)}", row.title, row.languages, row.tags)

    def form(self, item: CannedDetail | None) -> CannedForm:
        return CannedForm(item, self._save)

    def words(self) -> dict[str, str]:
        return {
            "title": _("Canned replies"),
            "info": _(
                "a adds · e / enter edits · d deletes · esc closes · :: in the composer inserts one"
            ),
            "empty": _("No canned replies yet: a adds one."),
            "none selected": _("No reply selected."),
            "gone": _("That reply is gone (deleted meanwhile?)"),
            "delete title": _("Delete canned reply"),
        }

    def saved_said(self, name: str) -> str:
        return _("Saved ::{shortcut}").format(shortcut=name)

    def deleted_said(self, row: CannedRow) -> str:
        return _("Deleted ::{shortcut}").format(shortcut=row.shortcut)

    def delete_question(self, row: CannedRow) -> str:
        asked = _("Delete ::{shortcut} ({title}) in every language?")
        return asked.format(shortcut=row.shortcut, title=row.title)


class CannedForm(LibraryForm[CannedReply]):
    """One reply: title, shortcut, tags, and a body per language (ctrl+l goes to the next
    language; a language left empty has no variant). Saved with ctrl+s when it is a
    valid reply and the store takes it; dismissed with its shortcut (None: cancelled)."""

    LANGUAGES_LABEL = N_("Body in:")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", _("Save"), id="canned-form-save", priority=True),
        Binding("ctrl+l", "next_language", _("Next language"), id="canned-form-language"),
        Binding("escape", "close", _("Cancel"), id="canned-form-close"),
    ]

    def __init__(self, detail: CannedDetail | None, save: SaveCanned) -> None:
        super().__init__()
        self.detail = detail
        self._save = save
        # An Input and a TextArea draw what they hold as it is: no escape sequence in them
        # (a reply imported from a folder is anybody's text).
        self.bodies: dict[str, str] = (
            {language: clean(body) for language, body in detail.variants.items()} if detail else {}
        )

    def compose(self) -> ComposeResult:
        row = self.detail.row if self.detail is not None else None
        with Vertical(id="canned-form-box", classes="canned-box"):
            yield Input(clean(row.title) if row else "", placeholder=_("title"), id="canned-title")
            yield Input(
                clean(row.shortcut) if row else "",
                placeholder=_("shortcut (::shortcut)"),
                id="canned-shortcut",
            )
            yield Input(
                clean(" ".join(row.tags)) if row else "",
                placeholder=_("tags (space-separated)"),
                id="canned-tags",
            )
            yield Static(id="canned-languages")
            yield TextArea(
                self.bodies.get(self.language, ""),
                id="canned-body",
                soft_wrap=True,
                tab_behavior="focus",
                show_line_numbers=False,
            )
            yield Static(id="canned-form-error")
            yield Static(
                Text(
                    _(
                        "variables: {variables} · {braces} for braces · ctrl+l next language · "
                        "ctrl+s saves · esc cancels"
                    ).format(
                        variables=" ".join(f"{{{name}}}" for name in VARIABLES), braces="{{ }}"
                    ),
                    style="dim",
                ),
                classes="canned-info",
            )

    def on_mount(self) -> None:
        box = self.query_one("#canned-form-box")
        show_title(box, _("Edit canned reply") if self.detail else _("New canned reply"))
        self.show_languages()
        self.query_one("#canned-title", Input).focus()

    def has_text(self, language: str) -> bool:
        return bool(self.bodies.get(language, "").strip())

    def keep_text(self) -> None:
        self.bodies[self.language] = self.query_one("#canned-body", TextArea).text

    def show_text(self) -> None:
        self.query_one("#canned-body", TextArea).load_text(self.bodies.get(self.language, ""))

    def checked(self) -> CannedReply:
        return self.reply()

    def reply(self) -> CannedReply:
        """What the form holds, checked (CannedError says what is wrong)."""
        self.keep_text()
        return check_reply(
            CannedReply(
                self.query_one("#canned-title", Input).value,
                self.query_one("#canned-shortcut", Input).value,
                tuple(self.query_one("#canned-tags", Input).value.replace(",", " ").split()),
                {lang: body for lang, body in self.bodies.items() if body.strip()},
            )
        )

    def store(self, item: CannedReply, *, done: Done, refused: Refused) -> None:
        canned_id = self.detail.row.id if self.detail is not None else None
        self._save(canned_id, item, done=done, refused=refused)

    def name_of(self, item: CannedReply) -> str:
        return item.shortcut
