"""Tests for the Redis Streams bus against a real redis-server started on a free port."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.transport.bus.fixtures import make_fix, make_fleet
from tests.transport.redis_process import RedisProcess
from transport.bus import base
from transport.bus.redis_streams import RedisStreamsBus, RedisStreamsConsumer

LEASE_TTL_MS = 600


async def read_all(consumer: RedisStreamsConsumer, expected: int, *, timeout_s: float = 10.0):
    """Read (without acknowledging) until `expected` deliveries arrived."""
    deliveries: list[base.Delivery] = []
    async with asyncio.timeout(timeout_s):
        while len(deliveries) < expected:
            deliveries += await consumer.read(count=500, block_ms=100)
    return deliveries


def test_published_fixes_are_read_in_order_per_vehicle_and_acked(
    redis_server: RedisProcess,
) -> None:
    fleet = make_fleet(12, 20)

    async def scenario() -> tuple[list[base.Delivery], int]:
        bus = RedisStreamsBus(redis_server.url, n_shards=3)
        await bus.publish(fleet)
        consumer = bus.consumer([0, 1, 2], name="w1", lease_ttl_ms=LEASE_TTL_MS)
        deliveries = await read_all(consumer, len(fleet))
        await consumer.ack(deliveries)
        pending = 0
        for shard in range(3):
            pending += (await bus.redis.xpending(bus.stream_key(shard), bus.group))["pending"]
        await consumer.close()
        await bus.close()
        return deliveries, pending

    deliveries, pending = asyncio.run(scenario())
    assert sorted(d.fix.key for d in deliveries) == sorted(f.key for f in fleet)
    for vehicle in {f.vehicle_id for f in fleet}:
        times = [d.fix.fix_at for d in deliveries if d.fix.vehicle_id == vehicle]
        assert times == sorted(times)
    assert pending == 0


def test_pending_fixes_of_a_vanished_consumer_are_claimed_by_the_next_owner(
    redis_server: RedisProcess,
) -> None:
    fixes = [make_fix(step=i) for i in range(10)]
    shard = base.shard_of(fixes[0].vehicle_id, 2)

    async def scenario() -> tuple[list[base.Delivery], list[base.Delivery], RedisStreamsConsumer]:
        bus = RedisStreamsBus(redis_server.url, n_shards=2)
        await bus.publish(fixes)
        first = bus.consumer([shard], name="first", lease_ttl_ms=LEASE_TTL_MS)
        taken = await read_all(first, 10)
        await first.ack(taken[:4])
        assert first._lease_task is not None
        first._lease_task.cancel()  # vanishes: no more renewals, no release, no acks
        second = bus.consumer([shard], name="second", lease_ttl_ms=LEASE_TTL_MS)
        claimed = await read_all(second, 6)
        await second.ack(claimed)
        await second.close()
        await bus.close()
        return taken, claimed, second

    taken, claimed, second = asyncio.run(scenario())
    assert [d.message_id for d in claimed] == [d.message_id for d in taken[4:]]
    assert all(d.is_redelivery for d in claimed)
    assert second.stats["claimed"] == 6


def test_only_one_consumer_owns_a_shard_at_a_time(redis_server: RedisProcess) -> None:
    async def scenario() -> tuple[set[int], set[int], set[int]]:
        bus = RedisStreamsBus(redis_server.url, n_shards=2)
        a = bus.consumer([0, 1], name="a", lease_ttl_ms=LEASE_TTL_MS)
        b = bus.consumer([0, 1], name="b", lease_ttl_ms=LEASE_TTL_MS)
        await a.read(count=1, block_ms=200)
        await b.read(count=1, block_ms=200)
        owned_a, owned_b = set(a.owned), set(b.owned)
        await a.close()  # releases: b takes over at its next renewal
        await asyncio.sleep(LEASE_TTL_MS / 1000)
        taken_over = set(b.owned)
        await b.close()
        await bus.close()
        return owned_a, owned_b, taken_over

    owned_a, owned_b, taken_over = asyncio.run(scenario())
    assert owned_a == {0, 1} and owned_b == set()
    assert taken_over == {0, 1}


def test_close_ends_a_lease_task_whose_redis_call_swallows_the_cancellation(
    redis_server: RedisProcess,
) -> None:
    """A cancelled Redis call may surface as a timeout, which the lease task retries as an
    outage; closing must end it anyway and release the leases (a worker once hung here after
    SIGTERM)."""

    async def scenario() -> tuple[set[int], list[bool]]:
        bus = RedisStreamsBus(redis_server.url, n_shards=2)
        consumer = bus.consumer([0, 1], name="w", lease_ttl_ms=LEASE_TTL_MS)
        await consumer.read(count=1, block_ms=200)
        owned = set(consumer.owned)
        in_call = asyncio.Event()

        async def refresh_swallowing_cancel() -> None:
            if in_call.is_set():  # once, as a race would
                await asyncio.sleep(60)
            in_call.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                msg = "cancelled while reading the reply"
                raise TimeoutError(msg) from None

        consumer._refresh_leases = refresh_swallowing_cancel  # type: ignore[method-assign]
        await asyncio.wait_for(in_call.wait(), timeout=5)
        async with asyncio.timeout(5):
            await consumer.close()
        released = [not await bus.redis.exists(bus.lease_key(shard)) for shard in sorted(owned)]
        await bus.close()
        return owned, released

    owned, released = asyncio.run(scenario())
    assert owned == {0, 1}
    assert released == [True, True]  # released at once, not left to expire


def test_streams_are_trimmed_to_their_bound(redis_server: RedisProcess) -> None:
    async def scenario() -> int:
        bus = RedisStreamsBus(redis_server.url, n_shards=1, maxlen=200)
        for start in range(0, 3000, 500):
            await bus.publish([make_fix(step=i) for i in range(start, start + 500)])
        length = int(await bus.redis.xlen(bus.stream_key(0)))
        await bus.close()
        return length

    length = asyncio.run(scenario())
    assert 200 <= length < 400  # MAXLEN ~ trims whole radix-tree nodes (100 entries each)


def test_unreadable_message_goes_to_the_dead_letter_stream(redis_server: RedisProcess) -> None:
    async def scenario() -> tuple[list[base.Delivery], int, RedisStreamsConsumer]:
        bus = RedisStreamsBus(redis_server.url, n_shards=1)
        await bus.redis.xadd(bus.stream_key(0), {"fix": "garbage"})
        await bus.publish([make_fix()])
        consumer = bus.consumer([0], name="w", lease_ttl_ms=LEASE_TTL_MS)
        deliveries = await read_all(consumer, 1)
        dead = int(await bus.redis.xlen(bus.dead_letter_key))
        await consumer.close()
        await bus.close()
        return deliveries, dead, consumer

    deliveries, dead, consumer = asyncio.run(scenario())
    assert [d.fix for d in deliveries] == [make_fix()]
    assert dead == 1 and consumer.stats["dead_letter"] == 1


def test_other_shard_count_is_refused(redis_server: RedisProcess) -> None:
    async def scenario() -> None:
        first = RedisStreamsBus(redis_server.url, n_shards=4)
        await first.publish([make_fix()])
        await first.close()
        second = RedisStreamsBus(redis_server.url, n_shards=8)
        try:
            await second.publish([make_fix()])
        finally:
            await second.close()

    with pytest.raises(base.BusError, match="this bus has 8 shards but Redis records 4"):
        asyncio.run(scenario())


def test_publish_rides_through_a_redis_restart(redis_server: RedisProcess) -> None:
    def restart_slowly() -> None:
        redis_server.stop()
        time.sleep(0.5)  # publishes meanwhile retry with back-off
        redis_server.start()

    async def scenario() -> tuple[list[base.Delivery], RedisStreamsConsumer]:
        bus = RedisStreamsBus(redis_server.url, n_shards=1, publish_timeout_s=15.0)
        consumer = bus.consumer([0], name="w", lease_ttl_ms=LEASE_TTL_MS)
        await bus.publish([make_fix(step=0)])
        await consumer.ack(await read_all(consumer, 1))
        restarter = threading.Thread(target=restart_slowly)
        restarter.start()
        await asyncio.sleep(0.2)
        await bus.publish([make_fix(step=1)])  # waits until Redis is back
        restarter.join()
        after = await read_all(consumer, 1)  # the group is recreated, the lease retaken
        await consumer.ack(after)
        await consumer.close()
        await bus.close()
        return after, consumer

    after, _ = asyncio.run(scenario())
    assert [d.fix for d in after] == [make_fix(step=1)]


def test_unreachable_redis_fails_publish_after_its_timeout() -> None:
    async def scenario() -> None:
        bus = RedisStreamsBus("redis://127.0.0.1:9/0", n_shards=1, publish_timeout_s=0.3)
        try:
            await bus.publish([make_fix()])
        finally:
            await bus.close()

    with pytest.raises(base.BusUnavailableError, match=r"unreachable for 0\.3 s"):
        asyncio.run(scenario())
