"""A translated sentence made into Rich ``Text`` with styled parts.

A msgid is one whole sentence with named placeholders ("Merge {source} into {target}?");
where parts of it are styled (a bold name), ``fill`` splits the translation at its
placeholders, so each language puts them where its grammar wants them and the styles
follow. A template may style words of its own with Rich markup (``markup=True``: "[b]Reply[/b]
to {customer}"), where no placeholder can carry the style; values are never read as markup
(names may be anyone's text).

Must not import the store or the network.
"""

from __future__ import annotations

import re
from contextlib import suppress

from rich.errors import MarkupError
from rich.style import StyleType
from rich.text import Text

Part = str | Text | tuple[str, StyleType]
"""A placeholder's value: plain text, a ``Text`` with its own styles, or (text, style)."""

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(
    template: str,
    style: StyleType = "",
    *,
    base: StyleType = "",
    end: str = "\n",
    markup: bool = False,
    **values: Part,
) -> Text:
    """``template`` (translated, with ``{name}`` placeholders) as Text: the words in
    ``style`` (and their markup, with ``markup``), each placeholder replaced by its value,
    all of it over ``base``. A placeholder without a value stays as written (a
    translation's typo shows, it does not crash)."""
    words = Text(template, end=end)
    if markup:
        # A translation's broken tag: the words as written, not a crash.
        with suppress(MarkupError):
            words = Text.from_markup(template, end=end)
    plain = words.plain
    line = Text(end=end, style=base)
    at = 0
    for found in _PLACEHOLDER.finditer(plain):
        name = found.group(1)
        if name not in values:
            continue
        if found.start() > at:
            line.append_text(_styled(words[at : found.start()], style))
        value = values[name]
        if isinstance(value, Text):
            line.append_text(value)
        elif isinstance(value, tuple):
            line.append(value[0], style=value[1])
        else:
            line.append(value, style=style)
        at = found.end()
    if at < len(plain):
        line.append_text(_styled(words[at:], style))
    return line


def _styled(words: Text, style: StyleType) -> Text:
    """``words`` over ``style`` (their own markup on top)."""
    if style:
        words.stylize_before(style)
    return words
