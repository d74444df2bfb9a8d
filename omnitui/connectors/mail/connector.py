"""The email connector: one configured account, receiving by IMAP and sending by SMTP.

Each watched folder (and the Sent folder) has its own connection in a thread of
its own; the connector waits on them and raises as soon as one fails, so that
the runner restarts the account with backoff and every folder catches up from
its cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping

from omnitui.blobs import BlobStore
from omnitui.config import EmailAccount
from omnitui.connectors.base import (
    Batch,
    DeliveryError,
    InboundSink,
    OutboundMessage,
    SendResult,
)
from omnitui.connectors.mail import smtp
from omnitui.connectors.mail.convert import CHANNEL
from omnitui.connectors.mail.imap import FolderWatcher, append_once
from omnitui.i18n import _


class MailConnector:
    channel = CHANNEL
    idempotent_send = False
    """SMTP has no idempotency keys: a send interrupted after the hand-over waits for an agent."""
    blobs: BlobStore | None = None
    """Where the files of replies are read from; set by the runner when it builds connectors."""

    def __init__(self, name: str, config: EmailAccount) -> None:
        self.account = name
        self.config = config

    @property
    def folders(self) -> list[str]:
        imap = self.config.imap
        if imap is None:
            return []
        return imap.watched_folders

    async def receive(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        imap = self.config.imap
        if imap is None:
            await asyncio.Event().wait()  # send-only account
            return
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        async def store(batch: Batch) -> None:
            await sink(batch)

        def deliver(batch: Batch) -> None:
            """From a watcher's thread: store the batch; return once it is committed."""
            asyncio.run_coroutine_threadsafe(store(batch), loop).result()

        watchers = [
            FolderWatcher(
                account=self.account,
                folder=folder,
                cfg=imap,
                ours=self.config.ours,
                max_attachment_bytes=int(self.config.max_attachment_mb * 1024 * 1024),
                cursor=dict(cursor),
                deliver=deliver,
                stop=stop,
            )
            for folder in self.folders
        ]
        tasks = [
            asyncio.create_task(asyncio.to_thread(w.run), name=f"{self.account} {w.folder}")
            for w in watchers
        ]
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise ConnectionError(_("a folder watcher stopped"))
        finally:
            stop.set()
            for watcher in watchers:
                watcher.abort()
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def send(self, message: OutboundMessage) -> SendResult:
        cfg = self.config.smtp
        if cfg is None:
            raise DeliveryError(
                f"account {self.account} has no [smtp] to send with", permanent=True
            )
        data = await asyncio.to_thread(smtp.compose, message, self.config, None, self.blobs)
        await asyncio.to_thread(
            smtp.send, cfg, self.account, self.config.address, message.address, data
        )
        return SendResult(smtp.message_id_for(message.idempotency_key, self.config.address), data)

    async def keep_sent_copy(self, message: OutboundMessage, result: SendResult) -> None:
        imap = self.config.imap
        if imap is None or not imap.sent_folder or result.raw is None:
            return
        await asyncio.to_thread(
            append_once, imap, self.account, imap.sent_folder, result.external_id, result.raw
        )
