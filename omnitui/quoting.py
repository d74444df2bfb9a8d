"""Where a customer's new words end and the quoted history or signature below them begins.

``split_quoted`` cuts a message body at the first line that starts what a
timeline folds away: a trailing block of ``>`` lines, an attribution that
introduces a quote ("On ... wrote:", "... tarihinde ... yazdı:", "... tarixində
... yazdı:", "در تاریخ ... نوشت:", "Am ... schrieb ...:"), an Outlook header
block or "-----Original Message-----", a forwarded-message banner, a ``-- ``
signature, or a "Sent from my iPhone" / "iPhone'umdan gönderildi" footer.

Nothing is deleted: every non-blank line of the input is in one half or the
other, in order. Pure string work, used at display time by the widgets; imports
nothing from omnitui.
"""

from __future__ import annotations

import re

# Bidi marks that mail clients put around right-to-left attribution lines.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
)
_LONGEST_MARKER = 400

_ATTRIBUTION = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^On\s.{4,300}\bwrote\s*:$",
        r"^Am\s.{4,300}\bschrieb\b.{0,200}:$",
        r"^Le\s.{4,300}\ba écrit\s*:$",
        r"^El\s.{4,300}\bescribió\s*:$",
        r"\btarihinde\b.{0,300}\byazdı\s*:$",
        r"\btarixində\b.{0,300}\byazdı\s*:$",
        r"^در\s.{2,300}نوشت\s*:$",
    )
]
# "<someone> wrote:" without a date: an attribution only with an address or a date in
# it, or when a quote follows.
_WROTE = re.compile(
    r"(?:\bwrote|\byazdı|\byazdi|\bschrieb|\ba écrit|\bescribió|\bписал\(?а?\)?|\bпишет|نوشت)"
    r"\s*:$",
    re.IGNORECASE,
)
_BANNER = re.compile(
    r"^-{2,}\s*(?:original message|orijinal mesaj|özgün ileti|orijinal ileti|"
    r"ursprüngliche nachricht|original-nachricht|message d'origine|پیام اصلی|"
    r"orijinal məktub|forwarded message|yönlendirilen ileti|yönlendirilmiş ileti|"
    r"iletilen ileti|yönləndirilmiş məktub|پیام بازارسال[\s\u200c]*شده)\s*-{2,}$",
    re.IGNORECASE,
)
_FORWARD_INTRO = re.compile(
    r"^(?:begin forwarded message|iletilmiş ileti başlangıcı|başlangıç: iletilmiş ileti)\s*:$",
    re.IGNORECASE,
)
_DASHED = re.compile(r"^-{5,}\s*[^-]{3,60}?\s*-{5,}$")
_UNDERSCORES = re.compile(r"^_{10,}$")
_FROM = re.compile(
    r"^\*?(?:from|kimden|gönderen|kimdən|göndərən|از|von|de|van|от)\s*:\*?\s*\S",
    re.IGNORECASE,
)
_SUBJECT = re.compile(
    r"^\*?(?:subject|konu|mövzu|موضوع|betreff|objet|asunto|тема)\s*:", re.IGNORECASE
)
_FOOTER = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^sent from my [\w .'’-]{2,40}$",
        r"^sent (?:from|with|via) (?:mail|outlook|yahoo|gmail|aol|samsung|blackberry)\b.{0,60}$",
        r"^get outlook for (?:ios|android)\b.{0,20}$",
        r"^(?:ios|android) için outlook['’]u edinin\.?$",
        r"^(?:iphone|ipad|ipod|android|samsung|galaxy|huawei|xiaomi|mobil|cep)\S*"
        r".{0,50}(?:gönderildi|göndərildi|göndərilib)\.?$",
        r"^.{0,40}(?:cihazımdan|telefonumdan) gönderildi\.?$",
        r"^ارسال[\s\u200c]*شده (?:از|با) .{1,40}$",
    )
]


def _bare(line: str) -> str:
    return line.translate(_INVISIBLE).strip()


def _attribution(line: str) -> bool | None:
    """None if ``line`` is no attribution, else whether it surely is one (has a date or address)."""
    if len(line) > _LONGEST_MARKER:
        return None
    if any(pattern.search(line) for pattern in _ATTRIBUTION):
        return True
    if _WROTE.search(line):
        return bool(re.search(r"\d|@", line))
    return None


class _Lines:
    """The lines of one body, with what each one is, and the markers found so far."""

    def __init__(self, text: str) -> None:
        self.raw = text.split("\n")
        self.bare = [_bare(line) for line in self.raw]
        self.quoted = [line.startswith(">") for line in self.bare]
        self.folds: dict[int, bool] = {}
        self.filled_after = [0] * (len(self.bare) + 1)  # non-blank lines from index on
        for index in range(len(self.bare) - 1, -1, -1):
            self.filled_after[index] = self.filled_after[index + 1] + bool(self.bare[index])

    def next_filled(self, index: int) -> int:
        """The first non-blank line at or after ``index`` (len when none)."""
        while index < len(self.bare) and not self.bare[index]:
            index += 1
        return index

    def after_quote(self, index: int) -> int:
        """The first line after the block of quoted (and blank) lines that starts at ``index``."""
        while index < len(self.bare) and (self.quoted[index] or not self.bare[index]):
            index += 1
        return index

    def attribution(self, index: int) -> tuple[int, bool] | None:
        """Lines the attribution at ``index`` spans (1 or 2) and whether it is certain."""
        line = self.bare[index]
        if len(line) > _LONGEST_MARKER:
            return None
        alone = _attribution(line)
        if alone is not None:
            return 1, alone
        following = index + 1
        if following >= len(self.bare) or not self.bare[following] or self.quoted[following]:
            return None
        if any(pattern.search(self.bare[following]) for pattern in _ATTRIBUTION):
            return None  # the next line is the attribution on its own
        joined = f"{line} {self.bare[following]}"  # wrapped over two lines
        return (2, True) if any(pattern.search(joined) for pattern in _ATTRIBUTION) else None

    def folds_from(self, index: int) -> bool:
        """Whether everything from line ``index`` on is history or signature."""
        if index not in self.folds:
            self.folds[index] = self._folds_from(index)
        return self.folds[index]

    def _folds_from(self, index: int) -> bool:
        line, raw = self.bare[index], self.raw[index].rstrip("\r")
        if raw == "-- ":
            return True
        if line == "--":  # a signature whose separator lost its space: only when short
            return self.filled_after[index + 1] <= 10
        if len(line) > _LONGEST_MARKER:
            return False
        if _BANNER.match(line) or _FORWARD_INTRO.match(line):
            return True
        if any(pattern.match(line) for pattern in _FOOTER):
            return True
        if _UNDERSCORES.match(line) or _DASHED.match(line):
            following = self.next_filled(index + 1)
            return following < len(self.bare) and bool(_FROM.match(self.bare[following]))
        if _FROM.match(line):
            window = self.bare[index + 1 : index + 7]
            return any(_SUBJECT.match(other) for other in window)
        found = self.attribution(index)
        if found is None:
            return False
        span, certain = found
        following = self.next_filled(index + span)
        if following == len(self.bare):
            return True
        if not self.quoted[following]:
            return certain  # a quote without ">" (top-posting clients) follows
        end = self.next_filled(self.after_quote(following))
        # Replies written below or between the quoted lines are new text, not history.
        return end == len(self.bare) or self.folds_from(end)

    def cut(self) -> int | None:
        """The index of the first line to fold away, or None."""
        # folds_from recurses forward through attribution + quote blocks; deciding the
        # attributions from the end first bounds the depth to one (long quote chains).
        for index in range(len(self.bare) - 1, -1, -1):
            if self.quoted[index] or not self.bare[index]:
                continue
            if self.attribution(index) is not None:
                self.folds_from(index)
        marker = None
        for index, line in enumerate(self.bare):
            if line and not self.quoted[index] and self.folds_from(index):
                marker = index
                break
        # A block of quoted lines right above the marker (or at the end) folds with it.
        end = len(self.bare) if marker is None else marker
        start = end
        while start > 0 and (self.quoted[start - 1] or not self.bare[start - 1]):
            start -= 1
        if not any(self.quoted[start:end]):
            return marker
        above = start - 1
        while above >= 0 and not self.bare[above]:
            above -= 1
        if above >= 0 and self.attribution(above) is not None:
            return above
        if above >= 1 and self.attribution(above - 1) == (2, True):
            return above - 1
        return self.next_filled(start)


def split_quoted(text: str) -> tuple[str, str]:
    """``(new_text, folded_rest)``: the customer's new words and the history or signature below.

    ``folded_rest`` is '' when there is nothing to fold, and also when folding
    would leave no new text at all (a message that is only a quote is shown whole).
    """
    lines = _Lines(text)
    cut = lines.cut()
    if cut is None:
        return text, ""
    if not any(lines.bare[:cut]):
        return text, ""
    head = lines.raw[:cut]
    while head and not head[-1].strip():
        head.pop()
    tail = lines.raw[cut:]
    while tail and not tail[-1].strip():
        tail.pop()
    return "\n".join(head), "\n".join(tail)
