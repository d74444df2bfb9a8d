"""The attachment store: files named by the sha256 of their bytes under the data dir.

Content-addressed, so the same file sent twice is kept once and writing is
idempotent: a file is written to a temporary name and renamed into place, so a
reader never sees half a file. A file written for a message whose transaction
then failed is an orphan, harmless and reused when the message comes again.
The store's rows (db.Attachment) name files here by hash; a file's name for
people lives in the row, never on disk.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Keep ``data``; return its sha256 (the name to find it by)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
