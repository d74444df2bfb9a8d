"""One raw email turned into plain values: readable text, addresses, thread ids, attachments.

Pure functions, no I/O. Mail as it really arrives is tolerated: wrong or missing
charsets (the legacy code pages of Turkish, Azerbaijani, Persian and Russian
writers are recognised), raw 8-bit headers, broken MIME structure, broken base64.
Whatever was repaired is named in ``ParsedMail.defects``; nothing but
``MailParseError`` escapes, and only for bytes that are no mail at all.

The stdlib parser runs with the compat32 policy (about ten times faster than
``policy.default``) and the decoding of headers, parameters and bodies is done
here. Imports only the standard library and ``omnitui.text``; never Textual or
the store. Inscriptis is imported only when a mail has HTML and no plain text.
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.parser
import email.policy
import functools
import hashlib
import html as html_entities
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from omnitui.filenames import MAX_FILENAME, safe_filename
from omnitui.text import clean

__all__ = ["MAX_FILENAME", "safe_filename"]  # named here for the parser's callers too

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
"""Attachments larger than this (decoded) are listed with their size but not kept."""
_MAX_DEPTH = 20
_MAX_PARTS = 500
_MAX_DEFECTS = 50


class MailParseError(Exception):
    """The bytes cannot be read as a mail at all (empty input)."""


@dataclass(frozen=True, slots=True)
class MailAttachment:
    filename: str
    """Safe to use as a file name: no directories, controls or leading dots; never empty."""
    content_type: str
    """Lowercased ``type/subtype``."""
    data: bytes
    """The decoded payload; ``b""`` when omitted."""
    inline: bool
    """Content-Disposition inline, or an image the HTML refers to by Content-ID."""
    content_id: str | None
    """Without the angle brackets."""
    omitted: str | None = None
    """Why ``data`` is empty although the part was not (``"larger than 25 MB"``)."""
    size: int = 0
    """Decoded size in bytes, also when omitted."""


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    """Decoded display name, controls removed ('' if none)."""
    addr: str
    """The addr-spec, lowercased and stripped ('' if none)."""


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str
    """``<...>`` form, '' when missing or unusable."""
    in_reply_to: str
    """The first msg-id of In-Reply-To, or ''."""
    references: tuple[str, ...]
    """The msg-ids of References in order, deduplicated."""
    sender: Address
    """From; else Sender, Reply-To, Return-Path; ``Address('', '')`` when none has one."""
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    """Decoded, one line, controls removed."""
    date: datetime | None
    """Aware, in UTC; None when missing or unreadable."""
    text: str
    """The readable body: text/plain preferred, else the HTML as text; '' if none."""
    html: str | None
    """The first HTML part, decoded, when there is one."""
    attachments: tuple[MailAttachment, ...]
    defects: tuple[str, ...]
    """What was repaired, in a few words each."""
    sha256: str
    """Hex SHA-256 of the raw bytes."""
    auto_submitted: bool
    """Sent by a robot (auto-reply, bounce, list): never answer it automatically."""


# --- charsets ---------------------------------------------------------------

_NO_CHARSET = frozenset(
    {"", "x-unknown", "unknown", "unknown-8bit", "x-unknown-8bit", "default", "none", "charset"}
    | {"x-user-defined", "8bit", "binary", "auto", "unspecified"}
)
_ALIASES = {
    "unicode-1-1-utf-7": "utf-7",
    "unicode-2-0-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-2-0-utf-8": "utf-8",
    "x-unicode-2-0-utf-8": "utf-8",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-8-e": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-6-e": "iso8859-6",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "x-sjis": "shift_jis",
    "x-mac-turkish": "mac-turkish",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-arabic": "mac-arabic",
    "x-mac-farsi": "mac-farsi",
    "x-mac-roman": "mac-roman",
    "iso-8859-9-windows-latin-5": "cp1254",
}
_WINDOWS_NAME = re.compile(r"(?:x-)?(?:cp|win|windows|ms|ansi)[-_ ]?(\d{3,4})")
# Codecs that are not charsets of text: they interpret escapes, or always fail.
_UNSAFE_CODECS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode"}
)
_NOT_ASCII_BASED = frozenset({"utf-7", "utf-16", "utf-16-le", "utf-16-be", "hz"})
_LATIN_DECLARED = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15", "iso8859-9", "cp1254"})
_PLAUSIBLE = 0.8

# Non-ASCII punctuation any of the legacy code pages may carry in ordinary text.
_PUNCTUATION = frozenset("€‚„…†‡‰‹›‘’“”•–—™«»°±§©®¶·×÷£¥¢¤¦¨ª¬\xad¯²³´µ¸¹º¼½¾¿¡\xa0")
# Letters of Turkish and Azerbaijani that windows-1254 and iso-8859-9 can write.
_TURKIC_LETTERS = frozenset("çğıöşüÇĞİÖŞÜâîûÂÎÛäÄéÉ")


def _latin_score(text: str) -> float:
    """How much ``text`` looks like a Latin-script language (Turkish first) in a legacy page.

    Mojibake of Arabic or Cyrillic in a Latin page is made of accented letters too,
    but whole words of them; real Latin-script text has mostly ASCII letters, and
    where it has not (a short all-capitals subject), only Turkic letters count.
    """
    ascii_letters = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    odd = [ch for ch in text if not ch.isascii()]
    if not odd:
        return 1.0
    letters = [ch for ch in odd if ch.isalpha()]
    punct = sum(1 for ch in odd if ch in _PUNCTUATION)
    if len(letters) > ascii_letters:
        good = sum(1 for ch in letters if ch in _TURKIC_LETTERS)
    else:
        good = sum(1 for ch in letters if "\xc0" <= ch <= "\u024f")
    return (good + punct) / len(odd)


def _is_arabic_letter(ch: str) -> bool:
    return "\u0621" <= ch <= "\u064a" or "\u0671" <= ch <= "\u06d3" or ch in "\u200c\u200d،؛؟ـ"


def _arabic_score(text: str) -> float:
    odd = [ch for ch in text if not ch.isascii()]
    if not odd:
        return 1.0
    return sum(1 for ch in odd if _is_arabic_letter(ch) or ch in _PUNCTUATION) / len(odd)


def _cyrillic_score(text: str) -> float:
    odd = [ch for ch in text if not ch.isascii()]
    if not odd:
        return 1.0
    return sum(1 for ch in odd if "\u0400" <= ch <= "\u04ff" or ch in _PUNCTUATION) / len(odd)


def _western_score(text: str) -> float:
    odd = [ch for ch in text if not ch.isascii()]
    if not odd:
        return 1.0
    return sum(1 for ch in odd if ch >= "\xa0") / len(odd)


# The code pages of our customers, in the order they are tried; latin-1 never fails.
_LEGACY = (
    ("windows-1254", "cp1254", _latin_score),
    ("iso-8859-9", "iso8859-9", _latin_score),
    ("windows-1256", "cp1256", _arabic_score),
    ("windows-1251", "cp1251", _cyrillic_score),
    ("iso-8859-1", "latin-1", _western_score),
)


@functools.lru_cache(maxsize=512)
def _codec(declared: str) -> str | None:
    """The Python codec a declared charset name means, or None when it names none we trust."""
    name = declared.strip().strip("\"'").strip().lower().split("*", 1)[0]
    if name in _NO_CHARSET:
        return None
    name = _ALIASES.get(name, name)
    windows = _WINDOWS_NAME.fullmatch(name)
    if windows:
        name = "cp" + windows.group(1)
    for candidate in (name, name.removeprefix("x-")):
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        if not getattr(info, "_is_text_encoding", True) or info.name in _UNSAFE_CODECS:
            return None
        return info.name
    return None


def _shown(value: str, width: int = 40) -> str:
    """A piece of a header, short and harmless, to quote in a defect."""
    flat = " ".join(clean(value.encode("utf-8", "replace").decode("utf-8")).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _guess(data: bytes) -> tuple[str, str]:
    """Text from bytes of unknown charset, and the charset chosen: UTF-8, then legacy pages."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad
    # UTF-8 with a few broken bytes (a cut multibyte character) is still UTF-8.
    if good >= 4 and bad * 8 <= good:
        return text, f"utf-8 with {bad} invalid bytes replaced"
    best: tuple[float, str, str] | None = None
    for label, codec, score in _LEGACY:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        plausibility = score(text[:20_000])
        if plausibility >= _PLAUSIBLE:
            return text, label
        if best is None or plausibility > best[0]:
            best = (plausibility, text, label)
    assert best is not None  # latin-1 decodes anything
    return best[1], best[2]


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Text from bytes in a declared (maybe wrong, maybe missing) charset, and what was repaired.

    The declared charset is tried first (junk names mapped to real ones), then
    UTF-8, then windows-1254, iso-8859-9, windows-1256, windows-1251 and latin-1,
    each only if the result looks like text of its script. A declared ASCII or
    Latin charset whose bytes are valid UTF-8 is read as UTF-8.
    """
    codec = _codec(declared) if declared and len(declared) <= 64 else None
    ascii_based = codec is None or not (
        codec in _NOT_ASCII_BASED or codec.startswith(("utf-32", "iso2022"))
    )
    if ascii_based and data.isascii():
        return data.decode("ascii"), None
    shown = _shown(declared or "")
    if codec is not None:
        if codec in _LATIN_DECLARED:
            try:
                return data.decode("utf-8"), f"declared {shown} but the bytes are UTF-8"
            except UnicodeDecodeError:
                pass
        try:
            if codec == "iso8859-1":
                # Mailers that say iso-8859-1 write windows-1252 (curly quotes, euro sign).
                try:
                    return data.decode("cp1252"), None
                except UnicodeDecodeError:
                    pass
            return data.decode(codec), None
        except (UnicodeError, ValueError, LookupError):
            problem = f"bytes not valid {shown}"
    elif declared and declared.strip():
        problem = f"charset {shown!r} unknown"
    else:
        problem = "no charset declared"
    text, used = _guess(data)
    if used == "utf-8" and codec is None and not (declared and declared.strip()):
        return text, None  # undeclared UTF-8 is what most mail is today
    return text, f"{problem}; decoded as {used}"


def _to_bytes(value: str) -> bytes:
    """The original bytes of a parser string: ASCII plus 8-bit bytes escaped as surrogates."""
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        try:
            return value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace")


# --- headers ----------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?]*)\?=")
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_B64 = bytes(b for b in range(256) if b not in _B64_ALPHABET)


def _decode_base64(data: bytes) -> tuple[bytes, bool]:
    """Decoded bytes and whether the input needed repair (garbage, bad padding, a stray char)."""
    junk = data.translate(None, _B64_ALPHABET + b"= \t\r\n")
    if not junk:
        try:
            return binascii.a2b_base64(data), False
        except binascii.Error:
            pass
    cleaned = data.translate(None, _NOT_B64)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    cleaned += b"=" * (-len(cleaned) % 4)
    return binascii.a2b_base64(cleaned), True


class _Headers:
    """Header values by lowercased name, as the parser found them (8-bit kept as surrogates)."""

    __slots__ = ("defects", "hint", "values")

    def __init__(self, msg: Message, defects: list[str]) -> None:
        self.values: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self.values.setdefault(name.strip().lower(), []).append(str(value))
        self.defects = defects
        self.hint: str | None = None

    def first(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[0] if found else None

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def text(self, name: str) -> str:
        """The decoded value of the first ``name`` header, on one line, controls removed."""
        value = self.first(name)
        return _flat(decode_header_value(value, self.defects, self.hint)) if value else ""


def _flat(value: str) -> str:
    return " ".join(clean(value).split())


def _decode_raw(value: str, defects: list[str], hint: str | None) -> str:
    """Header text outside encoded words: ASCII, or raw 8-bit bytes of some charset."""
    if value.isascii():
        return value
    data = _to_bytes(value)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text, defect = decode_bytes(data, hint)
    if defect is None and hint:
        defect = f"decoded as {_shown(hint)}"
    defects.append(f"raw 8-bit header: {defect}")
    return text


def decode_header_value(value: str, defects: list[str], hint: str | None = None) -> str:
    """A header value as text: unfolded, RFC 2047 words decoded, raw 8-bit bytes guessed.

    Encoded words of one charset are joined before decoding (a character may be
    split between two), the blanks between encoded words vanish, and an unknown
    or lying charset goes down the same fallback chain as bodies. ``hint`` is the
    body's charset, tried for raw 8-bit bytes that are not UTF-8.
    """
    if "\n" in value:
        value = _FOLD.sub("", value)
    if "=?" not in value:
        return _decode_raw(value, defects, hint)
    out: list[str] = []
    word = b""
    word_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal word, word_charset
        if word_charset is not None:
            text, defect = decode_bytes(word, word_charset)
            if defect:
                defects.append(f"encoded word: {defect}")
            out.append(text)
        word, word_charset = b"", None

    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        if gap and not (word_charset is not None and gap.isspace()):
            flush()
            out.append(_decode_raw(gap, defects, hint))
        charset = match.group(1).split("*", 1)[0].lower()
        encoded = _to_bytes(match.group(3))
        if match.group(2) in "bB":
            data, repaired = _decode_base64(encoded)
            if repaired:
                defects.append("broken base64 in an encoded word repaired")
        else:
            data = binascii.a2b_qp(encoded, header=True)
        if word_charset is not None and charset != word_charset:
            flush()
        word += data
        word_charset = charset
        pos = match.end()
    flush()
    if pos < len(value):
        out.append(_decode_raw(value[pos:], defects, hint))
    return "".join(out)


_MSGID_TOKEN = re.compile(r'<([^<>]*)>|"[^"]*"|\([^()]*\)|([^\s,<>()"]+)')
_ID_JUNK = re.compile(r"[\x00-\x20\x7f-\x9f<>]")


def _msgid(inner: str) -> str | None:
    if not inner.isascii():
        inner = _to_bytes(inner).decode("utf-8", "replace")
    inner = _ID_JUNK.sub("", inner)
    if not inner or len(inner) > 996:
        return None
    return f"<{inner}>"


def msgids(value: str) -> tuple[str, ...]:
    """All msg-ids in a header value, in order, in ``<...>`` form.

    Tolerant: comments and quoted strings are skipped, and bare ids without angle
    brackets count when they contain an ``@`` (or are the whole value).
    """
    found: list[tuple[str, bool]] = []
    for match in _MSGID_TOKEN.finditer(value):
        inner, bare = match.group(1), match.group(2)
        text = inner if inner is not None else bare
        if text is None:
            continue
        ident = _msgid(text)
        if ident is not None:
            found.append((ident, inner is None))
    if len(found) == 1 and found[0][1]:
        return (found[0][0],)
    return tuple(ident for ident, bare in found if not bare or "@" in ident)


def normalize_msgid(value: str) -> str:
    """The first msg-id of a header value in ``<...>`` form, or '' when there is none usable."""
    found = msgids(value)
    return found[0] if found else ""


_SPECIALS = re.compile(r"[,;<>@:()\[\]]")


def _quote_encoded_words(value: str) -> str:
    """Encoded words holding a comma or other special, put in quotes.

    ``=?utf-8?Q?Yilmaz,_Ayse?= <a@b>`` would otherwise be split into two addresses.
    """
    out: list[str] = []
    pos = 0
    quoted = escaped = False
    comment = 0
    for match in _ENCODED_WORD.finditer(value):
        for char in value[pos : match.start()]:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"' and not comment:
                quoted = not quoted
            elif char == "(" and not quoted:
                comment += 1
            elif char == ")" and not quoted and comment:
                comment -= 1
        out.append(value[pos : match.start()])
        word = match.group(0)
        loose = not quoted and not comment and not escaped
        if loose and _SPECIALS.search(match.group(3)) and '"' not in word and "\\" not in word:
            word = f'"{word}"'
        out.append(word)
        pos = match.end()
    out.append(value[pos:])
    return "".join(out)


def _addresses(values: list[str], headers: _Headers) -> tuple[Address, ...]:
    if not values:
        return ()
    unfolded = [_quote_encoded_words(_FOLD.sub("", value)) for value in values]
    out: list[Address] = []
    for name, addr in getaddresses(unfolded):
        if name:
            name = _flat(decode_header_value(name, headers.defects, headers.hint))
        if addr:
            if not addr.isascii():
                addr = _to_bytes(addr).decode("utf-8", "replace")
            addr = "".join(clean(addr).split()).lower().removeprefix("mailto:")
        if name or addr:
            out.append(Address(name, addr))
    return tuple(out)


def _parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if value is None:
        return None
    text = " ".join(_FOLD.sub("", value).split())
    if not text:
        return None
    parsed: datetime | None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            parsed = parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            parsed = None
    if parsed is None or not 1970 <= parsed.year <= 2200:
        defects.append(f"Date {_shown(text)!r} unreadable")
        return None
    return parsed


def _auto_submitted(headers: _Headers) -> bool:
    auto = headers.first("auto-submitted")
    if auto is not None and re.split(r"[;(\s]", auto.strip().lower(), maxsplit=1)[0] != "no":
        return True
    precedence = (headers.first("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return True
    if any(name in headers.values for name in ("x-autoreply", "x-autorespond", "x-autogenerated")):
        return True
    # A null reverse path marks bounces and other automatic notices (RFC 3834).
    return any(value.strip() == "<>" for value in headers.all("return-path"))


# --- MIME parts -------------------------------------------------------------

_PARAM = re.compile(r';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*(?:"|$)|[^;]*)', re.DOTALL)
_SECTION = re.compile(r"\*(\d{1,3})(\*?)")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
        return _QUOTED_PAIR.sub(r"\1", value)
    return value


def _rfc2231(sections: list[tuple[str, bool]], defects: list[str]) -> str:
    """An RFC 2231 parameter (``name*0*=utf-8''%C5%9E...``) from its sections, decoded."""
    charset: str | None = None
    first, encoded = sections[0]
    if encoded:
        parts = first.split("'", 2)
        if len(parts) == 3:
            charset, first = parts[0] or None, parts[2]
    data = b"".join(
        urllib.parse.unquote_to_bytes(_to_bytes(text)) if enc else _to_bytes(text)
        for text, enc in [(first, encoded), *sections[1:]]
    )
    text, defect = decode_bytes(data, charset)
    if defect:
        defects.append(f"parameter: {defect}")
    return text


def _param(header: str | None, wanted: str, defects: list[str], hint: str | None) -> str | None:
    """One parameter of a Content-Type or Content-Disposition value, decoded (RFC 2231, 2047)."""
    if not header or ";" not in header:
        return None
    plain: str | None = None
    extended: str | None = None
    sections: dict[int, tuple[str, bool]] = {}
    for match in _PARAM.finditer(header):
        key = match.group(1).lower()
        if not key.startswith(wanted):
            continue
        rest = key[len(wanted) :]
        value = _unquote(match.group(2))
        if not rest:
            plain = value if plain is None else plain
        elif rest == "*":
            extended = value
        elif section := _SECTION.fullmatch(rest):
            sections.setdefault(int(section.group(1)), (value, bool(section.group(2))))
    if extended is not None:
        return _rfc2231([(extended, True)], defects)
    if sections:
        return _rfc2231([sections[index] for index in sorted(sections)], defects)
    if plain is not None:
        return decode_header_value(plain, defects, hint)
    return None


def _header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return _FOLD.sub("", str(value))
    return None


def _token(value: str | None) -> str:
    """The value before any parameters, lowercased, without blanks or quotes."""
    if not value:
        return ""
    return "".join(value.partition(";")[0].split()).strip("\"'").lower()


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit:,} bytes"


_DEFECT_TEXT = {
    "NoBoundaryInMultipartDefect": "multipart boundary missing",
    "StartBoundaryNotFoundDefect": "multipart boundary not found in the body",
    "CloseBoundaryNotFoundDefect": "multipart end boundary missing",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation",
    "MisplacedEnvelopeHeaderDefect": "misplaced From_ line in the headers",
    "MissingHeaderBodySeparatorDefect": "no blank line after the headers",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with a transfer encoding",
    "MultipartInvariantViolationDefect": "",  # implied by the boundary defects above
}


def _defect_text(defect: object) -> str:
    name = type(defect).__name__
    if name in _DEFECT_TEXT:
        return _DEFECT_TEXT[name]
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Defect")).lower()


_DELIMITER = re.compile(
    rb"^--([0-9A-Za-z'()+_,\-./:=?][0-9A-Za-z'()+_,\-./:=? ]{0,69}?)[ \t]*\r?$", re.M
)


def _guess_boundary(body: bytes) -> bytes | None:
    """A boundary the body uses at least twice, when the header's one is missing or wrong."""
    seen: dict[bytes, int] = {}
    for match in _DELIMITER.finditer(body, 0, 1024 * 1024):
        found = match.group(1)
        if found.endswith(b"--") and found[:-2] in seen:
            found = found[:-2]
        seen[found] = seen.get(found, 0) + 1
    for found, count in seen.items():
        if count >= 2 and any(chr(b).isalnum() for b in found):
            return found
    return None


def _html_to_text(html: str) -> str:
    if not html.strip():
        return ""
    from inscriptis import get_text  # type: ignore[import-untyped]  # slow import, rarely needed

    try:
        text = get_text(html)
    except Exception:  # lxml raises many types on hostile markup; fall back to tag stripping
        text = html_entities.unescape(re.sub(r"<[^>]*>", " ", html))
    return str(text)


def _body_text(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def unflow(text: str, *, delsp: bool = False) -> str:
    """Plain text from RFC 3676 format=flowed: soft-broken lines joined, space-stuffing removed."""
    out: list[str] = []
    joined: list[str] = []
    depth = 0

    def emit() -> None:
        line = "".join(joined)
        out.append(f"{'>' * depth} {line}".rstrip(" ") if depth else line)
        joined.clear()

    for line in text.split("\n"):
        content = line.lstrip(">")
        line_depth = len(line) - len(content)
        if content.startswith(" "):
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if joined and line_depth != depth:
            emit()  # a flowed line must be followed by one of its own depth
        depth = line_depth
        joined.append(content[:-1] if flowed and delsp else content)
        if not flowed:
            emit()
    if joined:
        emit()
    return "\n".join(out)


@dataclass(slots=True)
class _Pending:
    name: str
    content_type: str
    data: bytes
    disposition: str
    content_id: str | None


@dataclass(slots=True)
class _Walk:
    """The state of one walk over a MIME tree: body pieces, attachments, defects."""

    defects: list[str]
    hint: str | None
    plain: list[str] = field(default_factory=list)
    html_body: list[str] = field(default_factory=list)
    html_any: list[str] = field(default_factory=list)
    attachments: list[_Pending] = field(default_factory=list)
    forwarded: list[Message] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)
    parts: int = 0

    def walk(self, part: Message, depth: int = 0, body: bool = True) -> None:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            if self.parts == _MAX_PARTS + 1:
                self.defects.append(f"more than {_MAX_PARTS} MIME parts; the rest skipped")
            return
        for defect in part.defects:
            if text := _defect_text(defect):
                self.defects.append(text)
        ctype = part.get_content_type()
        payload = _raw_payload(part)
        if ctype.startswith("multipart/"):
            if isinstance(payload, list) and payload and depth >= _MAX_DEPTH:
                self.flattened(payload, body)
            elif isinstance(payload, list) and payload:
                if ctype == "multipart/alternative":
                    chosen = self.choose(payload) if body else -1
                    for index, child in enumerate(payload):
                        self.walk(child, depth + 1, body and index == chosen)
                else:
                    for child in payload:
                        self.walk(child, depth + 1, body)
            elif isinstance(payload, list):
                self.body_piece(f"{part.preamble or ''}{part.epilogue or ''}", "text/plain", body)
            else:
                self.broken_multipart(part, ctype, str(payload), depth, body)
            return
        if ctype.startswith("message/") and isinstance(payload, list):
            self.enclosed(part, ctype, payload)
            return
        self.leaf(part, ctype, body, root=depth == 0)

    def flattened(self, children: list[Message], body: bool) -> None:
        """Parts nested absurdly deep, read in order as if they were one mixed list."""
        self.defects.append(f"MIME parts nested deeper than {_MAX_DEPTH}; read as one list")
        stack = list(reversed(children))
        while stack and self.parts <= _MAX_PARTS:
            part = stack.pop()
            self.parts += 1
            ctype = part.get_content_type()
            payload = _raw_payload(part)
            if ctype.startswith("multipart/") and isinstance(payload, list):
                stack.extend(reversed(payload))
            elif ctype.startswith("message/") and isinstance(payload, list):
                self.enclosed(part, ctype, payload)
            elif isinstance(payload, str):
                self.leaf(part, ctype, body, root=False)

    def choose(self, children: list[Message]) -> int:
        """The alternative to read: plain text with content, else one holding plain, else HTML."""
        kinds = [
            (child.get_content_type(), _token(_header(child, "content-disposition")))
            for child in children
        ]
        for index, (ctype, disposition) in enumerate(kinds):
            plain = ctype == "text/plain" and disposition != "attachment"
            if plain and self.text_of(children[index], ctype).strip():
                return index
        for index, (ctype, _) in enumerate(kinds):
            if ctype.startswith("multipart/") and _holds_plain(children[index], 0):
                return index
        for index, (ctype, disposition) in enumerate(kinds):
            if ctype == "text/html" and disposition != "attachment":
                return index
        for index, (ctype, _) in enumerate(kinds):
            if ctype.startswith(("multipart/", "text/plain")):
                return index
        return -1

    def leaf(self, part: Message, ctype: str, body: bool, *, root: bool) -> None:
        disposition = _token(_header(part, "content-disposition"))
        if ctype in ("text/plain", "text/html") and disposition != "attachment":
            named = (
                not disposition
                and _header(part, "content-type") is not None
                and (_param(_header(part, "content-type"), "name", [], None) is not None)
            )
            # A named text part after the body is a file (Apple Mail, old Outlook).
            if not (named and self.plain):
                if ctype == "text/html":
                    html = self.text_of(part, ctype)
                    self.html_any.append(html)
                    if body:
                        self.html_body.append(html)
                elif body:
                    self.plain.append(self.text_of(part, ctype))
                return
        elif root and ctype.startswith("text/") and disposition != "attachment":
            self.plain.append(self.text_of(part, ctype))
            return
        self.attach(part, ctype, self.payload(part), disposition)

    def payload(self, part: Message) -> bytes:
        """The part's payload with its Content-Transfer-Encoding undone."""
        payload = _raw_payload(part)
        if not isinstance(payload, str):
            return b""
        cte = _token(_header(part, "content-transfer-encoding"))
        if cte == "base64":
            data, repaired = _decode_base64(payload.encode("ascii", "ignore"))
            if repaired:
                self.defects.append("broken base64 repaired")
            return data
        if cte == "quoted-printable":
            return binascii.a2b_qp(_to_bytes(payload))
        if cte in ("x-uuencode", "uuencode", "uue", "x-uue"):
            decoded = part.get_payload(decode=True)
            return decoded if isinstance(decoded, bytes) else _to_bytes(payload)
        if cte not in ("", "7bit", "8bit", "binary"):
            self.defects.append(f"unknown transfer encoding {_shown(cte)!r}; kept as is")
        return _to_bytes(payload)

    def text_of(self, part: Message, ctype: str) -> str:
        """A text part decoded (charset guessed when needed), cached: alternatives look twice."""
        key = id(part)
        if key in self.texts:
            return self.texts[key]
        content_type = _header(part, "content-type")
        charset = _param(content_type, "charset", [], None)
        text, defect = decode_bytes(self.payload(part), charset)
        if defect:
            self.defects.append(defect)
        text = _body_text(text)
        if (
            ctype == "text/plain"
            and (_param(content_type, "format", [], None) or "").lower() == "flowed"
        ):
            delsp = (_param(content_type, "delsp", [], None) or "").lower() == "yes"
            text = unflow(text, delsp=delsp)
        self.texts[key] = text
        return text

    def body_piece(self, raw: str, ctype: str, body: bool, charset: str | None = None) -> None:
        text, defect = decode_bytes(_to_bytes(raw), charset)
        if defect:
            self.defects.append(defect)
        text = _body_text(text)
        if not text.strip():
            return
        if ctype == "text/html":
            self.html_any.append(text)
            if body:
                self.html_body.append(text)
        elif body:
            self.plain.append(text)

    def broken_multipart(
        self, part: Message, ctype: str, payload: str, depth: int, body: bool
    ) -> None:
        """A multipart without parts the parser could find: guess the boundary, or keep the text."""
        raw = _to_bytes(payload)
        boundary = _guess_boundary(raw) if depth < _MAX_DEPTH else None
        if boundary is not None:
            head = b"Content-Type: " + ctype.encode("ascii", "replace")
            try:
                rebuilt = email.message_from_bytes(
                    head + b'; boundary="' + boundary + b'"\n\n' + raw,
                    policy=email.policy.compat32,
                )
            except Exception:  # the same stdlib trips as in parse(): keep the text instead
                rebuilt = Message()
            if _raw_payload(rebuilt) and isinstance(_raw_payload(rebuilt), list):
                self.defects.append("parts recovered with a boundary found in the body")
                self.walk(rebuilt, depth + 1, body)
                return
        if payload.strip():
            self.defects.append("MIME structure unusable; the whole body kept as text")
            charset = _param(_header(part, "content-type"), "charset", [], None)
            self.body_piece(payload, "text/plain", body, charset)

    def enclosed(self, part: Message, ctype: str, payload: list[Message]) -> None:
        """A forwarded message (or a delivery report) kept whole as an attachment."""
        disposition = _token(_header(part, "content-disposition"))
        if ctype in ("message/rfc822", "message/global") and payload:
            inner = payload[0]
            self.forwarded.append(inner)
            subject = _header(inner, "subject") or ""
            name = _flat(decode_header_value(subject, self.defects, self.hint)) if subject else ""
            filename = _param(
                _header(part, "content-disposition"), "filename", self.defects, self.hint
            )
            data = _generated(inner, headers=True)
            self.attach(
                part,
                "message/rfc822",
                data,
                disposition,
                filename or (f"{name}.eml" if name else ""),
            )
            return
        self.attach(part, ctype, _generated(part, headers=False), disposition)

    def attach(
        self, part: Message, ctype: str, data: bytes, disposition: str, name: str | None = None
    ) -> None:
        if name is None:
            name = _param(_header(part, "content-disposition"), "filename", self.defects, self.hint)
            if not name or not name.strip():
                name = _param(_header(part, "content-type"), "name", self.defects, self.hint) or ""
        content_id = "".join((_header(part, "content-id") or "").split()).strip("<>") or None
        if content_id is not None and not content_id.isascii():
            content_id = _to_bytes(content_id).decode("utf-8", "replace")
        self.attachments.append(_Pending(name, ctype, data, disposition, content_id))


def _raw_payload(part: Message) -> str | list[Message]:
    """The payload as parsed, 8-bit bytes still escaped.

    Not ``get_payload()``: it decodes 8-bit text with the declared charset, losing
    bytes, and raises on junk charset parameters.
    """
    payload = getattr(part, "_payload", None)
    if isinstance(payload, list):
        return [child for child in payload if isinstance(child, Message)]
    return payload if isinstance(payload, str) else ""


def _holds_plain(part: Message, depth: int) -> bool:
    payload = _raw_payload(part)
    if not isinstance(payload, list) or depth > _MAX_DEPTH:
        return False
    for child in payload:
        ctype = child.get_content_type()
        if ctype == "text/plain" or (
            ctype.startswith("multipart/") and _holds_plain(child, depth + 1)
        ):
            return True
    return False


def _generated(part: Message, *, headers: bool, depth: int = 0) -> bytes:
    """A parsed message (or, without headers, its body) written back out as it came.

    Not ``Message.as_bytes()``: the generator refolds headers and raises on some
    that a sender wrote (a continuation line that looks like a header of its own).
    """
    out: list[bytes] = []
    if headers:
        out.extend(_to_bytes(f"{name}: {value}") + b"\n" for name, value in part.raw_items())
        out.append(b"\n")
    payload = _raw_payload(part)
    if isinstance(payload, str):
        out.append(_to_bytes(payload))
    elif depth < _MAX_DEPTH:
        try:
            boundary = part.get_boundary() if part.get_content_maintype() == "multipart" else None
        except (ValueError, TypeError, LookupError):
            boundary = None
        if boundary is None:
            out.append(
                b"\n".join(_generated(child, headers=True, depth=depth + 1) for child in payload)
            )
        else:
            delimiter = b"--" + _to_bytes(boundary)
            out.append(_to_bytes(part.preamble or ""))
            for child in payload:
                out.extend(
                    (b"\n", delimiter, b"\n", _generated(child, headers=True, depth=depth + 1))
                )
            out.extend((b"\n", delimiter, b"--\n", _to_bytes(part.epilogue or "")))
    return b"".join(out)


# --- the message ------------------------------------------------------------


def parse(raw: bytes, *, max_attachment_bytes: int = MAX_ATTACHMENT_BYTES) -> ParsedMail:
    """Read one raw email. Raises ``MailParseError`` only when there is nothing to read."""
    raw = bytes(raw)
    if not raw.strip():
        raise MailParseError("empty message")
    defects: list[str] = []
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as error:  # the stdlib parser trips on some junk (NUL in an RFC 2231 charset)
        defects.append(f"MIME structure unreadable ({type(error).__name__}); the body kept as text")
        msg = _headers_only(raw)
    headers = _Headers(msg, defects)
    headers.hint = _param(headers.first("content-type"), "charset", [], None)

    walk = _Walk(defects, headers.hint)
    walk.walk(msg)

    text = _readable(walk)
    if not text.strip() and walk.forwarded:
        # Nothing of its own (a forward as attachment, a digest): show what it encloses.
        inner = _Walk(defects, headers.hint)
        for enclosed in walk.forwarded[:20]:
            inner.walk(enclosed, 1)
        text = _readable(inner)
    text = re.sub(r"\A(?:[ \t]*\n)+", "", text).rstrip()
    html = next((piece for piece in walk.html_any if piece.strip()), None)

    referenced = "\n".join(walk.html_any).lower()
    attachments = []
    for index, pending in enumerate(walk.attachments, start=1):
        size = len(pending.data)
        omitted = (
            f"larger than {_megabytes(max_attachment_bytes)}"
            if size > max_attachment_bytes
            else None
        )
        cid = pending.content_id
        attachments.append(
            MailAttachment(
                filename=safe_filename(pending.name, pending.content_type, index),
                content_type=pending.content_type,
                data=b"" if omitted else pending.data,
                inline=pending.disposition == "inline"
                or (
                    cid is not None
                    and pending.content_type.startswith("image/")
                    and f"cid:{cid.lower()}" in referenced
                ),
                content_id=cid,
                omitted=omitted,
                size=size,
            )
        )

    sender = Address("", "")
    for name in ("from", "sender", "reply-to", "return-path"):
        found = _addresses(headers.all(name)[:1], headers)
        if found and found[0].addr:
            sender = found[0]
            break
        if found and not sender.name:
            sender = found[0]
    reply_to = _addresses(headers.all("reply-to")[:1], headers)
    references: dict[str, None] = {}
    for value in headers.all("references"):
        references.update(dict.fromkeys(msgids(value)))

    return ParsedMail(
        message_id=normalize_msgid(headers.first("message-id") or ""),
        in_reply_to=normalize_msgid(headers.first("in-reply-to") or ""),
        references=tuple(references),
        sender=sender,
        reply_to=reply_to[0] if reply_to else None,
        to=_addresses(headers.all("to"), headers),
        cc=_addresses(headers.all("cc"), headers),
        subject=headers.text("subject"),
        date=_parse_date(headers.first("date"), defects),
        text=text,
        html=html,
        attachments=tuple(attachments),
        defects=tuple(dict.fromkeys(d for d in defects if d))[:_MAX_DEFECTS],
        sha256=hashlib.sha256(raw).hexdigest(),
        auto_submitted=_auto_submitted(headers),
    )


def _readable(walk: _Walk) -> str:
    """The body pieces as one text: the plain ones, else the HTML ones converted."""
    plain = [piece.rstrip("\n") for piece in walk.plain if piece.strip()]
    if plain:
        return "\n\n".join(plain)
    converted = (_body_text(_html_to_text(html)).rstrip() for html in walk.html_body)
    return "\n\n".join(piece for piece in converted if piece.strip())


def _headers_only(raw: bytes) -> Message:
    """The headers of a mail whose MIME tree is unreadable, with the whole body as one text part."""
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
    del msg["content-type"]
    del msg["content-transfer-encoding"]
    return msg
