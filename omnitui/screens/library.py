"""A library the team edits, as a modal list: every item by name; a adds, e or enter edits, d
deletes (after a yes); and the form of one item, with a text per language. The canned
replies (screens/canned.py) and the FAQ bot's knowledge base (screens/kb.py) are two; a
subclass says what its rows are, how they are read and labelled, which form edits one, and
its words.

Rows and items are read in thread workers (``read_rows``, ``read_item``: the app's Reader);
deletes go through the callable given (the app's worker). Must not import the store or the
network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from omnitui.canned import LANGUAGES, CannedError
from omnitui.formatting import number
from omnitui.i18n import _, translated
from omnitui.text import one_line
from omnitui.widgets.rtl import VisualText, show_title
from omnitui.widgets.strips import cell

log = logging.getLogger(__name__)

Done = Callable[[], None]
Refused = Callable[[str], None]


class Delete(Protocol):
    def __call__(self, item_id: int, /, *, done: Done, refused: Refused) -> None: ...


def row_label(key: str, name: str, languages: Sequence[str], tags: Sequence[str]) -> Text:
    """A row of a library's list: its ``key`` (``::shortcut``, slug) in cyan, its ``name``
    (title, question) in bold, its languages, then its tags."""
    label = cell(key, "cyan")
    label.append("  ")
    label.append_text(cell(one_line(name, 70), "bold"))
    label.append(f"  {' '.join(languages)}")
    for index, tag in enumerate(tags):
        label.append(" " if index else "  ")
        label.append_text(cell(f"#{one_line(tag, 30)}", "dim"))
    return label


class _Row(Protocol):
    @property
    def id(self) -> int: ...


RowT = TypeVar("RowT", bound=_Row)
ItemT = TypeVar("ItemT")


class LibraryScreen(ModalScreen[None], Generic[RowT, ItemT]):
    """The list; subclasses give the bindings (with their ids) and the hooks below."""

    CSS_PATH = "canned.tcss"

    class _Listed(Message, bubble=False):
        def __init__(self, rows: list[Any]) -> None:
            super().__init__()
            self.rows = rows

    class _Read(Message, bubble=False):
        def __init__(self, item: Any) -> None:
            super().__init__()
            self.item = item

    def __init__(self, delete: Delete) -> None:
        super().__init__()
        self._delete = delete
        self.rows: list[RowT] | None = None

    # -- what a library says and does (subclasses) --------------------------------------

    def read_rows(self) -> list[RowT]:
        raise NotImplementedError

    def read_item(self, item_id: int) -> ItemT | None:
        raise NotImplementedError

    def label(self, row: RowT) -> Text:
        """The row in the list (``row_label`` of its name, title or question, and more)."""
        raise NotImplementedError

    def form(self, item: ItemT | None) -> ModalScreen[str | None]:
        """The form that adds (``item`` None) or edits an item, dismissed with its name."""
        raise NotImplementedError

    def words(self) -> dict[str, str]:
        """The library's sentences, translated: "title", "info", "empty", "none selected",
        "gone", "delete title"."""
        raise NotImplementedError

    def saved_said(self, name: str) -> str:
        """Said when the form saved the item named ``name`` (what the form dismissed with)."""
        raise NotImplementedError

    def deleted_said(self, row: RowT) -> str:
        raise NotImplementedError

    def delete_question(self, row: RowT) -> str:
        raise NotImplementedError

    # -- the list -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="library-box", classes="canned-box"):
            yield OptionList(id="canned-list")
            yield Static(id="canned-said")
            yield Static(Text(self.words()["info"], style="dim"), classes="canned-info")

    def on_mount(self) -> None:
        show_title(self.query_one("#library-box"), self.words()["title"])
        self.query_one(OptionList).focus()
        self.reload()

    def reload(self) -> None:
        self._read_list()

    @work(thread=True, exclusive=True, group="library-list", exit_on_error=False)
    def _read_list(self) -> None:
        try:
            rows = self.read_rows()
        except Exception:
            log.exception("reading %s failed", type(self).__name__)
            rows = []
        self.post_message(self._Listed(rows))

    @on(_Listed)
    def _listed(self, message: _Listed) -> None:
        options = self.query_one(OptionList)
        kept = options.highlighted
        self.rows = message.rows
        options.clear_options()
        for row in message.rows:
            options.add_option(Option(VisualText(self.label(row), self.app), id=str(row.id)))
        if message.rows:
            options.highlighted = min(kept or 0, len(message.rows) - 1)
        self.query_one(Vertical).border_subtitle = number(len(message.rows))
        if not message.rows:
            self.say(self.words()["empty"], style="dim")

    def say(self, text: str, *, style: str = "") -> None:
        self.query_one("#canned-said", Static).update(
            Text(one_line(text, 300), style=style, no_wrap=True, overflow="ellipsis")
        )

    @property
    def said(self) -> str:
        return str(self.query_one("#canned-said", Static).content)

    def _selected(self) -> RowT | None:
        options = self.query_one(OptionList)
        if not self.rows or options.highlighted is None:
            self.say(self.words()["none selected"], style="dim")
            return None
        return self.rows[options.highlighted]

    # -- actions --------------------------------------------------------------------------

    def action_add(self) -> None:
        self.app.push_screen(self.form(None), self._saved)

    def action_edit(self) -> None:
        row = self._selected()
        if row is not None:
            self._read_one(row.id)

    @on(OptionList.OptionSelected, "#canned-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self._read_one(int(event.option.id))

    @work(thread=True, exclusive=True, group="library-read", exit_on_error=False)
    def _read_one(self, item_id: int) -> None:
        try:
            item = self.read_item(item_id)
        except Exception:
            log.exception("reading %s item %d failed", type(self).__name__, item_id)
            item = None
        self.post_message(self._Read(item))

    @on(_Read)
    def _read(self, message: _Read) -> None:
        if message.item is None:
            self.say(self.words()["gone"], style="bold red")
            self.reload()
            return
        self.app.push_screen(self.form(message.item), self._saved)

    def _saved(self, name: str | None) -> None:
        if name is not None:
            self.say(self.saved_said(name), style="green")
            self.reload()

    def action_delete(self) -> None:
        row = self._selected()
        if row is None:
            return
        from omnitui.screens.workflow import ConfirmScreen

        def deleted() -> None:
            self.say(self.deleted_said(row))
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

        question = Text(self.delete_question(row))
        self.app.push_screen(ConfirmScreen(self.words()["delete title"], question), answer)

    def action_close(self) -> None:
        self.dismiss(None)


class LibraryForm(ModalScreen[str | None], Generic[ItemT]):
    """One item with a text per language: ctrl+l goes to the next language (a language
    left empty has none), ctrl+s saves when ``checked`` takes it and the store does
    (dismissed with its name), esc cancels (None). Subclasses give the bindings, the
    fields (with a ``#canned-languages`` line and a ``#canned-form-error`` line) and the
    hooks below."""

    CSS_PATH = "canned.tcss"
    LANGUAGES_LABEL = ""
    """What the languages line starts with (translated where shown)."""

    def __init__(self) -> None:
        super().__init__()
        self.language = LANGUAGES[0]
        self.error = ""

    def has_text(self, language: str) -> bool:
        """Whether the form holds text in ``language``."""
        raise NotImplementedError

    def keep_text(self) -> None:
        """The fields of the language shown, into the form's texts."""
        raise NotImplementedError

    def show_text(self) -> None:
        """The fields, from the form's texts in ``language``."""
        raise NotImplementedError

    def checked(self) -> ItemT:
        """What the form holds, checked (a CannedError says what is wrong)."""
        raise NotImplementedError

    def store(self, item: ItemT, *, done: Done, refused: Refused) -> None:
        raise NotImplementedError

    def name_of(self, item: ItemT) -> str:
        raise NotImplementedError

    def show_languages(self) -> None:
        line = Text(f"{translated(self.LANGUAGES_LABEL)} ", style="dim", end="")
        for language in LANGUAGES:
            has = self.has_text(language)
            style = "bold reverse" if language == self.language else ("bold" if has else "dim")
            line.append(f" {language}{'' if has else '·'} ", style=style)
        self.query_one("#canned-languages", Static).update(line)

    def action_next_language(self) -> None:
        self.keep_text()
        self.language = LANGUAGES[(LANGUAGES.index(self.language) + 1) % len(LANGUAGES)]
        self.show_text()
        self.show_languages()

    def action_save(self) -> None:
        try:
            item = self.checked()
        except CannedError as exc:
            self._show_error(str(exc))
            return
        self._show_error(_("Saving…"), style="dim")
        name = self.name_of(item)

        def saved() -> None:
            self.dismiss(name)

        self.store(item, done=saved, refused=self._show_error)

    def _show_error(self, error: str, *, style: str = "bold red") -> None:
        self.error = error if style == "bold red" else ""
        self.query_one("#canned-form-error", Static).update(
            Text(one_line(error, 300), style=style, no_wrap=True, overflow="ellipsis")
        )

    def action_close(self) -> None:
        self.dismiss(None)
