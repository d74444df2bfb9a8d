"""The one translation function every string the console shows goes through.

``_("Reply")`` translates now; ``N_("Reply")`` only marks a string for the catalogs
(class attributes such as binding descriptions, evaluated at import) and is translated
where it is shown (``NP_(context, …)``: the same with a context, as ``pgettext``).
``ngettext`` for counts; never build a sentence from translated pieces: one msgid with
``{placeholders}``, formatted after translation.

Catalogs: omnitui/locale/LANG/LC_MESSAGES/omnitui.po, compiled to .mo by Babel at build
time. The language is chosen once, before the screens are imported (``set_language``):
``--lang``, then the config, then LC_ALL / LC_MESSAGES / LANG, then English.

Imports only the standard library (the TUI's first paint loads it).
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Mapping
from pathlib import Path

LANGUAGES = ("en", "az", "tr", "fa")
"""The console's languages, English (the msgids) first."""
DOMAIN = "omnitui"
LOCALE_DIR = Path(__file__).parent / "locale"

_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"


def _(message: str) -> str:
    """``message`` in the console's language."""
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it yet."""
    return message


def NP_(context: str, message: str) -> str:
    """Mark ``message`` in ``context`` for the catalogs without translating it yet (where it
    is shown: ``pgettext(context, message)``)."""
    return message


def translated(marked: str) -> str:
    """The translation of a msgid marked with ``N_`` where it was written (a help text,
    a view title), given here as a value: the one call that takes a non-literal."""
    return _translation.gettext(marked)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted message for ``n`` in the console's language."""
    return _translation.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` translated in ``context`` (the same English word meaning two things)."""
    return _translation.pgettext(context, message)


def language() -> str:
    """The console's language code (one of LANGUAGES)."""
    return _language


def known_language(value: str) -> str | None:
    """The language of a locale name ("az_AZ.UTF-8", "fa", "tr-TR"), or None."""
    code = value.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else None


def pick_language(
    flag: str | None, configured: str | None, environ: Mapping[str, str] = os.environ
) -> str:
    """--lang, then the config, then the environment (LC_ALL, LC_MESSAGES, LANG), then en."""
    for chosen in (flag, configured):
        if chosen:
            return known_language(chosen) or "en"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value and value not in ("C", "POSIX"):
            return known_language(value) or "en"
    return "en"


def set_language(code: str) -> None:
    """Translate from now on into ``code`` (English when it has no compiled catalog)."""
    global _translation, _language
    _language = known_language(code) or "en"
    if _language == "en":
        _translation = _gettext.NullTranslations()
        return
    _translation = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[_language], fallback=True)
