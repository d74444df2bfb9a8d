"""Canned replies without the TUI: the folder formats (TOML and Markdown) and every kind
of bad file with its one-line error, the variables and their errors, the language a
customer gets, the picker's ranking over az/tr/fa titles, and the services (an import
twice changes nothing the second time; every change is an audited event)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from omnitui import canned, inbox
from omnitui.canned import CannedError, CannedReply, FolderError, read_folder, render
from omnitui.connectors.base import Batch
from omnitui.reads import Reader
from tests.conftest import MakeMessage
from tests.runner_support import query
from tests.tui_support import Store

# -- files ---------------------------------------------------------------------------------


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, "utf-8")
    return folder


GOOD = {
    "returns/ret.md": """---
title: "Return: how to send it back"
tags: [returns, Shipping]
---

Hello {customer.first_name},

returns are free for 14 days. Your case: #{conversation.id}.
""",
    "returns/ret.az.md": "Salam {customer.first_name}, 14 gün ərzində qaytara bilərsiniz.\n",
    "returns/iade-fa.md": """---
shortcut: ret
language: fa
---
سلام {customer.first_name}، بازگشت کالا رایگان است.
""",
    "billing.toml": '''
[[reply]]
title = "Refund started"
shortcut = "refund"
tags = "billing refunds"
[reply.body]
en = """
Hi {customer.name}, your refund is on its way. {{Braces}} stay.
"""
tr = "Merhaba {customer.name}, iadeniz yolda."

[[reply]]
title = "Sipariş nerede"
shortcut = "siparis"
[reply.body]
tr = "Siparişiniz kargoda."
''',
    "hello.toml": """title = "Greeting"
tags = ["welcome"]
[body]
en = "Hi {customer.first_name}!"
az = "Salam {customer.first_name}!"
""",
    "README.md": "# Our canned replies\nNot a reply: skipped.\n",
    ".drafts/wip.md": "---\ntitle: half done\n",
}


def test_a_folder_of_toml_and_markdown_files(tmp_path: Path) -> None:
    done: list[tuple[int, int]] = []
    replies = read_folder(write(tmp_path, GOOD), lambda d, t: done.append((d, t)))
    by = {r.shortcut: r for r in replies}
    assert sorted(by) == ["hello", "refund", "ret", "siparis"]
    assert done[-1] == (5, 5)  # README.md and the hidden folder are not read
    ret = by["ret"]
    assert ret.title == "Return: how to send it back"
    assert ret.tags == ("returns", "shipping")
    assert ret.languages == ("en", "az", "fa")
    assert ret.variants["en"] == (
        "Hello {customer.first_name},\n\nreturns are free for 14 days. Your case: "
        "#{conversation.id}."
    )
    assert ret.variants["fa"].startswith("سلام {customer.first_name}،")
    assert ret.source.endswith("returns/ret.md:2")
    refund = by["refund"]
    assert refund.tags == ("billing", "refunds")
    assert refund.variants["en"] == (
        "Hi {customer.name}, your refund is on its way. {{Braces}} stay."
    )
    assert by["siparis"].languages == ("tr",)
    hello = by["hello"]  # one reply a file: the shortcut is the file name
    assert (hello.title, hello.tags, hello.languages) == ("Greeting", ("welcome",), ("en", "az"))


def test_export_as_markdown_reads_back_the_same(tmp_path: Path) -> None:
    replies = read_folder(write(tmp_path / "in", GOOD))
    out = tmp_path / "out"
    out.mkdir()
    for reply in replies:
        for name, text in canned.to_markdown(reply).items():
            (out / name).write_text(text, "utf-8")
    assert sorted(p.name for p in out.iterdir())[:4] == [
        "hello.az.md",
        "hello.md",
        "refund.md",
        "refund.tr.md",
    ]
    again = {r.shortcut: r for r in read_folder(out)}
    assert again == {r.shortcut: r for r in replies}
    # Only Turkish: the Turkish body is the main file's.
    assert "language: tr" in (out / "siparis.md").read_text()


BAD = [
    ("bad.toml", 'title = "x"\n[body\nen = "y"\n', "bad.toml:2: invalid TOML"),
    (
        "bad.toml",
        'title = "x"\nbody_en = "y"\n',
        "bad.toml:2: unknown key 'body_en' (bodies go in a [body] table",
    ),
    ("bad.toml", '[body]\nen = "y"\n', "bad.toml:1: title: give the reply a title"),
    ("bad.toml", 'title = "x"\n', "bad.toml:1: body: a [body] table"),
    (
        "bad.toml",
        'title = "x"\n[body]\nen = "y"\nde = "nein"\n',
        "bad.toml:4: body.de: not one of en, az, tr, fa",
    ),
    (
        "bad.toml",
        '[[reply]]\ntitle = "a"\nshortcut = "a"\n[reply.body]\nen = "a"\n\n'
        '[[reply]]\ntitle = "b"\n[reply.body]\nen = "b"\n',
        "bad.toml:7: reply 2: shortcut: give each [[reply]] a shortcut",
    ),
    (
        "bad.toml",
        'title = "x"\n[body]\nen = "ok"\naz = "Salam {customer.nmae}"\n',
        "bad.toml:4: body.az: unknown variable {customer.nmae} at line 1, column 7 "
        "(did you mean {customer.name}?)",
    ),
    (
        "bad.toml",
        'title = "x"\nshortcut = "two words"\n[body]\nen = "y"\n',
        "bad.toml:2: shortcut 'two words': one word of letters, digits, - and _",
    ),
    ("bad.md", "---\ntitle: x\nbody here\n", "bad.md:1: the front matter opened by --- is never"),
    ("bad.md", "---\ntitel: x\n---\nbody\n", "bad.md:2: unknown key 'titel'"),
    ("bad.md", "---\ntitle x\n---\nbody\n", "bad.md:2: expected 'key: value'"),
    ("bad.md", "---\ntitle: x\n---\n\n", "bad.md:4: no body below the front matter"),
    (
        "bad.md",
        "---\ntitle: x\n---\n\nHello,\nthanks {customer.nmae}!\n",
        "bad.md:6:8: unknown variable {customer.nmae} (did you mean {customer.name}?)",
    ),
    (
        "bad.md",
        "---\ntitle: x\n---\nHi {customer.name\n",
        "bad.md:4:4: unclosed { (write {{ for a brace)",
    ),
    (
        "bad.az.md",
        "---\ntitle: x\nlanguage: tr\n---\nbody\n",
        "bad.az.md:3: language tr but the file name says az",
    ),
    ("bad.md", "---\ntitle: x\nlanguage: de\n---\nbody\n", "bad.md:3: language 'de' is not"),
    ("bad.az.md", "Salam\n", "bad.az.md:1: ::bad has no title"),
    ("bad.md", b"---\ntitle: \xff\n---\nbody\n", "bad.md:1: cannot read"),
]


@pytest.mark.parametrize(("name", "text", "error"), BAD)
def test_each_kind_of_bad_file_is_one_line_naming_file_and_line(
    tmp_path: Path, name: str, text: str | bytes, error: str
) -> None:
    write(tmp_path, {"good.md": "---\ntitle: fine\n---\nfine\n", name: text})
    with pytest.raises(FolderError) as raised:
        read_folder(tmp_path)
    (line,) = raised.value.errors
    assert line.startswith(str(tmp_path / error.split(":", 1)[0]))
    assert error in line.removeprefix(f"{tmp_path}/"), line
    assert "\n" not in line


def test_replies_that_clash_across_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "ret.md": "---\ntitle: Return\n---\nHi\n",
            "other.md": "---\nshortcut: ret\ntitle: Return\n---\nHi again\n",
            "ret.tr.md": "---\ntitle: İade\n---\nMerhaba\n",
            "ret.toml": 'title = "x"\n[body]\nen = "y"\n',
        },
    )
    with pytest.raises(FolderError) as raised:
        read_folder(tmp_path)
    errors = "\n".join(raised.value.errors)
    assert "md:1: the en variant of ::ret is also" in errors
    assert "the title of ::ret differs" in errors
    # Every problem is listed, not only the first.
    assert len(raised.value.errors) == 2


def test_a_shortcut_in_two_files_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"ret.md": "---\ntitle: Return\n---\nHi\n", "ret.toml": 'title = "x"\n[body]\nen = "y"\n'},
    )
    with pytest.raises(FolderError) as raised:
        read_folder(tmp_path)
    (line,) = raised.value.errors
    assert "::ret is also" in line and "ret.md:2" in line and "ret.toml:1" in line


# -- variables -----------------------------------------------------------------------------


def test_every_variable_is_filled_from_the_customer(tui_store: Store) -> None:
    detail = Reader(tui_store.url).customer(tui_store.ayse)
    assert detail is not None and detail.state is not None
    values = canned.values_for(detail, "leyla")
    body = " | ".join(f"{{{name}}}" for name in canned.VARIABLES)
    rendered = render(body, values)
    assert rendered.text == (
        f"Ayşe Yılmaz | Ayşe | ayse@example.com.tr | {{customer.handle}} | {tui_store.ayse} | "
        f"leyla | {detail.state.id}"
    )
    assert rendered.missing == ("customer.handle",)  # she has no Telegram username
    with_conversation = canned.values_for(detail, "leyla", conversation_id=99)
    assert with_conversation["conversation.id"] == "99"
    assert canned.values_for(None, "leyla")["customer.name"] == ""


def test_values_are_plain_text_on_one_line(engine: Engine, make_message: MakeMessage) -> None:
    hostile = "[b]Eve[/b] \x1b]52;c;aGk=\x07\nNext"
    (got,) = inbox.ingest(engine, Batch([make_message(display_name=hostile)]))
    detail = Reader(str(engine.url)).customer(got.customer_id)
    values = canned.values_for(detail, "{agent.name}")
    rendered = render("Hi {customer.name} from {agent.name}", values)
    # As text, never markup, no escape sequence; a value is not read as a variable again.
    assert rendered.text == "Hi [b]Eve[/b] Next from {agent.name}"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("{{customer.name}} is written so", "{customer.name} is written so"),
        ("a set: {{1, 2}}", "a set: {1, 2}"),
        ("a lone } stays", "a lone } stays"),
        ("{ customer.first_name }!", "Əli!"),
        ("no variables", "no variables"),
    ],
)
def test_escapes_and_spacing(body: str, text: str) -> None:
    assert render(body, {"customer.first_name": "Əli"}).text == text


@pytest.mark.parametrize(
    ("body", "error", "where"),
    [
        ("Hi {customer.nmae}", "unknown variable {customer.nmae} at line 1, column 4", (1, 4)),
        ("Hi\n  {name}", "unknown variable {name} at line 2, column 3", (2, 3)),
        ("{}", "unknown variable {} at line 1, column 1", (1, 1)),
        ("Hi {customer.name", "unclosed { at line 1, column 4", (1, 4)),
        ("Hi {customer.name\n}", "unclosed { at line 1, column 4", (1, 4)),
        ("{customer.name {agent.name}", "unclosed { at line 1, column 1", (1, 1)),
    ],
)
def test_an_unknown_variable_or_unclosed_brace_is_an_error_with_its_place(
    body: str, error: str, where: tuple[int, int]
) -> None:
    with pytest.raises(CannedError) as raised:
        render(body, {})
    assert error in str(raised.value)
    assert (raised.value.line, raised.value.column) == where


def test_unfilled_is_the_last_check_before_a_send() -> None:
    assert canned.unfilled("Hi Əli, {not ours} {x.y} {{fine}}") is None
    assert canned.unfilled("Hi\n{customer.nmae}") == (
        "unknown variable {customer.nmae} at line 2 (did you mean {customer.name}?)"
    )
    assert canned.unfilled("{ Customer.Email }") == (
        "unknown variable {Customer.Email} at line 1 (did you mean {customer.email}?)"
    )
    assert canned.unfilled("to {customer.email}") == (
        "{customer.email} at line 1 has no value for this customer: replace it"
    )
    assert canned.unfilled("#{conversation.}\n") == (
        "unknown variable {conversation.} at line 1 (did you mean {conversation.id}?)"
    )


def test_the_language_a_customer_gets() -> None:
    pick = canned.pick_language
    assert pick(["en", "az"], customer="az", agent="tr") == "az"
    assert pick(["en", "tr"], customer="az", agent="tr") == "tr"
    assert pick(["en", "tr"], customer="az", agent="fa") == "en"
    assert pick(["fa", "tr"]) == "tr"  # no English: the first in en, az, tr, fa order
    assert pick(["fa"], agent="az") == "fa"
    with pytest.raises(CannedError):
        pick([])


def test_colons_open_the_picker_only_at_the_start_of_a_word() -> None:
    assert canned.opens_picker(":")
    assert canned.opens_picker("Hi :")
    assert canned.opens_picker("line\t:")
    assert not canned.opens_picker("http:")
    assert not canned.opens_picker("12:")
    assert not canned.opens_picker("fe80:")
    assert not canned.opens_picker("")


# -- the picker's ranking -------------------------------------------------------------------


LIBRARY = [
    CannedReply("Return an order", "ret", ("returns",), {"en": "x"}),
    CannedReply("Refund started", "refund", ("billing",), {"en": "x"}),
    CannedReply("İade süreci", "iade", ("returns",), {"tr": "x"}),
    CannedReply("Sifarişiniz yoldadır", "yol", ("çatdırılma",), {"az": "x"}),
    CannedReply("ارسال سفارش", "ersal", ("ارسال",), {"fa": "x"}),
    CannedReply("Kargo ücreti", "ucret", ("shipping",), {"tr": "x"}),
]


def shortcuts(query: str) -> list[str]:
    return [r.shortcut for r in canned.rank(query, LIBRARY)]


def test_fuzzy_ranking_over_shortcut_title_and_tags_in_four_languages() -> None:
    assert shortcuts("")[:3] == ["ersal", "iade", "refund"]  # all, by shortcut
    assert shortcuts("ret")[0] == "ret"  # the exact shortcut first
    assert set(shortcuts("ret")) == {"ret", "refund", "ucret", "iade"}  # (iade: #returns)
    assert shortcuts("rfnd") == ["refund"]  # letters in order, at a word's start
    assert shortcuts("IADE")[0] == "iade"  # İ folds to i
    assert shortcuts("surec") == ["iade"]  # ü and ç fold
    assert shortcuts("sifaris") == ["yol"]  # ş folds
    assert shortcuts("catdir") == ["yol"]  # in its tags
    assert shortcuts("yoldadir") == ["yol"]  # ı folds to i
    assert shortcuts("ücret") == shortcuts("ucret") == ["ucret"]
    assert shortcuts("سفارش") == ["ersal"]
    assert shortcuts("ارسال") == ["ersal"]
    assert shortcuts("كالا") == []
    assert shortcuts("ارسال سفارش") == ["ersal"]  # every word must match
    assert shortcuts("return order")[0] == "ret"
    assert shortcuts("return") == ["ret", "iade"]  # the title counts more than the tags
    assert shortcuts("xyz") == []


def test_arabic_and_persian_letters_match_each_other() -> None:
    # Arabic yeh and kaf (a keyboard without Persian letters) fold to Persian ones.
    persian = CannedReply("پیگیری کد", "peygiri", (), {"fa": "x"})
    assert canned.rank("پيگيري", [persian]) == [persian]
    assert canned.rank("كد", [persian]) == [persian]


# -- the services ---------------------------------------------------------------------------


def events(store: Store) -> list[tuple[str, str | None, str | None]]:
    return query(
        store.url, "SELECT agent, before, after FROM event WHERE kind = 'canned' ORDER BY id"
    )


def test_import_twice_changes_nothing_the_second_time(tmp_path: Path, tui_store: Store) -> None:
    engine = tui_store.engine
    replies = read_folder(write(tmp_path, GOOD))
    assert inbox.import_canned(engine, replies, agent="leyla") == inbox.CannedImported(4, 0, 0)
    assert len(events(tui_store)) == 4
    assert inbox.import_canned(engine, replies, agent="leyla") == inbox.CannedImported(0, 0, 4)
    assert len(events(tui_store)) == 4

    # A body edited in a file: that reply is updated, its variants as the files say.
    (tmp_path / "returns" / "iade-fa.md").unlink()
    (tmp_path / "returns" / "ret.az.md").write_text("Salam, pulsuzdur.\n", "utf-8")
    again = read_folder(tmp_path)
    assert inbox.import_canned(engine, again, agent="aysel") == inbox.CannedImported(0, 1, 3)
    reader = Reader(tui_store.url)
    (ret,) = [r for r in reader.canned_replies() if r.shortcut == "ret"]
    assert ret.languages == ("en", "az") and ret.updated_by == "aysel"
    detail = reader.canned(ret.id)
    assert detail is not None and detail.variants["az"] == "Salam, pulsuzdur."
    agent, before, after = events(tui_store)[-1]
    assert agent == "aysel" and before is not None and after is not None
    assert before.startswith("::ret · Return: how to send it back · en az fa · #returns")
    assert after.startswith("::ret · Return: how to send it back · en az · #returns")


def test_create_update_delete_with_their_events(tui_store: Store) -> None:
    engine = tui_store.engine
    reply = CannedReply(" Hello  there ", "Hi", ("#Welcome",), {"en": "Hi!\n\n", "az": "  "})
    canned_id = inbox.create_canned(engine, reply, agent="leyla")
    reader = Reader(tui_store.url)
    detail = reader.canned(canned_id)
    assert detail is not None
    assert (detail.row.title, detail.row.shortcut, detail.row.tags) == (
        "Hello there",
        "hi",
        ("welcome",),
    )
    assert detail.variants == {"en": "Hi!"}  # an empty body is no variant
    with pytest.raises(inbox.ServiceError, match="::hi is taken by 'Hello there'"):
        inbox.create_canned(engine, CannedReply("Other", "HI", (), {"en": "x"}), agent="leyla")
    with pytest.raises(inbox.ServiceError, match=r"en body: unknown variable \{agent\.nam\}"):
        inbox.create_canned(engine, CannedReply("T", "t", (), {"en": "{agent.nam}"}), agent="x")
    with pytest.raises(inbox.ServiceError, match="needs a body"):
        inbox.create_canned(engine, CannedReply("T", "t", (), {}), agent="x")
    with pytest.raises(inbox.ServiceError, match="language 'de'"):
        inbox.create_canned(engine, CannedReply("T", "t", (), {"de": "x"}), agent="x")

    same = CannedReply("Hello there", "hi", ("welcome",), {"en": "Hi!"})
    assert not inbox.update_canned(engine, canned_id, same, agent="aysel")
    changed = CannedReply("Hello there", "hey", ("welcome",), {"fa": "سلام"})
    assert inbox.update_canned(engine, canned_id, changed, agent="aysel")
    detail = reader.canned(canned_id)
    assert detail is not None and detail.row.shortcut == "hey" and detail.variants == {"fa": "سلام"}
    with pytest.raises(inbox.ServiceError, match="no canned reply 999"):
        inbox.update_canned(engine, 999, changed, agent="aysel")

    inbox.delete_canned(engine, canned_id, agent="rauf")
    assert reader.canned(canned_id) is None and reader.canned_replies() == []
    assert query(tui_store.url, "SELECT count(*) FROM cannedvariant") == [(0,)]
    logged = events(tui_store)
    assert [(a, b is None, c is None) for a, b, c in logged] == [
        ("leyla", True, False),
        ("aysel", False, False),
        ("rauf", False, True),
    ]
    assert logged[1][2] is not None and logged[1][2].startswith("::hey · Hello there · fa")
    # Every agent who changed the library is one the assign picker offers.
    assert {"leyla", "aysel", "rauf"} <= set(reader.agents())
