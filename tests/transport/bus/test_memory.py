"""Tests for the in-process bus: sharding, order, back-pressure, redelivery on close."""

from __future__ import annotations

import asyncio

import pytest

from tests.transport.bus.fixtures import make_fix, make_fleet
from transport.bus import base
from transport.bus.memory import MemoryBus


def test_vehicle_maps_to_a_stable_shard() -> None:
    assert [base.shard_of(v, 4) for v in ("粤B12345", "V001", "V002")] == [1, 3, 1]


def test_each_vehicle_reads_back_in_publish_order() -> None:
    fleet = make_fleet(20, 10)

    async def scenario() -> list[base.Delivery]:
        bus = MemoryBus(n_shards=3)
        await bus.publish(fleet)
        consumer = bus.consumer([0, 1, 2], name="w")
        return await consumer.read(count=1000, block_ms=100)

    deliveries = asyncio.run(scenario())
    assert sorted(d.fix.key for d in deliveries) == sorted(f.key for f in fleet)
    for vehicle in {f.vehicle_id for f in fleet}:
        times = [d.fix.fix_at for d in deliveries if d.fix.vehicle_id == vehicle]
        assert times == sorted(times)
    assert all(d.shard == base.shard_of(d.fix.vehicle_id, 3) for d in deliveries)


def test_unacknowledged_fixes_come_back_after_the_consumer_closes() -> None:
    async def scenario() -> tuple[list[base.Delivery], list[base.Delivery]]:
        bus = MemoryBus(n_shards=1)
        await bus.publish([make_fix(step=i) for i in range(4)])
        first = bus.consumer([0], name="a")
        taken = await first.read(count=4, block_ms=100)
        await first.ack(taken[:2])
        await first.close()
        again = await bus.consumer([0], name="b").read(count=10, block_ms=100)
        return taken, again

    taken, again = asyncio.run(scenario())
    assert [d.message_id for d in again] == [d.message_id for d in taken[2:]]
    assert all(d.is_redelivery for d in again)


def test_full_bus_refuses_after_its_timeout() -> None:
    async def scenario() -> None:
        bus = MemoryBus(n_shards=1, shard_capacity=2, publish_timeout_s=0.05)
        await bus.publish([make_fix(step=0), make_fix(step=1)])
        await bus.publish([make_fix(step=2)])

    with pytest.raises(base.BusUnavailableError, match=r"in-process bus full for 0\.05 s"):
        asyncio.run(scenario())


def test_consumer_of_a_missing_shard_is_refused() -> None:
    with pytest.raises(base.BusError, match=r"shards \[5\] do not exist: this bus has shards 0..1"):
        MemoryBus(n_shards=2).consumer([0, 5], name="w")
