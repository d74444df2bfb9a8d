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
    LANGUAGES,
    VARIABLES,
    CannedError,
    CannedReply,
    check_reply,
    pick_language,
    rank,
    render,
    values_for,
)
from omnitui.formatting import number
from omnitui.i18n import _
from omnitui.reads import CannedDetail, CannedRow
from omnitui.text import one_line
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


class CannedScreen(ModalScreen[None]):
    """The library: every canned reply by shortcut; a adds, e (or enter) edits, d deletes."""

    CSS_PATH = "canned.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", _("Add a reply"), id="canned-add"),
        Binding("e", "edit", _("Edit the reply"), id="canned-edit"),
        Binding("d,delete", "delete", _("Delete the reply"), id="canned-delete"),
        Binding("escape,q", "close", _("Close"), id="canned-close"),
    ]

    class _Listed(Message, bubble=False):
        def __init__(self, rows: list[CannedRow]) -> None:
            super().__init__()
            self.rows = rows

    class _Read(Message, bubble=False):
        def __init__(self, detail: CannedDetail | None) -> None:
            super().__init__()
            self.detail = detail

    def __init__(self, source: CannedSource, save: SaveCanned, delete: DeleteCanned) -> None:
        super().__init__()
        self._source = source
        self._save = save
        self._delete = delete
        self.rows: list[CannedRow] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="canned-box", classes="canned-box"):
            yield OptionList(id="canned-list")
            yield Static(id="canned-said")
            yield Static(
                Text(
                    _(
                        "a adds · e / enter edits · d deletes · esc closes · "
                        ":: in the composer inserts one"
                    ),
                    style="dim",
                ),
                classes="canned-info",
            )

    def on_mount(self) -> None:
        show_title(self.query_one("#canned-box"), _("Canned replies"))
        self.query_one(OptionList).focus()
        self.reload()

    def reload(self) -> None:
        self._read_list()

    @work(thread=True, exclusive=True, group="canned-editor-list", exit_on_error=False)
    def _read_list(self) -> None:
        try:
            rows = self._source.canned_replies()
        except Exception:
            _read_failed("the canned replies")
            rows = []
        self.post_message(self._Listed(rows))

    @on(_Listed)
    def _listed(self, message: _Listed) -> None:
        options = self.query_one(OptionList)
        kept = options.highlighted
        self.rows = message.rows
        options.clear_options()
        for row in message.rows:
            label = cell(f"::{one_line(row.shortcut, 40)}", "cyan")
            label.append("  ")
            label.append_text(cell(one_line(row.title, 70), "bold"))
            label.append(f"  {' '.join(row.languages)}")
            for index, tag in enumerate(row.tags):
                label.append(" " if index else "  ")
                label.append_text(cell(f"#{one_line(tag, 30)}", "dim"))
            options.add_option(Option(VisualText(label, self.app), id=str(row.id)))
        if message.rows:
            options.highlighted = min(kept or 0, len(message.rows) - 1)
        self.query_one(Vertical).border_subtitle = number(len(message.rows))
        if not message.rows:
            self.say(_("No canned replies yet: a adds one."), style="dim")

    def say(self, text: str, *, style: str = "") -> None:
        self.query_one("#canned-said", Static).update(
            Text(one_line(text, 300), style=style, no_wrap=True, overflow="ellipsis")
        )

    @property
    def said(self) -> str:
        return str(self.query_one("#canned-said", Static).content)

    def _selected(self) -> CannedRow | None:
        options = self.query_one(OptionList)
        if not self.rows or options.highlighted is None:
            self.say(_("No reply selected."), style="dim")
            return None
        return self.rows[options.highlighted]

    def action_add(self) -> None:
        self.app.push_screen(CannedForm(None, self._save), self._saved)

    def action_edit(self) -> None:
        row = self._selected()
        if row is not None:
            self._read_reply(row.id)

    @on(OptionList.OptionSelected, "#canned-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self._read_reply(int(event.option.id))

    @work(thread=True, exclusive=True, group="canned-editor-read", exit_on_error=False)
    def _read_reply(self, canned_id: int) -> None:
        try:
            detail = self._source.canned(canned_id)
        except Exception:
            _read_failed(f"canned reply {canned_id}")
            detail = None
        self.post_message(self._Read(detail))

    @on(_Read)
    def _read(self, message: _Read) -> None:
        if message.detail is None:
            self.say(_("That reply is gone (deleted meanwhile?)"), style="bold red")
            self.reload()
            return
        self.app.push_screen(CannedForm(message.detail, self._save), self._saved)

    def _saved(self, shortcut: str | None) -> None:
        if shortcut is not None:
            self.say(_("Saved ::{shortcut}").format(shortcut=shortcut), style="green")
            self.reload()

    def action_delete(self) -> None:
        row = self._selected()
        if row is None:
            return
        from omnitui.screens.workflow import ConfirmScreen

        def deleted() -> None:
            self.say(_("Deleted ::{shortcut}").format(shortcut=row.shortcut))
            self.reload()

        def answer(yes: bool | None) -> None:
            if yes:
                self._delete(
                    row.id,
                    done=deleted,
                    refused=lambda error: self.say(
                        _("Not deleted: {error}").format(error=error), style="bold red"
                    ),
                )

        asked = _("Delete ::{shortcut} ({title}) in every language?")
        question = Text(asked.format(shortcut=row.shortcut, title=row.title))
        self.app.push_screen(ConfirmScreen(_("Delete canned reply"), question), answer)

    def action_close(self) -> None:
        self.dismiss(None)


class CannedForm(ModalScreen[str | None]):
    """One reply: title, shortcut, tags, and a body per language (ctrl+l goes to the next
    language; a language left empty has no variant). Saved with ctrl+s when it is a
    valid reply and the store takes it; dismissed with its shortcut (None: cancelled)."""

    CSS_PATH = "canned.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", _("Save"), id="canned-form-save", priority=True),
        Binding("ctrl+l", "next_language", _("Next language"), id="canned-form-language"),
        Binding("escape", "close", _("Cancel"), id="canned-form-close"),
    ]

    def __init__(self, detail: CannedDetail | None, save: SaveCanned) -> None:
        super().__init__()
        self.detail = detail
        self._save = save
        self.bodies: dict[str, str] = dict(detail.variants) if detail else {}
        self.language = LANGUAGES[0]
        self.error = ""

    def compose(self) -> ComposeResult:
        row = self.detail.row if self.detail is not None else None
        with Vertical(id="canned-form-box", classes="canned-box"):
            yield Input(row.title if row else "", placeholder=_("title"), id="canned-title")
            yield Input(
                row.shortcut if row else "",
                placeholder=_("shortcut (::shortcut)"),
                id="canned-shortcut",
            )
            yield Input(
                " ".join(row.tags) if row else "",
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
        self._show_languages()
        self.query_one("#canned-title", Input).focus()

    def _show_languages(self) -> None:
        label = _("Body in:")
        line = Text(f"{label} ", style="dim", end="")
        for language in LANGUAGES:
            has = bool(self.bodies.get(language, "").strip())
            style = "bold reverse" if language == self.language else ("bold" if has else "dim")
            line.append(f" {language}{'' if has else '·'} ", style=style)
        self.query_one("#canned-languages", Static).update(line)

    def _keep_body(self) -> None:
        self.bodies[self.language] = self.query_one("#canned-body", TextArea).text

    def action_next_language(self) -> None:
        self._keep_body()
        self.language = LANGUAGES[(LANGUAGES.index(self.language) + 1) % len(LANGUAGES)]
        area = self.query_one("#canned-body", TextArea)
        area.load_text(self.bodies.get(self.language, ""))
        self._show_languages()

    def reply(self) -> CannedReply:
        """What the form holds, checked (CannedError says what is wrong)."""
        self._keep_body()
        return check_reply(
            CannedReply(
                self.query_one("#canned-title", Input).value,
                self.query_one("#canned-shortcut", Input).value,
                tuple(self.query_one("#canned-tags", Input).value.replace(",", " ").split()),
                {lang: body for lang, body in self.bodies.items() if body.strip()},
            )
        )

    def action_save(self) -> None:
        try:
            reply = self.reply()
        except CannedError as exc:
            self._show_error(str(exc))
            return
        self._show_error(_("Saving…"), style="dim")
        canned_id = self.detail.row.id if self.detail is not None else None

        def saved() -> None:
            self.dismiss(reply.shortcut)

        self._save(canned_id, reply, done=saved, refused=self._show_error)

    def _show_error(self, error: str, *, style: str = "bold red") -> None:
        self.error = error if style == "bold red" else ""
        self.query_one("#canned-form-error", Static).update(
            Text(one_line(error, 300), style=style, no_wrap=True, overflow="ellipsis")
        )

    def action_close(self) -> None:
        self.dismiss(None)
