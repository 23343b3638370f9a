"""Both terminal registries keep the same contract; the Redis one outlives its gateway and is
shared by gateways, also gateways sharing one port (real redis-server, real TCP)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
from typer.testing import CliRunner

from api.cli import app
from tests.transport.gateway.test_reminders import start_gateway_process
from tests.transport.redis_process import RedisProcess
from transport.bus.memory import MemoryBus
from transport.gateway import jt808_messages as messages
from transport.gateway import jt808_terminal
from transport.gateway.jt808_server import Jt808Server, ServerOptions
from transport.gateway.redis_terminal_registry import RedisTerminalRegistry
from transport.gateway.terminal_registry import (
    KeptWaybill,
    MemoryTerminalRegistry,
    TerminalRegistry,
)

AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
PHONE, PLATE = "013912345678", "粤B12345"
Result = messages.RegisterResult


def register(plate: str, *, terminal_id: str = "T1") -> messages.Register:
    """A 0x0100 registration of a terminal on a plate."""
    return messages.Register(44, 300, "SKOEM", "SK9151", terminal_id, 1, plate)


Scenario = Callable[[TerminalRegistry], Awaitable[None]]


@pytest.fixture(params=["memory", "redis"])
def run_with_registry(request: pytest.FixtureRequest) -> Callable[[Scenario], None]:
    """Run a scenario against a fresh registry of each kind."""

    def run(scenario: Scenario) -> None:
        async def main() -> None:
            if request.param == "memory":
                await scenario(MemoryTerminalRegistry())
                return
            server: RedisProcess = request.getfixturevalue("redis_server")
            registry = RedisTerminalRegistry(server.url)
            try:
                await scenario(registry)
            finally:
                await registry.close()

        asyncio.run(main())

    return run


def test_a_code_issued_authenticates_and_no_other(
    run_with_registry: Callable[[Scenario], None],
) -> None:
    async def scenario(registry: TerminalRegistry) -> None:
        result, terminal = await registry.register("013912345678", register("粤B12345"), at=AT)
        assert result is Result.OK and terminal is not None
        assert terminal.vehicle_id == "粤B12345"
        found = await registry.authenticate("013912345678", terminal.auth_code)
        assert found == terminal
        assert await registry.authenticate("013912345678", terminal.auth_code + "x") is None
        assert await registry.authenticate("013900000000", terminal.auth_code) is None

    run_with_registry(scenario)


def test_registering_again_keeps_code_and_time_and_takes_new_details(
    run_with_registry: Callable[[Scenario], None],
) -> None:
    async def scenario(registry: TerminalRegistry) -> None:
        _, first = await registry.register("013912345678", register("粤B12345"), at=AT)
        later = AT + timedelta(days=3)
        result, again = await registry.register(
            "013912345678", register("粤B12345", terminal_id="T2"), at=later
        )
        assert result is Result.OK and first is not None and again is not None
        assert (again.auth_code, again.registered_at) == (first.auth_code, AT)
        assert again.terminal_id == "T2"
        assert await registry.authenticate("013912345678", first.auth_code) == again

    run_with_registry(scenario)


def test_one_plate_one_terminal_until_it_moves_or_logs_out(
    run_with_registry: Callable[[Scenario], None],
) -> None:
    async def scenario(registry: TerminalRegistry) -> None:
        await registry.register("013900000001", register("粤B11111"), at=AT)
        result, terminal = await registry.register("013900000002", register("粤B11111"), at=AT)
        assert (result, terminal) == (Result.VEHICLE_REGISTERED, None)
        await registry.register("013900000001", register("粤B22222"), at=AT)  # fitted elsewhere
        result, _ = await registry.register("013900000002", register("粤B11111"), at=AT)
        assert result is Result.OK
        result, _ = await registry.register("013900000003", register("粤B22222"), at=AT)
        assert result is Result.VEHICLE_REGISTERED
        await registry.deregister("013900000001")
        result, _ = await registry.register("013900000003", register("粤B22222"), at=AT)
        assert result is Result.OK

    run_with_registry(scenario)


def test_a_terminal_that_logged_out_must_register_again(
    run_with_registry: Callable[[Scenario], None],
) -> None:
    async def scenario(registry: TerminalRegistry) -> None:
        _, terminal = await registry.register("013912345678", register("粤B12345"), at=AT)
        assert terminal is not None
        await registry.deregister("013912345678")
        assert await registry.authenticate("013912345678", terminal.auth_code) is None
        _, again = await registry.register("013912345678", register("粤B12345"), at=AT)
        assert again is not None and again.auth_code != terminal.auth_code

    run_with_registry(scenario)


def test_redis_registrations_outlive_the_registry(redis_server: RedisProcess) -> None:
    async def scenario() -> None:
        first = RedisTerminalRegistry(redis_server.url)
        _, terminal = await first.register("013912345678", register("粤B12345"), at=AT)
        await first.close()
        restarted = RedisTerminalRegistry(redis_server.url)
        try:
            assert terminal is not None
            assert await restarted.authenticate("013912345678", terminal.auth_code) == terminal
        finally:
            await restarted.close()

    asyncio.run(scenario())


def test_redis_keeps_uploaded_waybills_in_a_stream(redis_server: RedisProcess) -> None:
    content = "电子运单 YD-0001".encode()

    async def scenario() -> None:
        registry = RedisTerminalRegistry(redis_server.url, prefix="t")
        try:
            await registry.keep_waybill(KeptWaybill("013912345678", "粤B12345", content, AT))
        finally:
            await registry.close()

    asyncio.run(scenario())
    [(_, fields)] = redis.Redis.from_url(redis_server.url).xrange("t:jt808:waybills")
    assert fields == {
        b"phone": b"013912345678",
        b"vehicle_id": "粤B12345".encode(),
        b"content": content,
        b"received_at": AT.isoformat().encode(),
    }


def location_now() -> messages.LocationReport:
    """A 0x0200 report of a fix taken now."""
    return messages.LocationReport(
        alarm=messages.Alarm(0), status=messages.Status.FIXED, latitude_deg=22.54,
        longitude_deg=114.05, altitude_m=0, speed_kmh=40.0, direction_deg=90,
        fix_at=datetime.now(UTC).replace(microsecond=0),
    )  # fmt: skip


@contextlib.asynccontextmanager
async def two_gateways(
    url: str, bus: MemoryBus, *, share_port: bool = False
) -> AsyncIterator[tuple[Jt808Server, Jt808Server]]:
    """Two gateways on one Redis registry (on one port when `share_port`); stopped after."""
    registries = [RedisTerminalRegistry(url) for _ in range(2)]
    first, second = (
        Jt808Server(bus, registry=r, options=ServerOptions(shutdown_timeout_s=2.0))
        for r in registries
    )
    await first.start("127.0.0.1", 0, reuse_port=share_port)
    await second.start("127.0.0.1", first.port if share_port else 0, reuse_port=share_port)
    try:
        yield first, second
    finally:
        for server, registry in zip((first, second), registries, strict=True):
            await server.shutdown()
            await registry.close()


def test_a_terminal_registered_at_one_gateway_signs_in_at_another(
    redis_server: RedisProcess,
) -> None:
    """Two gateways of a deployment: a reconnect that reaches the other one authenticates with
    the code the first issued, and its fixes are accepted."""

    async def scenario() -> tuple[messages.Message, messages.Message, list[str]]:
        bus = MemoryBus(n_shards=1)
        async with two_gateways(redis_server.url, bus) as (first, second):
            client = jt808_terminal.TerminalClient(PHONE)
            await client.connect("127.0.0.1", first.port)
            auth_code = await client.sign_in(register(PLATE))
            await client.close()
            client = jt808_terminal.TerminalClient(PHONE)
            await client.connect("127.0.0.1", second.port)
            auth = await client.request(messages.Auth(auth_code))
            accepted = await client.request(location_now())
            await client.close()
        delivered = await bus.consumer([0], name="test").read(count=10, block_ms=100)
        return auth, accepted, [d.fix.vehicle_id for d in delivered]

    auth, accepted, vehicles = asyncio.run(scenario())
    assert auth.result is messages.ReplyResult.OK  # type: ignore[union-attr]
    assert accepted.result is messages.ReplyResult.OK  # type: ignore[union-attr]
    assert vehicles == [PLATE]


def test_a_crashed_gateway_process_is_replaced_without_new_registrations(
    redis_server: RedisProcess,
) -> None:
    """`hazmat gateway --redis` killed (SIGKILL) and started again: the terminal signs in with
    the code the first process issued."""
    first, port = start_gateway_process(redis_server.url, "gw-a")

    async def register_at_first() -> str:
        client = jt808_terminal.TerminalClient(PHONE)
        await client.connect("127.0.0.1", port)
        try:
            return await client.sign_in(register(PLATE))
        finally:
            first.kill()
            first.communicate(timeout=10)
            with contextlib.suppress(OSError):
                await client.close()

    async def authenticate_at(port: int, auth_code: str) -> messages.Message:
        client = jt808_terminal.TerminalClient(PHONE)
        await client.connect("127.0.0.1", port)
        try:
            return await client.request(messages.Auth(auth_code))
        finally:
            await client.close()

    auth_code = asyncio.run(register_at_first())
    second, port = start_gateway_process(redis_server.url, "gw-a")
    try:
        reply = asyncio.run(authenticate_at(port, auth_code))
    finally:
        second.terminate()
        second.communicate(timeout=30)
    assert reply.result is messages.ReplyResult.OK  # type: ignore[union-attr]


def test_gateways_sharing_a_port_take_terminals_between_them(redis_server: RedisProcess) -> None:
    """Two gateways listening on one port with SO_REUSEPORT (as `hazmat gateway --reuse-port`
    processes do): the kernel spreads the terminals over both, and every fix is accepted."""
    n_terminals = 40

    async def one_terminal(port: int, index: int) -> messages.Message:
        client = jt808_terminal.TerminalClient(f"0139{index:08d}")
        await client.connect("127.0.0.1", port)
        await client.sign_in(register(f"粤B{index:05d}", terminal_id=f"T{index}"))
        reply = await client.request(location_now())
        await client.close()
        return reply

    async def scenario() -> tuple[list[messages.Message], list[int], int]:
        bus = MemoryBus(n_shards=1)
        async with two_gateways(redis_server.url, bus, share_port=True) as servers:
            replies = await asyncio.gather(
                *(one_terminal(servers[0].port, i) for i in range(n_terminals))
            )
            signed_in = [server.stats["auth.ok"] for server in servers]
        delivered = await bus.consumer([0], name="test").read(count=100, block_ms=100)
        return replies, signed_in, len(delivered)

    replies, signed_in, delivered = asyncio.run(scenario())
    assert {r.result for r in replies} == {messages.ReplyResult.OK}  # type: ignore[union-attr]
    assert sum(signed_in) == n_terminals
    assert min(signed_in) > 0  # both took some (all on one: about 2e-12 by chance)
    assert delivered == n_terminals


def test_a_port_is_shared_only_when_asked() -> None:
    async def scenario() -> None:
        first, second = Jt808Server(MemoryBus(n_shards=1)), Jt808Server(MemoryBus(n_shards=1))
        await first.start("127.0.0.1", 0)
        try:
            with pytest.raises(OSError, match="in use"):
                await second.start("127.0.0.1", first.port)
        finally:
            await first.shutdown()

    asyncio.run(scenario())


def test_gateway_command_refuses_a_shared_port_without_redis() -> None:
    result = CliRunner().invoke(
        app, ["gateway", "--reuse-port", "--port", "0"], env={"HAZMAT_REDIS_URL": None}
    )
    assert result.exit_code != 0
    assert "--reuse-port needs --redis" in result.output
