"""File names people gave their files, made safe to keep and to show.

One set of rules for the files that arrive (the mail parser, Telegram) and the files an
agent sends (``inbox.queue_reply``). Standard library only, so every layer may use it.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_FILENAME = 120

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_RESERVED = re.compile(r"(?:con|prn|aux|nul|com\d|lpt\d)", re.IGNORECASE)


_EXTENSIONS = {  # what an unnamed attachment of a type is called
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/calendar": ".ics",
    "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/svg+xml": ".svg",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "video/mp4": ".mp4",
}


def safe_filename(name: str, content_type: str, index: int) -> str:
    """A file name that is safe on any disk: no directories, controls, reserved or empty names.

    Letters of every script are kept (NFC); the extension survives truncation to
    MAX_FILENAME characters; an empty result becomes ``attachment-<index><ext>``.
    """
    name = unicodedata.normalize("NFC", name)
    components = [c for c in name.replace("\\", "/").split("/") if c.strip(" .")]
    name = components[-1] if components else ""
    name = _FORBIDDEN.sub("_", _CONTROLS.sub("", name))
    name = " ".join(name.split()).strip(" .")
    if name and _RESERVED.fullmatch(name.split(".", 1)[0].strip()):
        name = "_" + name
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        suffix = dot + ext if stem and 0 < len(ext) <= 16 else ""
        if not suffix:
            stem = name
        name = stem[: MAX_FILENAME - len(suffix)].rstrip(" .") + suffix
    if not name.strip(" ."):
        default = ".txt" if content_type.startswith("text/") else ".bin"
        known = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type)
        name = f"attachment-{index}{known or default}"
    return name


def content_type_of(name: str) -> str:
    """The MIME type a file's name suggests; ``application/octet-stream`` when it says none."""
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if encoding is not None:  # report.pdf.gz is a gzip file, not a PDF
        return _COMPRESSED.get(encoding, "application/octet-stream")
    return guessed or "application/octet-stream"


_COMPRESSED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}
