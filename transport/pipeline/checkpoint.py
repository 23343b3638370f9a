"""Checkpoints of per-vehicle state: in memory (embedded) or in Redis, so another worker resumes.

Redis keeps one hash, ``{prefix}:vehicle_state``, field = vehicle id, value = the state as JSON;
it is live state, not the record (that is the fix store), so losing it costs only re-checking
duplicates against the store.
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
        """Save states, all or none."""
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


class RedisCheckpointStore:
    """States in a Redis hash; connection errors are retried with back-off."""

    def __init__(self, url: str, *, prefix: str = "hazmat") -> None:
        self.key = f"{prefix}:vehicle_state"
        self.redis = retrying_client(url)

    def load_states(self, vehicle_ids: Iterable[str]) -> dict[str, VehicleState]:
        """Return the saved states of these vehicles (one HMGET)."""
        ids = list(dict.fromkeys(vehicle_ids))
        if not ids:
            return {}
        values: list[bytes | None] = self.redis.hmget(self.key, ids)  # type: ignore[assignment]
        pairs = zip(ids, values, strict=True)
        return {v: VehicleState.from_json(text) for v, text in pairs if text}

    def save_states(self, states: Iterable[VehicleState]) -> None:
        """Save states in one HSET (atomic in Redis)."""
        mapping: dict[Any, Any] = {state.vehicle_id: state.to_json() for state in states}
        if mapping:
            self.redis.hset(self.key, mapping=mapping)

    def close(self) -> None:
        """Close the connection pool."""
        self.redis.close()
