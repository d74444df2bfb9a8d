"""The email parser: what an agent reads, from mail as customers' mailers really write it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnitui.connectors.base import Quarantined
from omnitui.connectors.mail.parse import (
    Address,
    MailParseError,
    ParsedMail,
    decode_bytes,
    msgids,
    normalize_msgid,
    parse,
    safe_filename,
)
from tests.conftest import missing_server

# shared/ lies beside the work tree, here and in CI's fresh clone.
CORPUS = next(
    (
        path
        for path in (
            Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cpython-email",
            Path("/work/shared/corpus/cpython-email"),
        )
        if path.is_dir()
    ),
    Path("/work/shared/corpus/cpython-email"),
)
CORPUS_FILES = sorted(CORPUS.glob("msg_*.txt")) if CORPUS.is_dir() else []

TURKISH = "Merhaba, siparişim üç gündür gelmedi. Yardımcı olur musunuz? Teşekkürler, Ayşe Yılmaz"
PERSIAN = "سلام، سفارش من هنوز نرسیده است. لطفا پیگیری کنید. با تشکر"
AZERBAIJANI = "Salam, sifarişim gəlmədi. Əvvəlcədən təşəkkür edirəm!"


def mail(headers: str, body: bytes | str = b"Hello\n") -> bytes:
    """A raw message from header lines (LF or CRLF as written) and a body."""
    raw_body = body.encode() if isinstance(body, str) else body
    return headers.strip("\n").encode() + b"\n\n" + raw_body


def b64_word(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


# --- the corpus of malformed mail -------------------------------------------------


def test_every_corpus_file_parses_or_is_refused_cleanly() -> None:
    if not CORPUS_FILES:
        missing_server("the shared corpus (shared/corpus/cpython-email) is not beside the tree")
    assert len(CORPUS_FILES) == 48
    for path in CORPUS_FILES:
        try:
            parsed = parse(path.read_bytes())
        except MailParseError:
            continue
        assert isinstance(parsed, ParsedMail), path.name
        assert parsed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert "\r" not in parsed.text and "\x00" not in parsed.text


def corpus(name: str) -> ParsedMail:
    path = CORPUS / name
    if not path.exists():
        missing_server("the shared corpus (shared/corpus/cpython-email) is not beside the tree")
    return parse(path.read_bytes())


def test_corpus_plain_message() -> None:
    parsed = corpus("msg_01.txt")
    assert parsed.subject == "This is a test message"
    assert parsed.sender == Address("John X. Doe", "bbb@ddd.com")
    assert parsed.to == (Address("", "bbb@zzz.org"),)
    assert parsed.message_id == "<15090.61304.110929.45684@aaa.zzz.org>"
    assert parsed.date == datetime(2001, 5, 4, 18, 5, 44, tzinfo=UTC)
    assert parsed.text == "Hi,\n\nDo you like this message?\n\n-Me"
    assert parsed.attachments == () and parsed.defects == ()


def test_corpus_gif_attachment_is_decoded() -> None:
    parsed = corpus("msg_07.txt")
    assert parsed.text == "Hi there,\n\nThis is the dingus fish."
    (gif,) = parsed.attachments
    assert gif.filename == "dingusfish.gif" and gif.content_type == "image/gif"
    assert gif.data.startswith(b"GIF87a") and gif.size == len(gif.data)


def test_corpus_repeated_cc_headers_all_count() -> None:
    parsed = corpus("msg_20.txt")
    assert [a.addr for a in parsed.cc] == ["ccc@zzz.org", "ddd@zzz.org", "eee@zzz.org"]


def test_corpus_missing_boundary_keeps_the_body() -> None:
    parsed = corpus("msg_41.txt")  # multipart/alternative with no boundary parameter
    assert parsed.text == "Blah blah blah"
    assert "multipart boundary missing" in parsed.defects


def test_corpus_wrong_boundary_is_recovered_from_the_body() -> None:
    parsed = corpus("msg_31.txt")  # header says BOUNDARY_, the body uses BOUNDARY
    assert parsed.text == "message 1\n\nmessage 2"


def test_corpus_boundary_never_used_keeps_all_text() -> None:
    parsed = corpus("msg_17.txt")
    assert parsed.text.startswith("Hi there,\n\nThis is the dingus fish.")
    assert "dingusfish.gif" in parsed.text


def test_corpus_bounce_is_automatic_with_report_attached() -> None:
    parsed = corpus("msg_25.txt")  # Auto-Submitted, and its boundary parameter is cut off
    assert parsed.auto_submitted
    assert parsed.text.startswith("The original message was received at")
    assert [a.content_type for a in parsed.attachments] == [
        "message/delivery-status",
        "text/rfc822-headers",
    ]


def test_corpus_forwarded_message_is_an_eml_and_its_text_is_shown() -> None:
    parsed = corpus("msg_46.txt")  # the whole mail is a message/rfc822
    assert parsed.text == "Testing email forwarding with Groupwise 1.2.2010"
    (eml,) = parsed.attachments
    assert eml.filename == "GroupwiseForwardingTest.eml"
    assert eml.content_type == "message/rfc822"
    assert b"Message-ID: <4B66B890.4070408@teconcept.de>" in eml.data


def test_corpus_no_blank_line_after_headers_still_gives_text() -> None:
    parsed = corpus("msg_47.txt")
    assert parsed.text == "bar"
    assert parsed.html is not None and "baz" in parsed.html
    assert parsed.date == datetime(2001, 1, 1, 0, 1, tzinfo=UTC)


def test_corpus_rfc2231_charset_and_signature_attachment() -> None:
    assert corpus("msg_32.txt").text == "Some message."
    signed = corpus("msg_45.txt")
    assert signed.text == "This is the signed contents."
    assert [a.filename for a in signed.attachments] == ["signature.asc"]


def test_corpus_named_text_part_after_the_body_is_a_file() -> None:
    parsed = corpus("msg_44.txt")
    assert parsed.text == "a simple kind of mirror\nto reflect upon our own"
    assert [a.filename for a in parsed.attachments] == ["msg.txt"]


# --- charsets -----------------------------------------------------------------------


def test_turkish_windows_1254_body_without_charset() -> None:
    parsed = parse(mail("From: a@b.tr\nContent-Type: text/plain", TURKISH.encode("cp1254")))
    assert parsed.text == TURKISH
    assert any("windows-1254" in defect for defect in parsed.defects)


def test_declared_latin1_but_utf8_persian() -> None:
    raw = mail("Content-Type: text/plain; charset=iso-8859-1", PERSIAN.encode())
    parsed = parse(raw)
    assert parsed.text == PERSIAN
    assert any("UTF-8" in defect for defect in parsed.defects)


@pytest.mark.parametrize("text", [PERSIAN.replace("ی", "ي"), "سلام دوست من، ممنون"])
def test_windows_1256_persian_without_charset(text: str) -> None:
    # windows-1256 has no Farsi yeh: Persian written in it uses the Arabic one.
    parsed = parse(mail("Content-Type: text/plain", text.encode("cp1256")))
    assert parsed.text == text
    assert any("windows-1256" in defect for defect in parsed.defects)


def test_unknown_and_nonsense_charsets() -> None:
    raw = mail("Content-Type: text/plain; charset=x-unknown", TURKISH.encode("cp1254"))
    parsed = parse(raw)
    assert parsed.text == TURKISH
    assert "charset 'x-unknown' unknown; decoded as windows-1254" in parsed.defects
    assert (
        parse(mail('Content-Type: text/plain; charset="cp-1254"', TURKISH.encode("cp1254"))).text
        == TURKISH
    )
    assert (
        parse(mail("Content-Type: text/plain; charset=utf8", AZERBAIJANI.encode())).text
        == AZERBAIJANI
    )
    seven = "Hi Mom -☺-!".encode("utf-7")
    assert (
        parse(mail("Content-Type: text/plain; charset=unicode-1-1-utf-7", seven)).text
        == "Hi Mom -☺-!"
    )


def test_declared_utf8_with_legacy_bytes_and_with_one_broken_byte() -> None:
    assert decode_bytes(TURKISH.encode("cp1254"), "utf-8")[0] == TURKISH
    cut = AZERBAIJANI.encode() + b"\xc9"  # a character cut in half at the end
    text, defect = decode_bytes(cut, "utf-8")
    assert text.startswith(AZERBAIJANI) and defect is not None


def test_russian_windows_1251_and_plain_ascii() -> None:
    russian = "Здравствуйте, мой заказ до сих пор не пришёл"
    assert decode_bytes(russian.encode("cp1251"), None)[0] == russian
    assert decode_bytes(b"plain", "us-ascii") == ("plain", None)
    assert decode_bytes(b"", None) == ("", None)


# --- headers ------------------------------------------------------------------------


def test_rfc2047_subjects_in_turkish_azerbaijani_persian() -> None:
    q = parse(mail("Subject: =?windows-1254?Q?=DEikayet_hakk=FDnda?="))
    assert q.subject == "Şikayet hakkında"
    raw_az = AZERBAIJANI.encode()
    split = raw_az.index("ə".encode()) + 1  # the two words cut through one character
    words = [base64.b64encode(raw_az[:split]).decode(), base64.b64encode(raw_az[split:]).decode()]
    adjacent = parse(mail(f"Subject: =?UTF-8?B?{words[0]}?=\n =?UTF-8?B?{words[1]}?="))
    assert adjacent.subject == AZERBAIJANI
    persian = parse(mail(f"Subject: Re: {b64_word(PERSIAN)} (#123)"))
    assert persian.subject == f"Re: {PERSIAN} (#123)"


def test_unknown_charset_in_encoded_word_falls_back() -> None:
    data = "سفارش".encode("cp1256")
    word = "=?x-unknown?Q?" + "".join(f"={b:02X}" for b in data) + "?="
    parsed = parse(mail(f"Subject: {word}"))
    assert parsed.subject == "سفارش"
    assert any("x-unknown" in defect for defect in parsed.defects)


def test_raw_8bit_utf8_headers() -> None:
    raw = (
        "From: Əli Məmmədov <Ali@Example.AZ>\nSubject: Sifariş gecikir — təcili\n"
        "To: Dəstək <destek@example.az>\n"
    ).encode()
    parsed = parse(raw + b"\nSalam")
    assert parsed.sender == Address("Əli Məmmədov", "ali@example.az")
    assert parsed.subject == "Sifariş gecikir — təcili"
    assert parsed.to == (Address("Dəstək", "destek@example.az"),)


def test_raw_8bit_legacy_header_uses_the_body_charset() -> None:
    raw = "Subject: Şikayet\nContent-Type: text/plain; charset=windows-1254\n\nx".encode("cp1254")
    assert parse(raw).subject == "Şikayet"


def test_encoded_display_names_and_hostile_subject() -> None:
    raw = mail(
        f'From: "{b64_word("Ayşe Yılmaz")}" <AYSE@Example.COM.TR>\n'
        "Subject: =?utf-8?Q?a=1B]0;owned=07b?=\n  \tnext\x7f line"
    )
    parsed = parse(raw)
    assert parsed.sender == Address("Ayşe Yılmaz", "ayse@example.com.tr")
    assert parsed.subject == "ab next line"


def test_comma_inside_an_encoded_name_does_not_split_the_address() -> None:
    headers = "From: =?utf-8?Q?Y=C4=B1lmaz,_Ay=C5=9Fe?= <ayse@x.tr>\nTo: =?utf-8?Q?A,_B?= <a@b>,c@d"
    parsed = parse(mail(headers))
    assert parsed.sender == Address("Yılmaz, Ayşe", "ayse@x.tr")
    assert parsed.to == (Address("A, B", "a@b"), Address("", "c@d"))


def test_thread_ids() -> None:
    raw = mail(
        "Message-ID:  <abc@example.com> \n"
        'In-Reply-To: <prev@example.com> ("Your message of Monday")\n'
        "References: <one@x> <two@x>\n <one@x>\tthree@x"
    )
    parsed = parse(raw)
    assert parsed.message_id == "<abc@example.com>"
    assert parsed.in_reply_to == "<prev@example.com>"
    assert parsed.references == ("<one@x>", "<two@x>", "<three@x>")
    assert parse(mail("Subject: x")).message_id == ""
    assert parse(mail("Message-ID: <>")).message_id == ""


def test_msgid_helpers() -> None:
    assert normalize_msgid("  <a@b>  ") == "<a@b>"
    assert normalize_msgid("a@b") == "<a@b>"
    assert normalize_msgid("bare-id-123") == "<bare-id-123>"
    assert normalize_msgid("") == ""
    assert msgids("a@b, c@d <e@f>") == ("<a@b>", "<c@d>", "<e@f>")
    assert msgids('"quoted@junk" (comment@junk) <x@y>') == ("<x@y>",)


def test_sender_falls_back_to_sender_then_reply_to() -> None:
    assert parse(mail("Sender: Desk <desk@x.com>\nReply-To: r@x.com")).sender == Address(
        "Desk", "desk@x.com"
    )
    parsed = parse(mail("Reply-To: Ayşe <Ayse@X.com>"))
    assert parsed.sender == Address("Ayşe", "ayse@x.com")
    assert parsed.reply_to == Address("Ayşe", "ayse@x.com")
    assert parse(mail("Return-Path: <bounce@x.com>")).sender == Address("", "bounce@x.com")
    assert parse(mail("Subject: nobody")).sender == Address("", "")


def test_dates() -> None:
    assert parse(mail("Date: Tue, 5 Mar 2024 10:00:00 +0300")).date == datetime(
        2024, 3, 5, 7, tzinfo=UTC
    )
    assert parse(mail("Date: Tue, 5 Mar 2024 10:00:00 -0000")).date == datetime(
        2024, 3, 5, 10, tzinfo=UTC
    )
    assert parse(mail("Date: 2024-03-05T10:00:00+03:30")).date == datetime(
        2024, 3, 5, 6, 30, tzinfo=UTC
    )
    bad = parse(mail("Date: next Tuesday, probably"))
    assert bad.date is None and any("Date" in defect for defect in bad.defects)
    assert parse(mail("Date: Mon, 1 Jan 1900 00:00:00 +0000")).date is None
    assert parse(mail("Subject: none")).date is None


def test_auto_submitted_detection() -> None:
    assert parse(mail("Auto-Submitted: auto-replied")).auto_submitted
    assert not parse(mail("Auto-Submitted: no")).auto_submitted
    assert parse(mail("Precedence: bulk")).auto_submitted
    assert parse(mail("Precedence: junk")).auto_submitted
    assert parse(mail("X-Autoreply: yes")).auto_submitted
    assert parse(mail("X-Autorespond: Out of office")).auto_submitted
    assert parse(mail("Return-Path: <>")).auto_submitted
    assert not parse(mail("From: person@example.com")).auto_submitted


# --- bodies -------------------------------------------------------------------------


def multipart(subtype: str, *parts: str, boundary: str = "XyZ", close: bool = True) -> bytes:
    body = "".join(f"--{boundary}\n{part}\n" for part in parts) + (
        f"--{boundary}--\n" if close else ""
    )
    return mail(f'Content-Type: multipart/{subtype}; boundary="{boundary}"', body)


def test_html_only_becomes_readable_text_and_html_is_kept() -> None:
    html = (
        "<html><head><style>p{color:red}</style></head>"
        "<body><p>Salam,</p><p>Sifariş <b>№42</b> gəlmədi.</p></body></html>"
    )
    parsed = parse(mail("Content-Type: text/html; charset=utf-8", html))
    assert "Salam," in parsed.text and "Sifariş №42 gəlmədi." in parsed.text
    assert "<" not in parsed.text and "color" not in parsed.text
    assert parsed.html == html


def test_alternative_prefers_plain_and_keeps_html() -> None:
    raw = multipart(
        "alternative",
        "Content-Type: text/plain; charset=utf-8\n\nPlain version",
        "Content-Type: text/html; charset=utf-8\n\n<p>HTML version</p>",
    )
    parsed = parse(raw)
    assert parsed.text == "Plain version"
    assert parsed.html == "<p>HTML version</p>"
    assert parsed.attachments == ()


def test_alternative_with_empty_plain_uses_html() -> None:
    raw = multipart(
        "alternative",
        "Content-Type: text/plain\n\n \n",
        "Content-Type: text/html\n\n<p>Only here</p>",
    )
    assert parse(raw).text == "Only here"


def test_missing_end_boundary_keeps_the_parts() -> None:
    raw = multipart(
        "mixed",
        "Content-Type: text/plain\n\nFirst part",
        "Content-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0=",
        close=False,
    )
    parsed = parse(raw)
    assert parsed.text == "First part"
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert parsed.attachments[0].data == b"%PDF-"
    assert "multipart end boundary missing" in parsed.defects


def test_quoted_printable_and_broken_base64() -> None:
    qp = mail(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
        "Te=C5=9Fekk=C3=BCrler, uzun bir sat=C4=B1r =\nburada devam ediyor",
    )
    assert parse(qp).text == "Teşekkürler, uzun bir satır burada devam ediyor"
    broken = base64.b64encode(TURKISH.encode()).decode().rstrip("=")
    raw = mail(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: Base64",
        broken[:20] + "!!\n" + broken[20:] + "\n",
    )
    parsed = parse(raw)
    assert parsed.text == TURKISH
    assert "broken base64 repaired" in parsed.defects


def test_format_flowed_is_unwrapped() -> None:
    body = "This is a long \nflowed paragraph.\n> quoted soft \n> line\n-- \nsig\n"
    parsed = parse(mail("Content-Type: text/plain; format=flowed", body))
    assert parsed.text == "This is a long flowed paragraph.\n> quoted soft line\n-- \nsig"
    delsp = parse(mail('Content-Type: text/plain; format="flowed"; delsp=yes', "uzun kel \nime\n"))
    assert delsp.text == "uzun kelime"


def test_crlf_and_nul_in_body() -> None:
    parsed = parse(b"Subject: x\r\nContent-Type: text/plain\r\n\r\nline one\r\nline\x00 two\r\n")
    assert parsed.text == "line one\nline two"
    assert parsed.subject == "x"


# --- attachments --------------------------------------------------------------------


def attachment(headers: str, payload: bytes) -> bytes:
    part = (
        headers + "\nContent-Transfer-Encoding: base64\n\n" + base64.encodebytes(payload).decode()
    )
    return multipart("mixed", "Content-Type: text/plain\n\nSee attached", part)


def test_path_traversal_filename_is_sanitized() -> None:
    raw = attachment(
        'Content-Type: text/plain\nContent-Disposition: attachment; filename="../../etc/passwd"',
        b"root",
    )
    (att,) = parse(raw).attachments
    assert att.filename == "passwd"
    assert att.data == b"root" and not att.inline


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("/etc/shadow", "shadow"),
        ("...hidden", "hidden"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("a\x00b\x1f.pdf", "ab.pdf"),
        ("CON.txt", "_CON.txt"),
        ("report. . .", "report"),
        ('what?<>|:*".txt', "what_______.txt"),
        ("سفارش ۱۲۳.pdf", "سفارش ۱۲۳.pdf"),
        ("Şikâyet dilekçesi.docx", "Şikâyet dilekçesi.docx"),
        ("", "attachment-3.pdf"),
        ("../..", "attachment-3.pdf"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name, "application/pdf", 3) == expected


def test_long_filename_keeps_its_extension() -> None:
    name = safe_filename("ğ" * 300 + ".pdf", "application/pdf", 1)
    assert len(name) == 120 and name.endswith(".pdf")


def test_rfc2231_turkish_filename() -> None:
    raw = attachment(
        "Content-Type: application/pdf\nContent-Disposition: attachment;\n"
        " filename*0*=utf-8''%C5%9Eik%C3%A2yet%20dilek;\n filename*1*=%C3%A7esi.pdf",
        b"%PDF",
    )
    (att,) = parse(raw).attachments
    assert att.filename == "Şikâyet dilekçesi.pdf"
    latin5 = attachment(
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename*=iso-8859-9''%DEikayet.pdf",
        b"%PDF",
    )
    assert parse(latin5).attachments[0].filename == "Şikayet.pdf"


def test_encoded_word_and_raw_8bit_filenames() -> None:
    encoded = attachment(
        f'Content-Type: image/png; name="{b64_word("اسکرین شات.png")}"', b"\x89PNG"
    )
    assert parse(encoded).attachments[0].filename == "اسکرین شات.png"
    raw = attachment(
        'Content-Type: image/png\nContent-Disposition: attachment; filename="Şəkil.png"', b"\x89PNG"
    )
    assert parse(raw).attachments[0].filename == "Şəkil.png"


def test_oversize_attachment_is_omitted_with_its_size() -> None:
    payload = bytes(range(256)) * 40
    raw = attachment('Content-Type: application/zip; name="big.zip"', payload)
    (att,) = parse(raw, max_attachment_bytes=1024).attachments
    assert att.data == b"" and att.size == len(payload)
    assert att.omitted == "larger than 1,024 bytes"
    assert parse(raw).attachments[0].data == payload
    big = attachment('Content-Type: application/zip; name="big.zip"', b"x" * (1024 * 1024 + 1))
    (over,) = parse(big, max_attachment_bytes=1024 * 1024).attachments
    assert over.omitted == "larger than 1 MB" and over.size == 1024 * 1024 + 1


def test_inline_image_referenced_by_content_id() -> None:
    png = base64.b64encode(b"\x89PNG").decode()
    raw = multipart(
        "related",
        'Content-Type: text/html\n\n<p>Look: <img src="cid:shot1@x"></p>',
        "Content-Type: image/png\nContent-ID: <shot1@x>\n"
        f"Content-Transfer-Encoding: base64\n\n{png}",
    )
    parsed = parse(raw)
    assert parsed.text == "Look:"
    (image,) = parsed.attachments
    assert image.inline and image.content_id == "shot1@x"
    assert image.filename == "attachment-1.png"


def test_nameless_attachment_gets_a_name_from_its_type() -> None:
    raw = attachment("Content-Type: application/pdf\nContent-Disposition: attachment", b"%PDF")
    assert parse(raw).attachments[0].filename == "attachment-1.pdf"


def test_forwarded_message_attachment_named_after_its_subject() -> None:
    inner = f"From: a@b\nSubject: {b64_word('Sifariş/42: gecikmə')}\n\nInner text"
    raw = multipart(
        "mixed", "Content-Type: text/plain\n\nFYI", f"Content-Type: message/rfc822\n\n{inner}"
    )
    parsed = parse(raw)
    assert parsed.text == "FYI"
    (eml,) = parsed.attachments
    assert eml.filename == "42_ gecikmə.eml"
    assert eml.content_type == "message/rfc822" and b"Inner text" in eml.data


# --- refusal and fuzzing ------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   ", b"\r\n\r\n", b"\n"])
def test_nothing_to_read_is_refused(raw: bytes) -> None:
    with pytest.raises(MailParseError):
        parse(raw)


def test_headerless_text_is_a_body() -> None:
    parsed = parse("Salam, mənə kömək edin".encode())
    assert parsed.text == "Salam, mənə kömək edin"
    assert parsed.subject == ""


def test_deep_nesting_does_not_explode() -> None:
    depth = 400
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth)
    )
    raw = ("Subject: deep\n" + head + "Content-Type: text/plain\n\ndeep text\n").encode()
    parsed = parse(raw)
    assert parsed.subject == "deep"
    assert "deep text" in parsed.text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_else(raw: bytes) -> None:
    with contextlib.suppress(MailParseError):
        parse(raw)


_PIECES = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=X\n",
        b'Content-Type: multipart/alternative; boundary="X"\n',
        b"Content-Type: message/rfc822\n",
        b"Content-Type: text/plain; charset*=x''%00; format=flowed\n",
        b"Content-Transfer-Encoding: base64\n",
        b"Content-Transfer-Encoding: quoted-printable\n",
        b"Content-Disposition: attachment; filename*0*=utf-8''%C5; filename*1=x\n",
        b"Subject: =?utf-8?B?xZ5p?= =?x-unknown?Q?=FE?=\n",
        b"From: =?utf-8?Q?a?= <a@b>, \xc5\x9f <c>\n",
        b"Date: Tue, 5 Mar 2024 99:99:99 +9999\n",
        b"\n",
        b"--X\n",
        b"--X--\n",
        b"\xfe\xfd\xf0 \xc7\xe1\n",
        b"=C5=9E=\n",
        b"U2FsYW0=!\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_mime_shaped_junk_never_raises_anything_else(pieces: list[bytes]) -> None:
    with contextlib.suppress(MailParseError):
        parse(b"".join(pieces))


def test_an_auto_reply_is_marked_automatic_when_converted() -> None:
    from omnitui.connectors.mail.convert import convert

    raw = mail(
        "From: Leyla <leyla@example.az>\nAuto-Submitted: auto-replied\nSubject: Out of office",
        "Bazar ertəsinə qədər ofisdə deyiləm.\n",
    )
    converted = convert(raw, account="support", ours={"support@acme.example"}, source="t")
    assert not isinstance(converted, Quarantined) and converted.automatic
