"""File names people gave their files, made safe to keep and to show.

The same rules as ``connectors.mail.parse.safe_filename`` (which names the files that
arrive), for the layers that may not import a connector module: ``inbox.queue_reply``
names the files an agent sends with it. Standard library only.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_FILENAME = 120

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_FORBIDDEN = re.compile(r'[<>:"|?*]')
_RESERVED = re.compile(r"(?:con|prn|aux|nul|com\d|lpt\d)", re.IGNORECASE)


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
        name = f"attachment-{index}{mimetypes.guess_extension(content_type) or default}"
    return name


def content_type_of(name: str) -> str:
    """The MIME type a file's name suggests; ``application/octet-stream`` when it says none."""
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if encoding is not None:  # report.pdf.gz is a gzip file, not a PDF
        return _COMPRESSED.get(encoding, "application/octet-stream")
    return guessed or "application/octet-stream"


_COMPRESSED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}
