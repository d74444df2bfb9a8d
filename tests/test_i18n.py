"""The console's languages: the catalogs against the code, how sentences are made, and
which language a process chooses (--lang, then the config, then the environment)."""

from __future__ import annotations

import ast
import gettext
import importlib.util
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from omnitui import i18n

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "omnitui"
LOCALE_DIR = PACKAGE / "locale"
TRANSLATED = ("az", "tr", "fa")
"""The languages whose catalogs must translate every msgid (English is the msgids)."""
GETTEXT = {"_", "N_", "NP_", "ngettext", "pgettext"}
LITERAL_ARGS = {"_": 1, "N_": 1, "NP_": 2, "ngettext": 2, "pgettext": 2}
"""How many leading arguments of each call must be string literals (msgids, context)."""
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)[^{}]*\}(?!\})")


def _catalogs_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("catalogs", ROOT / "scripts" / "catalogs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOGS = _catalogs_script()


def _read_po(language: str) -> Catalog:
    with CATALOGS.po_path(language).open("rb") as f:
        return read_po(f, locale=language, domain=i18n.DOMAIN)


def _key(message: Message) -> tuple[str | None, str]:
    singular = message.id[0] if isinstance(message.id, tuple | list) else message.id
    return message.context, str(singular)


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    catalog: Catalog = CATALOGS.extract(PACKAGE)
    return catalog


# -- the catalogs ---------------------------------------------------------------------


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_catalog_holds_every_msgid_in_the_code(extracted: Catalog, language: str) -> None:
    catalog = _read_po(language)
    in_code = {_key(m): m.id for m in extracted if m.id}
    in_catalog = {_key(m): m.id for m in catalog if m.id}
    missing = sorted(str(k[1]) for k in in_code.keys() - in_catalog.keys())
    stale = sorted(str(k[1]) for k in in_catalog.keys() - in_code.keys())
    changed = sorted(
        str(k[1]) for k in in_code.keys() & in_catalog.keys() if in_code[k] != in_catalog[k]
    )
    assert not (missing or stale or changed), (
        f"{language}: run `.venv/bin/python scripts/catalogs.py`; "
        f"missing {missing[:10]}, stale {stale[:10]}, plural changed {changed[:10]}"
    )


def test_the_catalogs_have_their_plural_forms() -> None:
    for language in i18n.LANGUAGES:
        catalog = _read_po(language)
        expected = CATALOGS.PLURAL_FORMS[language]
        assert catalog.plural_forms == expected, language
    assert CATALOGS.PLURAL_FORMS["fa"] == "nplurals=2; plural=(n > 1);"
    assert CATALOGS.LANGUAGES == i18n.LANGUAGES


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_msgid_is_translated(language: str) -> None:
    """Fails until the translators have filled the catalog (fuzzy entries count as missing:
    gettext leaves them out)."""
    catalog = _read_po(language)
    untranslated = [
        str(_key(m)[1]) for m in catalog if m.id and (m.fuzzy or not _all_forms(m.string))
    ]
    assert not untranslated, (
        f"{language}: {len(untranslated)} of {len(catalog)} msgids untranslated, "
        f"e.g. {untranslated[:5]}"
    )


def _all_forms(string: Any) -> bool:
    if isinstance(string, tuple | list):
        return bool(string) and all(string)
    return bool(string)


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_placeholders(language: str) -> None:
    """A translation names the same {placeholders} as its msgid: .format() would raise on
    one it does not know, and a dropped one loses a name or a count."""
    wrong = []
    for message in _read_po(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for string in strings:
            if not string:
                continue
            found = set(PLACEHOLDER.findall(string))
            # A plural form may leave the count out ("Edited once"), never add a name.
            if not found <= wanted or (len(ids) == 1 and found != wanted):
                wrong.append((ids[0], string))
    assert not wrong, f"{language}: placeholders differ: {wrong[:5]}"


def test_the_compiled_catalogs_are_current() -> None:
    """The build hook (hatch_build.py) compiled every .po as it is now: reinstall
    (`pip install -e .`) or run `scripts/catalogs.py compile` after editing a catalog."""
    for language in i18n.LANGUAGES:
        po = CATALOGS.po_path(language)
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} missing: the build hook did not run"
        out = io.BytesIO()
        write_mo(out, _read_po(language))
        assert mo.read_bytes() == out.getvalue(), f"{mo} is stale"
        gettext.translation(i18n.DOMAIN, LOCALE_DIR, languages=[language])  # loads


def test_a_compiled_catalog_translates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Catalog(locale="az", domain=i18n.DOMAIN)
    catalog.add("Reply", "Cavab ver")
    catalog.add(("{count} unread", "{count} unread"), ("{count} oxunmamış", "{count} oxunmamış"))
    catalog.add("open", "açıq", context="conversation status")
    where = tmp_path / "az" / "LC_MESSAGES"
    where.mkdir(parents=True)
    with (where / f"{i18n.DOMAIN}.mo").open("wb") as f:
        write_mo(f, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    try:
        i18n.set_language("az")
        assert i18n.language() == "az"
        assert i18n._("Reply") == "Cavab ver"
        assert i18n.ngettext("{count} unread", "{count} unread", 3) == "{count} oxunmamış"
        assert i18n.pgettext("conversation status", "open") == "açıq"
        assert i18n._("not in the catalog") == "not in the catalog"
    finally:
        i18n.set_language("en")


def test_views_and_channels_are_translated_where_shown_and_saved_views_are_not() -> None:
    from omnitui.views import ALL, OPEN, channel_view, saved_view
    from omnitui.widgets.channels import channel_name

    saved = saved_view("vip", "tag:vip", title="Open")  # the config's words, as written
    try:
        i18n.set_language("az")
        assert (ALL.shown_title, OPEN.shown_title) == ("Hamısı", "Açıq")
        assert ALL.title == "All"  # the msgid stays: ids, logs and the first paint use it
        assert channel_view("webchat").shown_title == "Veb-çat"
        assert "Veb-çat" in channel_view("webchat").shown_description
        assert channel_view("fax").shown_title == "Fax"  # no msgid: its own name
        assert saved.shown_title == "Open"
        assert saved.shown_description.endswith(": tag:vip")
        assert (channel_name("email"), channel_name("fax")) == ("e-poçt", "fax")
        i18n.set_language("en")
        assert (OPEN.shown_title, OPEN.shown_description) == (
            "Open",
            "Customers with an open conversation",
        )
        assert channel_name("webchat") == "webchat"
    finally:
        i18n.set_language("en")


# -- how sentences are made -------------------------------------------------------------


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path, ast.parse(path.read_text("utf-8"), str(path))


def _is_gettext(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT
    )


def _is_translated(node: ast.AST) -> bool:
    """A translation call, or one formatted (``_("…{x}").format(x=…)``)."""
    if _is_gettext(node):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and _is_translated(node.func.value)
    )


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"


def _problems(path: Path, tree: ast.Module) -> list[str]:
    found: list[str] = []
    imports_gettext = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "omnitui.i18n"
        and any(alias.name == "_" for alias in node.names)
        for node in ast.walk(tree)
    )
    for node in ast.walk(tree):
        if _is_gettext(node):
            assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            wanted = LITERAL_ARGS[node.func.id]
            literal = len(node.args) >= wanted and all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:wanted]
            )
            if not literal or node.keywords:
                found.append(f"{_where(path, node)}: {node.func.id}() needs literal msgids")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            if _is_translated(node.left) or _is_translated(node.right):
                found.append(f"{_where(path, node)}: a translated string in + or %")
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            if _is_translated(node.value):
                found.append(f"{_where(path, node)}: a translated string in +=")
        elif isinstance(node, ast.JoinedStr):
            for value in node.values:
                if isinstance(value, ast.FormattedValue) and _is_translated(value.value):
                    found.append(f"{_where(path, node)}: a translated string in an f-string")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join"
            and node.args
        ):
            parts = node.args[0]
            elements: list[ast.AST] = []
            if isinstance(parts, ast.List | ast.Tuple | ast.Set):
                elements = list(parts.elts)
            elif isinstance(parts, ast.ListComp | ast.GeneratorExp | ast.SetComp):
                elements = [parts.elt]
            if any(_is_translated(e) for e in elements):
                found.append(f"{_where(path, node)}: translated pieces joined")
        elif (
            imports_gettext
            and isinstance(node, ast.Name)
            and node.id == "_"
            and isinstance(node.ctx, ast.Store)
        ):
            found.append(f"{_where(path, node)}: `_` assigned (it shadows the translation)")
    return found


def test_no_sentence_is_built_from_translated_pieces() -> None:
    problems = [p for path, tree in _sources() for p in _problems(path, tree)]
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_it_is_for() -> None:
    bad = """
from omnitui.i18n import _, ngettext
a = _("Hello") + " world"
b = f"{_('Hello')} world"
c = " ".join([_("a"), _("b")])
d = _(name)
e = _(f"x {y}")
f = ngettext("one", plural, n)
g = _("x {n}").format(n=1) + "."
for _ in range(3):
    pass
"""
    found = _problems(ROOT / "x.py", ast.parse(bad))
    assert len(found) == 8, found
    good = """
from omnitui.i18n import _, ngettext, pgettext
a = _("Assigned {customer} to {agent}").format(customer=c, agent=a)
b = ngettext("{count} file", "{count} files", n).format(count=n)
c = pgettext("conversation status", "open")
d = " · ".join(names)
"""
    assert _problems(ROOT / "x.py", ast.parse(good)) == []


# -- which language -----------------------------------------------------------------------


def test_pick_language_prefers_the_flag_then_the_config_then_the_environment() -> None:
    env = {"LC_ALL": "", "LC_MESSAGES": "", "LANG": "tr_TR.UTF-8"}
    assert i18n.pick_language("fa", "az", env) == "fa"
    assert i18n.pick_language(None, "az", env) == "az"
    assert i18n.pick_language(None, "", env) == "tr"
    assert i18n.pick_language(None, None, {**env, "LC_MESSAGES": "fa_IR"}) == "fa"
    assert i18n.pick_language(None, None, {**env, "LC_ALL": "az_AZ.UTF-8"}) == "az"
    assert i18n.pick_language(None, None, {"LANG": "C.UTF-8"}) == "en"
    assert i18n.pick_language(None, None, {"LANG": "de_DE.UTF-8"}) == "en"
    assert i18n.pick_language(None, None, {}) == "en"


@pytest.fixture
def english_after() -> Iterator[None]:
    yield
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("flag", "configured", "environment", "chosen"),
    [
        ("fa", "az", "tr_TR.UTF-8", "fa"),
        (None, "az", "tr_TR.UTF-8", "az"),
        (None, None, "tr_TR.UTF-8", "tr"),
        (None, "", "fa_IR.UTF-8", "fa"),
        (None, None, "C", "en"),
    ],
)
def test_the_cli_chooses_the_language_when_it_reads_the_settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    english_after: None,
    flag: str | None,
    configured: str | None,
    environment: str,
    chosen: str,
) -> None:
    from omnitui import cli

    for name in ("LC_ALL", "LC_MESSAGES", "OMNITUI_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", environment)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no config file there
    config = None
    if configured is not None:
        config = tmp_path / "config.toml"
        config.write_text(f'[display]\nlanguage = "{configured}"\n', "utf-8")
    options = cli._Options(tmp_path / "data", config, "agent", True, None, flag)
    for first_paint in (False, True):  # every verb, and the TUI
        i18n.set_language("en")
        options.settings(first_paint=first_paint)
        assert i18n.language() == chosen


def test_an_unknown_lang_exits_2_naming_the_flag(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "omnitui", "--lang", "xx", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--lang" in lines[0] and "'xx'" in lines[0], proc.stderr
    assert not (tmp_path / "omnitui.db").exists()


def test_a_language_the_config_does_not_know_is_a_config_error(tmp_path: Path) -> None:
    from omnitui.config import ConfigError, parse

    with pytest.raises(ConfigError) as raised:
        parse({"display": {"language": "de"}}, tmp_path / "config.toml")
    assert raised.value.key == "display.language"
    assert "'de'" in str(raised.value) and "az" in str(raised.value)
    for language in (*i18n.LANGUAGES, ""):
        assert parse({"display": {"language": language}}).display.language == language


def test_the_tui_does_not_load_babel() -> None:
    """Babel is for the build and the tests; the first paint loads gettext and one .mo."""
    code = (
        "import sys, omnitui.app, omnitui.cli; "
        "bad = [m for m in sys.modules if m == 'babel' or m.startswith('babel.')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
