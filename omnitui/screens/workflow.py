"""The small windows of the team workflow: whom to assign to (A), until when to snooze
(s), which tags (t), and a yes/no before marking spam (!).

Each is dismissed with what the agent chose (None: cancelled); the write itself is the
inbox screen's to ask the app for. Lists of agents and tags are read in thread workers
through callables the screen is given (the app's Reader). The snooze time is parsed on
every key by omnitui.when, so the agent sees the time it means, in their zone, before
enter. Names, tags and addresses may be anyone's text: shown through omnitui.text.

Must not import the store or the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.text import one_line
from omnitui.when import EXAMPLES, describe, parse_when
from omnitui.widgets.template import fill
from omnitui.widgets.times import Clock

log = logging.getLogger(__name__)

NOBODY = ""
"""What AssignScreen is dismissed with for "nobody" (None is: cancelled)."""
SHOWN_TAGS = 12
"""Tags listed when a tab completes to several."""


class _Listed(Message, bubble=False):
    """Names read in a worker (None: the read failed)."""

    def __init__(self, names: list[str] | None) -> None:
        super().__init__()
        self.names = names


def _read_names(read: Callable[[], list[str]], what: str) -> list[str] | None:
    try:
        return read()
    except Exception:
        log.exception("reading the %s failed", what)
        return None


class AssignScreen(ModalScreen[str | None]):
    """Whom the conversation goes to: yourself, an agent the store knows, nobody, or a
    name typed (the service refuses one it does not know)."""

    CSS_PATH = "workflow.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Cancel"), id="assign-close"),
        Binding("down", "options", _("Pick from the list"), id="assign-list", show=False),
    ]

    def __init__(self, list_agents: Callable[[], list[str]], me: str, current: str | None) -> None:
        super().__init__()
        self._list_agents = list_agents
        self.me = me
        self.current = current
        self.agents: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="assign-box", classes="workflow-box"):
            yield Static(id="assign-now")
            yield Input(placeholder=_("a name, or pick below"), id="assign-name")
            yield OptionList(id="assign-options")
            yield Static(
                Text(_("enter assigns · ↓ picks from the list · esc cancels"), style="dim"),
                classes="workflow-info",
            )

    def on_mount(self) -> None:
        self.query_one("#assign-box").border_title = _("Assign to")
        now = fill(
            _("Now: {assignee}"),
            base="dim",
            end="",
            assignee=(one_line(self.current, 60) if self.current else _("nobody"), "bold"),
        )
        self.query_one("#assign-now", Static).update(now)
        self._show_options("")
        self.query_one(Input).focus()
        self._read()

    @work(thread=True, exclusive=True, group="assign-read", exit_on_error=False)
    def _read(self) -> None:
        self.post_message(_Listed(_read_names(self._list_agents, "agents")))

    @on(_Listed)
    def _listed(self, message: _Listed) -> None:
        self.agents = [a for a in message.names or [] if a != self.me]
        self._show_options(self.query_one(Input).value)

    def _show_options(self, typed: str) -> None:
        """Yourself, the agents whose name holds what is typed, and nobody."""
        wanted = typed.strip().lower()
        options = self.query_one(OptionList)
        options.clear_options()
        rows = [(self.me, True), *((a, False) for a in self.agents)]
        for name, mine in rows:
            if wanted in name.lower():
                if mine:
                    label = (
                        _("me ({name})  (has it now)") if name == self.current else _("me ({name})")
                    )
                    label = label.format(name=one_line(name, 40))
                elif name == self.current:
                    label = _("{name}  (has it now)").format(name=one_line(name, 60))
                else:
                    label = one_line(name, 60)
                options.add_option(Option(Text(label), id=f"agent:{name}"))
        if self.current is not None:
            options.add_option(Option(Text(_("nobody (unassign)"), style="italic"), id="nobody"))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed, "#assign-name")
    def _typed(self, event: Input.Changed) -> None:
        self._show_options(event.value)

    @on(Input.Submitted, "#assign-name")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        options = self.query_one(OptionList)
        # The one agent whose name fits what is typed, else exactly what is typed.
        if typed and options.option_count == 1 and options.highlighted == 0:
            self._pick(options.get_option_at_index(0))
        elif typed:
            self.dismiss(typed)
        elif options.highlighted is not None:
            self._pick(options.get_option_at_index(options.highlighted))

    @on(OptionList.OptionSelected, "#assign-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(event.option)

    def _pick(self, option: Option) -> None:
        if option.id == "nobody":
            self.dismiss(NOBODY)
        elif option.id is not None:
            self.dismiss(option.id.removeprefix("agent:"))

    def action_options(self) -> None:
        self.query_one(OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class SnoozeScreen(ModalScreen[datetime | None]):
    """Until when: plain words read as the agent types ("2h", "tomorrow 9:00", "mon"),
    the time they mean shown in the agent's zone (or why they mean none) before enter."""

    CSS_PATH = "workflow.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Cancel"), id="snooze-close"),
    ]

    def __init__(self, clock: Clock, tz: tzinfo, current: datetime | None = None) -> None:
        super().__init__()
        self._clock = clock
        self._tz = tz
        self.current = current
        self.until: datetime | None = None
        """What the words typed mean now (None: nothing yet, or not understood)."""
        self.error = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="snooze-box", classes="workflow-box"):
            yield Input(placeholder=_("2h · tomorrow 9:00 · mon · fri 14:30"), id="snooze-when")
            yield Static(id="snooze-preview")
            yield Static(
                Text(
                    _("e.g. {examples} · enter snoozes · esc cancels").format(examples=EXAMPLES),
                    style="dim",
                ),
                classes="workflow-info",
            )

    def on_mount(self) -> None:
        box = self.query_one("#snooze-box")
        box.border_title = _("Snooze until")
        if self.current is not None:
            until = describe(self.current, self._clock(), self._tz)
            box.border_subtitle = _("now until {when}").format(when=until)
        self._show()
        self.query_one(Input).focus()

    @on(Input.Changed, "#snooze-when")
    def _typed(self, event: Input.Changed) -> None:
        self._parse(event.value)
        self._show()

    def _parse(self, typed: str) -> None:
        self.until, self.error = None, ""
        if not typed.strip():
            return
        try:
            self.until = parse_when(typed, self._clock(), self._tz)
        except ValueError as exc:
            self.error = str(exc)

    def _show(self) -> None:
        preview = self.query_one("#snooze-preview", Static)
        if self.until is not None:
            line = Text("→ ", style="bold", end="")
            line.append(describe(self.until, self._clock(), self._tz), style="bold green")
            words = _("enter snoozes")
            line.append(f"  {words}", style="dim")
        elif self.error:
            line = Text(one_line(self.error, 200), style="bold red")
        else:
            line = Text(_("Type when it should come back."), style="dim")
        preview.update(line)

    @on(Input.Submitted, "#snooze-when")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._parse(event.value or " ")
        if self.until is None and not self.error:
            self.error = _("say when: {examples}").format(examples=EXAMPLES)
        self._show()
        if self.until is not None:
            self.dismiss(self.until)

    def action_close(self) -> None:
        self.dismiss(None)


def complete_tag(typed: str, known: Sequence[str], current: Sequence[str]) -> tuple[str, list[str]]:
    """``typed`` with its last word completed as far as the tags that fit agree (a word
    after "-" from the conversation's own tags, else from every tag), and those tags."""
    head, _sep, word = typed.rpartition(" ")
    removing = word.startswith("-")
    stem = word.removeprefix("-").lower()
    pool = current if removing else known
    names = sorted(t for t in dict.fromkeys(pool) if t.startswith(stem))
    if not names:
        return typed, []
    common = names[0]
    for name in names[1:]:
        while not name.startswith(common):
            common = common[:-1]
    done = ("-" if removing else "") + common + (" " if len(names) == 1 else "")
    return (f"{head} {done}" if head else done), names


def split_tags(typed: str) -> tuple[list[str], list[str]]:
    """What the tag line asks for: words (or comma-separated) to add, "-word" to remove."""
    words = typed.replace(",", " ").split()
    add = [w for w in words if not w.startswith("-")]
    remove = [w[1:] for w in words if w.startswith("-") and len(w) > 1]
    return add, remove


class TagInput(Input):
    """The tag line: tab completes the last word from the tags in use."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", _("Complete the tag"), id="tags-complete", show=False),
    ]

    class Completed(Message):
        """A tab completion ran: the tags that still fit (several: none was chosen)."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    known: Sequence[str] = ()
    current: Sequence[str] = ()

    def action_complete(self) -> None:
        completed, names = complete_tag(self.value, self.known, self.current)
        if completed != self.value:
            self.value = completed
            self.cursor_position = len(completed)
        self.post_message(self.Completed(names))


class TagScreen(ModalScreen[tuple[list[str], list[str]] | None]):
    """The conversation's tags: words add, "-word" removes, tab completes from the tags
    in use; dismissed with (add, remove)."""

    CSS_PATH = "workflow.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Cancel"), id="tags-close"),
    ]

    def __init__(self, current: Sequence[str], list_tags: Callable[[], list[str]]) -> None:
        super().__init__()
        self.current = tuple(current)
        self._list_tags = list_tags

    def compose(self) -> ComposeResult:
        with Vertical(id="tags-box", classes="workflow-box"):
            yield Static(id="tags-now")
            yield TagInput(placeholder=_("vip billing -old"), id="tags-line")
            yield Static(id="tags-candidates")
            yield Static(
                Text(_("tab completes · -tag removes · enter saves · esc cancels"), style="dim"),
                classes="workflow-info",
            )

    def on_mount(self) -> None:
        self.query_one("#tags-box").border_title = _("Tags")
        if self.current:
            tags = (" ".join(f"#{one_line(t, 40)}" for t in self.current), "cyan")
        else:
            tags = (_("no tags"), "italic")
        now = fill(_("Now: {tags}"), base="dim", end="", tags=tags)
        self.query_one("#tags-now", Static).update(now)
        line = self.query_one(TagInput)
        line.current = self.current
        line.known = self.current
        line.focus()
        self._read()

    @work(thread=True, exclusive=True, group="tags-read", exit_on_error=False)
    def _read(self) -> None:
        self.post_message(_Listed(_read_names(self._list_tags, "tags")))

    @on(_Listed)
    def _listed(self, message: _Listed) -> None:
        self.query_one(TagInput).known = (*self.current, *(message.names or []))

    @on(TagInput.Completed)
    def _completed(self, message: TagInput.Completed) -> None:
        shown = self.query_one("#tags-candidates", Static)
        if not message.names:
            shown.update(Text(_("No tag starts so."), style="dim"))
        elif len(message.names) > 1:
            more = len(message.names) - SHOWN_TAGS
            text = " ".join(one_line(n, 40) for n in message.names[:SHOWN_TAGS])
            if more > 0:
                text = ngettext("{tags} … {count} more", "{tags} … {count} more", more).format(
                    tags=text, count=number(more)
                )
            shown.update(Text(text, style="dim"))
        else:
            shown.update("")

    @on(Input.Submitted, "#tags-line")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        add, remove = split_tags(event.value)
        self.dismiss((add, remove) if add or remove else None)

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question before a heavy action (y or enter: yes; n or esc: no)."""

    CSS_PATH = "workflow.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", _("Yes"), id="confirm-yes"),
        Binding("n,escape", "answer(False)", _("No"), id="confirm-no"),
    ]

    def __init__(self, title: str, question: Text) -> None:
        super().__init__()
        self._title = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="workflow-box"):
            yield Static(self.question, id="confirm-question")
            yield Static(
                Text(_("y / enter: yes · n / esc: no"), style="dim"), classes="workflow-info"
            )

    def on_mount(self) -> None:
        self.query_one("#confirm-box").border_title = self._title

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
