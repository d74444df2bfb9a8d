"""An append-only file of JSON records that a connector keeps beside the store, shared by
the processes that run one after another (a runner and the one that takes over).

Each record is one line, appended and fsynced whole. A reader follows the file from
where it last read, so what another process appended since is seen on the next read; a
line cut short by a killed writer is left unread, and the next append ends it first so
its own record stays whole. The caller holds its own lock around reads and appends.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class JsonLines:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def read_new(self) -> list[Any]:
        """The records appended since the last read or append (unreadable lines skipped)."""
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1  # a line cut short by a crash is left unread
        self._offset += end
        records = []
        for line in data[:end].splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def append(self, record: Any) -> None:
        """Append one record durably (written whole and fsynced before this returns)."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size > self._offset:
                # A partial last line from a killed writer: end it so ours stays whole.
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
            self._offset = os.lseek(fd, 0, os.SEEK_CUR)
        finally:
            os.close(fd)
