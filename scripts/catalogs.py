"""The console's message catalogs: extract, update, compile (Babel's API, no subprocess).

    .venv/bin/python scripts/catalogs.py            # extract + update the .po files + compile
    .venv/bin/python scripts/catalogs.py compile    # only compile .po -> .mo

Extraction reads every ``_()``, ``N_()``, ``NP_()``, ``ngettext()`` and ``pgettext()`` under
omnitui/ into omnitui/locale/omnitui.pot; each language's omnitui/locale/LANG/LC_MESSAGES/omnitui.po
is created or updated from it (new msgids with an empty msgstr, changed ones fuzzy,
removed ones dropped). The .mo files are build products: hatch_build.py calls
``compile_catalogs`` for every wheel, editable or not. tests/test_i18n.py uses ``extract``.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "omnitui"
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "omnitui"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
LANGUAGES = ("en", "az", "tr", "fa")
"""As omnitui.i18n.LANGUAGES (not imported: the build hook runs without the package)."""
PLURAL_FORMS = {
    "en": "nplurals=2; plural=(n != 1);",
    "az": "nplurals=2; plural=(n != 1);",
    "tr": "nplurals=2; plural=(n != 1);",
    "fa": "nplurals=2; plural=(n > 1);",
}
KEYWORDS = {
    "_": None,
    "N_": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "NP_": ((1, "c"), 2),
}
METHOD_MAP = [("migrations/**", "ignore"), ("**.py", "python")]
COMMENT_TAGS = ("TRANSLATORS:",)


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(package: Path = PACKAGE) -> Catalog:
    """Every msgid the code under ``package`` marks, with where it is (file names only)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(
        project="omnitui", copyright_holder="the omnitui authors", charset="utf-8", fuzzy=False
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        package,
        method_map=METHOD_MAP,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        where = (f"{package.name}/{filename}", lineno)
        catalog.add(message, None, [where], auto_comments=comments, context=context)
    return catalog


def _render(catalog: Catalog, *, ignore_obsolete: bool = True) -> bytes:
    from babel.messages.pofile import write_po

    out = io.BytesIO()
    # No line numbers: a line moved would otherwise change every catalog.
    write_po(out, catalog, width=100, include_lineno=False, ignore_obsolete=ignore_obsolete)
    return out.getvalue()


def _write_if_changed(path: Path, rendered: bytes) -> bool:
    """Write unless only the dates in the header would change."""

    def body(data: bytes) -> list[bytes]:
        return [
            line
            for line in data.splitlines()
            if not line.startswith((b'"POT-Creation-Date:', b'"PO-Revision-Date:'))
        ]

    if path.exists() and body(path.read_bytes()) == body(rendered):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rendered)
    return True


def update_catalogs(locale_dir: Path = LOCALE_DIR, package: Path = PACKAGE) -> None:
    """Extract into the template, then bring each language's .po up to date with it."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    template = extract(package)
    if _write_if_changed(locale_dir / f"{DOMAIN}.pot", _render(template)):
        print(f"wrote {locale_dir / f'{DOMAIN}.pot'} ({len(template)} msgids)")
    for language in LANGUAGES:
        path = po_path(language, locale_dir)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=language, domain=DOMAIN)
        else:
            catalog = Catalog(
                locale=language,
                domain=DOMAIN,
                project="omnitui",
                copyright_holder="the omnitui authors",
                charset="utf-8",
                fuzzy=False,
            )
        catalog.update(template, update_header_comment=False)
        headers = [h for h in catalog.mime_headers if h[0].lower() != "plural-forms"]
        catalog.mime_headers = [*headers, ("Plural-Forms", PLURAL_FORMS[language])]
        if _write_if_changed(path, _render(catalog)):
            untranslated = sum(1 for m in catalog if m.id and not _translated(m.string))
            print(f"wrote {path} ({untranslated} of {len(catalog)} untranslated)")


def _translated(string: object) -> bool:
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every LANG/LC_MESSAGES/omnitui.po under ``locale_dir`` compiled to its .mo (fuzzy
    entries left out, as gettext would); returns the .mo files."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        language = po.parent.parent.name
        with po.open("rb") as f:
            catalog = read_po(f, locale=language, domain=DOMAIN)
        mo = po.with_suffix(".mo")
        out = io.BytesIO()
        write_mo(out, catalog)
        if not mo.exists() or mo.read_bytes() != out.getvalue():
            mo.write_bytes(out.getvalue())
        written.append(mo)
    return written


def main(argv: list[str]) -> int:
    if argv not in ([], ["compile"]):
        print(__doc__, file=sys.stderr)
        return 2
    if not argv:
        update_catalogs()
    for mo in compile_catalogs():
        print(f"compiled {mo.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
