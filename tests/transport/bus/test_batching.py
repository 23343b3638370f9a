"""The gateway's batching publisher: calls close in time share one bus round trip."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from tests.transport.bus.fixtures import make_fix
from transport.bus.base import BusUnavailableError
from transport.bus.batching import BatchingPublisher
from transport.bus.memory import MemoryBus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.fixes import Fix


class CountingBus(MemoryBus):
    """An in-process bus that records the size of each publish, and can be made to fail."""

    def __init__(self, *, round_trip_s: float = 0.0) -> None:
        super().__init__(n_shards=2)
        self.publish_sizes: list[int] = []
        self.failing = False
        self.round_trip_s = round_trip_s

    async def publish(self, fixes: Sequence[Fix]) -> None:
        self.publish_sizes.append(len(fixes))
        await asyncio.sleep(self.round_trip_s)
        if self.failing:
            msg = "bus down"
            raise BusUnavailableError(msg)
        await super().publish(fixes)


def _sizes_of_spread(
    n: int, gap_s: float, *, round_trip_s: float = 0.0, **options: Any
) -> list[int]:
    """`n` callers, one fix each, starting `gap_s` apart, through a publisher with `options`:
    the size of each publish the bus received (every fix must have reached it)."""

    async def scenario() -> list[int]:
        bus = CountingBus(round_trip_s=round_trip_s)
        publisher = BatchingPublisher(bus, **options)

        async def one(k: int) -> None:
            await asyncio.sleep(k * gap_s)
            await publisher.publish([make_fix(f"V{k:03d}")])

        await asyncio.gather(*(one(k) for k in range(n)))
        await publisher.close()
        assert sum(bus.depth(s) for s in range(bus.n_shards)) == n
        return bus.publish_sizes

    return asyncio.run(scenario())


def test_calls_within_the_linger_share_one_publish() -> None:
    assert _sizes_of_spread(20, gap_s=0.001, linger_s=0.2) == [20]


def test_under_a_steady_stream_every_publish_waits_out_the_linger() -> None:
    # A call every millisecond, each publish taking 2 ms: without a linger per group, calls
    # arriving during a publish would go out in the next at once, two or three at a time.
    sizes = _sizes_of_spread(100, gap_s=0.001, round_trip_s=0.002, linger_s=0.02)
    assert len(sizes) <= 10  # about 100 ms of calls in groups of 22 ms or more


def test_without_a_linger_calls_spread_in_time_go_out_one_by_one() -> None:
    assert _sizes_of_spread(5, gap_s=0.02, linger_s=0.0) == [1, 1, 1, 1, 1]


def test_a_full_group_goes_out_without_waiting_for_the_linger() -> None:
    async def scenario() -> tuple[list[int], float]:
        bus = CountingBus()
        publisher = BatchingPublisher(bus, max_fixes=10, linger_s=30.0)
        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(publisher.publish([make_fix(f"V{k:03d}")]) for k in range(25)))
        waited_s = asyncio.get_running_loop().time() - started
        await publisher.close()
        return bus.publish_sizes, waited_s

    sizes, waited_s = asyncio.run(scenario())
    assert sizes == [10, 10, 5]  # what waits behind a full group follows it at once
    assert waited_s < 1.0


def test_every_caller_of_a_failed_publish_gets_the_error_and_the_publisher_goes_on() -> None:
    async def scenario() -> tuple[list[BaseException | None], list[int]]:
        bus = CountingBus()
        publisher = BatchingPublisher(bus, linger_s=0.05)
        bus.failing = True
        outcomes = await asyncio.gather(
            *(publisher.publish([make_fix(f"V{k}")]) for k in range(3)), return_exceptions=True
        )
        bus.failing = False
        await publisher.publish([make_fix("V9")])
        await publisher.close()
        return outcomes, bus.publish_sizes

    outcomes, sizes = asyncio.run(scenario())
    assert all(isinstance(o, BusUnavailableError) for o in outcomes)
    assert sizes == [3, 1]


@pytest.mark.parametrize("linger_s", [0.0, 0.01])
def test_an_empty_publish_returns_at_once_and_sends_nothing(linger_s: float) -> None:
    async def scenario() -> list[int]:
        bus = CountingBus()
        publisher = BatchingPublisher(bus, linger_s=linger_s)
        await publisher.publish([])
        await publisher.close()
        return bus.publish_sizes

    assert asyncio.run(scenario()) == []
