"""The knowledge base in the TUI (K, or "Knowledge base" in the command palette): the
entries the FAQ bot answers from, listed by slug with their question; a adds, e or enter
edits, d deletes. The form is the canned reply editor's (screens/canned.py) with a question
and an answer per language: ctrl+l goes to the next language.

The list is screens/library.py's; entries are read in thread workers through the
``KbSource`` given (the app's Reader); writes go through the callables given (the app's
workers). Questions and answers are the team's text, shown as plain Text all the same.
Must not import the store or the network.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static, TextArea

from omnitui.i18n import N_, _
from omnitui.kb import Entry, KbDetail, KbRow, Variant, check_entry
from omnitui.screens.library import (
    Delete,
    Done,
    LibraryForm,
    LibraryScreen,
    Refused,
    row_label,
)
from omnitui.text import clean, one_line
from omnitui.widgets.rtl import show_title


class KbSource(Protocol):
    def kb_entries(self, limit: int = 10_000) -> list[KbRow]: ...
    def kb_entry(self, entry_id: int) -> KbDetail | None: ...


class SaveKb(Protocol):
    def __call__(
        self, entry_id: int | None, entry: Entry, *, done: Done, refused: Refused
    ) -> None: ...


class KbScreen(LibraryScreen[KbRow, KbDetail]):
    """Every entry by slug; a adds, e (or enter) edits, d deletes."""

    DEFAULT_CSS = "KbScreen { align: center middle; background: $background 60%; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", _("Add an entry"), id="kb-add"),
        Binding("e", "edit", _("Edit the entry"), id="kb-edit"),
        Binding("d,delete", "delete", _("Delete the entry"), id="kb-delete"),
        Binding("escape,q", "close", _("Close"), id="kb-close"),
    ]

    def __init__(self, source: KbSource, save: SaveKb, delete: Delete) -> None:
        super().__init__(delete)
        self._source = source
        self._save = save

    def read_rows(self) -> list[KbRow]:
        return self._source.kb_entries()

    def read_item(self, item_id: int) -> KbDetail | None:
        return self._source.kb_entry(item_id)

    def label(self, row: KbRow) -> Text:
        return row_label(one_line(row.slug, 40), row.question, row.languages, row.tags)

    def form(self, item: KbDetail | None) -> KbForm:
        return KbForm(item, self._save)

    def words(self) -> dict[str, str]:
        return {
            "title": _("Knowledge base"),
            "info": _(
                "a adds · e / enter edits · d deletes · esc closes · the FAQ bot answers "
                "from these ([bot] in the config)"
            ),
            "empty": _("No entries yet: a adds one, or omnitui kb import DIR."),
            "none selected": _("No entry selected."),
            "gone": _("That entry is gone (deleted meanwhile?)"),
            "delete title": _("Delete knowledge base entry"),
        }

    def saved_said(self, name: str) -> str:
        return _("Saved {slug}").format(slug=name)

    def deleted_said(self, row: KbRow) -> str:
        return _("Deleted {slug}").format(slug=row.slug)

    def delete_question(self, row: KbRow) -> str:
        asked = _("Delete {slug} ({question}) in every language?")
        return asked.format(slug=row.slug, question=one_line(row.question, 80))


class KbForm(LibraryForm[Entry]):
    """One entry: slug, tags, and a question and an answer per language (ctrl+l goes to the
    next language; a language left empty has none). Saved with ctrl+s when it is a valid
    entry and the store takes it; dismissed with its slug (None: cancelled)."""

    DEFAULT_CSS = "KbForm { align: center middle; background: $background 60%; }"
    LANGUAGES_LABEL = N_("Language:")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", _("Save"), id="kb-form-save", priority=True),
        Binding("ctrl+l", "next_language", _("Next language"), id="kb-form-language"),
        Binding("escape", "close", _("Cancel"), id="kb-form-close"),
    ]

    def __init__(self, detail: KbDetail | None, save: SaveKb) -> None:
        super().__init__()
        self.detail = detail
        self._save = save
        # An Input and a TextArea draw what they hold as it is: no escape sequence in them.
        self.texts: dict[str, Variant] = {
            language: Variant(clean(variant.question), clean(variant.answer))
            for language, variant in (detail.entry.variants.items() if detail else ())
        }

    def compose(self) -> ComposeResult:
        row = self.detail.row if self.detail is not None else None
        shown = self.texts.get(self.language, Variant("", ""))
        with Vertical(id="canned-form-box", classes="canned-box"):
            yield Input(
                clean(row.slug) if row else "", placeholder=_("slug (refund)"), id="kb-slug"
            )
            yield Input(
                clean(" ".join(row.tags)) if row else "",
                placeholder=_("tags (space-separated)"),
                id="kb-tags",
            )
            yield Static(id="canned-languages")
            yield Input(
                shown.question,
                placeholder=_("question (other ways to ask it after |)"),
                id="kb-question",
            )
            yield TextArea(
                shown.answer,
                id="canned-body",
                soft_wrap=True,
                tab_behavior="focus",
                show_line_numbers=False,
            )
            yield Static(id="canned-form-error")
            yield Static(
                Text(
                    _(
                        "the answer below the question · ctrl+l next language · ctrl+s saves · "
                        "esc cancels"
                    ),
                    style="dim",
                ),
                classes="canned-info",
            )

    def on_mount(self) -> None:
        box = self.query_one("#canned-form-box")
        title = _("Edit knowledge base entry") if self.detail else _("New knowledge base entry")
        show_title(box, title)
        self.show_languages()
        self.query_one("#kb-slug" if self.detail is None else "#kb-question", Input).focus()

    def has_text(self, language: str) -> bool:
        text = self.texts.get(language)
        return text is not None and bool(text.question.strip() or text.answer.strip())

    def keep_text(self) -> None:
        question = self.query_one("#kb-question", Input).value
        answer = self.query_one("#canned-body", TextArea).text
        self.texts[self.language] = Variant(question, answer)

    def show_text(self) -> None:
        shown = self.texts.get(self.language, Variant("", ""))
        self.query_one("#kb-question", Input).value = shown.question
        self.query_one("#canned-body", TextArea).load_text(shown.answer)

    def checked(self) -> Entry:
        """What the form holds, checked (KbError says what is wrong)."""
        self.keep_text()
        return check_entry(
            Entry(
                self.query_one("#kb-slug", Input).value,
                tuple(self.query_one("#kb-tags", Input).value.replace(",", " ").split()),
                dict(self.texts),
            )
        )

    def store(self, item: Entry, *, done: Done, refused: Refused) -> None:
        entry_id = self.detail.row.id if self.detail is not None else None
        self._save(entry_id, item, done=done, refused=refused)

    def name_of(self, item: Entry) -> str:
        return item.slug
