"""The one-letter marks that stand for channels, their colours, and the channels' names.

Single-width ASCII letters, so columns line up in every terminal and font.
"""

from __future__ import annotations

from rich.text import Text

from omnitui.i18n import pgettext

CHANNEL_MARKS: dict[str, tuple[str, str]] = {
    "email": ("E", "bold #5fafff"),
    "telegram": ("T", "bold #00d7d7"),
    "webchat": ("W", "bold #d787ff"),
    "phone": ("P", "bold #87d75f"),
}
OTHER_MARK = ("D", "bold #d7af5f")


def channel_mark(channel: str) -> Text:
    """One coloured letter for a channel: E email, T telegram, W webchat, P phone, D other."""
    letter, style = CHANNEL_MARKS.get(channel, OTHER_MARK)
    return Text(letter, style=style, end="")


def channel_marks(channels: str, width: int = 0) -> Text:
    """The marks of a comma-separated channel list ("email,telegram" -> "ET"), padded to width."""
    marks = Text(end="")
    for channel in sorted(c for c in channels.split(",") if c):
        marks.append_text(channel_mark(channel))
    if width:
        marks.truncate(width, pad=True)
    return marks


def channel_name(channel: str) -> str:
    """A channel's name in a line ("E email · Ayşe", "via T telegram 100200"), in the
    console's language; a channel without a msgid by its own name."""
    names = {
        "email": pgettext("channel", "email"),
        "telegram": pgettext("channel", "telegram"),
        "webchat": pgettext("channel", "webchat"),
        "phone": pgettext("channel", "phone"),
    }
    return names.get(channel, channel)
