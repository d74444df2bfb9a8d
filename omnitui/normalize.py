"""Fold text for search, so customers are found as people type them.

The same function runs before indexing and before querying, on every store, so
SQLite's FTS5 and PostgreSQL's tsvector see the same words. Imports nothing
from the rest of omnitui.

What folds together (each case is tested with real words):
- Unicode compatibility forms (NFKC): Arabic presentation forms, full-width Latin.
- Case, with the Turkish and Azerbaijani i: İ, I, i and ı are all "i", so
  "İstanbul", "ISTANBUL" and "istanbul" match, and so do "Işıl" and "ışıl".
  Ə/ə fold by case.
- Latin diacritics: ş, ç, ğ, ö, ü, é fold to s, c, g, o, u, e, so an agent on
  an English keyboard finds "Gökçe" by typing "gokce". Ə is a letter of its own,
  not a diacritic, and stays.
- Arabic script: Arabic yeh and alef maksura to Persian yeh (ي ى -> ی), Arabic
  kaf to Persian keheh (ك -> ک), teh marbuta to heh (ة -> ه), hamza and madda
  carriers to their base letter (أ إ آ -> ا), harakat and tatweel removed.
- Zero-width non-joiner and joiner, bidi controls and soft hyphens removed, so
  "می‌خواهم" and "میخواهم" are one word.
- Persian and Arabic-Indic digits to ASCII digits.
"""

from __future__ import annotations

import re
import unicodedata

_TURKISH_I = str.maketrans({"İ": "i", "I": "i", "ı": "i"})

_ARABIC_LETTERS = str.maketrans(
    {
        "ي": "ی",  # U+064A ARABIC LETTER YEH -> U+06CC FARSI YEH
        "ى": "ی",  # U+0649 ALEF MAKSURA
        "ك": "ک",  # U+0643 ARABIC LETTER KAF -> U+06A9 KEHEH
        "ة": "ه",  # U+0629 TEH MARBUTA -> U+0647 HEH
        "ـ": None,  # U+0640 TATWEEL
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
    }
)


class _Marks(dict[int, int | None]):
    """A translate table dropping combining marks and format characters (Mn, Me, Cf),
    filled as characters are first met: faster than testing every character's category."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)) in ("Mn", "Me", "Cf") else code
        self[code] = kept
        return kept


_MARKS = _Marks()

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Return the search form of ``text``: the same for every way of typing a word."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).translate(_TURKISH_I).casefold()
    kept = unicodedata.normalize("NFD", text).translate(_MARKS)
    return unicodedata.normalize("NFC", kept).translate(_ARABIC_LETTERS)


def words(text: str) -> list[str]:
    """The folded words of ``text``, as the full-text index tokenizes them."""
    return _WORD.findall(fold(text))


FTS_WORDS = 16_383
"""Words indexed per text at most: PostgreSQL's positions end there (and a tsvector holds at
most 1 MB); both stores index the same words."""


def fts_text(text: str) -> str:
    """What the full-text tables store for ``text``: its folded words, space-separated. FTS5
    splits them again at the spaces, PostgreSQL's omnitui_tsv() too, so both stores index
    exactly these words whatever the database's locale."""
    return " ".join(words(text)[:FTS_WORDS])


# Reply and forward prefixes in the languages of our customers' mail clients, folded:
# English Re/Fw/Fwd, German AW/WG, Scandinavian SV/VS/VB, Dutch Antw/Doorst, Turkish
# YNT (yanıt), Cvp (cevap), İLT (ilet), Azerbaijani Cavab, Persian/Arabic پاسخ, رد,
# ارجاع, هدایت, Russian Ответ/Отв/Пересл. Mail clients add "[2]" counters and stack them.
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|vb|antw|doorst|ynt|cvp|ilt|cavab|yanit|cevap"
    r"|پاسخ|رد|ارجاع|هدایت|ответ|отв|пересл|tr|rif|enc|res)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+"
)


def subject_key(subject: str) -> str:
    """A subject as threading compares it: folded, reply prefixes and spacing removed.

    "Re: YNT: Sipariş  #42" and "sipariş #42" give the same key; "" when nothing is left.
    """
    folded = fold(subject)
    while True:
        stripped = _SUBJECT_PREFIX.sub("", folded)
        if stripped == folded:
            break
        folded = stripped
    return " ".join(folded.split())
