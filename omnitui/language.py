"""Which of our customers' languages a message is written in: en, az, tr or fa.

Canned replies and the FAQ bot give a customer the variant in their language, so the
language is guessed from what they write. Four languages with different scripts or
tell-tale letters and words do not need a statistical model: the script, a few letters
and short lists of frequent words decide, and a guess is given only when the evidence is
clear (None otherwise, and the agent's language applies). Pure string work; imports
nothing but omnitui.normalize.

The rules, in order:
- Addresses, links, @handles, numbers and order codes are removed first: they say
  nothing about the language and "#4411" is in every language.
- Arabic script is Persian. This project serves no other Arabic-script language, and
  Persian is often typed on Arabic keyboards (ي and ك for ی and ک), so those letters do
  not make a text Arabic. Only a text that is clearly something else gives None: Arabic
  (its function words, ة, with no Persian letter پ چ ژ گ or word) or Urdu (ٹ ڈ ڑ ں ے).
- Latin script scores Azerbaijani, Turkish and English on their frequent words (kept
  disjoint: "bu", "bir", "var" are both Azerbaijani and Turkish and count for neither),
  ə (Azerbaijani only), word endings (-maq/-acaq Azerbaijani, -yor/-mak/-acak Turkish)
  and Turkish apostrophe suffixes ("Telegram'dan"). The best language needs a score of
  2 and twice the runner-up's.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from omnitui.normalize import fold

LANGUAGES = ("en", "az", "tr", "fa")

MIN_SCORE = 2.0
"""Evidence the best language needs in one message (about two frequent words)."""
MARGIN = 2.0
"""How many times the runner-up's score the best one needs."""
MAJORITY = 0.6
"""The share of a customer's decided messages their language needs (``detect_many``)."""
MAX_CHARS = 2000
"""Only the start of a long message is read: enough words, bounded time."""

_NOISE = re.compile(
    r"\S+@\S+"  # email addresses
    r"|(?:https?://|www\.)\S+"  # links
    r"|[@#]\w+"  # handles, order codes
    r"|\w*\d\w*"  # numbers and codes with digits (A-4411, 15pro)
)
_LATIN_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_ARABIC_WORD = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+")

_PERSIAN_LETTERS = frozenset("پچژگیک")  # ی U+06CC and ک U+06A9, not Arabic ي ك
_URDU_LETTERS = frozenset("ٹڈڑںےۓھ")


def _listed(words: str, *, folded: bool = False) -> frozenset[str]:
    """The words of a space-separated list (folded: as ``normalize.fold`` writes them)."""
    return frozenset(fold(w) if folded else w for w in words.split())


# Folded (normalize.fold: ي -> ی, ك -> ک), so Persian typed either way matches.
_PERSIAN_WORDS = _listed(
    (
        "است می نمی را این آن که من شما ما سلام ممنون مرسی لطفا لطفاً چرا کی کجا چطور "
        "هنوز نرسیده سفارش سفارشم پول برگشت رمز عبور حساب کاربری دارم ندارم میخواهم "
        "خواهش خیلی هم یا اما ولی باید شده نشده بود کنم کنید کردم کرده دیروز امروز فردا "
        "ارسال پیگیری کد تحویل بسته چه چی هست نیست"
    ),
    folded=True,
)
_ARABIC_WORDS = _listed(
    (
        "في على هذا هذه الذي التي لم لن هل أين شكرا مرحبا أريد طلبي كيف متى لماذا "
        "إلى عن مع كان ليس لقد الطلب المنتج"
    ),
    folded=True,
)

_AZ_WORDS = _listed(
    "və üçün salam necə sifariş sifarişim sifarişi deyil çox mən sən biz niyə nə harada "
    "hara hanı xahiş edirəm edirik təşəkkür sağ olun yox yoxdur bəli xeyr bilmirəm "
    "ola olar olmur gəlmədi gəlmir pul geri qaytarmaq qaytarın şifrə şifrəni hesab "
    "hesabıma daxil çatdırılma kuryer məhsul nömrə nömrəsi artıq hələ indi sabah bugün "
    "dünən gün həftə ki da də amma ancaq zəhmət olmasa mənim sizin xeyir əleyküm "
    "hörmətli lazımdır edə bilərsiniz göndərin göndərdim ödəniş kart"
)
_TR_WORDS = _listed(
    "ve için merhaba selam teşekkür teşekkürler lütfen nerede neden nasıl değil çok ben "
    "sen hangi hâlâ hala şifre şifremi şifremi hesabıma giriş yapamıyorum sipariş "
    "siparişim siparişimi kargo kargom takip iade para ücret ürün ürünü gelmedi geldi "
    "henüz şimdi yarın dün bugün hafta mı mi mu mü evet hayır yok tamam iyi günler "
    "günaydın rica ederim edebilir misiniz musunuz ama fakat ile gibi daha sonra "
    "numarası numaram iptal bekliyorum istiyorum ne neden zaman bana beni benim sorun "
    "misiniz miyim musunuz müsünüz mısınız olur nasıl kutu şarj"
)
_EN_WORDS = _listed(
    "the a an is are was were be been my your our i you we it this that to for of and or "
    "in on at with from have has had do does did not can could would will please thanks "
    "thank hello hi hey dear what when where why how still yet any there here me us "
    "just already order refund password account delivery package received got want need "
    "help since but if so"
)
# A word both Azerbaijani and Turkish lists hold would score for both: kept out of both.
_SHARED = _AZ_WORDS & _TR_WORDS
_AZ_ONLY = _AZ_WORDS - _SHARED
_TR_ONLY = _TR_WORDS - _SHARED

_TURKIC_LETTERS = frozenset("şçğıöüə")
_EN_CLITICS = frozenset(("s", "t", "re", "ll", "m", "ve", "d"))
_AZ_ENDINGS = ("maq", "mək", "acaq", "əcək", "ıram", "irəm", "uram", "ürəm", "mıram", "mirəm")
_TR_ENDINGS = ("mak", "mek", "acak", "ecek", "acağım", "eceğim", "abilir", "ebilir")
_TR_PRESENT = re.compile(r"[ıiuü]yor")
# Verb and noun stems Azerbaijani and Turkish spell differently (gəl/gel, çıx/çık, istə/iste).
_AZ_STEMS = tuple(
    _listed(
        "gəl çıx istə dəyiş göndər gözlə öyrən işlə kömək bərpa qaytar çatdır yoxla ləğv "
        "pulsuz bağlama ünvan"
    )
)
_TR_STEMS = tuple(
    _listed(
        "gel çık yapa yapı iste değiş gönder bekle öğren çalış söyle kilit çöz ulaş yardım "
        "teşekkür kargo ücret tekrar"
    )
)


def _clean(text: str) -> str:
    return _NOISE.sub(" ", unicodedata.normalize("NFC", text[:MAX_CHARS]))


def _persian(text: str, words: list[str]) -> str | None:
    """fa for Arabic-script ``text`` unless it is clearly Arabic or Urdu (see the module)."""
    if any(c in _URDU_LETTERS for c in text):
        return None
    folded = [fold(w) for w in words]
    persian = sum(c in _PERSIAN_LETTERS for c in text) + sum(w in _PERSIAN_WORDS for w in folded)
    arabic = text.count("ة") + sum(w in _ARABIC_WORDS for w in folded)
    if arabic >= 2 and arabic > persian:
        return None
    return "fa" if persian >= 1 or len("".join(words)) >= 6 else None


def _latin_scores(words: list[str]) -> dict[str, float]:
    scores = dict.fromkeys(("en", "az", "tr"), 0.0)
    lowered = [w.replace("’", "'").replace("İ", "i").lower() for w in words]
    joined = "".join(lowered)
    turkic = any(c in _TURKIC_LETTERS for c in joined)
    # Turkish has no ə, q or x: Turkic letters without them lean Turkish, a little.
    turkish_letters = turkic and not any(c in "əqx" for c in joined)
    for lower in lowered:
        word, _, suffix = lower.partition("'")
        if suffix:
            if suffix not in _EN_CLITICS:
                scores["tr"] += 0.5  # Turkish writes a proper noun's suffix after an apostrophe
            elif word in _EN_WORDS or suffix in ("t", "ll", "re", "ve"):
                scores["en"] += 1
        if "ə" in word:
            scores["az"] += 2
        if word in _AZ_ONLY:
            scores["az"] += 1
        elif word in _TR_ONLY:
            scores["tr"] += 1
        elif word in _EN_WORDS:
            scores["en"] += 1
        elif len(word) > 3 and word.startswith(_AZ_STEMS):
            scores["az"] += 1
        elif len(word) > 3 and word.startswith(_TR_STEMS):
            scores["tr"] += 1
        elif len(word) > 4 and word.endswith(_AZ_ENDINGS):
            scores["az"] += 1
        elif len(word) > 4 and (word.endswith(_TR_ENDINGS) or _TR_PRESENT.search(word)):
            scores["tr"] += 1
        elif turkic and ("q" in word or "x" in word):
            scores["az"] += 1
        elif turkish_letters and any(c in _TURKIC_LETTERS for c in word):
            scores["tr"] += 0.25
    return scores


def scores(text: str) -> dict[str, float]:
    """The evidence for each language in ``text`` (0 for all when it has none). Arabic
    script scores only fa, with 3 when the text is Persian (and 0 when it is not)."""
    cleaned = _clean(text)
    arabic = _ARABIC_WORD.findall(cleaned)
    latin = _LATIN_WORD.findall(_ARABIC_WORD.sub(" ", cleaned))
    arabic_letters = sum(len(w) for w in arabic)
    latin_letters = sum(len(w) for w in latin)
    if len(arabic) >= 2 and arabic_letters * 3 >= latin_letters:
        # Persian with English product names in it ("iPhone 15 Pro Max من کی میرسه").
        found = dict.fromkeys(LANGUAGES, 0.0)
        if _persian("".join(arabic), arabic) == "fa":
            found["fa"] = 3.0
        return found
    return {**_latin_scores(latin), "fa": 0.0}


def _decide(found: dict[str, float]) -> str | None:
    ranked = sorted(found.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top >= MIN_SCORE and top >= MARGIN * second:
        return best
    return None


def detect(text: str) -> str | None:
    """en, az, tr or fa for ``text``; None when it is too short to tell, unsure, or in
    another language."""
    return _decide(scores(text))


def detect_many(texts: Iterable[str]) -> str | None:
    """The language of a customer from their messages (newest first, a few dozen at most):
    the one most messages are in, when it has ``MAJORITY`` of those that say one. When no
    message says one alone (short replies: "salam", "sifarişim hanı?"), their words are
    read together."""
    votes: Counter[str] = Counter()
    undecided: list[str] = []
    for text in texts:
        language = detect(text)
        if language is None:
            undecided.append(text[:MAX_CHARS])
        else:
            votes[language] += 1
    if not votes:
        return detect("\n".join(undecided)) if len(undecided) > 1 else None
    (best, count), total = votes.most_common(1)[0], sum(votes.values())
    return best if count >= MAJORITY * total else None
