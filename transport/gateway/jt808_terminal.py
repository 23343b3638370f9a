"""A JT/T 808 terminal over asyncio TCP: for the simulator, the replay of captures and tests.

It registers, authenticates and reports locations like a vehicle terminal, and waits for the
platform's reply to each request, matched by serial number. Messages the platform sends on its
own (a 0x8300 text, a 0x8103 parameter setting) are kept in `received` and, like a real
terminal, answered with a general reply (0x0001) carrying their serial.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from transport.gateway import jt808_frames as frames
from transport.gateway import jt808_messages as messages
from transport.gateway._errors import GatewayError

__all__ = ["TerminalClient"]

logger = logging.getLogger(__name__)

Reply = messages.PlatformReply | messages.RegisterReply


class TerminalClient:
    """One terminal: a TCP connection, a serial counter and the replies awaited."""

    def __init__(
        self,
        phone: str,
        *,
        version: frames.Version = frames.Version.V2013,
        reply_timeout_s: float = 10.0,
    ) -> None:
        self.phone = phone
        self.version = version
        self.reply_timeout_s = reply_timeout_s
        self.next_serial = 0
        self.unmatched: list[messages.Message] = []
        self.received: list[messages.Message] = []
        self.received_event = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: dict[int, asyncio.Future[Reply]] = {}
        self._read_task: asyncio.Task[None] | None = None

    async def connect(self, host: str, port: int) -> None:
        """Open the connection and start reading replies."""
        self._reader, self._writer = await asyncio.open_connection(host, port)
        self._read_task = asyncio.create_task(self._read_replies())

    async def close(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._read_task is not None:
            self._read_task.cancel()
            await asyncio.gather(self._read_task, return_exceptions=True)

    async def request(self, message: messages.Message) -> Reply:
        """Send a message and return the platform's reply to it."""
        serial = self.next_serial
        self.next_serial = (self.next_serial + 1) & 0xFFFF
        done: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[serial] = done
        await self.send_raw(
            messages.encode(message, version=self.version, phone=self.phone, serial=serial)
        )
        try:
            return await asyncio.wait_for(done, self.reply_timeout_s)
        finally:
            self._waiting.pop(serial, None)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (split, glued or broken frames for tests)."""
        if self._writer is None:
            msg = "`connect` first"
            raise RuntimeError(msg)
        self._writer.write(data)
        await self._writer.drain()

    async def sign_in(self, register: messages.Register) -> str:
        """Register and authenticate; return the auth code."""
        reply = await self.request(register)
        if not isinstance(reply, messages.RegisterReply) or reply.result:
            msg = f"registration of {self.phone} refused: {reply}"
            raise ConnectionError(msg)
        auth = await self.request(messages.Auth(reply.auth_code))
        if auth.result is not messages.ReplyResult.OK:
            msg = f"authentication of {self.phone} refused: {auth}"
            raise ConnectionError(msg)
        return reply.auth_code

    async def _read_replies(self) -> None:
        """Match each reply to the request it answers."""
        assert self._reader is not None
        splitter = frames.FrameSplitter()
        while chunk := await self._reader.read(65536):
            for raw in splitter.feed(chunk):
                try:
                    frame = frames.decode_frame(raw)
                    message = messages.decode(frame)
                except GatewayError as err:
                    logger.warning("terminal %s got an unreadable frame: %s", self.phone, err)
                    continue
                serial = getattr(message, "reply_serial", None)
                if serial is None:
                    await self._answer(frame.header, message)
                    continue
                done = self._waiting.get(serial) if serial is not None else None
                if done is not None and not done.done():
                    done.set_result(message)  # type: ignore[arg-type]
                else:
                    self.unmatched.append(message)
        for done in self._waiting.values():
            if not done.done():
                done.set_exception(ConnectionError("the platform closed the connection"))

    async def _answer(self, header: frames.Header, message: messages.Message) -> None:
        """Keep a platform-initiated message and acknowledge it with 0x0001 (result OK)."""
        self.received.append(message)
        self.received_event.set()
        reply = messages.TerminalReply(header.serial, header.message_id, messages.ReplyResult.OK)
        serial = self.next_serial
        self.next_serial = (self.next_serial + 1) & 0xFFFF
        await self.send_raw(
            messages.encode(reply, version=self.version, phone=self.phone, serial=serial)
        )
