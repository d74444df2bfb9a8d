"""How the team workflow reads on screen: who has a conversation, until when it sleeps,
its tags and blocked addresses, and the timeline's line for each workflow event.

Shared by the customer list (a few cells a row), the inbox header and the timeline, so
the same state reads the same everywhere. Times are shown in the agent's zone
(omnitui.when's labels); names, tags and addresses go through omnitui.text.

Must not import the store (sqlite3, SQLAlchemy, omnitui.db) or the network.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text

from omnitui.formatting import number
from omnitui.i18n import _, pgettext
from omnitui.reads import CustomerRow
from omnitui.text import one_line
from omnitui.widgets.channels import channel_name
from omnitui.widgets.times import list_time

if TYPE_CHECKING:
    from omnitui.reads import ConversationState

WORKFLOW_EVENTS = frozenset({"assign", "snooze", "wake", "tag", "block", "unblock"})
"""Event kinds ``event_said`` words (the timeline words 'status' itself)."""
SNOOZE_MARK = "◷"
SLA_MARK = "⧖"
BLOCK_MARK = "⊘"


def assignee_label(assignee: str, agent: str) -> str:
    """ "@me" for the agent looking, else "@name"."""
    return _("@me") if assignee == agent else f"@{one_line(assignee, 16)}"


def status_word(status: str) -> str:
    """A conversation's status as the console says it (what the store says when unknown)."""
    words = {
        "new": pgettext("conversation status", "new"),
        "open": pgettext("conversation status", "open"),
        "pending": pgettext("conversation status", "pending"),
        "snoozed": pgettext("conversation status", "snoozed"),
        "resolved": pgettext("conversation status", "resolved"),
    }
    return words.get(status) or one_line(status, 20)


def sla_left(due: datetime, now: datetime) -> str:
    """The time to an SLA target, compact for the list: "45m", "1h 20m", "3d 4h"; once it
    has passed, how long ago with a minus: "-35m"."""
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        # TRANSLATORS: time left to an SLA target in the customer list: days and hours.
        said = _("{days}d {hours}h").format(days=number(days), hours=number(hours))
    elif hours:
        # TRANSLATORS: time left to an SLA target in the customer list: hours and minutes.
        said = _("{hours}h {minutes}m").format(hours=number(hours), minutes=number(minutes))
    else:
        # TRANSLATORS: time left to an SLA target in the customer list: minutes.
        said = _("{minutes}m").format(minutes=number(minutes))
    return f"-{said}" if seconds < 0 else said


def sla_state(due: datetime, now: datetime) -> tuple[str, str]:
    """The list row's SLA mark and how urgent it is: ("⧖ 1h 20m", "ahead"), ("⧖ 40m",
    "soon") within ``sla.WARNING`` of the due time, ("⧖ -35m", "overdue") once it passed."""
    from omnitui.sla import WARNING  # only once a row has a target

    level = "overdue" if due <= now else "soon" if due - now <= WARNING else "ahead"
    return f"{SLA_MARK} {sla_left(due, now)}", level


def row_marks(
    row: CustomerRow, agent: str, now: datetime, tz: tzinfo, *, snoozed: Style, assigned: Style
) -> Text:
    """The list row's marks for the customer's active conversation: "◷ 16:00 @me " (empty
    when it is neither snoozed nor assigned), kept short: the preview gives way to it."""
    marks = Text(end="")
    if row.snoozed_until is not None:
        marks.append(f"{SNOOZE_MARK} {list_time(row.snoozed_until, now, tz)} ", style=snoozed)
    if row.assignee:
        mine = row.assignee == agent
        marks.append(assignee_label(row.assignee, agent), style=assigned + Style(bold=mine))
        marks.append(" ")
    return marks


def state_text(state: ConversationState, agent: str, now: datetime, tz: tzinfo) -> Text:
    """The header's part about the conversation actions apply to: "@me · ◷ until Tue 03
    Nov 09:00 · #vip #billing · ⊘ blocked email x", only what is set (empty: nothing)."""
    parts: list[Text] = []
    if state.assignee:
        parts.append(Text(assignee_label(state.assignee, agent), style="bold"))
    if state.status == "snoozed" and state.snoozed_until is not None:
        from omnitui.when import local_label  # not needed by the first paint

        until = local_label(state.snoozed_until, now, tz)
        until_said = _("until {time}").format(time=until)
        parts.append(Text(f"{SNOOZE_MARK} {until_said}", style="bold blue"))
    if state.tags:
        parts.append(Text(" ".join(f"#{one_line(t, 40)}" for t in state.tags), style="cyan"))
    targets = sla_targets(state, now, tz)
    if targets is not None:
        parts.append(targets)
    for blocked in state.blocked:
        where = f"{one_line(channel_name(blocked.channel), 20)} {one_line(blocked.address, 60)}"
        blocked_said = _("blocked {address}").format(address=where)
        parts.append(Text(f"{BLOCK_MARK} {blocked_said}", style="bold red"))
    if not parts:
        return Text("", end="")
    line = Text("  ", end="")
    line.append_text(Text(" · ", style="dim").join(parts))
    return line


def sla_targets(state: ConversationState, now: datetime, tz: tzinfo) -> Text | None:
    """The header's SLA part while the conversation is open: "⧖ vip: reply by 10:30,
    resolve by Tue 03 Nov 17:00", red once one of them has passed (None: no targets)."""
    if state.status != "open" or not state.sla_policy:
        return None
    from omnitui.sla import WARNING
    from omnitui.when import local_label  # not needed by the first paint

    said: list[str] = []
    dues: list[datetime] = []
    if state.first_response_due_at is not None and state.first_response_at is None:
        at = local_label(state.first_response_due_at, now, tz)
        said.append(_("reply by {time}").format(time=at))
        dues.append(state.first_response_due_at)
    if state.resolution_due_at is not None:
        at = local_label(state.resolution_due_at, now, tz)
        said.append(_("resolve by {time}").format(time=at))
        dues.append(state.resolution_due_at)
    if not said:
        return None
    level = "overdue" if min(dues) <= now else "soon" if min(dues) - now <= WARNING else ""
    style = {"overdue": "bold red", "soon": "bold yellow"}.get(level, "")
    policy = one_line(state.sla_policy, 40)
    return Text(f"{SLA_MARK} {policy}: {', '.join(said)}", style=style)


def event_said(
    kind: str, before: str | None, after: str | None, now: datetime, tz: tzinfo
) -> str | None:
    """What a workflow event did, in words ("assigned: nobody → leyla"), or None for a
    kind this module does not word. ``before``/``after`` as the event stored them (None:
    nothing); times in them (ISO 8601) are shown in the agent's zone."""

    def value(raw: str | None, nothing: str | None = None) -> str:
        if raw is None:
            return _("nobody") if nothing is None else nothing
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            return one_line(raw, 80)
        if at.tzinfo is None:
            return one_line(raw, 80)
        from omnitui.when import local_label

        return local_label(at, now, tz)

    if kind == "assign":
        said = _("assigned: {before} → {after}")
    elif kind == "snooze":
        said = _("snoozed: {before} → until {after}")
    elif kind == "wake":
        said = _("woke: snoozed until {before} → {after}")
    elif kind == "tag":
        if before is None:
            return _("tagged: + {tag}").format(tag=value(after))
        return _("untagged: − {tag}").format(tag=value(before))
    elif kind == "block":
        return _("blocked: {address}").format(address=value(after, ""))
    elif kind == "unblock":
        return _("unblocked: {address}").format(address=value(before, ""))
    else:
        return None
    return said.format(before=value(before), after=value(after))


def split_change(body: str) -> tuple[str | None, str | None]:
    """An event item's "BEFORE -> AFTER" (reads.Reader.timeline, "-" for nothing) back
    into its two values."""
    before, _sep, after = body.partition(" -> ")
    return (None if before == "-" else before), (None if after in ("-", "") else after)
