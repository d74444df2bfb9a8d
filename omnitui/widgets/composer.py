"""The composer under the history: a reply to the customer, or an internal note.

A reply goes to one of the customer's identities (an address on a channel); it
starts on the identity of the customer's last inbound message and the agent may
cycle through the others. An address that could not be reached (the user blocked the
bot) says why in red; a reply to it is still queued, since the user may have unblocked
the bot since. Files attached (ctrl+t, through the attach window) are listed under the
text, "📎 name · size", and go with the reply. Drafts, text and files, are kept per
customer while the TUI runs; they are cleared only when the app says the reply was
committed. The text (with the mode and the reply's address) is also saved to the store as
it is typed (``DraftChanged``, at most every ``DRAFT_SAVE_EVERY`` s, and when the agent
moves to another customer), so it survives a crash or a dropped SSH connection and is
restored (``restore_draft``) when the customer is opened again; attached files stay in
memory only. A send the inbox holds back (another agent writing to the customer, or a
reply of theirs since this draft began) says why on a line of its own (``hold``) and
keeps the text.

Canned replies: ``::`` in the text asks the screen for the picker (``CannedWanted``); the
reply picked, filled in for the customer, replaces the ``::`` (``insert_canned``), and a
cancelled pick leaves what the agent typed (``type_back``). A reply that still holds a
``{customer.…}``-like variable is not sent: the warning line says which and where.

The text area (Textual's TextArea: its import, CSS and first render) is not part of
the first paint: a look-alike of the same size holds its place until the inbox calls
``mount_area()`` after the first paint, or until the agent needs it (``r``, ``n``):
it is then mounted and focused at once, so the keys typed next go to it.

Must not import the store or the network.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.reads import CustomerDetail, IdentityRow
from omnitui.text import one_line
from omnitui.widgets.attachments import AttachedFile, attached_text
from omnitui.widgets.channels import channel_mark, channel_name
from omnitui.widgets.rtl import VisualText
from omnitui.widgets.strips import cell
from omnitui.widgets.template import fill

if TYPE_CHECKING:
    from textual.timer import Timer
    from textual.widgets import TextArea

    from omnitui.reads import DraftRow
    from omnitui.widgets.composer_area import ComposerArea

Mode = Literal["reply", "note"]

SHOWN_FILES = 4
"""Attached files listed under the text at most (the attach window lists them all)."""
TYPING_EVERY = 3.0
"""Seconds between two ``Typing`` (started) messages while the agent keeps typing."""
TYPING_IDLE = 5.0
"""Seconds without a keystroke after which the agent no longer counts as typing."""
DRAFT_SAVE_EVERY = 1.0
"""Seconds between two saves of the draft while the agent types (a crash loses at most
this much of it)."""


def __getattr__(name: str) -> Any:
    """``ComposerArea`` is importable from here, but loaded only when asked for."""
    if name == "ComposerArea":
        from omnitui.widgets.composer_area import ComposerArea

        return ComposerArea
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class AreaPlaceholder(Widget):
    """Looks like the empty, unfocused text area (same size and colours) until it is mounted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"composer--cursor-line"}

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        style = self.rich_style
        if y == 0:  # the text area highlights the line its cursor is on
            style = style + self.get_component_rich_style("composer--cursor-line")
        return Strip([Segment(" " * width, style)], width)


class Composer(Vertical):
    """The mode line (who the reply goes to, or "internal note") and the text area."""

    DEFAULT_CSS = """
    Composer {
        height: auto;
        & > #composer-mode { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
        & > #composer-files { display: none; height: auto; max-height: 5; padding: 0 1; }
        &.has-files > #composer-files { display: block; }
        & > #composer-warning {
            display: none; height: auto; max-height: 2; padding: 0 1;
            color: $text-warning; text-style: bold;
        }
        &.has-warning > #composer-warning { display: block; }
        & > ComposerArea { height: 6; border: none; padding: 0 1; }
        & > ComposerArea:focus { border: none; }
        & > AreaPlaceholder {
            height: 6; padding: 0 1; color: $foreground; background: $surface;
            & > .composer--cursor-line { background: $boost; }
        }
        &.note > #composer-mode { background: $warning 20%; }
        &.note > ComposerArea, &.note > AreaPlaceholder { background: $warning 8%; }
    }
    """

    mode: reactive[Mode] = reactive("reply")
    sending: reactive[bool] = reactive(False)

    class Submitted(Message):
        """The agent sends what the composer holds (a reply's files: ``attachments``)."""

        def __init__(
            self,
            mode: Mode,
            customer_id: int,
            body: str,
            identity_id: int | None,
            attachments: tuple[Path, ...] = (),
        ) -> None:
            super().__init__()
            self.mode = mode
            self.customer_id = customer_id
            self.body = body
            self.identity_id = identity_id
            self.attachments = attachments

    class AttachWanted(Message):
        """The agent wants to attach a file (the screen opens the attach window)."""

    class CannedWanted(Message):
        """The agent typed ``::`` in a reply or note to ``customer_id``: the screen opens the
        canned reply picker and hands its choice to ``insert_canned`` or ``type_back``."""

        def __init__(self, customer_id: int, start: tuple[int, int], end: tuple[int, int]) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.start = start
            self.end = end

    class Left(Message):
        """The agent left the composer (escape)."""

    class Typing(Message):
        """The agent is typing a reply to ``customer_id``, or stopped (the web chat shows the
        visitor "typing…"). While they type it comes again every ``TYPING_EVERY`` s, which
        keeps the store's record fresh; a stop comes once."""

        def __init__(self, customer_id: int, typing: bool) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.typing = typing

    class DraftChanged(Message):
        """The draft for ``customer_id`` is now this (an empty body: there is none): the app
        keeps it in the store. Posted at most every ``DRAFT_SAVE_EVERY`` s while the agent
        types, at once when they move to another customer or send."""

        def __init__(
            self,
            customer_id: int,
            body: str,
            mode: Mode,
            identity_id: int | None,
            started_at: datetime,
        ) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.body = body
            self.mode = mode
            self.identity_id = identity_id
            self.started_at = started_at

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: CustomerDetail | None = None
        self.identity_id: int | None = None
        self._drafts: dict[int, str] = {}
        self._draft_files: dict[int, list[AttachedFile]] = {}
        self._files: list[AttachedFile] = []
        self._area: ComposerArea | None = None
        self._text = ""
        """The text (a customer's draft) while the area is not mounted yet."""
        self._typing_to: int | None = None
        """The customer the agent was last said to be typing to (None: not typing)."""
        self._typing_said = 0.0
        self._typing_idle: Timer | None = None
        self._began: dict[int, datetime] = {}
        """When the agent began each customer's draft (the real time, as the store's)."""
        self._draft_save: Timer | None = None
        """The next save of the shown customer's draft, while one is due."""

    def compose(self) -> ComposeResult:
        yield Static(id="composer-mode")
        yield Static(id="composer-warning")
        yield AreaPlaceholder(id="composer-placeholder")
        yield Static(id="composer-files")

    def mount_area(self) -> ComposerArea:
        """The text area, put in its place-holder's place now if it is not there yet.

        The area is in the DOM when this returns (its Mount follows), so it can take the
        focus at once and keys sent to it wait in its queue until it has mounted.
        """
        if self._area is None:
            from omnitui.widgets.composer_area import ComposerArea

            area = ComposerArea(
                self._text,
                id="composer-text",
                soft_wrap=True,
                tab_behavior="focus",
                show_line_numbers=False,
            )
            self._area = area
            placeholder = self.query_one(AreaPlaceholder)
            self.mount(area, before=placeholder)
            placeholder.remove()
        return self._area

    @property
    def area(self) -> ComposerArea:
        """The text area (mounted now if it was not yet)."""
        return self.mount_area()

    @property
    def text(self) -> str:
        return self._area.text if self._area is not None else self._text

    def _load_text(self, text: str) -> None:
        if self._area is not None:
            self._area.load_text(text)
        else:
            self._text = text

    def on_mount(self) -> None:
        self._show_mode()
        self._show_files()

    def focus_input(self, mode: Mode) -> None:
        self.mode = mode
        # At once, not after the queued keys: the agent types right after r or n.
        self.screen.set_focus(self.area)

    @property
    def identity(self) -> IdentityRow | None:
        if self.detail is None:
            return None
        for identity in self.detail.identities:
            if identity.id == self.identity_id:
                return identity
        return None

    def set_detail(self, detail: CustomerDetail | None) -> None:
        """The customer the composer writes to (None: nobody selected)."""
        old = self.detail.row.id if self.detail is not None else None
        new = detail.row.id if detail is not None else None
        if old != new:
            self._stop_typing()
            self._save_draft_now()
            self.show_warning(None)
            if old is not None:
                self._drafts[old] = self.text
                if self._files:
                    self._draft_files[old] = self._files
            self._load_text(self._drafts.pop(new, "") if new is not None else "")
            self._files = self._draft_files.pop(new, []) if new is not None else []
            self.identity_id = None
            self._show_files()
        self.detail = detail
        known = {identity.id for identity in detail.identities} if detail else set()
        if self.identity_id not in known:
            self.identity_id = self._default_identity(detail)
        self._show_mode()

    @staticmethod
    def _default_identity(detail: CustomerDetail | None) -> int | None:
        if detail is None or not detail.identities:
            return None
        if detail.last_inbound_identity_id is not None:
            return detail.last_inbound_identity_id
        return detail.identities[0].id

    def cycle_channel(self) -> None:
        """Reply on the customer's next identity (address on a channel)."""
        if self.detail is None or not self.detail.identities:
            return
        ids = [identity.id for identity in self.detail.identities]
        index = ids.index(self.identity_id) if self.identity_id in ids else -1
        self.identity_id = ids[(index + 1) % len(ids)]
        self.mode = "reply"
        self._show_mode()
        if self.text.strip():
            self._draft_edited()

    # -- files --------------------------------------------------------------------------

    @property
    def files(self) -> tuple[AttachedFile, ...]:
        """The files attached to the reply to the customer shown."""
        return tuple(self._files)

    def set_files(self, customer_id: int, files: list[AttachedFile]) -> None:
        """The files attached to the reply to ``customer_id`` (kept as its draft when the
        composer shows someone else by now)."""
        current = self.detail.row.id if self.detail is not None else None
        if customer_id == current:
            self._files = list(files)
            self._show_files()
        elif files:
            self._draft_files[customer_id] = list(files)
        else:
            self._draft_files.pop(customer_id, None)

    def remove_last_file(self) -> AttachedFile | None:
        """Take the last attached file off the reply; None when there is none."""
        if not self._files:
            return None
        removed = self._files.pop()
        self._show_files()
        return removed

    def _show_files(self) -> None:
        if not self.is_mounted:
            return
        self.set_class(bool(self._files), "has-files")
        listing = Text(end="")
        files = self._files
        shown = files if len(files) <= SHOWN_FILES else files[: SHOWN_FILES - 1]
        for index, file in enumerate(shown):
            if index:
                listing.append("\n")
            listing.append_text(attached_text(file))
        if len(shown) < len(files):
            more = len(files) - len(shown)
            said = ngettext(
                "… and {count} more (the attach window lists them)",
                "… and {count} more (the attach window lists them)",
                more,
            )
            listing.append(f"\n{said.format(count=number(more))}", style="dim")
        if files and self.mode == "note":
            words = _("(files go with the reply, not with a note: ctrl+n)")
            listing.append(f"\n{words}", style="dim")
        self.query_one("#composer-files", Static).update(listing)

    # -- sending ---------------------------------------------------------------------------

    def sent(self, customer_id: int, body: str, attachments: tuple[Path, ...] = ()) -> None:
        """The app committed what was submitted: clear the text (unless the agent typed on)
        and take the files sent off the list (any attached since stay)."""
        self.sending = False
        current = self.detail.row.id if self.detail is not None else None
        self._draft_sent(customer_id, body)
        if current == customer_id:
            self._stop_typing()
            if self.text == body:
                if self._area is not None:
                    self._area.clear()
                else:
                    self._text = ""
            if attachments:
                self._files = [f for f in self._files if f.path not in attachments]
                self._show_files()
            return
        if self._drafts.get(customer_id) == body:
            del self._drafts[customer_id]
        kept = [f for f in self._draft_files.pop(customer_id, []) if f.path not in attachments]
        if kept:
            self._draft_files[customer_id] = kept

    def failed(self) -> None:
        self.sending = False

    def watch_mode(self, mode: Mode) -> None:
        if mode == "note":  # a note is never shown to the customer, nor is its writing
            self._stop_typing()
        self.set_class(mode == "note", "note")
        self._show_mode()
        self._show_files()

    def watch_sending(self) -> None:
        self._show_mode()

    def _show_mode(self) -> None:
        if not self.is_mounted:
            return
        label = self.query_one("#composer-mode", Static)
        if self.detail is None:
            label.update(Text(_("No customer selected"), style="italic"))
            return
        # The customer's words are cells: in visual order alone with the RTL display.
        name = cell(one_line(self.detail.row.name, 60), "bold")
        if self.mode == "note":
            line = fill(
                _("[b]NOTE[/b] on {customer} · internal, never sent to the customer"),
                markup=True,
                customer=name,
            )
        else:
            identity = self.identity
            if identity is None:
                line = fill(_("[b]Reply[/b] to {customer}"), markup=True, customer=name)
            else:
                address = Text.assemble(
                    channel_mark(identity.channel),
                    f" {one_line(channel_name(identity.channel), 20)} ",
                    cell(one_line(identity.address, 80), "bold"),
                )
                line = fill(
                    _("[b]Reply[/b] to {customer} via {address}"),
                    markup=True,
                    customer=name,
                    address=address,
                )
                if identity.handle:
                    line.append(f" (@{one_line(identity.handle, 40)})")
                if identity.claimed_email:
                    # Typed into the web chat's form, not proven: say so before the agent
                    # tells this visitor anything only that address's owner should know.
                    claimed = _("unverified: said they are {address}").format(
                        address=one_line(identity.claimed_email, 80)
                    )
                    line.append(f"  {claimed}", style="bold yellow")
                if identity.unreachable_reason:
                    # Shown, not enforced: the user may have unblocked the bot since.
                    unreachable = _("cannot reach: {reason}").format(
                        reason=one_line(identity.unreachable_reason, 80)
                    )
                    line.append(f"  {unreachable}", style="bold red")
            others = len(self.detail.identities) - 1
            if others > 0:
                more = ngettext(
                    "(+{count} more: c / ctrl+o)", "(+{count} more: c / ctrl+o)", others
                )
                line.append(f"  {more.format(count=number(others))}", style="dim")
        if self.sending:
            words = _("sending…")
            line.append(f"  {words}", style="italic")
        label.update(VisualText(line, self.app))

    def on_composer_area_submit(self, message: ComposerArea.Submit) -> None:
        message.stop()
        if self.detail is None or self.sending:
            return
        body = self.area.text
        files = tuple(f.path for f in self._files) if self.mode == "reply" else ()
        if not body.strip() and not files:
            self.app.notify(
                _("Nothing to send: the composer is empty."), severity="warning", markup=False
            )
            return
        if self.mode == "reply":  # a note is never sent: a placeholder in it harms no one
            from omnitui.canned import unfilled

            problem = unfilled(body)
            if problem is not None:
                self.show_warning(_("Not sent: {problem}").format(problem=problem))
                return
        self.sending = True
        self._stop_typing()
        self.post_message(
            self.Submitted(self.mode, self.detail.row.id, body, self.identity_id, files)
        )

    def on_composer_area_leave(self, message: ComposerArea.Leave) -> None:
        message.stop()
        self.post_message(self.Left())

    def on_composer_area_cycle_channel(self, message: ComposerArea.CycleChannel) -> None:
        message.stop()
        self.cycle_channel()

    def on_composer_area_toggle_mode(self, message: ComposerArea.ToggleMode) -> None:
        message.stop()
        self.mode = "note" if self.mode == "reply" else "reply"
        if self.text.strip():
            self._draft_edited()

    def on_composer_area_attach_file(self, message: ComposerArea.AttachFile) -> None:
        message.stop()
        self.post_message(self.AttachWanted())

    # -- canned replies ------------------------------------------------------------------

    def on_composer_area_canned_wanted(self, message: ComposerArea.CannedWanted) -> None:
        message.stop()
        if self.detail is not None:
            self.post_message(self.CannedWanted(self.detail.row.id, message.start, message.end))

    def _canned_place(self, wanted: CannedWanted) -> ComposerArea | None:
        """The text area, when the ``::`` asked for is still where it was (the same
        customer, the text unchanged there)."""
        area = self._area
        if area is None or self.detail is None or self.detail.row.id != wanted.customer_id:
            return None
        try:
            typed = area.get_text_range(wanted.start, wanted.end)
        except (ValueError, IndexError):
            return None
        return area if typed == "::" else None

    def insert_canned(self, wanted: CannedWanted, text: str, missing: tuple[str, ...] = ()) -> bool:
        """Put a canned reply, filled in, in place of the ``::`` that asked for it, the
        cursor after it; the variables it has no value for (``missing``) are said on the
        warning line. False when the ``::`` is gone (nothing is inserted then)."""
        area = self._canned_place(wanted)
        if area is None:
            return False
        result = area.replace(text, wanted.start, wanted.end)
        area.move_cursor(result.end_location)
        if missing:
            names = ", ".join(f"{{{name}}}" for name in missing)
            said = _("No value for {names} for this customer: replace it before sending")
            self.show_warning(said.format(names=names))
        else:
            self.show_warning(None)
        self._draft_edited()
        self.screen.set_focus(area)
        return True

    def take_typed_after(self, wanted: CannedWanted) -> str:
        """What the agent typed right after the ``::`` before the picker was up (fast typing
        outruns the screen), removed from the text: the picker's query starts with it."""
        area = self._canned_place(wanted)
        if area is None:
            return ""
        row, column = wanted.end
        line = area.document.get_line(row)
        cursor_row, cursor_column = area.cursor_location
        end = cursor_column if cursor_row == row and cursor_column > column else column
        typed = line[column:end]
        if not typed or any(c.isspace() for c in typed):
            return ""
        area.delete(wanted.end, (row, end))
        return typed

    def type_back(self, wanted: CannedWanted, query: str) -> None:
        """The pick was cancelled: what the agent typed into the picker follows the ``::``,
        as if typed here."""
        area = self._canned_place(wanted)
        if area is None:
            return
        if query:
            result = area.insert(query, wanted.end)
            area.move_cursor(result.end_location)
            self._draft_edited()
        self.screen.set_focus(area)

    # -- typing --------------------------------------------------------------------------

    def on_text_area_changed(self, message: TextArea.Changed) -> None:
        # Only the agent's own edits: a draft loaded on switching customers (the focus is
        # elsewhere then) is no typing.
        area = self._area
        if area is None or not area.has_focus:
            return
        self._draft_edited()
        if self.detail is None or self.mode != "reply" or not area.text.strip():
            self._stop_typing()
            return
        customer = self.detail.row.id
        if customer != self._typing_to:
            self._stop_typing()
        now = time.monotonic()
        if self._typing_to is None or now - self._typing_said >= TYPING_EVERY:
            self._typing_to, self._typing_said = customer, now
            self.post_message(self.Typing(customer, True))
        if self._typing_idle is not None:
            self._typing_idle.stop()
        self._typing_idle = self.set_timer(TYPING_IDLE, self._stop_typing)

    def _stop_typing(self) -> None:
        """The agent no longer types to the customer they did (said once)."""
        if self._typing_idle is not None:
            self._typing_idle.stop()
            self._typing_idle = None
        customer, self._typing_to = self._typing_to, None
        if customer is not None:
            self.post_message(self.Typing(customer, False))

    # -- drafts in the store, and sends held back -------------------------------------------

    def draft_started(self, customer_id: int) -> datetime | None:
        """When the agent began the draft for the customer (None: no draft in progress)."""
        return self._began.get(customer_id)

    def _draft_edited(self) -> None:
        """The agent changed the text: a save is due (at most every ``DRAFT_SAVE_EVERY`` s)."""
        if self.detail is None:
            return
        if self.text.strip():
            self._began.setdefault(self.detail.row.id, datetime.now(UTC))
        if self._draft_save is None:
            self._draft_save = self.set_timer(DRAFT_SAVE_EVERY, self._save_draft_now)

    def _save_draft_now(self) -> None:
        """Post the shown customer's draft if a save of it is due."""
        message = self.pending_draft()
        if self._draft_save is not None:
            self._draft_save.stop()
            self._draft_save = None
        if message is not None:
            self.post_message(message)

    def pending_draft(self) -> DraftChanged | None:
        """The shown customer's draft as it is now, when a save of it is due (the inbox
        hands it to the app when it closes, since a message posted then is never handled)."""
        if self.detail is None or self._draft_save is None:
            return None
        customer = self.detail.row.id
        body = self.text
        if not body.strip():
            self._began.pop(customer, None)
            body = ""
        started = self._began.get(customer) or datetime.now(UTC)
        return self.DraftChanged(customer, body, self.mode, self.identity_id, started)

    def _draft_sent(self, customer_id: int, body: str) -> None:
        """What was sent is no draft any more (text typed on since is one still, saved as
        it is typed)."""
        current = self.detail.row.id if self.detail is not None else None
        left = self.text if current == customer_id else self._drafts.get(customer_id, "")
        if left != body and left.strip():
            return
        if current == customer_id:
            self.show_warning(None)
            if self._draft_save is not None:
                self._draft_save.stop()
                self._draft_save = None
        started = self._began.pop(customer_id, None) or datetime.now(UTC)
        self.post_message(self.DraftChanged(customer_id, "", self.mode, None, started))

    def restore_draft(self, draft: DraftRow) -> None:
        """Put back the draft the store kept for the customer (after a crash, or from another
        session of the agent), unless the composer holds text for them already."""
        if self.detail is None or self.detail.row.id != draft.customer_id:
            return
        if self.text.strip() or not draft.body.strip():
            return
        self._load_text(draft.body)
        self._began[draft.customer_id] = draft.started_at
        self.mode = "note" if draft.mode == "note" else "reply"
        if draft.identity_id in {identity.id for identity in self.detail.identities}:
            self.identity_id = draft.identity_id
        self._show_mode()

    def read_up_to(self, customer_id: int, at: datetime) -> None:
        """The agent was shown what others sent the customer until ``at``: the draft counts
        as begun then (so the next send goes, unless someone sends again), saved at once."""
        began = self._began[customer_id] = max(at, self._began.get(customer_id, at))
        current = self.detail.row.id if self.detail is not None else None
        if current == customer_id and self.text.strip():
            self.post_message(
                self.DraftChanged(customer_id, self.text, self.mode, self.identity_id, began)
            )

    def hold(self, warning: str) -> None:
        """The send was held back: say why (plain text; the caller passes names through
        omnitui.text); the text stays and the next send tries again."""
        self.sending = False
        self.show_warning(warning)

    def show_warning(self, warning: str | None) -> None:
        """A one-line warning above the text (None hides it)."""
        self.set_class(warning is not None, "has-warning")
        if self.is_mounted:
            self.query_one("#composer-warning", Static).update(
                Text(warning or "", end="", no_wrap=True, overflow="ellipsis")
            )

    @property
    def warning(self) -> str:
        """The warning shown now ("" when none)."""
        if not self.has_class("has-warning") or not self.is_mounted:
            return ""
        return str(self.query_one("#composer-warning", Static).content)
