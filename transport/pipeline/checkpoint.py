"""Checkpoints of per-vehicle state: in memory (embedded) or in Redis, so another worker resumes.

Redis keeps one hash, ``{prefix}:vehicle_state``, field = vehicle id, value = the state as JSON;
it is live state, not the record (that is the fix store), so losing it costs only re-checking
duplicates against the store.

Saving and committing are two moves, as in Kafka Streams: `save_states` records the states of a
processed batch, `commit` makes what was saved durable. The Redis store holds saved states in
this process until the commit, which the runner makes every commit interval (before storing
the fixes and acknowledging them): a vehicle seen in several batches of one interval is
encoded and written once, and a worker killed before it leaves its fixes pending, so the worker
that claims them resumes from the last commit and processes them again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from transport.pipeline.batch import VehicleState
from transport.redis_client import retrying_client

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["CheckpointStore", "MemoryCheckpointStore", "RedisCheckpointStore"]


class CheckpointStore(Protocol):
    """Load and save vehicle states."""

    def load_states(self, vehicle_ids: Iterable[str]) -> dict[str, VehicleState]:
        """Return the saved states of those vehicles that have one."""
        ...

    def save_states(self, states: Iterable[VehicleState]) -> None:
        """Save states, all or none (durable once committed)."""
        ...

    def commit(self) -> None:
        """Make every saved state durable, all or none."""
        ...


class MemoryCheckpointStore:
    """States in a dict of this process (the embedded default)."""

    def __init__(self) -> None:
        self._states: dict[str, VehicleState] = {}

    def load_states(self, vehicle_ids: Iterable[str]) -> dict[str, VehicleState]:
        """Return the saved states of these vehicles."""
        return {v: self._states[v] for v in vehicle_ids if v in self._states}

    def save_states(self, states: Iterable[VehicleState]) -> None:
        """Save states."""
        self._states.update((state.vehicle_id, state) for state in states)

    def commit(self) -> None:
        """Nothing to do: a saved state is as durable as this process."""


class RedisCheckpointStore:
    """States in a Redis hash, written at each commit; connection errors are retried with
    back-off."""

    def __init__(self, url: str, *, prefix: str = "hazmat") -> None:
        self.key = f"{prefix}:vehicle_state"
        self.redis = retrying_client(url)
        self.uncommitted: dict[str, VehicleState] = {}

    def load_states(self, vehicle_ids: Iterable[str]) -> dict[str, VehicleState]:
        """Return the saved states of these vehicles: uncommitted ones, the rest in one HMGET."""
        ids = list(dict.fromkeys(vehicle_ids))
        states = {v: self.uncommitted[v] for v in ids if v in self.uncommitted}
        unread = [v for v in ids if v not in states]
        if unread:
            values: list[bytes | None] = self.redis.hmget(self.key, unread)  # type: ignore[assignment]
            pairs = zip(unread, values, strict=True)
            states |= {v: VehicleState.from_json(text) for v, text in pairs if text}
        return states

    def save_states(self, states: Iterable[VehicleState]) -> None:
        """Hold states until the commit."""
        self.uncommitted.update((state.vehicle_id, state) for state in states)

    def commit(self) -> None:
        """Write the held states in one HSET (atomic in Redis); on failure they stay held."""
        mapping: dict[Any, Any] = {v: state.to_json() for v, state in self.uncommitted.items()}
        if mapping:
            self.redis.hset(self.key, mapping=mapping)
        self.uncommitted.clear()

    def close(self) -> None:
        """Close the connection pool."""
        self.redis.close()
