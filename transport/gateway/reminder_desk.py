"""The gateway's side of driver reminders: presence in Redis, 0x8300 out, 0x0001 back.

A `ReminderDesk` observes its `Jt808Server`: when a terminal signs in it records in Redis that
the vehicle is reachable through this gateway (``{prefix}:terminals``), and forgets it on sign
out. It reads the gateway's reminder stream, sends each reminder to its vehicle as a 0x8300 text
with the display and TTS flags, and logs ``sent`` with the message serial; the terminal's
general reply (0x0001) with that serial and id 0x8300 is logged as ``acknowledged`` with its
result. Keys and log fields are described in `transport.reminders`.

Liveness: the desk sets ``{prefix}:gateway:{id}:alive`` with a time-to-live (`Liveness.ttl_s`)
and refreshes it every `Liveness.refresh_s`; a gateway killed without closing lets it expire, and
the workers stop queueing to it. On start the desk removes the presence fields that still name
its id (left by an earlier run of this gateway that crashed); on close it deletes its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis import exceptions as redis_errors

from transport import fixes
from transport.bus import redis_streams
from transport.gateway import jt808_messages as messages
from transport.redis_client import async_client
from transport.reminders import (
    FORGET_PRESENCE,
    LOG_MAXLEN,
    NOT_CONNECTED_HERE,
    Liveness,
    Reminder,
    ReminderKeys,
    ReminderStatus,
    log_entry,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from transport.gateway.jt808_server import Jt808Server

__all__ = ["ReminderDesk"]

logger = logging.getLogger(__name__)

REMINDER_FLAGS = messages.TextMessage.DISPLAY | messages.TextMessage.TTS
READ_BLOCK_MS = 500
MAX_AWAITED = 10_000  # reminders sent and not yet acknowledged, kept for matching

_RETRIED = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


class ReminderDesk:
    """Send a gateway's queued reminders and record what the terminals answer.

    `stats` counts ``sent``, ``acknowledged``, ``undeliverable``, ``unreadable``,
    ``stale_presence`` (fields of an earlier run removed at start) and ``redis_errors``.
    """

    def __init__(
        self,
        server: Jt808Server,
        url: str,
        *,
        gateway_id: str,
        prefix: str = "hazmat",
        clock: Callable[[], datetime] = fixes.utc_now,
        liveness: Liveness | None = None,
    ) -> None:
        self.liveness = liveness or Liveness()
        self.server = server
        self.gateway_id = gateway_id
        self.keys = ReminderKeys(prefix)
        self.clock = clock
        self.redis: aioredis.Redis = async_client(url)
        self.stats: Counter[str] = Counter()
        self.ready = asyncio.Event()
        self._presence: asyncio.Queue[tuple[bool, str]] = asyncio.Queue()
        self._awaited: dict[tuple[str, int], Reminder] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- TerminalObserver -----------------------------------------------------------------

    def on_signed_in(self, vehicle_id: str, phone: str) -> None:
        """Record (soon, in Redis) that the vehicle is reachable here."""
        self._presence.put_nowait((True, vehicle_id))

    def on_signed_out(self, vehicle_id: str, phone: str) -> None:
        """Forget (soon, in Redis) that the vehicle is reachable here."""
        self._presence.put_nowait((False, vehicle_id))

    def on_terminal_reply(self, vehicle_id: str, phone: str, reply: messages.TerminalReply) -> None:
        """Log the acknowledgement of a reminder this desk sent."""
        if reply.reply_message_id != messages.TextMessage.MESSAGE_ID:
            return
        reminder = self._awaited.pop((phone, reply.reply_serial), None)
        if reminder is None:
            return
        self.stats["acknowledged"] += 1
        entry = log_entry(
            reminder, ReminderStatus.ACKNOWLEDGED, self.clock(), gateway_id=self.gateway_id,
            phone=phone, serial=reply.reply_serial, result=reply.result.name.lower(),
        )  # fmt: skip
        self._keep(asyncio.create_task(self._log(entry)))

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Say this gateway is alive, clear its stale presence, observe the server, and start
        the presence writer, the liveness refresher and the command reader.
        """
        await self._retried(self._refresh_alive)
        await self._retried(self._forget_stale_presence)
        self.server.observers.append(self)
        self._keep(asyncio.create_task(self._keep_alive(), name="reminder-alive"))
        self._keep(asyncio.create_task(self._write_presence(), name="reminder-presence"))
        self._keep(asyncio.create_task(self._read_commands(), name="reminder-commands"))
        await self.ready.wait()

    async def close(self, *, timeout_s: float = 2.0) -> None:
        """Write the sign-outs still queued, stop, forget this gateway's vehicles in Redis."""
        with contextlib.suppress(ValueError):
            self.server.observers.remove(self)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._presence.join(), timeout_s)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)
        with contextlib.suppress(*_RETRIED):
            for vehicle_id in list(self.server.vehicles):
                await self.redis.eval(
                    FORGET_PRESENCE, 1, self.keys.terminals, vehicle_id, self.gateway_id
                )
            await self.redis.delete(self.keys.alive(self.gateway_id))
        await self.redis.aclose()

    def _keep(self, task: asyncio.Task[None]) -> None:
        """Hold a task until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- liveness -------------------------------------------------------------------------

    async def _retried(self, call: Callable[[], Awaitable[None]]) -> None:
        """Await `call` until Redis answers."""
        for delay in redis_streams.backoff_delays():
            try:
                await call()
                return
            except _RETRIED as err:
                self.stats["redis_errors"] += 1
                logger.warning("gateway %s: Redis unavailable (%s)", self.gateway_id, err)
                await asyncio.sleep(delay)

    async def _refresh_alive(self) -> None:
        """Set this gateway's alive key for another time-to-live."""
        ttl_ms = max(1, round(self.liveness.ttl_s * 1000))
        await self.redis.set(self.keys.alive(self.gateway_id), 1, px=ttl_ms)

    async def _keep_alive(self) -> None:
        """Refresh the alive key at the liveness's pace until cancelled."""
        while True:
            await asyncio.sleep(self.liveness.refresh_s)
            await self._retried(self._refresh_alive)

    async def _forget_stale_presence(self) -> None:
        """Remove presence fields naming this gateway for vehicles not connected here."""
        stale = []
        async for raw_vehicle, raw_gateway in self.redis.hscan_iter(self.keys.terminals):
            vehicle_id = raw_vehicle.decode()
            if raw_gateway.decode() == self.gateway_id and vehicle_id not in self.server.vehicles:
                stale.append(vehicle_id)
        for vehicle_id in stale:
            removed = await self.redis.eval(
                FORGET_PRESENCE, 1, self.keys.terminals, vehicle_id, self.gateway_id
            )
            self.stats["stale_presence"] += int(removed)
        if stale:
            logger.info("gateway %s: %d stale presence field(s) removed",
                        self.gateway_id, len(stale))  # fmt: skip

    # --- presence -------------------------------------------------------------------------

    async def _write_presence(self) -> None:
        """Apply sign-ins and sign-outs to the Redis hash, in order, riding out outages."""
        while True:
            is_in, vehicle_id = await self._presence.get()
            await self._write_one_presence(is_in, vehicle_id)
            self._presence.task_done()

    async def _write_one_presence(self, is_in: bool, vehicle_id: str) -> None:
        """Write one sign-in or sign-out, retrying until Redis answers."""
        for delay in redis_streams.backoff_delays():
            try:
                if is_in:
                    await self.redis.hset(self.keys.terminals, vehicle_id, self.gateway_id)
                else:
                    await self.redis.eval(
                        FORGET_PRESENCE, 1, self.keys.terminals, vehicle_id, self.gateway_id
                    )
                return
            except _RETRIED as err:
                self.stats["redis_errors"] += 1
                logger.warning("presence of %s not written (%s)", vehicle_id, err)
                await asyncio.sleep(delay)

    # --- commands -------------------------------------------------------------------------

    async def _read_commands(self) -> None:
        """Read this gateway's reminder stream (new entries only) and send each reminder."""
        stream = self.keys.commands(self.gateway_id)
        last_id = await self._start_id(stream)
        self.ready.set()
        while True:
            try:
                replies: Any = await self.redis.xread(
                    {stream: last_id}, count=100, block=READ_BLOCK_MS
                )
            except _RETRIED as err:
                self.stats["redis_errors"] += 1
                logger.warning("reminder stream unreadable (%s)", err)
                await asyncio.sleep(next(redis_streams.backoff_delays()))
                continue
            for _stream, entries in replies or []:
                for raw_id, fields in entries:
                    last_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                    await self._send(fields)

    async def _start_id(self, stream: str) -> str:
        """The id of the stream's newest entry (0-0 when empty): read what is added after it.

        Reading from ``$`` instead would miss what arrives before the first read is issued.
        """
        for delay in redis_streams.backoff_delays():
            try:
                newest: Any = await self.redis.xrevrange(stream, count=1)
                break
            except _RETRIED as err:
                self.stats["redis_errors"] += 1
                logger.warning("reminder stream unreadable (%s)", err)
                await asyncio.sleep(delay)
        if not newest:
            return "0-0"
        raw_id = newest[0][0]
        return raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)

    async def _send(self, fields: dict[bytes, bytes]) -> None:
        """Send one queued reminder to its vehicle and log the outcome."""
        try:
            reminder = Reminder.from_json(fields[b"reminder"])
        except (KeyError, ValueError) as err:
            self.stats["unreadable"] += 1
            logger.warning("unreadable reminder command: %s", err)
            return
        message = messages.TextMessage(REMINDER_FLAGS, reminder.text)
        held = self.server.vehicles.get(reminder.vehicle_id)
        serial = await self.server.send_to_vehicle(reminder.vehicle_id, message)
        if serial is None or held is None:
            self.stats["undeliverable"] += 1
            entry = log_entry(reminder, ReminderStatus.UNDELIVERABLE, self.clock(),
                               gateway_id=self.gateway_id, reason=NOT_CONNECTED_HERE)  # fmt: skip
        else:
            phone = held[1]
            if len(self._awaited) >= MAX_AWAITED:
                self._awaited.pop(next(iter(self._awaited)))
            self._awaited[(phone, serial)] = reminder
            self.stats["sent"] += 1
            entry = log_entry(reminder, ReminderStatus.SENT, self.clock(),
                               gateway_id=self.gateway_id, phone=phone, serial=serial)  # fmt: skip
        await self._log(entry)

    async def _log(self, entry: dict[str, str]) -> None:
        """Append to the reminder log, retrying through a short outage."""
        for attempt, delay in enumerate(redis_streams.backoff_delays()):
            try:
                await self.redis.xadd(self.keys.log, entry, maxlen=LOG_MAXLEN, approximate=True)  # type: ignore[arg-type]
                return
            except _RETRIED as err:
                self.stats["redis_errors"] += 1
                if attempt >= 8:
                    logger.error("reminder log entry lost: %s (%s)", entry, err)
                    return
                await asyncio.sleep(delay)
