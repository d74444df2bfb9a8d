"""The customer screen (i in the inbox): the customer's name and notes to edit, their
addresses (link one, unlink one), merging them into another customer after a preview of
what moves, and unmerging what was merged into them. Also the small windows it opens: the
customer picker, the merge preview, the unlink choice and the address to link.

Reads go through the app's Reader in thread workers (and again whenever the store
changes); writes are the app's (each a worker; a refusal is shown on the screen's notice
line). Names, notes, addresses and display names are customer text: shown through
omnitui.text, never as markup, and with the right-to-left display on (omnitui.bidi) in
visual order, each a cell of its line (widgets/rtl.py). The name and notes fields keep the
order they are typed in while they are edited; the notes show in visual order otherwise.
Must not import the store or the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, ClassVar, Protocol, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from omnitui.bidi import RtlDisplay, has_rtl
from omnitui.calls import normalize_number
from omnitui.formatting import number
from omnitui.i18n import _, ngettext
from omnitui.reads import CustomerIdentity, CustomerInfo, MergePreview, MergeRow, SearchHit
from omnitui.text import clean, one_line
from omnitui.widgets.channels import CHANNEL_MARKS, channel_mark, channel_name
from omnitui.widgets.footer import Footer
from omnitui.widgets.rtl import VisualText, app_rtl, show_title
from omnitui.widgets.strips import cell
from omnitui.widgets.template import fill
from omnitui.widgets.times import local_time

if TYPE_CHECKING:
    from omnitui.app import OmniApp

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
"""How often the screen looks for other commits (another agent's edit, a merge)."""
DEBOUNCE_SECONDS = 0.2
"""The customer picker searches this long after the last key."""
PICKER_LIMIT = 20


def parse_address(typed: str) -> tuple[str, str]:
    """What the link window's words mean: "telegram 500600", "email x@y.az", "phone
    +994…", or an email address or phone number alone. ValueError says what is wrong."""
    words = typed.split()
    if not words:
        raise ValueError(_("type an address, e.g. telegram 500600 or name@example.az"))
    if len(words) == 1:
        (address,) = words
        if "@" in address:
            return "email", address.lower()
        if address.startswith("+") and address[1:].isdigit():
            return "phone", normalize_number(address)
        raise ValueError(
            _("say which channel: email, telegram, webchat or phone, then the address")
        )
    channel, address = words[0].lower(), " ".join(words[1:])
    if channel not in CHANNEL_MARKS:
        raise ValueError(
            _("{channel!r} is no channel: email, telegram, webchat, phone").format(
                channel=one_line(channel, 20)
            )
        )
    if channel == "email":
        if "@" not in address or " " in address:
            raise ValueError(
                _("{address!r} is no email address").format(address=one_line(address, 60))
            )
        address = address.lower()
    if channel == "phone":
        address = normalize_number(address)  # as the service stores it
    return channel, address


def identity_text(identity: CustomerIdentity, *, alone: bool = True) -> Text:
    """One address as the customer screen and the merge preview list it: its channel mark,
    the address, the name it goes by and its marks (unverified, blocked, unreachable)."""
    line = Text(end="")
    line.append_text(channel_mark(identity.channel))
    line.append(f" {one_line(channel_name(identity.channel), 20)} ", style="dim")
    line.append_text(cell(one_line(identity.address, 60), "bold"))
    if identity.display_name:
        line.append("  ")
        line.append_text(cell(one_line(identity.display_name, 40)))
    if identity.handle:
        line.append("  ")
        line.append_text(cell(f"@{one_line(identity.handle, 30)}", "dim"))
    if identity.claimed_email:
        claimed = _("unverified: said they are {address}")
        line.append("  ")
        address = one_line(identity.claimed_email, 60)
        line.append_text(cell(claimed.format(address=address), "yellow"))
    if identity.blocked:
        blocked = _("blocked")
        line.append("  ⊘ ", style="bold red")
        line.append_text(cell(blocked, "bold red"))
    if identity.unreachable_reason:
        unreachable = _("unreachable: {reason}")
        line.append("  ")
        reason = one_line(identity.unreachable_reason, 60)
        line.append_text(cell(unreachable.format(reason=reason), "yellow"))
    if alone and identity.alone_in:
        count = identity.alone_in
        said = ngettext("alone in {count} conversation", "alone in {count} conversations", count)
        line.append("  · ", style="dim")
        line.append_text(cell(said.format(count=number(count)), "dim"))
    return line


def counted(count: int, noun: str) -> str:
    """ "1 address", "3 conversations" (the nouns these screens count: address,
    conversation, message)."""
    if noun == "address":
        said = ngettext("{count} address", "{count} addresses", count)
    elif noun == "conversation":
        said = ngettext("{count} conversation", "{count} conversations", count)
    else:
        said = ngettext("{count} message", "{count} messages", count)
    return said.format(count=number(count))


def _name(name: str, customer_id: int) -> str:
    shown = one_line(name, 60) or _("(no name)")
    return f"{shown} (#{customer_id})"


def _moved(identities: int, conversations: int, messages: int) -> str:
    # TRANSLATORS: each placeholder is a count with its noun ("2 addresses").
    said = _("{addresses}, {conversations}, {messages}")
    return said.format(
        addresses=counted(identities, "address"),
        conversations=counted(conversations, "conversation"),
        messages=counted(messages, "message"),
    )


class NotesShown(Static, can_focus=True):
    """The customer's notes in visual order, in the notes field's place while it is not
    edited; focused (tab, a click), it gives the field back."""


class CustomerSearch(Protocol):
    def search(self, query: str, limit: int = 50) -> list[SearchHit]: ...


class CustomerScreen(Screen[int | None]):
    """One customer whole. Dismissed with the customer to show in the inbox (the one it was
    merged into, after a merge)."""

    CSS_PATH = "customer.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", _("Back"), id="customer-close"),
        Binding("ctrl+s", "save", _("Save"), id="customer-save", priority=True),
        Binding("e", "edit", _("Edit name, notes"), id="customer-edit"),
        Binding("l", "link", _("Link address"), id="customer-link"),
        Binding("u", "unlink", _("Unlink address"), id="customer-unlink"),
        Binding("m", "merge", _("Merge into…"), id="customer-merge"),
        Binding("U", "unmerge", _("Unmerge"), id="customer-unmerge"),
    ]

    class _Loaded(Message, bubble=False):
        def __init__(self, customer_id: int, info: CustomerInfo | None) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.info = info

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.info: CustomerInfo | None = None
        """The customer as last read (None until then)."""
        self._reset_fields = True
        """The next read replaces what the name and notes fields hold."""
        self._name_from = ""
        self._notes_from = ""
        """The stored name and notes the fields last showed: what an edit starts from."""
        self._warned_unsaved = False
        self._version: int | None = None

    @property
    def omni(self) -> OmniApp:
        return cast("OmniApp", self.app)

    def compose(self) -> ComposeResult:
        never_sent = _("the team's, never sent")
        with Vertical(id="customer-box"):
            yield Static(id="customer-title")
            yield Static(id="customer-language")
            yield Static(Text(_("Name"), style="bold"), classes="customer-label")
            yield Input(placeholder=_("the customer's name"), id="customer-name")
            yield Static(
                Text.assemble((_("Notes"), "bold"), (f"  {never_sent}", "dim")),
                classes="customer-label",
            )
            yield TextArea(id="customer-notes", soft_wrap=True)
            yield NotesShown(id="customer-notes-shown")
            yield Static(Text(_("Addresses"), style="bold"), classes="customer-label")
            yield OptionList(id="customer-identities")
            yield Static(Text(_("Merges"), style="bold"), classes="customer-label")
            yield OptionList(id="customer-merges")
            yield Static(id="customer-notice")
        yield Footer()

    def on_mount(self) -> None:
        show_title(self.query_one("#customer-box"), _("Customer"))
        self.query_one("#customer-identities", OptionList).focus()
        self.notice(Text(_("Reading the customer…"), style="dim"))
        self.reload()
        self.set_interval(POLL_SECONDS, self._poll)

    def notice(self, text: Text | str) -> None:
        shown = text if isinstance(text, Text) else Text(text)
        self.query_one("#customer-notice", Static).update(shown)

    def _done(self, said: str) -> Callable[[], None]:
        """Say what was done, and read the customer again at once."""

        def done() -> None:
            self.notice(Text(said, style="bold green"))
            self.reload()

        return done

    def _refused(self, said: str) -> Callable[[str], None]:
        """Say a refusal on the notice line: ``said`` has an ``{error}`` placeholder."""

        def show(error: str) -> None:
            self.notice(Text(said.format(error=one_line(error, 200)), style="bold red"))

        return show

    # -- reading --------------------------------------------------------------------------

    def reload(self) -> None:
        self._read(self.customer_id)

    def _poll(self) -> None:
        try:
            version = self.omni.reader.data_version()
        except Exception:
            log.exception("polling the store failed")
            return
        if version != self._version:
            self._version = version
            self.reload()

    @work(thread=True, exclusive=True, group="customer-read", exit_on_error=False)
    def _read(self, customer_id: int) -> None:
        try:
            info = self.omni.reader.customer_info(customer_id)
        except Exception:
            log.exception("reading customer %d failed", customer_id)
            return
        self.post_message(self._Loaded(customer_id, info))

    @on(_Loaded)
    def _loaded(self, message: _Loaded) -> None:
        if message.customer_id != self.customer_id:
            return  # the screen moved on to another customer meanwhile
        info = message.info
        if info is None:
            said = _("There is no customer #{id}.").format(id=self.customer_id)
            self.notice(Text(said, style="bold red"))
            return
        if info.merged_into_id is not None:  # merged away, by someone else perhaps
            said = _("Customer #{id} was merged into #{target}: shown here")
            self.notice(said.format(id=info.id, target=info.merged_into_id))
            self.customer_id = info.merged_into_id
            self._reset_fields = True
            self.reload()
            return
        before, self.info = self.info, info
        self._show_fields(before, info)
        self._show_identities(info)
        self._show_merges(info)
        title = cell(one_line(info.name, 80) or _("(no name)"), "bold")
        title.append(f"  #{info.id}", style="dim")
        conversations = counted(info.conversations, "conversation")
        title.append(
            f"  · {conversations} · {counted(info.messages, 'message')}",
            style="dim",
        )
        self.query_one("#customer-title", Static).update(VisualText(title, self.app))
        language = fill(
            _("Language: {language}"), "bold", language=(info.language or _("not known"), "")
        )
        if info.language:
            words = _("(detected)")
            language.append(f" {words}", style="dim")
        self.query_one("#customer-language", Static).update(language)
        if before is None:
            hint = _("e edits · ctrl+s saves · l links · u unlinks · m merges")
            self.notice(Text(hint, "dim"))

    def _show_fields(self, before: CustomerInfo | None, info: CustomerInfo) -> None:
        """The stored name and notes, unless the agent is editing them (their text stays)."""
        name = self.query_one("#customer-name", Input)
        notes = self.query_one("#customer-notes", TextArea)
        if self._reset_fields or before is None or name.value == clean(before.name):
            name.value = clean(info.name)
            self._name_from = info.name
        if self._reset_fields or before is None or notes.text == clean(before.notes):
            notes.load_text(clean(info.notes))
            self._notes_from = info.notes
        self._reset_fields = False
        self._show_notes()

    def _show_notes(self) -> None:
        """The notes field, or, while it is not edited, the notes in visual order (the
        right-to-left display on and RTL letters in them): a TextArea keeps typed order."""
        area = self.query_one("#customer-notes", TextArea)
        shown = self.query_one(NotesShown)
        visual = app_rtl(self.app).on and has_rtl(area.text) and not area.has_focus
        if visual:
            shown.update(VisualText(Text(area.text, end=""), self.app))
        area.display = not visual
        shown.display = visual

    def set_rtl(self, rtl: RtlDisplay) -> None:
        """D: the notes in visual order or as typed (the rest redraws itself)."""
        self._show_notes()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, NotesShown):  # tab or a click into the notes: edit them
            area = self.query_one("#customer-notes", TextArea)
            area.display = True
            event.widget.display = False
            area.focus()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if event.widget.id == "customer-notes":
            self._show_notes()

    def _show_identities(self, info: CustomerInfo) -> None:
        options = self.query_one("#customer-identities", OptionList)
        at = options.highlighted
        options.clear_options()
        for identity in info.identities:
            prompt = VisualText(identity_text(identity), self.app)
            options.add_option(Option(prompt, id=str(identity.id)))
        if options.option_count:
            options.highlighted = min(at or 0, options.option_count - 1)

    def _show_merges(self, info: CustomerInfo) -> None:
        options = self.query_one("#customer-merges", OptionList)
        at = options.highlighted
        options.clear_options()
        if not info.merges:
            options.add_option(Option(Text(_("No merges."), style="dim"), disabled=True))
            return
        now = self.omni.clock()
        for merge in info.merges:
            prompt = VisualText(self._merge_text(merge, info.id, now), self.app)
            options.add_option(Option(prompt, id=str(merge.id)))
        options.highlighted = min(at or 0, options.option_count - 1)

    def _merge_text(self, merge: MergeRow, customer_id: int, now: datetime) -> Text:
        tz: tzinfo = self.omni.tz
        line = Text(f"#{merge.id} ", style="bold", end="")
        at, agent = local_time(merge.at, now, tz), cell(one_line(merge.agent, 30))
        if merge.target_id == customer_id:
            source = cell(_name(merge.source_name, merge.source_id), "bold")
            said = _("{time} · {agent} merged {source} into this customer")
            line.append_text(fill(said, end="", time=at, agent=agent, source=source))
        else:
            said = _("{time} · {agent} merged this customer into {target}")
            target = cell(_name(merge.target_name, merge.target_id))
            line.append_text(fill(said, end="", time=at, agent=agent, target=target))
        line.append(
            f" · {_moved(merge.identities, merge.conversations, merge.messages)}",
            style="dim",
        )
        if merge.undone_at is not None:
            when = local_time(merge.undone_at, now, tz)
            undone = _("unmerged by {agent} {time}").format(
                agent=one_line(merge.undone_by, 30), time=when
            )
            line.append(f" · {undone}", style="italic")
        return line

    # -- name and notes -------------------------------------------------------------------

    def _edited(self) -> tuple[str | None, str | None]:
        """The name and the notes as typed, each None when unchanged."""
        if self.info is None:
            return None, None
        name = self.query_one("#customer-name", Input).value
        notes = self.query_one("#customer-notes", TextArea).text
        return (
            name if name != clean(self._name_from) else None,
            notes if notes != clean(self._notes_from) else None,
        )

    def action_edit(self) -> None:
        self.query_one("#customer-name", Input).focus()

    def action_save(self) -> None:
        info = self.info
        if info is None:
            return
        name, notes = self._edited()
        if name is None and notes is None:
            self.notice(_("Nothing changed."))
            return
        app = self.omni

        def saved(said: str) -> Callable[[], None]:
            def done() -> None:
                self._reset_fields = True
                self._warned_unsaved = False
                self.notice(Text(said, style="bold green"))
                self.reload()

            return done

        if name is not None:
            # Against the name the agent started from, not the newest read: a rename by
            # someone else while they typed must be refused, not overwritten unseen.
            app.rename_customer(
                info.id,
                name,
                self._name_from,
                done=saved(_("Saved the name")),
                refused=self._refused(_("Rename refused: {error}")),
            )
        if notes is not None:
            app.set_customer_notes(
                info.id,
                notes,
                self._notes_from,
                done=saved(_("Saved the notes")),
                refused=self._refused(_("Notes refused: {error}")),
            )

    def action_close(self) -> None:
        """Leave the name or notes field for the lists; from the lists, back to the inbox
        (once more after a warning when something typed is not saved)."""
        if isinstance(self.focused, Input | TextArea):
            self.query_one("#customer-identities", OptionList).focus()
            return
        if any(value is not None for value in self._edited()) and not self._warned_unsaved:
            self._warned_unsaved = True
            self.notice(
                Text(_("Not saved: ctrl+s saves, esc again leaves without saving"), "bold yellow")
            )
            return
        self.dismiss(self.customer_id)

    # -- addresses ----------------------------------------------------------------------

    def _selected_identity(self) -> CustomerIdentity | None:
        options = self.query_one("#customer-identities", OptionList)
        index = options.highlighted
        if self.info is None or index is None or index >= len(self.info.identities):
            self.notice(_("Select an address first (the list of addresses, ↑/↓)."))
            return None
        return self.info.identities[index]

    def action_link(self) -> None:
        info = self.info
        if info is None:
            return

        def picked(address: tuple[str, str] | None) -> None:
            if address is None:
                return
            channel, value = address
            # The account of an address on that channel it has already, else the app's pick.
            account = next((i.account for i in info.identities if i.channel == channel), None)
            said = f"{channel} {one_line(value, 60)}"
            self.omni.link_identity(
                info.id,
                channel,
                value,
                account,
                done=self._done(_("Linked {address}").format(address=said)),
                refused=self._refused(_("Link refused: {error}")),
            )

        self.app.push_screen(LinkScreen(_name(info.name, info.id)), picked)

    def action_unlink(self) -> None:
        identity = self._selected_identity()
        if identity is None or self.info is None:
            return
        if len(self.info.identities) == 1:
            only = _("The only address stays: there is nothing to unlink it from.")
            self.notice(Text(only, "red"))
            return

        def chosen(with_conversations: bool | None) -> None:
            if with_conversations is None:
                return
            said = f"{channel_name(identity.channel)} {one_line(identity.address, 60)}"
            self.omni.unlink_identity(
                identity.id,
                with_conversations,
                done=lambda new: self._done(
                    _("Unlinked {address}: customer #{id} now").format(address=said, id=new)
                )(),
                refused=self._refused(_("Unlink refused: {error}")),
            )

        self.app.push_screen(UnlinkScreen(identity, self.info.name), chosen)

    # -- merges -------------------------------------------------------------------------

    def action_merge(self) -> None:
        """Pick the customer this one is the same person as, see what moves, confirm."""
        info = self.info
        if info is None:
            return
        app = self.omni

        def confirmed(preview: MergePreview, yes: bool | None) -> None:
            if not yes:
                return
            target = _name(preview.target_name, preview.target_id)

            def merged(record_id: int) -> None:
                self.customer_id = preview.target_id
                self._reset_fields = True
                self.reload()
                said = _("Merged into {target} · merge #{id} (U on it unmerges)")
                self.notice(Text(said.format(target=target, id=record_id), style="bold green"))

            app.merge_customers(
                preview.source_id,
                preview.target_id,
                done=merged,
                refused=self._refused(_("Merge refused: {error}")),
            )

        def previewed(preview: MergePreview) -> None:
            self.app.push_screen(MergePreviewScreen(preview), lambda yes: confirmed(preview, yes))

        def picked(hit: SearchHit | None) -> None:
            if hit is not None:
                app.merge_preview(
                    info.id,
                    hit.customer_id,
                    done=previewed,
                    refused=self._refused(_("Merge refused: {error}")),
                )

        self.app.push_screen(MergePickerScreen(app.reader, info.id, info.name), picked)

    def action_unmerge(self) -> None:
        info = self.info
        options = self.query_one("#customer-merges", OptionList)
        index = options.highlighted
        if info is None or index is None or index >= len(info.merges):
            self.notice(_("Select a merge first (the list of merges, ↑/↓)."))
            return
        merge = info.merges[index]
        if merge.undone_at is not None:
            self.notice(_("Merge #{id} was unmerged already.").format(id=merge.id))
            return
        if merge.target_id != info.id:
            target = _name(merge.target_name, merge.target_id)
            self.notice(_("Unmerge it from {customer}.").format(customer=target))
            return
        from omnitui.screens.workflow import ConfirmScreen

        source = _name(merge.source_name, merge.source_id)

        def answered(yes: bool | None) -> None:
            if yes:
                self.omni.unmerge_customers(
                    merge.id,
                    done=self._done(
                        _("Unmerged: {customer} is a customer of their own again").format(
                            customer=source
                        )
                    ),
                    refused=self._refused(_("Unmerge refused: {error}")),
                )

        asked = _(
            "Unmerge #{id}? {customer} gets back what it brought ({moved}) and what "
            "came from those addresses since."
        )
        moved = _moved(merge.identities, merge.conversations, merge.messages)
        question = Text(asked.format(id=merge.id, customer=source, moved=moved))
        self.app.push_screen(ConfirmScreen(_("Unmerge"), question), answered)


class MergePickerScreen(ModalScreen[SearchHit | None]):
    """Find the customer to merge into, by name or address (the Reader's search, as you
    type); enter picks."""

    CSS_PATH = "customer.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Cancel"), id="merge-pick-close"),
        Binding("down", "options", _("Pick from the list"), id="merge-pick-list", show=False),
    ]

    class _Found(Message, bubble=False):
        def __init__(self, token: int, hits: list[SearchHit] | None) -> None:
            super().__init__()
            self.token = token
            self.hits = hits

    def __init__(self, source: CustomerSearch, customer_id: int, name: str) -> None:
        super().__init__()
        self._source = source
        self.customer_id = customer_id
        self.customer_name = name
        self.hits: list[SearchHit] = []
        self._timer: Timer | None = None
        self._token = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="merge-pick-box", classes="customer-window"):
            yield Static(id="merge-pick-what")
            yield Input(placeholder=_("a name or an address"), id="merge-pick-input")
            yield OptionList(id="merge-pick-options")
            yield Static(
                Text(_("enter picks · ↓ the list · esc cancels"), style="dim"),
                id="merge-pick-info",
                classes="customer-window-info",
            )

    def on_mount(self) -> None:
        show_title(self.query_one("#merge-pick-box"), _("Merge into…"))
        what = fill(
            _("The same person as {customer} — who?"),
            base="dim",
            end="",
            customer=cell(_name(self.customer_name, self.customer_id), "bold"),
        )
        self.query_one("#merge-pick-what", Static).update(VisualText(what, self.app))
        self.query_one(Input).focus()

    @on(Input.Changed, "#merge-pick-input")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._search_now)

    def _search_now(self) -> None:
        self._timer = None
        self._token += 1
        self._search(self._token, self.query_one(Input).value)

    @work(thread=True, exclusive=True, group="merge-pick", exit_on_error=False)
    def _search(self, token: int, typed: str) -> None:
        try:
            found: list[SearchHit] | None = self._source.search(typed, limit=PICKER_LIMIT)
        except Exception:
            log.exception("searching customers failed")
            found = None
        self.post_message(self._Found(token, found))

    @on(_Found)
    def _found(self, message: _Found) -> None:
        if message.token != self._token:
            return  # a newer search is under way
        info = self.query_one("#merge-pick-info", Static)
        if message.hits is None:
            info.update(Text(_("The search failed; see the log."), style="red"))
            return
        self.hits = [
            h for h in message.hits if h.message_id is None and h.customer_id != self.customer_id
        ]
        options = self.query_one(OptionList)
        options.clear_options()
        for hit in self.hits:
            line = cell(_name(hit.name, hit.customer_id), "bold")
            if hit.excerpt:
                line.append("  ")
                line.append_text(cell(one_line(hit.excerpt, 60), "dim"))
            options.add_option(Option(VisualText(line, self.app), id=str(hit.customer_id)))
        if self.hits:
            options.highlighted = 0
            info.update(Text(_("enter picks · ↓ the list · esc cancels"), style="dim"))
        else:
            info.update(Text(_("No other customer has that name or address."), style="dim"))

    @on(Input.Submitted, "#merge-pick-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one(OptionList)
        if self.hits and options.highlighted is not None:
            self.dismiss(self.hits[options.highlighted])

    @on(OptionList.OptionSelected, "#merge-pick-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.hits[event.option_index])

    def action_options(self) -> None:
        self.query_one(OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class MergePreviewScreen(ModalScreen[bool]):
    """What a merge moves, before it is done: y or enter merges, n or esc does not."""

    CSS_PATH = "customer.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", _("Merge"), id="merge-confirm"),
        Binding("n,escape", "answer(False)", _("Cancel"), id="merge-cancel"),
    ]

    def __init__(self, preview: MergePreview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        p = self.preview
        source, target = _name(p.source_name, p.source_id), _name(p.target_name, p.target_id)
        question = fill(
            _("Merge {source} into {target}?"),
            end="",
            source=cell(source, "bold"),
            target=cell(target, "bold"),
        )
        if p.notes:
            # TRANSLATORS: {addresses}, {conversations} and {messages} are counts with their
            # nouns ("2 addresses"); {open} is how many of the conversations are open.
            said = _(
                "Moves {addresses}, {conversations} ({open} open) and {messages}, and the notes "
                "(after the target's)."
            )
        else:
            # TRANSLATORS: as above, without the notes.
            said = _("Moves {addresses}, {conversations} ({open} open) and {messages}.")
        moves = Text(
            said.format(
                addresses=counted(len(p.identities), "address"),
                conversations=counted(p.conversations, "conversation"),
                open=number(p.open_conversations),
                messages=counted(p.messages, "message"),
            )
        )
        addresses = Text("\n", end="").join(
            Text.assemble("  ", identity_text(i, alone=False)) for i in p.identities
        )
        name = one_line(p.source_name, 60)
        leaves = (
            _(
                "{customer} then leaves the list. The merge is recorded: U on it in the "
                "customer screen of {target} takes it back."
            )
            if name
            else _(
                "The customer then leaves the list. The merge is recorded: U on it in the "
                "customer screen of {target} takes it back."
            )
        )
        after = fill(leaves, "dim", end="", customer=cell(name, "dim"), target=cell(target, "dim"))
        with Vertical(id="merge-preview-box", classes="customer-window"):
            yield Static(VisualText(question, self.app), id="merge-preview-question")
            yield Static(moves, id="merge-preview-moves")
            yield Static(VisualText(addresses, self.app), id="merge-preview-addresses")
            yield Static(VisualText(after, self.app), id="merge-preview-after")
            yield Static(
                Text(_("y / enter: merge · n / esc: cancel"), style="dim"),
                classes="customer-window-info",
            )

    def on_mount(self) -> None:
        show_title(self.query_one("#merge-preview-box"), _("Merge customers"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class UnlinkScreen(ModalScreen[bool | None]):
    """Unlink an address: alone (a), or with the conversations only it wrote in (c).
    Dismissed with whether the conversations go too (None: cancelled)."""

    CSS_PATH = "customer.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer(False)", _("Unlink the address alone"), id="unlink-alone"),
        Binding("c", "answer(True)", _("Unlink it with its conversations"), id="unlink-with"),
        Binding("escape,n", "answer(None)", _("Cancel"), id="unlink-cancel"),
    ]

    def __init__(self, identity: CustomerIdentity, name: str) -> None:
        super().__init__()
        self.identity = identity
        self.customer_name = name

    def compose(self) -> ComposeResult:
        identity = self.identity
        question = fill(
            _("Unlink {address} from {customer}? It becomes a customer of its own."),
            address=cell(identity_text(identity, alone=False)),
            customer=cell(one_line(self.customer_name, 60)),
        )
        count = identity.alone_in
        said = ngettext(
            "a: the address alone (its history stays here) · c: with the {count} conversation "
            "only it wrote in · esc: cancel",
            "a: the address alone (its history stays here) · c: with the {count} conversations "
            "only it wrote in · esc: cancel",
            count,
        )
        choices = Text(said.format(count=number(count)))
        with Vertical(id="unlink-box", classes="customer-window"):
            yield Static(VisualText(question, self.app), id="unlink-question")
            yield Static(choices, classes="customer-window-info")

    def on_mount(self) -> None:
        show_title(self.query_one("#unlink-box"), _("Unlink address"))

    def action_answer(self, with_conversations: bool | None) -> None:
        self.dismiss(with_conversations)


class LinkScreen(ModalScreen[tuple[str, str] | None]):
    """Link another address: "telegram 500600", "email name@example.az", "phone +994…"
    (what the words mean is shown before enter)."""

    CSS_PATH = "customer.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", _("Cancel"), id="link-close"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.customer_name = name

    def compose(self) -> ComposeResult:
        with Vertical(id="link-box", classes="customer-window"):
            yield Input(placeholder=_("telegram 500600 · name@example.az · phone +994…"), id="link")
            yield Static(id="link-preview")
            yield Static(
                Text(_("enter links · esc cancels"), style="dim"), classes="customer-window-info"
            )

    def on_mount(self) -> None:
        box = self.query_one("#link-box")
        # The subtitle is a customer's name: plain text, never markup.
        show_title(box, _("Link an address"), subtitle=self.customer_name)
        self._show("")
        self.query_one(Input).focus()

    def _show(self, typed: str) -> tuple[str, str] | None:
        preview = self.query_one("#link-preview", Static)
        if not typed.strip():
            said = _("Messages from it then join this customer's history.")
            preview.update(Text(said, "dim"))
            return None
        try:
            channel, address = parse_address(typed)
        except ValueError as exc:
            preview.update(Text(one_line(str(exc), 200), style="bold red"))
            return None
        line = Text("→ ", style="bold", end="")
        line.append_text(channel_mark(channel))
        line.append(f" {channel} {one_line(address, 80)}", style="bold green")
        preview.update(line)
        return channel, address

    @on(Input.Changed, "#link")
    def _typed(self, event: Input.Changed) -> None:
        self._show(event.value)

    @on(Input.Submitted, "#link")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        address = self._show(event.value or " ")
        if address is not None:
            self.dismiss(address)

    def action_close(self) -> None:
        self.dismiss(None)
