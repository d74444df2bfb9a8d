"""Canned replies as text: the files they are imported from and exported to, their
{variables}, which language a customer gets, and the picker's fuzzy match.

A reply has a title, a shortcut (``::ret`` in the composer finds it), tags, and a body
per language (en, az, tr, fa). Bodies hold variables such as ``{customer.first_name}``
(``VARIABLES`` lists them all); ``{{`` and ``}}`` are literal braces. An unknown variable
or an unclosed brace is a ``CannedError`` naming it and where it is, at import, when an
agent saves a reply and when one is inserted: a reply never reaches a customer with a
raw ``{customer.nmae}`` in it (``unfilled`` is the composer's last check before a send).

Files (a folder, read by ``read_folder``; README.md and hidden files are skipped):

- ``*.toml``: one reply a file (``title``, ``shortcut`` (default: the file name), ``tags``
  (a list or a space-separated string) and a ``[body]`` table of language = text), or
  several as ``[[reply]]`` tables (each with its own ``shortcut`` and ``[reply.body]``).
- ``*.md``: front matter between two ``---`` lines (``title:``, ``shortcut:``, ``tags:``,
  ``language:``), the body below it. A variant in another language is a file of its own,
  ``ret.az.md`` (or any file whose front matter says ``shortcut: ret`` and
  ``language: az``); title and tags are given once per reply. Without ``language`` a
  file is the ``en`` variant (``ret.md``) or the one its name says (``ret.az.md``).

Errors are one line each, naming the file and its line (``replies/ret.md:3: ...``).

Variable values are plain text put into the composer's text area as they are (never
markup), one line each, with control characters removed (omnitui.text). Pure: imports
no Textual and no store.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from omnitui.i18n import _, ngettext
from omnitui.normalize import fold
from omnitui.text import one_line

if TYPE_CHECKING:
    from omnitui.reads import CustomerDetail

LANGUAGES = ("en", "az", "tr", "fa")
"""The languages a reply has variants in, in the order they are listed and chosen."""
DEFAULT_LANGUAGE = "en"

VARIABLES: dict[str, str] = {
    "customer.name": "the customer's name",
    "customer.first_name": "the first word of the customer's name",
    "customer.email": "the customer's email address",
    "customer.handle": "the customer's public handle (Telegram @username)",
    "customer.id": "the customer's number in omnitui",
    "agent.name": "your name ([agent] name, --agent or the login name)",
    "conversation.id": "the number of the customer's current conversation",
}
"""Every variable a body may hold, and what it is filled with."""
_NAMESPACES = sorted({name.partition(".")[0] for name in VARIABLES})

MAX_SHORTCUT = 40
MAX_TITLE = 200
MAX_TAG = 40
_SHORTCUT = re.compile(r"[^\W][\w-]*")
_FRONT_KEYS = ("title", "shortcut", "tags", "language")
_TOML_KEYS = ("title", "shortcut", "tags", "body")
_SKIPPED = {"readme.md"}


class CannedError(ValueError):
    """A canned reply that cannot be read, saved or filled in, said in one line.

    ``variable``, ``line`` and ``column`` say where in a body the problem is, when it is
    about a variable or a brace (line and column count from 1)."""

    def __init__(
        self,
        message: str,
        *,
        variable: str | None = None,
        line: int | None = None,
        column: int | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.variable = variable
        self.line = line
        self.column = column
        self.reason = reason or message
        """The problem without its position ("unknown variable {customer.nmae}")."""


class FolderError(CannedError):
    """Files of a folder that cannot be imported: one line each in ``errors``."""

    def __init__(self, errors: Sequence[str]) -> None:
        many = ngettext("{count} bad file", "{count} bad files", len(errors))
        super().__init__(errors[0] if len(errors) == 1 else many.format(count=len(errors)))
        self.errors = list(errors)


@dataclass(frozen=True, slots=True)
class CannedReply:
    """A reply as written: ``variants`` maps a language to its body."""

    title: str
    shortcut: str
    tags: tuple[str, ...]
    variants: dict[str, str]
    source: str = field(default="", compare=False)
    """Where it was read from ("replies/ret.md:1"), for errors about it."""

    @property
    def languages(self) -> tuple[str, ...]:
        return ordered_languages(self.variants)


# ---------------------------------------------------------------------------
# Names, tags and bodies


def shortcut_name(raw: str) -> str:
    """A shortcut as stored: lower case, one word of letters, digits, ``-`` and ``_``
    (what follows ``::`` in the composer), at most ``MAX_SHORTCUT`` characters."""
    name = raw.strip().lower().replace("i\u0307", "i")  # "İ".lower() keeps a dot above
    shown = one_line(raw.strip(), 60)
    if not name:
        raise CannedError(_("a canned reply needs a shortcut"))
    if not _SHORTCUT.fullmatch(name):
        problem = _("shortcut {shortcut}: one word of letters, digits, - and _")
        raise CannedError(problem.format(shortcut=repr(shown)))
    if len(name) > MAX_SHORTCUT:
        problem = _("shortcut {shortcut}: at most {count} characters")
        raise CannedError(problem.format(shortcut=repr(shown), count=MAX_SHORTCUT))
    return name


def tag_names(raw: str | Sequence[str]) -> tuple[str, ...]:
    """Tags as stored: lower case, one word each, no repeats (a string is split on spaces
    and commas)."""
    words = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    for word in words:
        if not isinstance(word, str):
            raise CannedError(_("tags: {value} is not text").format(value=repr(word)))
        tag = word.strip().removeprefix("#").lower().replace("i\u0307", "i")
        if not tag:
            continue
        if any(c.isspace() for c in tag) or not tag.isprintable():
            problem = _("tag {tag}: one word, printable")
            raise CannedError(problem.format(tag=repr(one_line(tag, 60))))
        if len(tag) > MAX_TAG:
            problem = _("tag {tag}: at most {count} characters")
            raise CannedError(problem.format(tag=repr(one_line(tag, 60)), count=MAX_TAG))
        tags.append(tag)
    return tuple(dict.fromkeys(tags))


def clean_body(text: str) -> str:
    """A body as stored: newlines as \\n, no blank lines before it, no space after it."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip()


def ordered_languages(languages: Iterable[str]) -> tuple[str, ...]:
    """Languages in ``LANGUAGES`` order (any other after them, by name)."""
    order = {lang: i for i, lang in enumerate(LANGUAGES)}
    return tuple(sorted(set(languages), key=lambda lang: (order.get(lang, len(order)), lang)))


def language_name(raw: str) -> str:
    language = raw.strip().lower()
    if language not in LANGUAGES:
        problem = _("language {value} is not one of {languages}")
        shown = repr(one_line(raw, 20))
        raise CannedError(problem.format(value=shown, languages=", ".join(LANGUAGES)))
    return language


def check_reply(reply: CannedReply) -> CannedReply:
    """The reply as it is stored (names normalized, bodies cleaned), or a CannedError:
    no title, a bad shortcut or tag, no body, an unknown language or variable."""
    title = " ".join(reply.title.split())
    if not title:
        raise CannedError(_("a canned reply needs a title"))
    if len(title) > MAX_TITLE:
        raise CannedError(_("title: at most {count} characters").format(count=MAX_TITLE))
    variants: dict[str, str] = {}
    for language, body in reply.variants.items():
        cleaned = clean_body(body)
        if not cleaned:
            continue
        lang = language_name(language)
        try:
            _pieces(cleaned)
        except CannedError as exc:
            problem = _("{language} body: {problem}").format(language=lang, problem=exc)
            raise CannedError(problem, variable=exc.variable, line=exc.line) from exc
        variants[lang] = cleaned
    if not variants:
        raise CannedError(_("a canned reply needs a body in at least one language"))
    return CannedReply(
        title,
        shortcut_name(reply.shortcut),
        tag_names(reply.tags),
        {lang: variants[lang] for lang in ordered_languages(variants)},
        reply.source,
    )


def summary(reply: CannedReply) -> str:
    """One line naming the reply and its state, for the audit event: shortcut, title,
    languages, tags, and a short hash of the bodies (so an edit of a body shows)."""
    import hashlib

    digest = hashlib.sha256(json.dumps(reply.variants, sort_keys=True).encode()).hexdigest()
    tags = " ".join(f"#{t}" for t in reply.tags)
    parts = [f"::{reply.shortcut}", one_line(reply.title, 80), " ".join(reply.languages)]
    return " · ".join([*parts, *([tags] if tags else []), digest[:8]])


# ---------------------------------------------------------------------------
# Variables


@dataclass(frozen=True, slots=True)
class _Variable:
    name: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Rendered:
    """A body filled in. ``missing``: the variables the customer has no value for (no
    email address, say), left in the text as written for the agent to replace; the
    composer will not send the text while they are there."""

    text: str
    missing: tuple[str, ...] = ()


def _pieces(body: str) -> list[str | _Variable]:
    """The body as text and variables; CannedError for an unknown variable or a ``{``
    not closed on its line."""
    pieces: list[str | _Variable] = []
    text: list[str] = []
    line, line_start, i, n = 1, 0, 0, len(body)
    while i < n:
        char = body[i]
        if char == "{":
            if body.startswith("{{", i):
                text.append("{")
                i += 2
                continue
            column = i - line_start + 1
            close = body.find("}", i + 1)
            newline = body.find("\n", i + 1)
            opened = body.find("{", i + 1)
            if close == -1 or -1 < newline < close or -1 < opened < close:
                braces = {"brace": "{", "escaped": "{{"}
                # TRANSLATORS: {brace} is "{" and {escaped} is "{{", as written in a body.
                reason = _("unclosed {brace} (write {escaped} for a brace)")
                # TRANSLATORS: {brace} is "{" and {escaped} is "{{", as written in a body.
                said = _(
                    "unclosed {brace} at line {line}, column {column} (write {escaped} for a brace)"
                )
                raise CannedError(
                    said.format(line=line, column=column, **braces),
                    line=line,
                    column=column,
                    reason=reason.format(**braces),
                )
            name = body[i + 1 : close].strip()
            if name not in VARIABLES:
                raise CannedError(
                    _unknown_variable(name, line, column),
                    variable=name,
                    line=line,
                    column=column,
                    reason=_unknown_variable(name),
                )
            if text:
                pieces.append("".join(text))
                text = []
            pieces.append(_Variable(name, line, column))
            i = close + 1
            continue
        if char == "}":
            i += 2 if body.startswith("}}", i) else 1
            text.append("}")
            continue
        if char == "\n":
            line, line_start = line + 1, i + 1
        text.append(char)
        i += 1
    if text:
        pieces.append("".join(text))
    return pieces


def _unknown_variable(name: str, line: int | None = None, column: int | None = None) -> str:
    """ "unknown variable {customer.nmae} at line 2, column 7 (did you mean
    {customer.name}?)", with the position when given and the suggestion when there is one."""
    close = difflib.get_close_matches(name.lower(), VARIABLES, n=1, cutoff=0.7)
    values = {
        "variable": f"{{{one_line(name, 60)}}}",
        "suggestion": f"{{{close[0]}}}" if close else "",
        "line": line,
        "column": column,
    }
    if line is None:
        if close:
            return _("unknown variable {variable} (did you mean {suggestion}?)").format(**values)
        return _("unknown variable {variable}").format(**values)
    if column is None:
        if close:
            said = _("unknown variable {variable} at line {line} (did you mean {suggestion}?)")
            return said.format(**values)
        return _("unknown variable {variable} at line {line}").format(**values)
    if close:
        said = _(
            "unknown variable {variable} at line {line}, column {column} "
            "(did you mean {suggestion}?)"
        )
        return said.format(**values)
    return _("unknown variable {variable} at line {line}, column {column}").format(**values)


def variables_in(body: str) -> list[str]:
    """The variables a body uses, in order (CannedError as ``render`` gives)."""
    return [p.name for p in _pieces(body) if isinstance(p, _Variable)]


def render(body: str, values: Mapping[str, str]) -> Rendered:
    """The body with its variables filled in from ``values`` (plain text, put in as is).
    A variable without a value stays as written and is listed in ``missing``."""
    out: list[str] = []
    missing: list[str] = []
    for piece in _pieces(body):
        if isinstance(piece, str):
            out.append(piece)
            continue
        value = values.get(piece.name, "")
        if value:
            out.append(value)
        else:
            out.append(f"{{{piece.name}}}")
            missing.append(piece.name)
    return Rendered("".join(out), tuple(dict.fromkeys(missing)))


_PLACEHOLDER = re.compile(
    r"\{\s*((?:" + "|".join(_NAMESPACES) + r")\.[^{}\n]*?)\s*\}", re.IGNORECASE
)


def unfilled(text: str) -> str | None:
    """Why ``text`` must not be sent as it is: the first ``{customer.…}``, ``{agent.…}``
    or ``{conversation.…}`` left in it, unknown or without a value ("unknown variable
    {customer.nmae} at line 2"); None when there is none. The composer's last check
    before a reply goes (text of that shape cannot be sent literally)."""
    found = _PLACEHOLDER.search(text)
    if found is None:
        return None
    name = found.group(1)
    line = text.count("\n", 0, found.start()) + 1
    shown = one_line(name, 60)
    if name in VARIABLES:
        said = _("{variable} at line {line} has no value for this customer: replace it")
        return said.format(variable=f"{{{shown}}}", line=line)
    return _unknown_variable(name, line)


def values_for(
    detail: CustomerDetail | None, agent: str, *, conversation_id: int | None = None
) -> dict[str, str]:
    """The variables' values for a reply to the customer of ``detail`` by ``agent`` ("" for
    those the customer has none of). The conversation is ``conversation_id``, else the one
    team actions apply to (``detail.state``), else the customer's newest."""
    values = {name: "" for name in VARIABLES}
    values["agent.name"] = agent
    if detail is not None:
        identities = detail.identities
        name = detail.row.name or next((i.display_name for i in identities if i.display_name), "")
        values["customer.name"] = name
        values["customer.first_name"] = name.split()[0] if name.split() else ""
        values["customer.email"] = next((i.address for i in identities if i.channel == "email"), "")
        values["customer.handle"] = next((f"@{i.handle}" for i in identities if i.handle), "")
        values["customer.id"] = str(detail.row.id)
        if conversation_id is None:
            state = detail.state
            conversation_id = state.id if state is not None else detail.conversation_id
    if conversation_id is not None:
        values["conversation.id"] = str(conversation_id)
    return {name: one_line(value, 200) for name, value in values.items()}


def pick_language(
    available: Iterable[str], *, customer: str | None = None, agent: str | None = None
) -> str:
    """The variant a customer gets: in their language when the reply has it (``customer``:
    detected from their messages, ``Reader.customer_language``; None when unsure), else in the
    agent's ([agent] language), else in English, else the first the reply has."""
    languages = ordered_languages(available)
    if not languages:
        raise CannedError(_("the reply has no body"))
    for wanted in (customer, agent, DEFAULT_LANGUAGE):
        if wanted and wanted in languages:
            return wanted
    return languages[0]


def opens_picker(before_cursor: str) -> bool:
    """Whether typing ``:`` after ``before_cursor`` (the line up to the cursor) makes the
    ``::`` that opens the picker: at the start of a line or after a space, so "http://",
    "12:30" and "fe80::1" never open it."""
    return before_cursor.endswith(":") and (len(before_cursor) == 1 or before_cursor[-2].isspace())


# ---------------------------------------------------------------------------
# Fuzzy matching (the picker)


class Findable(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def shortcut(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...


_F = TypeVar("_F", bound=Findable)
_WEIGHTS = (3, 2, 1)
"""How much a match counts in the shortcut, the title and the tags."""


def fuzzy_score(query: str, text: str) -> int:
    """How well ``query``'s letters appear in order in ``text`` (both folded already),
    starting at the start of a word of it (or anywhere, as one piece); 0 when they do not.
    Letters at the start of words and letters in a row count most, a prefix or the whole
    text more still."""
    if not query:
        return 1
    if len(query) > len(text):
        return 0
    best = 0
    start = text.find(query[0])
    while start != -1:
        if start == 0 or not text[start - 1].isalnum():
            best = max(best, _greedy(query, text, start))
        start = text.find(query[0], start + 1)
    if text.startswith(query):
        best += 10 + (20 if text == query else 0)
    elif query in text:
        best = max(best, 2 * len(query)) + 5
    return best


def _greedy(query: str, text: str, start: int) -> int:
    score, at, previous = 0, start, -2
    for char in query:
        at = text.find(char, at)
        if at == -1:
            return 0
        score += 1
        if at == 0 or not text[at - 1].isalnum():
            score += 4
        if at == previous + 1:
            score += 3
        previous, at = at, at + 1
    return score


def rank(query: str, replies: Sequence[_F]) -> list[_F]:
    """The replies that match every word of ``query`` (fuzzily, in the shortcut, title or
    tags, folded so that "iade" finds "İade" and "سفارش" with either yeh), best first;
    all of them by shortcut for an empty query."""
    words = fold(query).split()
    if not words:
        return sorted(replies, key=lambda r: r.shortcut)
    scored: list[tuple[int, str, _F]] = []
    for reply in replies:
        fields = (fold(reply.shortcut), fold(reply.title), fold(" ".join(reply.tags)))
        total = 0
        for word in words:
            best = max(fuzzy_score(word, f) * w for f, w in zip(fields, _WEIGHTS, strict=True))
            if not best:
                break
            total += best
        else:
            if fold(reply.shortcut) == "".join(words):
                total += 1000
            scored.append((total, reply.shortcut, reply))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [reply for _score, _shortcut, reply in scored]


# ---------------------------------------------------------------------------
# Files


def read_folder(
    folder: Path, progress: Callable[[int, int], None] | None = None
) -> list[CannedReply]:
    """Every reply in the ``*.toml`` and ``*.md`` files below ``folder`` (by path), checked.
    ``progress(done, total)`` after each file. FolderError lists every bad file (one line
    each, with its line) and no reply is returned then."""
    replies: list[CannedReply] = []
    pages: list[_Page] = []

    def parse(text: str, where: str, path: Path) -> None:
        if path.suffix == ".toml":
            replies.extend(parse_toml(text, where, path.stem))
        else:
            pages.append(parse_page(text, where, path.name))

    errors = read_files(folder, (".toml", ".md"), parse, progress)
    replies += join_pages(pages, errors)
    seen: dict[str, str] = {}
    for reply in replies:
        if reply.shortcut in seen:
            problem = _("::{shortcut} is also {where}")
            said = problem.format(shortcut=reply.shortcut, where=seen[reply.shortcut])
            errors.append(f"{reply.source}: {said}")
        else:
            seen[reply.shortcut] = reply.source
    if errors:
        raise FolderError(errors)
    return replies


def read_files(
    folder: Path,
    suffixes: tuple[str, ...],
    parse: Callable[[str, str, Path], None],
    progress: Callable[[int, int], None] | None,
) -> list[str]:
    """``parse(text, where, path)`` each file below ``folder`` (by path) whose name ends
    in one of ``suffixes``, but a README and hidden ones; ``progress(done, total)`` after
    each. The lines (FILE:LINE: problem) of the files that could not be read or whose
    ``parse`` raised a CannedError (read_folder here and in kb.py)."""
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix in suffixes
        and path.name.lower() not in _SKIPPED
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )
    errors: list[str] = []
    for done, path in enumerate(files, 1):
        where = str(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = _("cannot read: {error}").format(error=exc)
            errors.append(f"{where}:1: {problem}")
        else:
            try:
                parse(text, where, path)
            except CannedError as exc:
                errors.append(str(exc))
        if progress is not None:
            progress(done, len(files))
    return errors


def page_name(filename: str) -> tuple[str, str | None]:
    """A Markdown file's name less ``.md`` and a language suffix (``ret.az.md``: ``ret``),
    and that language (None without one)."""
    name = filename.removesuffix(".md")
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix.lower() in LANGUAGES:
        return stem, suffix.lower()
    return name, None


def page_language(
    given: str | None, file_language: str | None, at: str, error: type[CannedError]
) -> str:
    """A page's language: ``given`` in its front matter (at ``at``, FILE:LINE), which
    must agree with the file name's, else the file name's, else English; the problem
    raised as ``error``."""
    if given is None:
        return file_language or DEFAULT_LANGUAGE
    try:
        language = language_name(given)
    except CannedError as exc:
        raise error(f"{at}: {exc}") from exc
    if file_language is not None and language != file_language:
        problem = _("language {language} but the file name says {named}")
        problem = problem.format(language=language, named=file_language)
        raise error(f"{at}: {problem}")
    return language


# -- TOML


_TOML_AT = re.compile(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)")


def parse_toml(text: str, where: str, stem: str) -> list[CannedReply]:
    """The replies of a TOML file: its top-level keys (one reply; the shortcut defaults to
    ``stem``, the file name) or its ``[[reply]]`` tables."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = found.group(1) if found else str(text.count("\n") + 1)
        problem = _("invalid TOML: {error}").format(error=_TOML_AT.sub("", str(exc)))
        raise CannedError(f"{where}:{line}: {problem}") from exc
    if "reply" not in data:
        return [_toml_reply(data, text, where, None, stem)]
    entries = data["reply"]
    others = [key for key in data if key != "reply"]
    if others:
        line = _toml_line(text, None, others[0])
        problem = _("key {key} outside a [[reply]] table").format(key=repr(others[0]))
        raise CannedError(f"{where}:{line}: {problem}")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        line = _toml_line(text, None, "reply")
        problem = _("reply: write each reply as a [[reply]] table")
        raise CannedError(f"{where}:{line}: {problem}")
    return [_toml_reply(entry, text, where, index, None) for index, entry in enumerate(entries)]


def _toml_reply(
    table: dict[str, Any], text: str, where: str, index: int | None, stem: str | None
) -> CannedReply:
    def fail(key: str | None, message: str, language: str | None = None) -> CannedError:
        line = _toml_line(text, index, key, language)
        if index is not None:
            message = _("reply {number}: {problem}").format(number=index + 1, problem=message)
        return CannedError(f"{where}:{line}: {message}")

    keys = ", ".join(_TOML_KEYS)
    for key in table:
        if key not in _TOML_KEYS:
            if key.startswith("body"):
                problem = _(
                    'unknown key {key} (bodies go in a [body] table: en = "..."); keys: {keys}'
                )
            else:
                problem = _("unknown key {key}; keys: {keys}")
            raise fail(key, problem.format(key=repr(key), keys=keys))
    title = table.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("title" if "title" in table else None, _("title: give the reply a title"))
    raw_shortcut = table.get("shortcut", stem)
    if not isinstance(raw_shortcut, str):
        raise fail("shortcut", _('shortcut: give each [[reply]] a shortcut = "..."'))
    try:
        shortcut = shortcut_name(raw_shortcut)
    except CannedError as exc:
        raise fail("shortcut", str(exc)) from exc
    raw_tags = table.get("tags", [])
    if not isinstance(raw_tags, (str, list)):
        raise fail("tags", _("tags: a list of words or a space-separated string"))
    try:
        tags = tag_names(raw_tags)
    except CannedError as exc:
        raise fail("tags", str(exc)) from exc
    body = table.get("body")
    if not isinstance(body, dict) or not body:
        raise fail("body" if "body" in table else None, _('body: a [body] table: en = "..."'))
    variants: dict[str, str] = {}
    for language, value in body.items():
        key = f"body.{language}"
        if language not in LANGUAGES:
            problem = _("{key}: not one of {languages}")
            raise fail("body", problem.format(key=key, languages=", ".join(LANGUAGES)), language)
        if not isinstance(value, str):
            raise fail("body", _("{key}: the body is text").format(key=key), language)
        try:
            _pieces(clean_body(value))
        except CannedError as exc:
            problem = _("{key}: {problem}").format(key=key, problem=exc)
            raise fail("body", problem, language) from exc
        variants[language] = value
    try:
        return check_reply(
            CannedReply(title, shortcut, tags, variants, f"{where}:{_toml_line(text, index)}")
        )
    except CannedError as exc:
        raise fail(None, str(exc)) from exc


def _toml_line(
    text: str, index: int | None, key: str | None = None, language: str | None = None
) -> int:
    """The line (from 1) of ``key`` in the reply's table (the ``index``-th ``[[reply]]``,
    or the top level), of ``language`` within its body; the table's first line when the
    key is not found. tomllib keeps no positions, so the text is searched."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    if index is not None:
        headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*reply\s*\]\]", line)]
        if index < len(headers):
            start = headers[index]
            end = headers[index + 1] if index + 1 < len(headers) else len(lines)
    if key is None:
        return start + 1
    assigns = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*[=.]")
    table = re.compile(rf"\s*\[\s*(?:reply\s*\.\s*)?{re.escape(key)}\s*\]")
    for at in range(start, end):
        if table.match(lines[at]) or assigns.match(lines[at]):
            if language is None:
                return at + 1
            lang = re.compile(rf"\s*(?:body\s*\.\s*)?[\"']?{re.escape(language)}[\"']?\s*=")
            for inner in range(at, end):
                if lang.match(lines[inner]):
                    return inner + 1
            return at + 1
    return start + 1


# -- Markdown


@dataclass(slots=True)
class _Page:
    """One Markdown file: one language variant of one reply."""

    where: str
    shortcut: str
    language: str
    body: str
    title: str | None = None
    tags: tuple[str, ...] | None = None
    front_line: int = 1


def parse_page(text: str, where: str, filename: str) -> _Page:
    """One Markdown file: its front matter and body. The shortcut is the file name (less
    ``.md`` and a language suffix, ``ret.az.md``) unless the front matter gives one."""
    stem, file_language = page_name(filename)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    front, body_from = front_matter(lines, where, _FRONT_KEYS)

    def value(key: str) -> str | None:
        if key not in front:
            return None
        raw, line = front[key]
        try:
            return front_value(raw)
        except CannedError as exc:
            raise CannedError(f"{where}:{line}: {key}: {exc}") from exc

    def line_of(key: str) -> int:
        return front[key][1] if key in front else 1

    at = f"{where}:{line_of('language')}"
    language = page_language(value("language"), file_language, at, CannedError)
    try:
        shortcut = shortcut_name(value("shortcut") or stem)
    except CannedError as exc:
        raise CannedError(f"{where}:{line_of('shortcut')}: {exc}") from exc
    tags = None
    raw_tags = front.get("tags")
    if raw_tags is not None:
        try:
            tags = tag_names(front_list(raw_tags[0]))
        except CannedError as exc:
            raise CannedError(f"{where}:{raw_tags[1]}: {exc}") from exc
    after_front = body_from + 1
    while body_from < len(lines) and not lines[body_from].strip():
        body_from += 1
    body = clean_body("\n".join(lines[body_from:]))
    if not body:
        problem = _("no body below the front matter")
        raise CannedError(f"{where}:{after_front}: {problem}")
    try:
        _pieces(body)
    except CannedError as exc:
        line = body_from + (exc.line or 1)
        raise CannedError(
            f"{where}:{line}:{exc.column}: {exc.reason}", variable=exc.variable, line=line
        ) from exc
    title = value("title")
    return _Page(where, shortcut, language, body, title, tags, line_of("title"))


def front_matter(
    lines: Sequence[str], where: str, keys: Sequence[str]
) -> tuple[dict[str, tuple[str, int]], int]:
    """The front matter of a Markdown file's ``lines``: each of ``keys`` given, as its raw
    value and line (from 1), and the index of the first line after it (0 without front
    matter). CannedError "FILE:LINE: problem" for an unclosed ``---``, a line that is no
    ``key: value``, an unknown key or one given twice. Also the knowledge base's (kb.py)."""
    front: dict[str, tuple[str, int]] = {}
    if not lines or lines[0].strip() != "---":
        return front, 0
    close = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if close is None:
        problem = _("the front matter opened by --- is never closed")
        raise CannedError(f"{where}:1: {problem}")
    for at in range(1, close):
        row = lines[at]
        if not row.strip() or row.lstrip().startswith("#"):
            continue
        found = re.fullmatch(r"\s*([A-Za-z_]+)\s*:\s*(.*?)\s*", row)
        if found is None:
            problem = _("expected 'key: value' in the front matter")
            raise CannedError(f"{where}:{at + 1}: {problem}")
        key = found.group(1).lower()
        if key not in keys:
            problem = _("unknown key {key}; keys: {keys}")
            problem = problem.format(key=repr(key), keys=", ".join(keys))
            raise CannedError(f"{where}:{at + 1}: {problem}")
        if key in front:
            problem = _("{key} given twice").format(key=key)
            raise CannedError(f"{where}:{at + 1}: {problem}")
        front[key] = (found.group(2), at + 1)
    return front, close + 1


def front_value(raw: str) -> str:
    """A front matter value: "double-quoted" (JSON escapes), 'single-quoted' or bare."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CannedError(_("bad quoted text ({error})").format(error=exc.msg)) from exc
        assert isinstance(value, str)
        return value
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    return raw


def front_list(raw: str) -> list[str]:
    """Tags in front matter: ``a b``, ``a, b`` or ``[a, "b"]``."""
    inner = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    return [front_value(word.strip()) for word in inner.replace(",", " ").split()]


def join_pages(pages: Sequence[_Page], errors: list[str]) -> list[CannedReply]:
    """The Markdown files of one shortcut as one reply (a variant a file); what does not
    fit (a language twice, a title or tags given differently) goes to ``errors``."""
    by_shortcut: dict[str, list[_Page]] = {}
    for page in pages:
        by_shortcut.setdefault(page.shortcut, []).append(page)
    replies: list[CannedReply] = []
    for shortcut, group in by_shortcut.items():
        variants: dict[str, str] = {}
        variant_of: dict[str, str] = {}
        titled: list[_Page] = []
        tagged: list[_Page] = []
        bad = False
        for page in group:
            if page.language in variants:
                problem = _("the {language} variant of ::{shortcut} is also {where}").format(
                    language=page.language, shortcut=shortcut, where=variant_of[page.language]
                )
                errors.append(f"{page.where}:1: {problem}")
                bad = True
                continue
            variants[page.language] = page.body
            variant_of[page.language] = page.where
            if page.title is not None:
                titled.append(page)
            if page.tags is not None:
                tagged.append(page)
        titles = {" ".join((p.title or "").split()) for p in titled}
        if not titled:
            problem = _(
                "::{shortcut} has no title (give 'title:' in the front matter of one of its files)"
            ).format(shortcut=shortcut)
            errors.append(f"{group[0].where}:1: {problem}")
            continue
        if len(titles) > 1:
            problem = _("the title of ::{shortcut} differs from {where}'s: give it once")
            problem = problem.format(shortcut=shortcut, where=titled[0].where)
            errors.append(f"{titled[1].where}:{titled[1].front_line}: {problem}")
            continue
        if len({p.tags for p in tagged}) > 1:
            problem = _("the tags of ::{shortcut} differ from {where}'s: give them once")
            problem = problem.format(shortcut=shortcut, where=tagged[0].where)
            errors.append(f"{tagged[1].where}:1: {problem}")
            continue
        if bad:
            continue
        main = titled[0]
        reply = CannedReply(
            main.title or "",
            shortcut,
            (tagged[0].tags or ()) if tagged else (),
            variants,
            f"{main.where}:{main.front_line}",
        )
        try:
            replies.append(check_reply(reply))
        except CannedError as exc:
            errors.append(f"{reply.source}: {exc}")
    return replies


def to_markdown(reply: CannedReply) -> dict[str, str]:
    """The reply as Markdown files (name -> text) that ``read_folder`` reads back as it
    is: ``SHORTCUT.md`` with the front matter and the first variant (English where there
    is one), ``SHORTCUT.LANG.md`` for each other."""
    languages = reply.languages
    main = pick_language(languages)
    files = {
        f"{reply.shortcut}.md": (
            "---\n"
            f"title: {json.dumps(reply.title, ensure_ascii=False)}\n"
            f"shortcut: {reply.shortcut}\n"
            f"tags: {' '.join(reply.tags)}\n"
            f"language: {main}\n"
            f"---\n\n{reply.variants[main]}\n"
        )
    }
    for language in languages:
        if language != main:
            files[f"{reply.shortcut}.{language}.md"] = (
                f"---\nlanguage: {language}\n---\n\n{reply.variants[language]}\n"
            )
    return files
