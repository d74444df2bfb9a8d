"""The satisfaction survey (CSAT): its question in the customer's language, the buttons a
chat shows for it, and how an answer is read.

When an agent resolves a conversation whose channel account has ``csat = true``, inbox.py
queues one outgoing message of kind "survey" (through the outbox, like a reply) on the
channel the customer last wrote from. Chats offer five buttons ("1" to "5"; a press comes
back as an ``InboundMessage`` whose ``button`` is ``csat:CONVERSATION:SCORE``); email asks
for a reply whose first line starts with a digit (``parse_rating``). A rating is stored
as a message of kind "rating" whose body is ``rating_body``'s ("4/5" and the comment
below), and it never reopens the conversation; anything else is an ordinary message.

Pure: no store, no config models, no Textual.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from omnitui.quoting import split_quoted

SCORES = (1, 2, 3, 4, 5)
BUTTON_PREFIX = "csat:"
ANSWER_WINDOW = timedelta(days=7)
"""How long after the survey an answer counts as a rating; a later one is an ordinary
message (it reopens the conversation, as a customer's message does)."""
DEFAULT_LANGUAGE = "en"

QUESTIONS: Mapping[str, str] = {
    "en": "How would you rate the help you got? 1 = poor, 5 = excellent.",
    "az": "Aldığınız köməyi necə qiymətləndirərdiniz? 1 = pis, 5 = əla.",
    "tr": "Aldığınız yardımı nasıl değerlendirirsiniz? 1 = kötü, 5 = mükemmel.",
    "fa": "کمکی را که دریافت کردید چگونه ارزیابی می‌کنید؟ ۱ = ضعیف، ۵ = عالی.",
}
"""The question in each customer language (``[csat] question`` replaces any of them)."""

REPLY_HINTS: Mapping[str, str] = {
    "en": "Reply with a number from 1 to 5 on the first line; "
    "anything you write after it reaches the team too.",
    "az": "Birinci sətirdə 1-dən 5-ə qədər bir rəqəmlə cavab verin; "
    "ondan sonra yazdıqlarınız da komandaya çatacaq.",
    "tr": "İlk satırda 1 ile 5 arasında bir rakamla yanıt verin; "
    "ardından yazdıklarınız da ekibe ulaşır.",
    "fa": "در خط اول با عددی از ۱ تا ۵ پاسخ دهید؛ هر چه پس از آن بنویسید هم به دست تیم می‌رسد.",
}
"""What an email survey adds under the question: email has no buttons."""

SUBJECTS: Mapping[str, str] = {
    "en": "How did we do?",
    "az": "Xidmətimizi qiymətləndirin",
    "tr": "Nasıl yardımcı olduk?",
    "fa": "نظر شما درباره‌ی پشتیبانی ما",
}
"""An email survey's subject when the conversation has none to answer."""

BUTTON_CHANNELS = frozenset({"telegram", "webchat"})
"""Channels whose surveys carry buttons; the others (email) are answered in words."""


@dataclass(frozen=True, slots=True)
class SurveyPolicy:
    """Which channel accounts survey their customers, and in which words: built from the
    configuration (``Config.survey_policy``) and handed to the services that resolve."""

    accounts: frozenset[tuple[str, str]] = frozenset()
    """(channel, account) pairs with ``csat = true``."""
    questions: Mapping[str, str] = field(default_factory=dict)
    """Per language, the question to ask instead of ``QUESTIONS``'."""

    def surveys(self, channel: str, account: str) -> bool:
        return (channel, account) in self.accounts

    def text(self, language: str | None, channel: str) -> str:
        """The survey's text for a customer writing ``language`` (English when unknown)."""
        lang = language if language is not None and language in QUESTIONS else DEFAULT_LANGUAGE
        question = self.questions.get(lang) or QUESTIONS[lang]
        if channel in BUTTON_CHANNELS:
            return question
        return f"{question}\n\n{REPLY_HINTS[lang]}"


def button_data(conversation_id: int, score: int) -> str:
    """What a rating button carries back (Telegram allows 64 bytes of callback data)."""
    return f"{BUTTON_PREFIX}{conversation_id}:{score}"


def buttons(conversation_id: int) -> tuple[tuple[str, str], ...]:
    """The survey's buttons, (label, data), worst to best."""
    return tuple((str(n), button_data(conversation_id, n)) for n in SCORES)


def parse_button(data: str) -> tuple[int, int] | None:
    """(conversation id, score) of a rating button's data; None for any other data."""
    found = re.fullmatch(r"csat:(\d{1,18}):([1-5])", data)
    return (int(found.group(1)), int(found.group(2))) if found else None


_LEAD = re.compile(r"\s*(\d)(?!\d)(?![.,]\d)(?:\s*(?:/|of|из|dan|dən|den|از)\s*5(?!\d))?")
"""A digit alone at the start of a line, perhaps "of 5" ("4/5", "4 of 5"); "10", "3.5" and
"2,5" are not ratings."""
_SEPARATORS = " \t-–—:.,;!)/*"


@dataclass(frozen=True, slots=True)
class Rating:
    score: int
    comment: str


def parse_rating(text: str) -> Rating | None:
    """The rating in a reply to an email survey: its first non-empty line (of the new text,
    above any quote) starts with a digit 1-5 ("5", "4 - good", "5!", "۴"). The comment is
    the rest of that line and the rest of the new text. None when it is no rating."""
    new, _quoted = split_quoted(text)
    lines = new.strip().splitlines()
    if not lines:
        return None
    first = _digits_ascii(lines[0])
    found = _LEAD.match(first)
    if found is None:
        return None
    score = int(found.group(1))
    if score not in SCORES:
        return None
    rest = first[found.end() :]
    if rest and not rest[0].isspace() and rest[0] not in _SEPARATORS:
        return None  # "5th floor", "4x": words, not a rating
    rest = lines[0][len(lines[0]) - len(rest) :].lstrip(_SEPARATORS).strip()
    comment = "\n".join([rest, *lines[1:]]).strip()
    return Rating(score, comment)


def _digits_ascii(line: str) -> str:
    """``line`` with every decimal digit (Persian ۴, Arabic-Indic ٤) as its ASCII one: the
    same length, so positions stay."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in line)


def rating_body(score: int, comment: str) -> str:
    """The stored body of a rating message: "4/5", then the comment on the lines below."""
    return f"{score}/5\n{comment}" if comment else f"{score}/5"


def rating_of(body: str) -> Rating | None:
    """The score and comment of a rating message's body (``rating_body``'s form)."""
    head, _sep, comment = body.partition("\n")
    found = re.fullmatch(r"([1-5])/5", head.strip())
    return Rating(int(found.group(1)), comment.strip()) if found else None


def stars(score: int) -> str:
    return "★" * score + "☆" * (5 - score)
