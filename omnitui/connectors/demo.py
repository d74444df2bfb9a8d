"""The demo channel: invented customers writing on three simulated channels.

A real connector, run by the runner like every other channel: ``receive`` hands
batches with their cursor to the sink, ``send`` delivers with a random delay, fails
now and then (mostly transiently, sometimes for good) and, when it delivers, has
a real side effect: one JSON line appended (and fsynced) to a deliveries file. With
``idempotent`` set, a reply whose idempotency key is already in that file is not
delivered again: the same external id comes back, which is what makes a retry
after a crash safe. One ``DemoConnector`` per account: mail, messenger and chat.

Must not import the store, the services, the runner or Textual.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from omnitui.config import DemoConfig
from omnitui.connectors.base import (
    Batch,
    DeliveryError,
    InboundMessage,
    InboundSink,
    OutboundMessage,
    SendResult,
)
from omnitui.connectors.jsonlines import JsonLines
from omnitui.synthetic import ACCOUNTS, Persona, World

PERSONAS = 40
"""Size of the pool customers are drawn from, so that they come back."""
REPLY_TO_US = 0.15
"""Share of inbound messages that answer one of our delivered replies."""
PERMANENT_SHARE = 0.1
"""Share of failed deliveries that fail for good."""
MAX_BATCH = 200
DELIVERIES_FILE = "demo-deliveries.jsonl"


class DeliveryLog:
    """The append-only file of delivered replies, followed from where it was last read.

    The previous runner (another process) may have appended since we last looked, so
    a lookup first reads whatever is new at the end of the file. One object per file
    in a process (``for_path``), so the process's connectors append under one lock.
    """

    _open: ClassVar[dict[Path, DeliveryLog]] = {}
    _open_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: set[str] = set()
        self._recent: dict[str, deque[tuple[str, str]]] = {}
        self._file = JsonLines(path)
        self._lock = threading.Lock()

    @classmethod
    def for_path(cls, path: Path) -> DeliveryLog:
        with cls._open_lock:
            key = path.resolve()
            if key not in cls._open:
                cls._open[key] = cls(path)
            return cls._open[key]

    def _catch_up(self) -> None:
        for record in self._file.read_new():
            try:
                self._remember(record)
            except (KeyError, TypeError):
                continue

    def _remember(self, record: dict[str, str]) -> None:
        self._keys.add(record["key"])
        recent = self._recent.setdefault(record["account"], deque(maxlen=50))
        recent.append((record["address"], record["external_id"]))

    def delivered(self, key: str) -> bool:
        with self._lock:
            if key not in self._keys:
                self._catch_up()
            return key in self._keys

    def load(self) -> None:
        with self._lock:
            self._catch_up()

    def recent(self, account: str) -> tuple[tuple[str, str], ...]:
        """(address, external id) of the latest deliveries on ``account``, as last read.

        No I/O and no lock, so the event loop may call it: a copy that races an
        append is simply skipped.
        """
        try:
            return tuple(self._recent.get(account, ()))
        except RuntimeError:
            return ()

    def append(self, record: dict[str, str], *, unless_delivered: bool) -> bool:
        """Append one record, durably; False when ``unless_delivered`` and the key is there."""
        with self._lock:
            self._catch_up()
            if unless_delivered and record["key"] in self._keys:
                return False
            self._file.append(record)
            self._remember(record)
            return True


class DemoConnector:
    """One simulated account: customers write to it, replies are delivered through it."""

    def __init__(
        self,
        account: str,
        channel: str,
        config: DemoConfig,
        deliveries_path: Path,
        *,
        messages_per_minute: float | None = None,
    ) -> None:
        self.account = account
        self.channel = channel
        self.idempotent_send = config.idempotent
        self.config = config
        self.messages_per_minute = (
            config.messages_per_minute if messages_per_minute is None else messages_per_minute
        )
        self.seed = config.seed if config.seed is not None else random.randrange(1, 1_000_000)
        self.log = DeliveryLog.for_path(deliveries_path)
        self._names: dict[str, Persona] = {}
        self._rng = random.Random(f"{self.seed}:{account}:send")

    # -- inbound -------------------------------------------------------------

    async def receive(self, sink: InboundSink, cursor: Mapping[str, str]) -> None:
        seq = int(cursor.get("seq", "0"))
        seed = self.seed
        if self.config.seed is None and "seed" in cursor:
            seed = int(cursor["seed"])  # an unseeded demo keeps its first seed's external ids
        await asyncio.to_thread(self.log.load)
        pool = self._pool(World(seed))
        self._names = {address: persona for persona, address in pool}
        rate = self.messages_per_minute / 60.0
        if rate <= 0 or not pool:
            await asyncio.Event().wait()
        timing = random.Random(f"{seed}:{self.account}:{seq}:timing")
        due = time.monotonic() + timing.expovariate(rate)
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            messages: list[InboundMessage] = []
            now = time.monotonic()
            while due <= now and len(messages) < MAX_BATCH:
                seq += 1
                messages.append(self._message(seed, seq, pool))
                due += timing.expovariate(rate)
            if not messages:
                continue
            if len(messages) == MAX_BATCH:
                due = max(due, now)  # more than a batch behind: drop the backlog, do not flood
            await sink(Batch(messages, {"seq": str(seq), "seed": str(seed)}))

    def _pool(self, world: World) -> list[tuple[Persona, str]]:
        """The personas that have an address on this channel, with that address."""
        return [
            (persona, address)
            for persona in map(world.persona, range(PERSONAS))
            for channel, address in persona.identities
            if channel == self.channel
        ]

    def _message(self, seed: int, seq: int, pool: list[tuple[Persona, str]]) -> InboundMessage:
        # Message ``seq`` is drawn from its own seed, so a batch lost in a crash comes back
        # the same (unless it answers a reply, which depends on what was delivered since).
        digest = hashlib.sha256(f"{seed}:{self.account}:{seq}".encode()).digest()
        world = World(int.from_bytes(digest[:8], "big"))
        persona, address = world.rng.choice(pool)
        thread_ref = None
        if world.rng.random() < REPLY_TO_US:
            answered = [(a, ref) for a, ref in self.log.recent(self.account) if a in self._names]
            if answered:
                address, thread_ref = world.rng.choice(answered)
                persona = self._names[address]
        subject, body = world.inbound(persona.language)
        return InboundMessage(
            account=self.account,
            channel=self.channel,
            external_id=f"{self.account}-{seed}-{seq}",
            address=address,
            body=body,
            sent_at=datetime.now(UTC),
            display_name=persona.name,
            subject=subject if self.channel == "email" and thread_ref is None else "",
            thread_ref=thread_ref,
        )

    # -- outbound ------------------------------------------------------------

    def _external_id(self, key: str) -> str:
        return f"{self.account}-out-{hashlib.sha256(key.encode()).hexdigest()[:16]}"

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.account != self.account:
            raise DeliveryError(f"{message.account} is not {self.account}", permanent=True)
        external_id = self._external_id(message.idempotency_key)
        if self.idempotent_send and await asyncio.to_thread(
            self.log.delivered, message.idempotency_key
        ):
            return SendResult(external_id)
        low, high = self.config.delivery_delay_seconds
        await asyncio.sleep(self._rng.uniform(min(low, high), max(low, high)))
        if self._rng.random() < self.config.failure_rate:
            if self._rng.random() < PERMANENT_SHARE:
                raise DeliveryError("simulated: recipient blocked us", permanent=True)
            raise DeliveryError("simulated network timeout")
        record = {
            "key": message.idempotency_key,
            "account": self.account,
            "address": message.address,
            "body": message.body,
            "at": datetime.now(UTC).isoformat(),
            "external_id": external_id,
        }
        await asyncio.to_thread(self.log.append, record, unless_delivered=self.idempotent_send)
        return SendResult(external_id)


def demo_connectors(config: DemoConfig, data_dir: Path) -> list[DemoConnector]:
    """The three demo accounts, sharing the configured rate between them."""
    share = config.messages_per_minute / len(ACCOUNTS)
    path = data_dir / DELIVERIES_FILE
    return [
        DemoConnector(account, channel, config, path, messages_per_minute=share)
        for channel, account in ACCOUNTS.items()
    ]
