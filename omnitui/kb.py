"""The knowledge base the FAQ bot answers from, as text: its folder of Markdown files, the
words the bot compares, how well a customer's message matches an entry, and what the bot
says to the customer in their language.

An entry has a slug (its file name), tags, and per language (en, az, tr, fa) a question
(the ways a customer asks it) and an answer.

Files (a folder, read by ``read_folder``; README.md and hidden files are skipped), modelled
on the canned replies' Markdown files (omnitui/canned.py): one file a language,
``refund.md`` (English) and ``refund.az.md``, ``refund.tr.md``, ``refund.fa.md``; front
matter between two ``---`` lines (``question:`` required, ``tags:`` given once per entry,
``language:`` when the file name does not say it, ``slug:`` to override the file name),
the answer below it. Several ways to ask go on the one question line, separated by ``|``::

    ---
    question: How do I get a refund? | Can I have my money back?
    tags: billing
    ---

    Write to us with your order number; refunds take 5 working days.

Errors are one line each, naming the file and its line (``kb/refund.md:2: ...``).

Matching is word by word on ``normalize.fold``ed words (as the search folds them), the
same on SQLite and PostgreSQL: the score of an entry's question for a message is the
share of the message's meaningful words (``meaningful_words``: not a frequent word such
as "how" or "the", at least two letters) that the question has, a word matching a longer
or shorter form of itself ("sipariş" and "siparişim", "refund" and "refunds"). Pure:
imports no Textual and no store.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from omnitui.canned import (
    DEFAULT_LANGUAGE,
    CannedError,
    clean_body,
    front_list,
    front_matter,
    front_value,
    language_name,
    ordered_languages,
    page_language,
    page_name,
    read_files,
    tag_names,
)
from omnitui.canned import FolderError as FolderError
from omnitui.i18n import _
from omnitui.normalize import fold, words
from omnitui.text import one_line

MAX_SLUG = 60
MAX_QUESTION = 1000
_SLUG = re.compile(r"[^\W][\w-]*")
_FRONT_KEYS = ("question", "tags", "language", "slug")


class KbError(CannedError):
    """An entry or a file of the knowledge base that cannot be read or saved, in one line
    (a CannedError: the folder's files are read with the canned replies' helpers)."""


@dataclass(frozen=True, slots=True)
class Variant:
    """An entry in one language."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Entry:
    """A knowledge base entry as written: ``variants`` maps a language to its text."""

    slug: str
    tags: tuple[str, ...]
    variants: dict[str, Variant]
    source: str = field(default="", compare=False)
    """Where it was read from ("kb/refund.md:1"), for errors about it."""

    @property
    def languages(self) -> tuple[str, ...]:
        return ordered_languages(self.variants)


# ---------------------------------------------------------------------------
# Names and entries


def slug_name(raw: str) -> str:
    """A slug as stored: lower case, one word of letters, digits, ``-`` and ``_``."""
    name = raw.strip().lower().replace("i\u0307", "i")  # "İ".lower() keeps a dot above
    shown = repr(one_line(raw.strip(), 60))
    if not name:
        raise KbError(_("a knowledge base entry needs a slug"))
    if not _SLUG.fullmatch(name):
        raise KbError(_("slug {slug}: one word of letters, digits, - and _").format(slug=shown))
    if len(name) > MAX_SLUG:
        problem = _("slug {slug}: at most {count} characters")
        raise KbError(problem.format(slug=shown, count=MAX_SLUG))
    return name


def check_entry(entry: Entry) -> Entry:
    """The entry as it is stored (slug and tags normalized, text cleaned), or a KbError:
    a bad slug or tag, an unknown language, a variant without its question or answer, no
    variant at all."""
    variants: dict[str, Variant] = {}
    for language, variant in entry.variants.items():
        question = " ".join(variant.question.split())
        answer = clean_body(variant.answer)
        if not question and not answer:
            continue
        try:
            lang = language_name(language)
        except CannedError as exc:
            raise KbError(str(exc)) from exc
        if not question:
            raise KbError(_("{language}: the question is missing").format(language=lang))
        if not answer:
            raise KbError(_("{language}: the answer is missing").format(language=lang))
        if len(question) > MAX_QUESTION:
            problem = _("{language}: the question has more than {count} characters")
            raise KbError(problem.format(language=lang, count=MAX_QUESTION))
        variants[lang] = Variant(question, answer)
    if not variants:
        raise KbError(_("a knowledge base entry needs a question and an answer"))
    try:
        tags = tag_names(entry.tags)
    except CannedError as exc:
        raise KbError(str(exc)) from exc
    return Entry(
        slug_name(entry.slug),
        tags,
        {lang: variants[lang] for lang in ordered_languages(variants)},
        entry.source,
    )


def summary(entry: Entry) -> str:
    """One line naming the entry and its state, for the audit event: slug, languages, tags
    and a short hash of the text (so an edit shows)."""
    text = {lang: [v.question, v.answer] for lang, v in entry.variants.items()}
    digest = hashlib.sha256(json.dumps(text, sort_keys=True).encode()).hexdigest()
    tags = " ".join(f"#{t}" for t in entry.tags)
    parts = [entry.slug, " ".join(entry.languages)]
    return " · ".join([*parts, *([tags] if tags else []), digest[:8]])


def indexed_text(variant: Variant) -> str:
    """What kb_fts indexes for a variant (folded by db.py): the question, then the answer."""
    return f"{variant.question}\n{variant.answer}"


# ---------------------------------------------------------------------------
# Matching

# Frequent words that say nothing about what is asked, per language.
_EN_STOP = (
    "a an the is are was were be been am i you we he she it they me my your our us this that "
    "these those to for of and or in on at with from by about have has had do does did can "
    "could would will should may might please thanks thank hello hi hey dear what when where "
    "why how who which there here just so if but not no yes get any some want need like know "
    "tell"
)
_AZ_STOP = (
    "və üçün salam necə nə niyə harada hara mən sən biz siz o bu ki da də amma ancaq zəhmət "
    "olmasa xahiş edirəm təşəkkür sağ olun mənim sizin bir var yox hansı nədir istəyirəm "
    "bilərəm bilərsiniz"
)
_TR_STOP = (
    "ve için merhaba selam teşekkür teşekkürler lütfen nerede neden nasıl ben sen biz siz bu "
    "şu bir mı mi mu mü ne nedir var yok ama fakat ile gibi bana beni benim istiyorum hangi "
    "acaba"
)
_FA_STOP = (
    "است می نمی را این آن که من شما ما سلام ممنون مرسی لطفا لطفاً چرا کی کجا چطور چگونه هم "
    "یا اما ولی باید چه چی هست نیست از به در با برای تا یک دارم میخواهم خواهش"
)


def _folded_words(*lists: str) -> frozenset[str]:
    return frozenset(fold(word) for words_ in lists for word in words_.split())


_STOP = _folded_words(_EN_STOP, _AZ_STOP, _TR_STOP, _FA_STOP)
_MIN_STEM = 4
"""A word matches a longer form of itself from this many letters ("iade", "iadesi")."""
_COMMON_STEM = 5
"""Two words that begin with this many letters in common match ("qaytarmaq", "qaytarın")."""
SEARCH_STEM = 5
"""The letters of a message's word that the full-text candidates are looked up by (a
prefix query): "siparişim" looks up "sipar*", which finds "sipariş"."""


def meaningful_words(text: str) -> list[str]:
    """The folded words of ``text`` that say what it is about, in order, each once: no
    frequent word, no single letter, no number alone."""
    kept = [w for w in words(text) if len(w) > 1 and w not in _STOP and not w.isdigit()]
    return list(dict.fromkeys(kept))


def same_word(a: str, b: str) -> bool:
    """Whether two folded words are forms of one word: equal, one the start of the other
    (at least ``_MIN_STEM`` letters), or the first ``_COMMON_STEM`` letters in common."""
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= _MIN_STEM and long.startswith(short):
        return True
    return len(short) >= _COMMON_STEM and a[:_COMMON_STEM] == b[:_COMMON_STEM]


def score(message: str, question: str) -> float:
    """How well ``question`` (an entry's) matches the customer's ``message``, 0 to 1: the
    share of the message's meaningful words the question has (0 when it has none)."""
    wanted = meaningful_words(message)
    if not wanted:
        return 0.0
    have = words(question)
    found = sum(1 for w in wanted if any(same_word(w, h) for h in have))
    return found / len(wanted)


MAX_STEMS = 40
"""Prefixes asked for at most (a long message gets a low score anyway)."""


def search_stems(message: str) -> list[str]:
    """The prefixes the full-text index is asked for (an OR of prefix terms): the message's
    meaningful words cut to ``SEARCH_STEM`` letters, the first ``MAX_STEMS``."""
    return list(dict.fromkeys(w[:SEARCH_STEM] for w in meaningful_words(message)))[:MAX_STEMS]


# Endings a handoff word may carry ("operatorla", "temsilciye", "persons"), folded: not
# any longer word ("personal", "agency" ask for no one).
_HANDOFF_ENDINGS = _folded_words(
    "s a e ə ı i u ü la lə le ya yə ye na nə ne ın in un ün nın nin nun nün dan dən den ile "
    "yla ylə yle lar lər ler ی ها"
)


def asks_for_person(message: str, handoff_words: Iterable[str]) -> bool:
    """Whether the customer asks for a person: a word of ``handoff_words`` (any language's)
    is a word of the message, as it is or with a case ending ("operatorla" has "operator",
    "personal" has no "person")."""
    said = words(message)
    for raw in handoff_words:
        wanted = words(raw)
        if wanted and all(any(_with_ending(s, w) for s in said) for w in wanted):
            return True
    return False


def _with_ending(word: str, stem: str) -> bool:
    return word == stem or (word.startswith(stem) and word[len(stem) :] in _HANDOFF_ENDINGS)


def is_command(message: str) -> bool:
    """Whether ``message`` is a chat command (Telegram's /start, /help), no question."""
    first = message.strip().split(maxsplit=1)
    return bool(first) and first[0].startswith("/") and first[0][1:2].isalpha()


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry's variant the full-text index found for a message."""

    variant_id: int
    entry_id: int
    slug: str
    language: str
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Match:
    """The best entry for a message: its variant in the customer's language (else the one
    that matched) and the score of the best variant."""

    candidate: Candidate
    score: float


def best_match(message: str, candidates: Sequence[Candidate], language: str | None) -> Match | None:
    """The entry whose question matches ``message`` best (ties: the entry with a variant in
    ``language``, then the full-text order of ``candidates``), answered in ``language``
    when the entry has it, else in the variant that matched; None without candidates."""
    best: tuple[float, bool, int] | None = None
    chosen: Candidate | None = None
    by_entry: dict[int, dict[str, Candidate]] = {}
    for candidate in candidates:
        by_entry.setdefault(candidate.entry_id, {})[candidate.language] = candidate
    for order, candidate in enumerate(candidates):
        value = score(message, candidate.question)
        in_language = language is not None and language in by_entry[candidate.entry_id]
        key = (value, in_language, -order)
        if best is None or key > best:
            best, chosen = key, candidate
    if best is None or chosen is None:
        return None
    variants = by_entry[chosen.entry_id]
    answer = variants.get(language or "", chosen)
    return Match(answer, best[0])


# ---------------------------------------------------------------------------
# What the bot says (the customer's language, not the console's: a table, not the catalogs)

ANSWER_FOOTER: Mapping[str, str] = {
    "en": "Did this answer your question? Write 'person' to talk to a person.",
    "az": "Sualınıza cavab oldumu? İnsanla danışmaq üçün 'operator' yazın.",
    "tr": "Sorunuzu yanıtladı mı? Bir insanla konuşmak için 'temsilci' yazın.",
    "fa": "آیا این پاسخ سؤال شما بود؟ برای صحبت با یک کارشناس بنویسید «کارشناس».",
}
"""Below each answer: how to reach a person by word (every channel takes a word)."""
HANDED_OFF: Mapping[str, str] = {
    "en": "A person will answer you soon.",
    "az": "Tezliklə bir əməkdaşımız sizə cavab verəcək.",
    "tr": "Bir temsilcimiz kısa süre içinde size yanıt verecek.",
    "fa": "به‌زودی یکی از همکاران ما به شما پاسخ می‌دهد.",
}
"""Said when the conversation goes to the agents after the bot took part in it."""
PERSON_BUTTON: Mapping[str, str] = {
    "en": "Talk to a person",
    "az": "İnsanla danışmaq",
    "tr": "Bir insanla konuş",
    "fa": "صحبت با کارشناس",
}
"""The button's label where the channel has buttons (a press comes back as the label, a
handoff word in each language, with ``PERSON_DATA``)."""
PERSON_DATA = "faq:person"
"""The data of the "talk to a person" button."""
DEFAULT_HANDOFF_WORDS: Mapping[str, tuple[str, ...]] = {
    "en": ("person", "human", "agent", "operator"),
    "az": ("operator", "insan"),
    "tr": ("operatör", "insan", "temsilci"),
    "fa": ("اپراتور", "انسان", "کارشناس"),
}


def said(table: Mapping[str, str], language: str | None) -> str:
    """A text of the bot's in ``language``, else in English."""
    return table.get(language or DEFAULT_LANGUAGE, table[DEFAULT_LANGUAGE])


def bot_answer(answer: str, language: str | None) -> str:
    """The message the customer gets: the entry's answer, then how to reach a person."""
    return f"{answer}\n\n{said(ANSWER_FOOTER, language)}"


# ---------------------------------------------------------------------------
# Files


def read_folder(folder: Path, progress: Callable[[int, int], None] | None = None) -> list[Entry]:
    """Every entry in the ``*.md`` files below ``folder`` (by path), checked.
    ``progress(done, total)`` after each file. FolderError lists every bad file (one line
    each, with its line) and no entry is returned then."""
    pages: list[_Page] = []

    def parse(text: str, where: str, path: Path) -> None:
        pages.append(parse_page(text, where, path.name))

    errors = read_files(folder, (".md",), parse, progress)
    entries = join_pages(pages, errors)
    if errors:
        raise FolderError(errors)
    return entries


@dataclass(slots=True)
class _Page:
    """One Markdown file: one language of one entry."""

    where: str
    slug: str
    language: str
    question: str
    answer: str
    tags: tuple[str, ...] | None = None
    tags_line: int = 1


def parse_page(text: str, where: str, filename: str) -> _Page:
    """One Markdown file: its front matter (``question`` required) and the answer below."""
    stem, file_language = page_name(filename)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    raw, close = front_matter(lines, where, _FRONT_KEYS)
    if not close:
        problem = _("expected front matter between --- lines, with question: ...")
        raise KbError(f"{where}:1: {problem}")
    front: dict[str, tuple[str, int]] = {}
    for key, (value, line) in raw.items():
        try:
            front[key] = (value if key == "tags" else front_value(value), line)
        except CannedError as exc:
            raise KbError(f"{where}:{line}: {key}: {exc}") from exc

    def line_of(key: str) -> int:
        return front[key][1] if key in front else 1

    given = front["language"][0] if "language" in front else None
    language = page_language(given, file_language, f"{where}:{line_of('language')}", KbError)
    try:
        slug = slug_name(front["slug"][0] if "slug" in front else stem)
    except KbError as exc:
        raise KbError(f"{where}:{line_of('slug')}: {exc}") from exc
    tags = None
    if "tags" in front:
        try:
            tags = tag_names(front_list(front["tags"][0]))
        except CannedError as exc:
            raise KbError(f"{where}:{line_of('tags')}: {exc}") from exc
    question = " ".join(front.get("question", ("", 0))[0].split())
    if not question:
        problem = _("no question: give 'question:' in the front matter")
        raise KbError(f"{where}:{line_of('question')}: {problem}")
    if len(question) > MAX_QUESTION:
        problem = _("the question has more than {count} characters").format(count=MAX_QUESTION)
        raise KbError(f"{where}:{line_of('question')}: {problem}")
    answer = clean_body("\n".join(lines[close:]))
    if not answer:
        problem = _("no answer below the front matter")
        raise KbError(f"{where}:{close + 1}: {problem}")
    return _Page(where, slug, language, question, answer, tags, line_of("tags"))


def join_pages(pages: Sequence[_Page], errors: list[str]) -> list[Entry]:
    """The files of one slug as one entry (a language a file); what does not fit (a
    language twice, tags given differently) goes to ``errors``."""
    by_slug: dict[str, list[_Page]] = {}
    for page in pages:
        by_slug.setdefault(page.slug, []).append(page)
    entries: list[Entry] = []
    for slug, group in by_slug.items():
        variants: dict[str, Variant] = {}
        first_of: dict[str, str] = {}
        bad = False
        for page in group:
            if page.language in variants:
                problem = _("the {language} variant of {slug} is also {where}").format(
                    language=page.language, slug=slug, where=first_of[page.language]
                )
                errors.append(f"{page.where}:1: {problem}")
                bad = True
                continue
            variants[page.language] = Variant(page.question, page.answer)
            first_of[page.language] = page.where
        tagged = [p for p in group if p.tags is not None]
        if len({p.tags for p in tagged}) > 1:
            problem = _("the tags of {slug} differ from {where}'s: give them once")
            problem = problem.format(slug=slug, where=tagged[0].where)
            errors.append(f"{tagged[1].where}:{tagged[1].tags_line}: {problem}")
            continue
        if bad:
            continue
        tags = (tagged[0].tags or ()) if tagged else ()
        entry = Entry(slug, tags, variants, f"{group[0].where}:1")
        try:
            entries.append(check_entry(entry))
        except KbError as exc:
            errors.append(f"{entry.source}: {exc}")
    return entries


def to_markdown(entry: Entry) -> dict[str, str]:
    """The entry as Markdown files (name -> text) that ``read_folder`` reads back as it is:
    ``SLUG.md`` for English (or the first language there is, with ``language:``) with the
    tags, ``SLUG.LANG.md`` for each other language."""
    languages = entry.languages
    main = DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in languages else languages[0]
    files: dict[str, str] = {}
    for language in languages:
        variant = entry.variants[language]
        front = [f"question: {json.dumps(variant.question, ensure_ascii=False)}"]
        if language == main:
            front.append(f"tags: {' '.join(entry.tags)}")
            if language != DEFAULT_LANGUAGE:
                front.append(f"language: {language}")
            name = f"{entry.slug}.md"
        else:
            name = f"{entry.slug}.{language}.md"
        files[name] = "---\n" + "\n".join(front) + f"\n---\n\n{variant.answer}\n"
    return files


# ---------------------------------------------------------------------------
# Rows the TUI and the CLI read (reads.Reader.kb_entries, kb_entry)


@dataclass(frozen=True, slots=True)
class KbRow:
    """An entry as listed: its languages and the question shown for it (English, else the
    first language's)."""

    id: int
    slug: str
    tags: tuple[str, ...]
    languages: tuple[str, ...]
    question: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, rows: Sequence[Sequence[Any]]) -> KbRow:
        """From rows (id, slug, tags, updated_at, updated_by, language, question), one a
        language of the entry (language None: it has none)."""
        from omnitui.reads import parse_stamp

        first = rows[0]
        questions = {str(r[5]): str(r[6]) for r in rows if r[5] is not None}
        languages = ordered_languages(questions)
        shown = DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in questions else next(iter(languages), "")
        return cls(
            int(first[0]),
            str(first[1]),
            tuple(str(first[2] or "").split()),
            languages,
            questions.get(shown, ""),
            parse_stamp(first[3]),
            str(first[4] or ""),
        )


@dataclass(frozen=True, slots=True)
class KbDetail:
    """An entry with its text, for the editor."""

    row: KbRow
    entry: Entry
