"""Tests for the JT/T 808 gateway over real loopback TCP: sessions, bad input, load, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import shared_data_path
from tests.transport.gateway.conftest import LIVE_CAPTURE, read_tsv
from transport.bus.memory import MemoryBus
from transport.fixes import Fix, FixSource
from transport.gateway import jt808_fixes, jt808_terminal, terminal_registry
from transport.gateway import jt808_frames as frames
from transport.gateway import jt808_messages as messages
from transport.gateway.jt808_server import Jt808Server, ServerOptions

ROWS = read_tsv(LIVE_CAPTURE)
CAPTURE_AUTH_CODE = "387582241"
Result = messages.ReplyResult
V2013, V2019 = frames.Version.V2013, frames.Version.V2019
REGISTER = messages.Register(44, 300, "SKOEM", "SK9151", "000001", 1, "粤B12345")
RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@contextlib.asynccontextmanager
async def running_gateway(
    bus: MemoryBus | None = None, **option_values: float | bool
) -> AsyncIterator[Jt808Server]:
    """Start a gateway on a free loopback port with a fixed auth code; stop it afterwards."""
    registry = terminal_registry.MemoryTerminalRegistry(make_auth_code=lambda: CAPTURE_AUTH_CODE)
    server = Jt808Server(
        bus or MemoryBus(n_shards=2),
        registry=registry,
        options=ServerOptions(shutdown_timeout_s=2.0, **option_values),  # type: ignore[arg-type]
    )
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.shutdown()


class RawTerminal:
    """A bare socket: write any bytes, read whole frames back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.splitter = frames.FrameSplitter()
        self.frames: list[bytes] = []

    @classmethod
    async def connect(cls, port: int) -> RawTerminal:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes, *, chunk_bytes: int | None = None) -> None:
        step = chunk_bytes or len(data)
        for start in range(0, len(data), step):
            self.writer.write(data[start : start + step])
            await self.writer.drain()

    async def read_frames(self, n: int, *, timeout_s: float = 5.0) -> list[bytes]:
        async with asyncio.timeout(timeout_s):
            while len(self.frames) < n:
                chunk = await self.reader.read(4096)
                if not chunk:
                    break
                self.frames += self.splitter.feed(chunk)
        taken, self.frames = self.frames[:n], self.frames[n:]
        return taken

    async def read_replies(self, n: int) -> list[messages.Message]:
        return [messages.decode(frames.decode_frame(raw)) for raw in await self.read_frames(n)]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def encode(message: messages.Message, serial: int, *, phone: str = "013395279527") -> bytes:
    return messages.encode(message, version=V2013, phone=phone, serial=serial)


def location(
    at: datetime = RECENT, *, lat: float = 30.5, lon: float = 114.3, alarm: int = 0
) -> messages.LocationReport:
    return messages.LocationReport(
        alarm=messages.Alarm(alarm), status=messages.Status.FIXED, latitude_deg=lat,
        longitude_deg=lon, altitude_m=20, speed_kmh=54.5, direction_deg=90, fix_at=at,
    )  # fmt: skip


async def signed_in(port: int) -> RawTerminal:
    terminal = await RawTerminal.connect(port)
    await terminal.send(encode(REGISTER, 0) + encode(messages.Auth(CAPTURE_AUTH_CODE), 1))
    register_reply, auth_reply = await terminal.read_replies(2)
    assert register_reply == messages.RegisterReply(
        0, messages.RegisterResult.OK, CAPTURE_AUTH_CODE
    )
    assert auth_reply == messages.PlatformReply(1, 0x0102, Result.OK)
    return terminal


async def drain(bus: MemoryBus, *, expected: int, timeout_s: float = 5.0) -> list[Fix]:
    consumer = bus.consumer(range(bus.n_shards), name="test")
    fixes: list[Fix] = []
    async with asyncio.timeout(timeout_s):
        while len(fixes) < expected:
            fixes += [d.fix for d in await consumer.read(count=10_000, block_ms=100)]
    return fixes


# --- the captured session ---------------------------------------------------------------------


def _capture(direction: str) -> list[bytes]:
    shared_data_path(LIVE_CAPTURE)
    return [bytes.fromhex(r["frame_hex"]) for r in ROWS if r["direction"].startswith(direction)]


@pytest.mark.parametrize(
    "chunk_bytes", [None, 1, 7, 64], ids=["frame-by-frame", "1-byte", "7-byte", "64-byte-glued"]
)
def test_captured_session_replayed_over_tcp_gets_the_recorded_replies(
    chunk_bytes: int | None,
) -> None:
    requests, recorded_replies = _capture("terminal"), _capture("platform")

    async def session() -> tuple[list[bytes], list[Fix], Jt808Server]:
        bus = MemoryBus(n_shards=2)
        async with running_gateway(bus) as server:
            terminal = await RawTerminal.connect(server.port)
            replies = []
            if chunk_bytes is None:
                for request in requests:
                    await terminal.send(request)
                    replies += await terminal.read_frames(1)
            else:  # the whole session in one stream cut anywhere: split and glued frames
                await terminal.send(b"".join(requests), chunk_bytes=chunk_bytes)
                replies = await terminal.read_frames(len(recorded_replies))
            await terminal.close()
            return replies, await drain(bus, expected=7), server

    replies, fixes, server = asyncio.run(session())
    assert [r.hex().upper() for r in replies] == [r.hex().upper() for r in recorded_replies]
    assert [fix.fix_at for fix in fixes] == [
        datetime(2020, 11, 23, 10, 46, 35 + i, tzinfo=UTC) for i in range(5)
    ] + [datetime(2020, 11, 23, 10, 46, 40 + i, tzinfo=UTC) for i in range(2)]
    first = fixes[0]
    assert (first.vehicle_id, first.lat, first.lon) == ("粤B12345", 22.570336, 113.937577)
    assert first.status_bits == messages.Status.FIXED and first.alarm_bits == 0
    assert first.source is FixSource.JT808 and not first.is_backfill
    assert first.extras["satellites"] == 11.0
    assert server.stats["fixes_accepted"] == 7 and server.stats["replies.ok"] == 8


# --- messages ---------------------------------------------------------------------------------


def test_heartbeat_logout_and_unknown_message_get_their_results() -> None:
    async def session() -> list[messages.Message]:
        async with running_gateway() as server:
            terminal = await signed_in(server.port)
            unknown = messages.UnknownMessage(0x0900, b"\x01\x02\x03")
            await terminal.send(
                encode(messages.Heartbeat(), 2) + encode(unknown, 3) + encode(messages.Logout(), 4)
            )
            replies = await terminal.read_replies(3)
            await terminal.close()
            return replies

    assert asyncio.run(session()) == [
        messages.PlatformReply(2, 0x0002, Result.OK),
        messages.PlatformReply(3, 0x0900, Result.UNSUPPORTED),
        messages.PlatformReply(4, 0x0003, Result.OK),
    ]


def test_location_before_authentication_is_refused_and_not_published() -> None:
    async def session() -> tuple[list[messages.Message], int, Jt808Server]:
        bus = MemoryBus(n_shards=2)
        async with running_gateway(bus) as server:
            terminal = await RawTerminal.connect(server.port)
            await terminal.send(encode(location(), 5) + encode(messages.Auth("wrong"), 6))
            replies = await terminal.read_replies(2)
            await terminal.close()
            return replies, bus.depth(0) + bus.depth(1), server

    replies, depth, server = asyncio.run(session())
    assert replies == [
        messages.PlatformReply(5, 0x0200, Result.FAILURE),
        messages.PlatformReply(6, 0x0102, Result.FAILURE),
    ]
    assert depth == 0
    assert server.stats["refused.not_authenticated"] == 1 and server.stats["auth.failed"] == 1


def test_malformed_frames_are_answered_with_result_2_and_the_connection_survives() -> None:
    good = encode(location(), 7)
    bad_checksum = good[:-2] + bytes([good[-2] ^ 0x55]) + good[-1:]
    # latitude and longitude DWORDs swapped (latitude 114.3): the fault of some terminals
    body_start = 1 + 12  # after 7E and the 12-byte 2013 header
    swapped_frame = _with_words_swapped(encode(location(), 8), body_start + 8, body_start + 12)
    undecodable = b"\x7e\x01\x02\x03\x7e"

    async def session() -> tuple[list[messages.Message], Jt808Server]:
        async with running_gateway() as server:
            terminal = await signed_in(server.port)
            await terminal.send(bad_checksum + swapped_frame + undecodable + good)
            replies = await terminal.read_replies(3)
            await terminal.close()
            return replies, server

    replies, server = asyncio.run(session())
    assert replies == [
        messages.PlatformReply(7, 0x0200, Result.MALFORMED),
        messages.PlatformReply(8, 0x0200, Result.MALFORMED),
        messages.PlatformReply(7, 0x0200, Result.OK),
    ]
    assert server.stats["malformed.bad_checksum"] == 1
    assert server.stats["malformed.latitude_out_of_range"] == 1
    assert server.stats["dropped.undecodable"] == 1
    assert server.stats["fixes_accepted"] == 1


def _with_words_swapped(frame: bytes, first: int, second: int) -> bytes:
    """Swap two DWORDs (offsets in the frame) of an unescaped frame, fixing the checksum."""
    content = bytearray(frames.unescape(frame[1:-1])[:-1])
    a, b = first - 1, second - 1
    content[a : a + 4], content[b : b + 4] = content[b : b + 4], content[a : a + 4]
    return b"\x7e" + frames.escape(bytes(content) + bytes([frames.checksum(content)])) + b"\x7e"


def test_future_fix_is_refused_with_result_2() -> None:
    future = location(datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2))

    async def session() -> tuple[list[messages.Message], Jt808Server]:
        async with running_gateway() as server:
            terminal = await signed_in(server.port)
            await terminal.send(encode(future, 9))
            replies = await terminal.read_replies(1)
            await terminal.close()
            return replies, server

    replies, server = asyncio.run(session())
    assert replies == [messages.PlatformReply(9, 0x0200, Result.MALFORMED)]
    assert server.stats["rejected.fix_at.future_time"] == 1


def test_backfill_batch_is_published_flagged_and_bad_items_counted() -> None:
    reports = tuple(location(RECENT - timedelta(minutes=m)) for m in (3, 2, 1))
    batch = messages.LocationBatch(messages.BatchType.BACKFILL, reports)
    raw = bytearray(encode(batch, 10))

    async def session() -> tuple[list[messages.Message], list[Fix]]:
        bus = MemoryBus(n_shards=2)
        async with running_gateway(bus) as server:
            terminal = await signed_in(server.port)
            await terminal.send(bytes(raw))
            replies = await terminal.read_replies(1)
            await terminal.close()
            return replies, await drain(bus, expected=3)

    replies, fixes = asyncio.run(session())
    assert replies == [messages.PlatformReply(10, 0x0704, Result.OK)]
    assert [f.fix_at for f in fixes] == [r.fix_at for r in reports]
    assert all(f.is_backfill for f in fixes)


def test_terminal_alarm_bits_become_fix_attributes() -> None:
    alarm = (1 << 18) | (1 << 21) | (1 << 23) | (1 << 9)  # 9: display fault, kept only in bits

    async def session() -> list[Fix]:
        bus = MemoryBus(n_shards=2)
        async with running_gateway(bus) as server:
            terminal = await signed_in(server.port)
            await terminal.send(encode(location(alarm=alarm), 11))
            await terminal.read_replies(1)
            await terminal.close()
            return await drain(bus, expected=1)

    (fix,) = asyncio.run(session())
    assert fix.alarm_bits == alarm
    flags = {k for k in fix.extras if k.startswith(jt808_fixes.TERMINAL_ALARM_PREFIX)}
    assert flags == {
        "terminal_alarm_daily_driving_overtime",
        "terminal_alarm_route_in_out",
        "terminal_alarm_route_deviation",
    }


def test_waybill_upload_is_kept() -> None:
    content = "运单号 WB-0001 UN1203".encode("gbk")

    async def session() -> tuple[list[messages.Message], list[terminal_registry.KeptWaybill]]:
        async with running_gateway() as server:
            terminal = await signed_in(server.port)
            await terminal.send(encode(messages.WaybillUpload(content), 12))
            replies = await terminal.read_replies(1)
            await terminal.close()
            registry = server.registry
            assert isinstance(registry, terminal_registry.MemoryTerminalRegistry)
            return replies, registry.waybills

    replies, waybills = asyncio.run(session())
    assert replies == [messages.PlatformReply(12, 0x0701, Result.OK)]
    assert [(w.vehicle_id, w.content) for w in waybills] == [("粤B12345", content)]


def test_2019_terminal_signs_in_and_reports() -> None:
    async def session() -> tuple[messages.Message, list[Fix]]:
        bus = MemoryBus(n_shards=2)
        async with running_gateway(bus) as server:
            client = jt808_terminal.TerminalClient("13800138000", version=V2019)
            await client.connect("127.0.0.1", server.port)
            register = messages.Register(44, 300, "SKOEM", "SK9151", "T2019", 1, "鄂A00001")
            await client.sign_in(register)
            reply = await client.request(location())
            await client.close()
            return reply, await drain(bus, expected=1)

    reply, (fix,) = asyncio.run(session())
    assert reply == messages.PlatformReply(2, 0x0200, Result.OK)
    assert fix.vehicle_id == "鄂A00001"


# --- the bus decides the answer ---------------------------------------------------------------


def test_location_is_answered_ok_only_once_the_bus_holds_it() -> None:
    bus = MemoryBus(n_shards=1, shard_capacity=1, publish_timeout_s=0.2)

    async def session() -> list[messages.Message]:
        async with running_gateway(bus) as server:
            terminal = await signed_in(server.port)
            first, second = location(RECENT), location(RECENT + timedelta(seconds=30))
            await terminal.send(encode(first, 13) + encode(second, 14))
            replies = await terminal.read_replies(2)
            await terminal.close()
            return replies

    assert asyncio.run(session()) == [
        messages.PlatformReply(13, 0x0200, Result.OK),
        messages.PlatformReply(14, 0x0200, Result.FAILURE),  # bus full: not accepted
    ]


def test_reading_pauses_while_the_bus_is_slow_and_every_frame_is_answered() -> None:
    n_frames = 120
    bus = MemoryBus(n_shards=1, shard_capacity=10, publish_timeout_s=5.0)

    async def session() -> tuple[list[messages.Message], Jt808Server]:
        async with running_gateway(bus, max_queued_frames=8) as server:
            terminal = await signed_in(server.port)
            stream = b"".join(
                encode(location(RECENT + timedelta(seconds=i)), 100 + i) for i in range(n_frames)
            )
            await terminal.send(stream)
            await asyncio.sleep(0.2)  # the bus is full: frames pile up, reading pauses
            paused = server.stats["reading_paused"]
            fixes = await drain(bus, expected=n_frames)
            replies = await terminal.read_replies(n_frames)
            await terminal.close()
            assert paused >= 1 and len(fixes) == n_frames
            return replies, server

    replies, server = asyncio.run(session())
    assert replies == [messages.PlatformReply(100 + i, 0x0200, Result.OK) for i in range(n_frames)]
    assert server.stats["fixes_accepted"] == n_frames


# --- many terminals, idle ones, shutdown -------------------------------------------------------


def test_many_terminals_at_once_are_all_answered() -> None:
    n_terminals, n_reports = 200, 5

    async def one_terminal(port: int, index: int) -> list[messages.Message]:
        client = jt808_terminal.TerminalClient(f"0139{index:08d}")
        await client.connect("127.0.0.1", port)
        register = messages.Register(44, 300, "SKOEM", "SK9151", f"T{index}", 1, f"粤B{index:05d}")
        await client.sign_in(register)
        replies = [
            await client.request(location(RECENT + timedelta(seconds=30 * k)))
            for k in range(n_reports)
        ]
        await client.close()
        return replies

    async def session() -> tuple[list[list[messages.Message]], list[Fix]]:
        bus = MemoryBus(n_shards=4)
        async with running_gateway(bus) as server:
            replies = await asyncio.gather(
                *(one_terminal(server.port, i) for i in range(n_terminals))
            )
            return replies, await drain(bus, expected=n_terminals * n_reports)

    replies, fixes = asyncio.run(session())
    assert all(
        [r.result for r in per_terminal] == [Result.OK] * n_reports  # type: ignore[union-attr]
        for per_terminal in replies
    )
    assert len({(f.vehicle_id, f.fix_at) for f in fixes}) == n_terminals * n_reports


def test_idle_connection_is_closed() -> None:
    async def session() -> tuple[bytes, Jt808Server]:
        async with running_gateway(idle_timeout_s=0.3) as server:
            terminal = await signed_in(server.port)
            async with asyncio.timeout(3.0):
                data = await terminal.reader.read(100)  # waits until the gateway hangs up
            await terminal.close()
            return data, server

    data, server = asyncio.run(session())
    assert data == b""
    assert server.stats["idle_timeouts"] == 1


def test_shutdown_answers_what_was_received_then_closes_connections() -> None:
    async def session() -> tuple[list[messages.Message], bytes]:
        server = Jt808Server(
            MemoryBus(n_shards=1),
            registry=terminal_registry.MemoryTerminalRegistry(make_auth_code=lambda: "c"),
            options=ServerOptions(shutdown_timeout_s=2.0),
        )
        await server.start("127.0.0.1", 0)
        port = server.port
        terminal = await RawTerminal.connect(port)
        await terminal.send(encode(messages.Heartbeat(), 1))
        await asyncio.sleep(0.1)
        await server.shutdown()
        replies = await terminal.read_replies(1)
        async with asyncio.timeout(3.0):
            rest = await terminal.reader.read(100)
        await terminal.close()
        with pytest.raises(OSError, match="Connect call failed"):
            await RawTerminal.connect(port)
        return replies, rest

    replies, rest = asyncio.run(session())
    assert replies == [messages.PlatformReply(1, 0x0002, Result.OK)]
    assert rest == b""


def test_shutdown_is_bounded_when_a_task_ignores_its_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:  # as a Redis call that reports a cancel as a timeout
            await asyncio.sleep(60)

    async def session() -> None:
        server = Jt808Server(MemoryBus(n_shards=1), options=ServerOptions(shutdown_timeout_s=0.2))
        await server.start("127.0.0.1", 0)
        task = asyncio.create_task(stubborn())
        server.keep_task(task)
        async with asyncio.timeout(10):  # two waits of 0.2 s; without the bound, the task's 60 s
            await server.shutdown()
        task.cancel()  # the test's own clean-up
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(session())
    assert "1 connection task(s) ignored cancellation" in caplog.text
