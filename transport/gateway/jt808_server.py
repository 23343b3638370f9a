"""The JT/T 808 TCP gateway: an asyncio protocol that feeds bytes in and writes replies.

Per connection, `data_received` only cuts the stream into frames and queues them; one task per
connection handles the frames in order (so replies keep the order of requests) and awaits the
bus for locations: a location is answered "OK" only once the bus holds its fix. Reading pauses
while too many frames wait and resumes when the queue has drained; writing waits while the
transport's buffer is full. Nothing a terminal sends raises out of the protocol: a frame that
cannot be read is answered with result 2 (malformed) when its header is readable, otherwise
dropped and counted; an unknown message id is answered with result 3 (unsupported).

The server knows which connection holds each signed-in vehicle, so the platform can send it
messages (`send_to_vehicle`, e.g. the 0x8300 driver reminders); observers hear of sign-ins,
sign-outs and the terminals' general replies (0x0001).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING, Protocol

from transport import fixes
from transport.bus import base as bus_base
from transport.gateway import jt808_fixes, terminal_registry
from transport.gateway import jt808_frames as frames
from transport.gateway import jt808_messages as messages
from transport.gateway._errors import FrameError, MessageError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from transport.gateway.terminal_registry import Terminal, TerminalRegistry

__all__ = ["Jt808Connection", "Jt808Server", "ServerOptions", "TerminalObserver"]

logger = logging.getLogger(__name__)

Result = messages.ReplyResult
BACKFILL = messages.BatchType.BACKFILL
MAX_SERIAL = 0xFFFF


class Publisher(Protocol):
    """Anything with the bus's `publish` (a bus, or a `BatchingPublisher` in front of one)."""

    async def publish(self, fixes: Sequence[fixes.Fix]) -> None:
        """Return once the bus holds the fixes."""
        ...


class TerminalObserver(Protocol):
    """Told what signed-in terminals do; called in the event loop, must not block."""

    def on_signed_in(self, vehicle_id: str, phone: str) -> None:
        """A terminal authenticated for a vehicle."""
        ...

    def on_signed_out(self, vehicle_id: str, phone: str) -> None:
        """The terminal of a vehicle logged out or its connection closed."""
        ...

    def on_terminal_reply(self, vehicle_id: str, phone: str, reply: messages.TerminalReply) -> None:
        """A signed-in terminal answered a platform message (0x0001)."""
        ...


class ServerOptions:
    """Limits and policies of a gateway (defaults suit a national deployment)."""

    def __init__(
        self,
        *,
        idle_timeout_s: float = 180.0,
        max_connections: int = 20_000,
        max_queued_frames: int = 64,
        require_auth: bool = True,
        shutdown_timeout_s: float = 5.0,
    ) -> None:
        if idle_timeout_s <= 0 or max_connections < 1 or max_queued_frames < 2:
            msg = "`idle_timeout_s` > 0, `max_connections` >= 1 and `max_queued_frames` >= 2"
            raise ValueError(msg)
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.max_queued_frames = max_queued_frames
        self.require_auth = require_auth
        self.shutdown_timeout_s = shutdown_timeout_s


class Jt808Server:
    """The gateway: accepts terminals, keeps their connections, counts what happens.

    `stats` counts frames, replies by result, drops and rejections by reason, connections.
    """

    def __init__(
        self,
        publisher: Publisher | bus_base.Bus,
        *,
        registry: TerminalRegistry | None = None,
        options: ServerOptions | None = None,
        clock: Callable[[], datetime] = fixes.utc_now,
    ) -> None:
        self.publisher = publisher
        self.registry: TerminalRegistry = registry or terminal_registry.MemoryTerminalRegistry()
        self.options = options or ServerOptions()
        self.clock = clock
        self.stats: collections.Counter[str] = collections.Counter()
        self.connections: set[Jt808Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.observers: list[TerminalObserver] = []
        #: Signed-in vehicles: vehicle id -> (connection, terminal phone).
        self.vehicles: dict[str, tuple[Jt808Connection, str]] = {}
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """Return the port listened on (useful after starting on port 0)."""
        if self._server is None or not self._server.sockets:
            msg = "the gateway is not listening"
            raise RuntimeError(msg)
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> None:
        """Listen on `host`:`port` (0 picks a free port); with `reuse_port`, beside other
        processes listening there the same way (SO_REUSEPORT: the kernel spreads the
        connections)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Jt808Connection(self), host, port, reuse_port=reuse_port
        )
        logger.info("JT/T 808 gateway listening on %s:%s", host, self.port)

    async def send_to_vehicle(self, vehicle_id: str, message: messages.Message) -> int | None:
        """Send a platform message to a signed-in vehicle; return its serial (None: offline)."""
        held = self.vehicles.get(vehicle_id)
        if held is None:
            return None
        connection, phone = held
        return await connection.send_to_terminal(phone, message)

    def signed_in(self, connection: Jt808Connection, terminal: Terminal, phone: str) -> None:
        """Note that a vehicle is reachable through `connection`; tell the observers."""
        self.vehicles[terminal.vehicle_id] = (connection, phone)
        for observer in self.observers:
            observer.on_signed_in(terminal.vehicle_id, phone)

    def signed_out(self, connection: Jt808Connection, terminal: Terminal, phone: str) -> None:
        """Forget a vehicle's connection (unless it has signed in again elsewhere)."""
        if self.vehicles.get(terminal.vehicle_id, (None, ""))[0] is not connection:
            return
        del self.vehicles[terminal.vehicle_id]
        for observer in self.observers:
            observer.on_signed_out(terminal.vehicle_id, phone)

    def keep_task(self, task: asyncio.Task[None]) -> None:
        """Hold a reference to a task until it is done."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def shutdown(self) -> None:
        """Stop accepting, let connections finish the frames they hold, close, then cancel;
        each wait bounded by `ServerOptions.shutdown_timeout_s`."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.begin_close()
        if self.tasks:
            _, pending = await asyncio.wait(
                list(self.tasks), timeout=self.options.shutdown_timeout_s
            )
            for task in pending:
                task.cancel()
            if pending:  # a task that swallows its cancellation must not hold the shutdown
                _, stuck = await asyncio.wait(pending, timeout=self.options.shutdown_timeout_s)
                if stuck:
                    logger.warning("%d connection task(s) ignored cancellation; left", len(stuck))
        for connection in list(self.connections):
            connection.close_transport()
        if self._server is not None:
            await self._server.wait_closed()
        logger.info("JT/T 808 gateway stopped: %s", dict(self.stats))


class Jt808Connection(asyncio.Protocol):
    """One terminal connection: frame queue, flow control, idle timer, authenticated phones."""

    def __init__(self, server: Jt808Server) -> None:
        self.server = server
        self.options = server.options
        self.stats = server.stats
        self.transport: asyncio.Transport | None = None
        self.splitter = frames.FrameSplitter()
        self.inbox: collections.deque[bytes] = collections.deque()
        self.authenticated: dict[str, Terminal] = {}
        #: The last header of each authenticated phone: its protocol version for our messages.
        self.headers: dict[str, frames.Header] = {}
        self.next_serial = 0
        self.is_closing = False
        self.is_reading_paused = False
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._last_active_at = self._loop.time()
        self._idle_timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the frame handler and the idle timer, or refuse past the connection cap."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if len(self.server.connections) >= self.options.max_connections:
            self.stats["connections_refused"] += 1
            transport.close()
            return
        self.server.connections.add(self)
        self.stats["connections"] += 1
        self.server.keep_task(asyncio.create_task(self._handle_frames()))
        self._idle_timer = self._loop.call_later(self.options.idle_timeout_s, self._check_idle)

    def data_received(self, data: bytes) -> None:
        """Queue the frames `data` completes; pause reading when too many wait."""
        self._last_active_at = self._loop.time()
        self.stats["bytes_in"] += len(data)
        garbage, oversized = self.splitter.garbage_bytes, self.splitter.oversized_frames
        self.inbox.extend(self.splitter.feed(data))
        self.stats["garbage_bytes"] += self.splitter.garbage_bytes - garbage
        self.stats["dropped.frame_too_long"] += self.splitter.oversized_frames - oversized
        self._wakeup.set()
        if len(self.inbox) >= self.options.max_queued_frames and not self.is_reading_paused:
            self._pause_reading()

    def eof_received(self) -> bool:
        """Close on the terminal's end of stream (the queued frames are still handled)."""
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Let the handler finish what is queued, then leave."""
        self.is_closing = True
        self._wakeup.set()
        self._writable.set()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self.server.connections.discard(self)
        for phone, terminal in list(self.authenticated.items()):
            self.server.signed_out(self, terminal, phone)

    def pause_writing(self) -> None:
        """The transport's buffer is full: hold replies."""
        self._writable.clear()

    def resume_writing(self) -> None:
        """The transport's buffer drained: send replies again."""
        self._writable.set()

    # --- life cycle -----------------------------------------------------------------------

    def begin_close(self) -> None:
        """Stop reading; the handler finishes the queued frames, then the server closes us."""
        self.is_closing = True
        if self.transport is not None and not self.transport.is_closing():
            self._pause_reading()
        self._wakeup.set()

    def close_transport(self) -> None:
        """Close the socket (buffered replies are still sent)."""
        if self.transport is not None:
            self.transport.close()

    def _pause_reading(self) -> None:
        """Stop reading from the socket."""
        assert self.transport is not None
        self.is_reading_paused = True
        self.stats["reading_paused"] += 1
        self.transport.pause_reading()

    def _check_idle(self) -> None:
        """Close a connection silent for `idle_timeout_s`; otherwise look again later."""
        idle_s = self._loop.time() - self._last_active_at
        if idle_s >= self.options.idle_timeout_s:
            self.stats["idle_timeouts"] += 1
            logger.info("closing connection idle for %.0f s (%s)", idle_s, list(self.authenticated))
            self.close_transport()
            return
        remaining_s = self.options.idle_timeout_s - idle_s
        self._idle_timer = self._loop.call_later(remaining_s, self._check_idle)

    async def _handle_frames(self) -> None:
        """Handle queued frames in order until the connection closes and the queue is empty."""
        while True:
            while self.inbox:
                raw = self.inbox.popleft()
                await self._handle_frame_safely(raw)
                if (
                    self.is_reading_paused
                    and len(self.inbox) <= self.options.max_queued_frames // 2
                ):
                    self._resume_reading()
            if self.is_closing:
                break
            self._wakeup.clear()
            if not self.inbox:
                await self._wakeup.wait()

    def _resume_reading(self) -> None:
        """Read from the socket again (unless closing)."""
        self.is_reading_paused = False
        if self.transport is not None and not self.is_closing:
            self.transport.resume_reading()

    async def _handle_frame_safely(self, raw: bytes) -> None:
        """Handle one frame; a fault in the platform's own code is logged, answered, survived."""
        self.stats["frames_in"] += 1
        try:
            await self._handle_frame(raw)
        except Exception:  # the connection must survive whatever one frame does
            self.stats["internal_errors"] += 1
            logger.exception("internal error on frame %s", raw[:32].hex())

    # --- messages -------------------------------------------------------------------------

    async def _handle_frame(self, raw: bytes) -> None:
        """Decode one frame and dispatch its message."""
        try:
            frame = frames.decode_frame(raw)
        except FrameError as err:
            header = _salvage_header(raw)
            self.stats[f"malformed.{err.reason}"] += 1
            if header is None:
                self.stats["dropped.undecodable"] += 1
                logger.info("dropping undecodable frame: %s", err)
                return
            await self._reply(header, Result.MALFORMED)
            return
        try:
            message = messages.decode(frame)
        except MessageError as err:
            self.stats[f"malformed.{err.reason}"] += 1
            logger.info("malformed 0x%04X from %s: %s", frame.header.message_id,
                        frame.header.phone, err)  # fmt: skip
            await self._reply(frame.header, Result.MALFORMED)
            return
        await self._dispatch(frame.header, message)

    async def _dispatch(self, header: frames.Header, message: messages.Message) -> None:
        """Answer one message as its id asks."""
        self.stats[f"messages.0x{header.message_id:04X}"] += 1
        match message:
            case messages.Register():
                await self._on_register(header, message)
            case messages.Auth():
                await self._on_auth(header, message)
            case messages.Heartbeat():
                await self._reply(header, Result.OK)
            case messages.Logout():
                await self.server.registry.deregister(header.phone)
                terminal = self.authenticated.pop(header.phone, None)
                if terminal is not None:
                    self.server.signed_out(self, terminal, header.phone)
                await self._reply(header, Result.OK)
            case messages.TerminalReply():
                self._on_terminal_reply(header, message)
            case messages.LocationReport() | messages.LocationBatch() | messages.WaybillUpload():
                await self._on_data(header, message)
            case _:
                await self._reply(header, Result.UNSUPPORTED)

    async def _on_register(self, header: frames.Header, message: messages.Register) -> None:
        """Register the terminal and send 0x8100 with its auth code."""
        result, terminal = await self.server.registry.register(
            header.phone, message, at=self.server.clock()
        )
        self.stats[f"register.{result.name.lower()}"] += 1
        reply = messages.RegisterReply(
            header.serial, result, terminal.auth_code if terminal else ""
        )
        await self._send(header, reply)

    async def _on_auth(self, header: frames.Header, message: messages.Auth) -> None:
        """Accept the terminal when its auth code is the one it was given."""
        terminal = await self.server.registry.authenticate(header.phone, message.auth_code)
        if terminal is None:
            self.stats["auth.failed"] += 1
            await self._reply(header, Result.FAILURE)
            return
        self.authenticated[header.phone] = terminal
        self.headers[header.phone] = header
        self.stats["auth.ok"] += 1
        await self._reply(header, Result.OK)
        self.server.signed_in(self, terminal, header.phone)

    def _on_terminal_reply(self, header: frames.Header, reply: messages.TerminalReply) -> None:
        """Pass a signed-in terminal's answer to a platform message on to the observers."""
        terminal = self.authenticated.get(header.phone)
        if terminal is None:
            self.stats["terminal_replies.unauthenticated"] += 1
            return
        self.stats["terminal_replies"] += 1
        for observer in self.server.observers:
            observer.on_terminal_reply(terminal.vehicle_id, header.phone, reply)

    async def _on_data(
        self,
        header: frames.Header,
        message: messages.LocationReport | messages.LocationBatch | messages.WaybillUpload,
    ) -> None:
        """Take locations or a waybill from an authenticated terminal."""
        terminal = self.authenticated.get(header.phone)
        if terminal is None and self.options.require_auth:
            self.stats["refused.not_authenticated"] += 1
            await self._reply(header, Result.FAILURE)
            return
        vehicle_id = terminal.vehicle_id if terminal else f"jt808:{header.phone}"
        if isinstance(message, messages.WaybillUpload):
            waybill = terminal_registry.KeptWaybill(
                header.phone, vehicle_id, message.content, self.server.clock()
            )
            await self.server.registry.keep_waybill(waybill)
            self.stats["waybills"] += 1
            await self._reply(header, Result.OK)
            return
        await self._reply(header, await self._accept_locations(vehicle_id, message))

    async def _accept_locations(
        self, vehicle_id: str, message: messages.LocationReport | messages.LocationBatch
    ) -> Result:
        """Validate and publish the fixes of a 0x0200 or 0x0704; return the reply's result."""
        if isinstance(message, messages.LocationBatch):
            reports, is_backfill = message.locations, message.batch_type is BACKFILL
            for item in message.rejected:
                self.stats[f"rejected.{item.reasons[0]}"] += 1
        else:
            reports, is_backfill = (message,), False
        received_at = self.server.clock()
        accepted: list[fixes.Fix] = []
        for report in reports:
            fix = jt808_fixes.fix_of_location(
                report, vehicle_id=vehicle_id, received_at=received_at, is_backfill=is_backfill
            )
            if isinstance(fix, fixes.Fix):
                accepted.append(fix)
            else:
                self.stats[f"rejected.{fix[0].field}.{fix[0].code}"] += 1
        if not accepted:
            return Result.MALFORMED
        try:
            await self.server.publisher.publish(accepted)
        except bus_base.BusError as err:
            self.stats["bus_unavailable"] += 1
            logger.warning("fixes of %s not accepted: %s", vehicle_id, err)
            return Result.FAILURE
        self.stats["fixes_accepted"] += len(accepted)
        return Result.OK

    # --- writing --------------------------------------------------------------------------

    async def _reply(self, header: frames.Header, result: Result) -> None:
        """Send a platform general reply (0x8001) to the message `header` carried."""
        self.stats[f"replies.{result.name.lower()}"] += 1
        await self._send(header, messages.PlatformReply(header.serial, header.message_id, result))

    async def send_to_terminal(self, phone: str, message: messages.Message) -> int | None:
        """Send a platform message to an authenticated phone; return its serial (None: lost)."""
        header = self.headers.get(phone)
        if header is None:
            return None
        self.stats[f"sent.0x{messages.encode_id(message):04X}"] += 1
        return await self._send(header, message)

    async def _send(self, header: frames.Header, message: messages.Message) -> int | None:
        """Write a message to the terminal in its protocol version, with the next serial;
        return the serial, None when the connection is gone."""
        await self._writable.wait()
        if self.transport is None or self.transport.is_closing():
            self.stats["replies_lost"] += 1
            return None
        serial = self.next_serial
        data = messages.encode(
            message,
            version=header.version,
            phone=header.phone,
            serial=serial,
            protocol_version=header.protocol_version or 1,
        )
        self.next_serial = (self.next_serial + 1) & MAX_SERIAL
        self.transport.write(data)
        return serial


def _salvage_header(raw: bytes) -> frames.Header | None:
    """Return the header of a frame whose only fault is its checksum, else None."""
    if len(raw) < frames.MIN_FRAME_BYTES or raw[:1] != b"\x7e" or raw[-1:] != b"\x7e":
        return None
    content = frames.unescape(raw[1:-1])[:-1]
    repaired = b"\x7e" + frames.escape(content + bytes([frames.checksum(content)])) + b"\x7e"
    try:
        return frames.decode_frame(repaired).header
    except FrameError:
        return None
