"""A realistic support Maildir of invented customers, for the email benchmarks.

    .venv/bin/python benchmarks/make_maildir.py DIR [--messages 50000] [--customers 4000]
        [--seed 1] [--until YYYY-MM-DD] [--force]

Writes DIR/cur, DIR/new and DIR/tmp, and DIR.json next to it (what was made; the
email benchmarks take its presence to mean the maildir is complete). The same
seed, sizes and --until give the same messages (the file names carry the pid).

What is in it: customers from ``omnitui.synthetic`` (names in English, Azerbaijani,
Turkish and Persian; only personas with an email address) write to
support@acme.example; support answers ("Re: ...", In-Reply-To and References, from
our address, sometimes quoting), the customer answers back quoting the previous
message ("On ... wrote:" and "> " lines, localized), and so on, 1 to 8 messages a
thread. Dates spread over the two years before --until (default today, UTC);
subjects and names RFC 2047 encoded where they are not ASCII (B or Q); about 4 %
HTML only and 6 % multipart/alternative; about 5 % with an attachment of a few KB
(a PDF-like file or a real PNG; non-ASCII file names in RFC 2231); a quarter of the
Turkish and Persian customers' messages in windows-1254 / windows-1256, and a few
with no charset declared at all (8-bit bytes in the body and even the subject);
about 0.2 % malformed (no From, a boundary that never appears, a multipart that is
cut off, a header line without a colon). Recent customer messages that ended a
thread are unread in new/; the rest are in cur/ with ":2,S" (":2,RS" when answered).

Bytes are put together directly (no email.message objects): 50,000 messages take a
few seconds.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import html
import json
import os
import random
import shutil
import socket
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from omnitui import synthetic

SUPPORT_ADDRESS = "support@acme.example"
SUPPORT_NAME = "Acme Support"
YEARS = 2
MALFORMED_SHARE = 0.002
HTML_ONLY_SHARE = 0.04
ALTERNATIVE_SHARE = 0.06
ATTACHMENT_SHARE = 0.05
LEGACY_SHARE = 0.25
"""Of the Turkish and Persian customers' messages, in windows-1254 / windows-1256."""
NO_CHARSET_SHARE = 0.03
"""Of those legacy messages, with no charset declared anywhere."""

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZONES = {"en": (0, 60, -300), "az": (240,), "tr": (180,), "fa": (210,)}
"""UTC offsets in minutes of each language's customers."""
_LEGACY = {"tr": "windows-1254", "fa": "windows-1256"}
_FA_TO_1256 = str.maketrans({"ی": "ي", "ۀ": "ه", **{chr(0x06F0 + i): str(i) for i in range(10)}})
"""What a Windows Persian setup does to text it cannot store in windows-1256."""

_FOLLOW_UP = {
    "en": [
        "Thank you, but the parcel still has not arrived.",
        "That worked, thanks a lot!",
        "I have not received the refund yet.",
        "Could you send the label again? I cannot find it.",
    ],
    "az": [
        "Təşəkkür edirəm, amma bağlama hələ də gəlməyib.",
        "Alındı, çox sağ olun!",
        "Pul hələ də geri qaytarılmayıb.",
        "Etiketi yenidən göndərə bilərsinizmi? Tapa bilmirəm.",
    ],
    "tr": [
        "Teşekkürler ama kargo hâlâ gelmedi.",
        "Oldu, çok teşekkür ederim!",
        "İade hâlâ hesabıma geçmedi.",
        "Etiketi tekrar gönderebilir misiniz? Bulamıyorum.",
    ],
    "fa": [
        "ممنون، ولی بسته هنوز نرسیده است.",
        "درست شد، خیلی ممنون!",
        "هنوز پولی به حسابم برنگشته است.",
        "می‌شود برچسب را دوباره بفرستید؟ پیدایش نمی‌کنم.",
    ],
}
_HELLO = {"en": "Hello {},", "az": "Hörmətli {},", "tr": "Merhaba {},", "fa": "{} عزیز، سلام"}
_SIGN = {"en": "Best regards,", "az": "Hörmətlə,", "tr": "Saygılarımızla,", "fa": "با احترام،"}
_TEAM = {"en": "Acme Support", "az": "Acme Dəstək", "tr": "Acme Destek", "fa": "پشتیبانی Acme"}
_REPLY_PREFIX = {"en": ("Re: ",), "az": ("Re: ",), "tr": ("Re: ", "Re: ", "YNT: "), "fa": ("Re: ",)}
_USER_AGENTS = (
    "User-Agent: Mozilla Thunderbird",
    "X-Mailer: Microsoft Outlook 16.0",
    "X-Mailer: iPhone Mail (21F90)",
    "User-Agent: Roundcube Webmail/1.6.5",
    "",
    "",
)
_ATTACHMENT_NAMES = {
    "en": ("invoice-{}.pdf", "photo-{}.png"),
    "az": ("qəbz-{}.pdf", "şəkil-{}.png"),
    "tr": ("fatura-{}.pdf", "fotoğraf-{}.png"),
    "fa": ("فاکتور-{}.pdf", "عکس-{}.png"),
}
_Q_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/")
_Q_TABLE = [
    chr(b) if b in _Q_SAFE else "_" if b == 0x20 else f"={b:02X}" for b in range(256)
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    first: str
    address: str
    language: str
    header: str
    """The From/To header value: an encoded display name and the address."""
    zone: int
    agent_line: str


@dataclass(slots=True)
class Stats:
    messages: int = 0
    threads: int = 0
    customers: int = 0
    bytes: int = 0
    new: int = 0
    html_only: int = 0
    alternative: int = 0
    attachments: int = 0
    no_charset: int = 0
    malformed: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    charsets: Counter[str] = field(default_factory=Counter)
    encodings: Counter[str] = field(default_factory=Counter)
    malformations: Counter[str] = field(default_factory=Counter)


def encoded_words(text: str, charset: str = "utf-8", mode: str = "b") -> str:
    """``text`` as RFC 2047 encoded words (folded), or as it is when it is ASCII."""
    if text.isascii():
        return text
    # the ASCII words before the first that is not ("Re: ") stay as they are
    words = text.split(" ")
    lead = 0
    while words[lead].isascii():
        lead += 1
    if lead:
        return " ".join(words[:lead]) + " " + encoded_words(" ".join(words[lead:]), charset, mode)
    room = 45 if mode == "b" else 20  # raw bytes a word: 60 base64 chars or <= 60 of Q
    pieces: list[bytes] = []
    chunk: list[bytes] = []
    size = 0
    for char in text:
        raw = char.encode(charset)
        if size + len(raw) > room and chunk:
            pieces.append(b"".join(chunk))
            chunk, size = [], 0
        chunk.append(raw)
        size += len(raw)
    if chunk:
        pieces.append(b"".join(chunk))
    if mode == "b":
        encoded = [base64.b64encode(piece).decode("ascii") for piece in pieces]
    else:
        encoded = ["".join([_Q_TABLE[b] for b in piece]) for piece in pieces]
    return "\n ".join(f"=?{charset}?{mode.upper()}?{e}?=" for e in encoded)


def address_header(name: str, address: str, mode: str = "b") -> str:
    if not name:
        return address
    if name.isascii():
        return f"{name} <{address}>" if name.replace(" ", "").isalnum() else f'"{name}" <{address}>'
    return f"{encoded_words(name, mode=mode)} <{address}>"


class Clock:
    """RFC 5322 dates and quote attributions, from epoch seconds and a UTC offset."""

    @staticmethod
    def header(epoch: int, zone_minutes: int) -> str:
        t = time.gmtime(epoch + zone_minutes * 60)
        sign = "+" if zone_minutes >= 0 else "-"
        hours, minutes = divmod(abs(zone_minutes), 60)
        return (
            f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {sign}{hours:02d}{minutes:02d}"
        )

    @staticmethod
    def attribution(epoch: int, zone_minutes: int, who: str, language: str) -> str:
        t = time.gmtime(epoch + zone_minutes * 60)
        day = f"{t.tm_mday} {_MONTHS[t.tm_mon - 1]} {t.tm_year}"
        clock = f"{t.tm_hour:02d}:{t.tm_min:02d}"
        if language == "tr":
            return f"{who}, {day} {clock} tarihinde şunu yazdı:"
        if language == "az":
            return f"{day} {clock} tarixində {who} yazdı:"
        if language == "fa":
            return f"در {day} ساعت {clock}، {who} نوشت:"
        return f"On {_DAYS[t.tm_wday]}, {day} at {clock}, {who} wrote:"


def quoted(text: str, limit: int = 40) -> str:
    lines = text.rstrip("\n").split("\n")[:limit]
    return "\n".join(
        ">" + line if line.startswith(">") or not line else "> " + line for line in lines
    )


def to_html(text: str, charset: str, rtl: bool) -> str:
    """Paragraphs and blockquotes, the way a webmail composer writes them."""
    parts = []
    for block in text.strip("\n").split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith(">") for line in lines):
            inner = "<br>\n".join(html.escape(line.lstrip("> "), quote=False) for line in lines)
            parts.append(
                '<blockquote style="margin:0 0 0 .8ex;border-left:1px #ccc solid;'
                f'padding-left:1ex">{inner}</blockquote>'
            )
        else:
            parts.append("<p>" + "<br>\n".join(html.escape(x, quote=False) for x in lines) + "</p>")
    direction = ' dir="rtl"' if rtl else ""
    return (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
        f'</head>\n<body{direction}><div style="font-family: Arial, sans-serif; '
        'font-size: 14px">\n' + "\n".join(parts) + "\n</div></body></html>\n"
    )


def pdf_bytes(rng: random.Random, size: int) -> bytes:
    stream = rng.randbytes(size)
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n"
        b"4 0 obj\n<< /Length "
        + str(size).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + stream
        + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def png_bytes(rng: random.Random, width: int, height: int) -> bytes:
    """A real (greyscale, noisy) PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = b"".join(b"\x00" + rng.randbytes(width) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


class Maker:
    def __init__(self, root: Path, *, customers: int, seed: int, until: dt.date) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.world = synthetic.World(seed)
        self.seed = seed
        self.end = int(dt.datetime(until.year, until.month, until.day, tzinfo=dt.UTC).timestamp())
        self.start = self.end - YEARS * 365 * 86400
        self.stats = Stats()
        self.counter = 0
        self.pid = os.getpid()
        self.host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
        self.customers = self._customers(customers)
        # a few customers write a lot, most a little
        weights = [self.rng.paretovariate(1.3) for _ in self.customers]
        total = 0.0
        self.cumulative = []
        for weight in weights:
            total += weight
            self.cumulative.append(total)

    def _customers(self, count: int) -> list[Customer]:
        out: list[Customer] = []
        index = 0
        rng = self.rng
        while len(out) < count:
            persona = self.world.persona(index)
            index += 1
            address = next((a for c, a in persona.identities if c == "email"), None)
            if address is None:
                continue
            bare = rng.random() < 0.08
            mode = "q" if rng.random() < 0.3 else "b"
            out.append(
                Customer(
                    name=persona.name,
                    first=persona.name.split()[0],
                    address=address,
                    language=persona.language,
                    header=address if bare else address_header(persona.name, address, mode),
                    zone=rng.choice(_ZONES[persona.language]),
                    agent_line=rng.choice(_USER_AGENTS),
                )
            )
        return out

    # -- one thread ------------------------------------------------------------------

    def thread(self, customer: Customer, length: int) -> int:
        """Writes one thread of at most ``length`` messages; returns how many it wrote."""
        rng, world, lang = self.rng, self.world, customer.language
        subject, first_body = world.inbound(lang)
        epoch = rng.randrange(self.start, self.end)
        ids: list[str] = []
        previous_text, previous_who, previous_epoch, previous_zone = "", "", 0, 0
        written = 0
        for position in range(length):
            from_customer = position % 2 == 0
            if position:
                gap = rng.expovariate(1 / (6 * 3600 if not from_customer else 20 * 3600))
                epoch += 300 + int(gap)
                if epoch >= self.end:
                    break
            if from_customer:
                if position == 0:
                    text = f"{first_body}\n\n{customer.first}\n"
                else:
                    text = (
                        f"{rng.choice(_FOLLOW_UP[lang])}\n\n{customer.first}\n\n"
                        + Clock.attribution(previous_epoch, previous_zone, previous_who, lang)
                        + "\n"
                        + quoted(previous_text)
                        + "\n"
                    )
                zone = customer.zone
            else:
                agent = world.agent().capitalize()
                text = (
                    f"{_HELLO[lang].format(customer.first)}\n\n{world.reply(lang)}\n\n"
                    f"{_SIGN[lang]}\n{agent}\n{_TEAM[lang]}\n"
                )
                if rng.random() < 0.5:
                    text += (
                        "\n"
                        + Clock.attribution(previous_epoch, previous_zone, previous_who, "en")
                        + "\n"
                        + quoted(previous_text)
                        + "\n"
                    )
                zone = 0
            last_of_thread = position == length - 1
            answered = from_customer and not last_of_thread
            message_id = self.message_id(customer, from_customer, epoch)
            data = self.message(
                customer,
                from_customer=from_customer,
                subject=subject
                if position == 0
                else (rng.choice(_REPLY_PREFIX[lang]) if from_customer else "Re: ") + subject,
                text=text,
                epoch=epoch,
                zone=zone,
                message_id=message_id,
                references=ids[-10:],
            )
            unread = from_customer and last_of_thread and self.end - epoch < 7 * 86400
            self.write(data, epoch, unread=unread, answered=answered)
            written += 1
            ids.append(message_id)
            previous_text, previous_epoch, previous_zone = text, epoch, zone
            previous_who = (
                f"{customer.name} <{customer.address}>"
                if from_customer
                else f"{SUPPORT_NAME} <{SUPPORT_ADDRESS}>"
            )
        if written:
            self.stats.threads += 1
        return written

    def message_id(self, customer: Customer, from_customer: bool, epoch: int) -> str:
        self.counter += 1
        if from_customer:
            domain = customer.address.rsplit("@", 1)[1]
            return f"<{self.rng.getrandbits(64):016x}.{self.counter}@mail.{domain}>"
        return f"<{epoch:x}.{self.counter}.helpdesk@acme.example>"

    # -- one message -------------------------------------------------------------------

    def message(
        self,
        customer: Customer,
        *,
        from_customer: bool,
        subject: str,
        text: str,
        epoch: int,
        zone: int,
        message_id: str,
        references: list[str],
    ) -> bytes:
        rng, stats, lang = self.rng, self.stats, customer.language
        charset, raw_8bit = "utf-8", False
        if from_customer and lang in _LEGACY and rng.random() < LEGACY_SHARE:
            charset = _LEGACY[lang]
            if lang == "fa":
                text, subject = text.translate(_FA_TO_1256), subject.translate(_FA_TO_1256)
            try:
                text.encode(charset)
                subject.encode(charset)
            except UnicodeEncodeError:
                charset = "utf-8"
            else:
                raw_8bit = rng.random() < NO_CHARSET_SHARE
        malformed = rng.random() < MALFORMED_SHARE
        flaw = (
            rng.choice(("no-from", "wrong-boundary", "cut-off", "bad-header")) if malformed else ""
        )

        head: list[bytes] = []
        if from_customer:
            sender = customer.address
            head.append(f"Return-Path: <{sender}>".encode())
            head.append(f"Delivered-To: {SUPPORT_ADDRESS}".encode())
            domain = sender.rsplit("@", 1)[1]
            head.append(
                f"Received: from mail.{domain} (mail.{domain} [203.0.113.{rng.randrange(1, 255)}])"
                f"\n\tby mx.acme.example (Postfix) with ESMTPS id {rng.getrandbits(40):010X}"
                f"\n\tfor <{SUPPORT_ADDRESS}>; {Clock.header(epoch + 2, 0)}".encode()
            )
        else:
            head.append(f"Return-Path: <{SUPPORT_ADDRESS}>".encode())
        head.append(f"Date: {Clock.header(epoch, zone)}".encode())
        if flaw != "no-from":
            sender_header = (
                customer.header if from_customer else f"{SUPPORT_NAME} <{SUPPORT_ADDRESS}>"
            )
            head.append(f"From: {sender_header}".encode())
        recipient = f"{SUPPORT_NAME} <{SUPPORT_ADDRESS}>" if from_customer else customer.header
        head.append(f"To: {recipient}".encode())
        if raw_8bit:
            head.append(b"Subject: " + subject.encode(charset))
        else:
            mode = "q" if charset != "utf-8" or rng.random() < 0.3 else "b"
            head.append(f"Subject: {encoded_words(subject, charset, mode)}".encode())
        head.append(f"Message-ID: {message_id}".encode())
        if references:
            head.append(f"In-Reply-To: {references[-1]}".encode())
            head.append(("References: " + "\n ".join(references)).encode())
        if from_customer and customer.agent_line:
            head.append(customer.agent_line.encode())
        if flaw == "bad-header":
            head.append(b"X-Spam-Report this line has no colon and runs on")

        shape = rng.random()
        html_only = shape < HTML_ONLY_SHARE and not raw_8bit
        alternative = (
            HTML_ONLY_SHARE <= shape < HTML_ONLY_SHARE + ALTERNATIVE_SHARE and not raw_8bit
        )
        attachment = rng.random() < ATTACHMENT_SHARE and not raw_8bit
        rtl = lang == "fa"

        if raw_8bit:
            stats.no_charset += 1
            if rng.random() < 0.5:  # no MIME at all
                body_part = b"\n" + text.encode(charset)
            else:
                body_part = (
                    b"MIME-Version: 1.0\nContent-Type: text/plain\n"
                    b"Content-Transfer-Encoding: 8bit\n\n" + text.encode(charset)
                )
            stats.charsets[charset + " (undeclared)"] += 1
        else:
            stats.charsets[charset] += 1
            if html_only:
                stats.html_only += 1
                body = self.text_part("html", to_html(text, charset, rtl), charset)
            elif alternative:
                stats.alternative += 1
                body = self.multipart(
                    "alternative",
                    [
                        self.text_part("plain", text, charset),
                        self.text_part("html", to_html(text, charset, rtl), charset),
                    ],
                    flaw,
                )
            else:
                body = self.text_part("plain", text, charset)
            if attachment:
                stats.attachments += 1
                body = self.multipart("mixed", [body, self.attachment(lang, from_customer)], flaw)
            elif flaw in ("wrong-boundary", "cut-off"):
                body = self.multipart("mixed", [body], flaw)
            body_part = b"MIME-Version: 1.0\n" + body
        if malformed:
            stats.malformed += 1
            stats.malformations[flaw] += 1
        stats.languages[lang] += 1
        return b"\n".join(head) + b"\n" + body_part

    def text_part(self, kind: str, text: str, charset: str) -> bytes:
        """Content-Type and transfer encoding headers, a blank line, the body."""
        raw = text.encode(charset)
        if raw.isascii():
            encoding, body = "7bit", raw
        else:
            pick = self.rng.random()
            if pick < 0.6:
                encoding, body = "8bit", raw
            elif pick < 0.85:
                encoding, body = "quoted-printable", binascii.b2a_qp(raw, istext=True)
            else:
                encoding, body = "base64", base64.encodebytes(raw)
        self.stats.encodings[encoding] += 1
        if not body.endswith(b"\n"):
            body += b"\n"
        return (
            f"Content-Type: text/{kind}; charset={charset}\n"
            f"Content-Transfer-Encoding: {encoding}\n\n"
        ).encode() + body

    def multipart(self, subtype: str, parts: list[bytes], flaw: str) -> bytes:
        boundary = f"=_{self.rng.getrandbits(64):016x}"
        used = boundary + "x" if flaw == "wrong-boundary" else boundary
        out = [
            f'Content-Type: multipart/{subtype};\n boundary="{boundary}"\n\n'
            "This is a multi-part message in MIME format.\n".encode()
        ]
        for part in parts:
            out.append(f"\n--{used}\n".encode())
            out.append(part)
        if flaw == "cut-off":
            out[-1] = out[-1][: max(20, len(out[-1]) // 2)]
        else:
            out.append(f"\n--{used}--\n".encode())
        return b"".join(out)

    def attachment(self, lang: str, from_customer: bool) -> bytes:
        rng = self.rng
        number = rng.randrange(10_000, 99_999)
        if not from_customer:
            name, kind = f"return-label-{number}.pdf", "application/pdf"
        else:
            pdf = rng.random() < 0.5
            name = _ATTACHMENT_NAMES[lang][0 if pdf else 1].format(number)
            kind = "application/pdf" if pdf else "image/png"
        if kind == "application/pdf":
            data = pdf_bytes(rng, rng.randrange(1500, 5000))
        else:
            data = png_bytes(rng, 64, rng.randrange(24, 64))
        if name.isascii():
            params = f'; name="{name}"', f'; filename="{name}"'
        else:
            params = (
                f'; name="{encoded_words(name)}"'.replace("\n ", ""),
                f"; filename*=utf-8''{quote(name)}",
            )
        return (
            f"Content-Type: {kind}{params[0]}\nContent-Disposition: attachment{params[1]}\n"
            "Content-Transfer-Encoding: base64\n\n"
        ).encode() + base64.encodebytes(data)

    # -- files -----------------------------------------------------------------------

    def write(self, data: bytes, epoch: int, *, unread: bool, answered: bool) -> None:
        self.stats.messages += 1
        self.stats.bytes += len(data)
        unique = f"{epoch}.{self.pid}_{self.stats.messages}.{self.host}"
        if unread:
            self.stats.new += 1
            path = os.path.join(self.root, "new", unique)
        else:
            path = os.path.join(self.root, "cur", f"{unique}:2,{'RS' if answered else 'S'}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.utime(path, (epoch, epoch))

    def run(self, messages: int) -> Stats:
        rng = self.rng
        lengths, weights = (1, 2, 3, 4, 5, 6, 8), (10, 30, 25, 15, 10, 6, 4)
        used: set[int] = set()
        thread = 0
        while self.stats.messages < messages:
            if thread < len(self.customers):  # everyone writes at least once
                index = thread
            else:
                index = rng.choices(range(len(self.customers)), cum_weights=self.cumulative)[0]
            thread += 1
            length = min(rng.choices(lengths, weights)[0], messages - self.stats.messages)
            if self.thread(self.customers[index], length):
                used.add(index)
        self.stats.customers = len(used)
        return self.stats


def manifest_path(maildir: Path) -> Path:
    return maildir.parent / (maildir.name + ".json")


def make(
    maildir: Path,
    *,
    messages: int = 50_000,
    customers: int = 4_000,
    seed: int = 1,
    until: dt.date | None = None,
    force: bool = False,
    quiet: bool = False,
) -> dict[str, object]:
    """Writes the maildir and its manifest; returns the manifest."""
    until = until or dt.datetime.now(dt.UTC).date()
    if maildir.exists() and any(maildir.iterdir()):
        if not force:
            raise SystemExit(f"{maildir} is not empty (--force replaces it)")
        shutil.rmtree(maildir)
    manifest_path(maildir).unlink(missing_ok=True)
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    maker = Maker(maildir, customers=customers, seed=seed, until=until)
    stats = maker.run(messages)
    seconds = time.perf_counter() - started
    info: dict[str, object] = {
        "maildir": str(maildir),
        "seed": seed,
        "until": until.isoformat(),
        "messages": stats.messages,
        "customers": stats.customers,
        "threads": stats.threads,
        "in_new": stats.new,
        "bytes": stats.bytes,
        "html_only": stats.html_only,
        "alternative": stats.alternative,
        "attachments": stats.attachments,
        "no_charset": stats.no_charset,
        "malformed": stats.malformed,
        "malformations": dict(stats.malformations),
        "languages": dict(stats.languages),
        "charsets": dict(stats.charsets),
        "transfer_encodings": dict(stats.encodings),
        "seconds": round(seconds, 2),
    }
    manifest_path(maildir).write_text(json.dumps(info, indent=2, ensure_ascii=False), "utf-8")
    if not quiet:
        report(info)
    return info


def report(info: dict[str, object]) -> None:
    messages = int(str(info["messages"]))
    seconds = float(str(info["seconds"]))

    def share(key: str) -> str:
        return f"{info[key]:,} ({int(str(info[key])) / max(1, messages):.1%})"

    print(
        f"made {messages:,} messages in {info['maildir']} in {seconds:.1f} s "
        f"({messages / max(seconds, 1e-9):,.0f} msg/s), {int(str(info['bytes'])) / 1e6:.0f} MB"
    )
    print(
        f"  {info['customers']:,} customers, {info['threads']:,} threads, "
        f"{info['in_new']:,} unread in new/, the rest in cur/; dates up to {info['until']}"
    )
    print(f"  languages {info['languages']}")
    print(f"  charsets {info['charsets']}; transfer encodings {info['transfer_encodings']}")
    print(
        f"  HTML only {share('html_only')}, multipart/alternative {share('alternative')}, "
        f"attachments {share('attachments')}, no charset {share('no_charset')}, "
        f"malformed {share('malformed')} {info['malformations']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("maildir", type=Path)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        help="the newest date (default today, UTC): dates spread over the 2 years before",
    )
    parser.add_argument("--force", action="store_true", help="replace DIR if it is not empty")
    args = parser.parse_args()
    if args.messages < 1 or args.customers < 1:
        sys.exit("--messages and --customers must be positive")
    make(
        args.maildir,
        messages=args.messages,
        customers=args.customers,
        seed=args.seed,
        until=args.until,
        force=args.force,
    )


if __name__ == "__main__":
    main()
