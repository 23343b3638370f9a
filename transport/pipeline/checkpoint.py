"""Checkpoints of per-vehicle state: in memory (embedded) or in Redis, so another worker resumes.

Redis keeps one hash, ``{prefix}:vehicle_state``, field = vehicle id, value = the state
(`checkpoint_codec.encode_state`);
it is live state, not the record (that is the fix store), so losing it costs only re-checking
duplicates against the store.

Saving and committing are two moves, as in Kafka Streams: `save_states` records the states of a
processed batch, `commit` makes what was saved durable. The Redis store holds saved states in
this process until the commit, which the runner makes every commit interval (before storing
the fixes and acknowledging them): a vehicle seen in several batches of one interval is
encoded and written once, and a worker killed before it leaves its fixes pending, so the worker
that claims them resumes from the last commit and processes them again. A commit may be written
in another thread while the next batches are processed (`prepare_commit`): the states it sets
aside are served from memory until they are written, and later saves wait for the next commit.

A second hash, ``{prefix}:vehicle_state_token``, holds beside each state a token naming the
store and commit that wrote it (written in the same transaction). A store keeps the states it
committed last and serves a vehicle's from memory while the token in Redis is still its own: the
vehicle was not written by another worker meanwhile (one that held its shard while this worker
had lost the lease). The common read is then a few bytes per vehicle instead of its whole
state, and a state another worker wrote is always read. A checkpoint that cannot be read is
logged and counted, and its vehicle starts afresh.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from transport.pipeline import checkpoint_codec
from transport.redis_client import retrying_client

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable

    from transport.pipeline.batch import VehicleState

__all__ = ["CheckpointStore", "MemoryCheckpointStore", "RedisCheckpointStore"]

logger = logging.getLogger(__name__)


class CheckpointStore(Protocol):
    """Load and save vehicle states."""

    def load_states(self, vehicle_ids: Iterable[str]) -> dict[str, VehicleState]:
        """Return the saved states of those vehicles that have one."""
        ...

    def save_states(self, states: Iterable[VehicleState]) -> None:
        """Save states, all or none (durable once committed)."""
        ...

    def prepare_commit(self) -> Callable[[], None]:
        """Set the saved states aside for one commit; return the blocking call that makes them
        durable, all or none (it may run in another thread while later states are loaded and
        saved; until it succeeds, call it again before preparing the next commit)."""
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

    def prepare_commit(self) -> Callable[[], None]:
        """Return `commit`: there is nothing to set aside."""
        return self.commit

    def commit(self) -> None:
        """Nothing to do: a saved state is as durable as this process."""


class RedisCheckpointStore:
    """States in a Redis hash, written at each commit; connection errors are retried with
    back-off. The states last committed by this store are served from memory while their token
    in Redis is unchanged."""

    def __init__(self, url: str, *, prefix: str = "hazmat") -> None:
        self.key = f"{prefix}:vehicle_state"
        self.token_key = f"{prefix}:vehicle_state_token"
        self.redis = retrying_client(url)
        self.uncommitted: dict[str, VehicleState] = {}
        self.in_flight: dict[str, VehicleState] = {}  # set aside for the commit being written
        self.committed: dict[str, tuple[bytes, VehicleState]] = {}  # vehicle: (token, state)
        self.unreadable = 0  # checkpoints that could not be read
        self._writer = uuid.uuid4().hex
        self._commits = 0

    def load_states(self, vehicle_ids: Iterable[str]) -> dict[str, VehicleState]:
        """Return the saved states of these vehicles: uncommitted ones (held or being written),
        the ones this store committed and nobody wrote since, the rest read in one HMGET."""
        ids = list(dict.fromkeys(vehicle_ids))
        in_flight = self.in_flight  # replaced, never changed, when written: one look is enough
        states = {v: self.uncommitted[v] for v in ids if v in self.uncommitted}
        states |= {v: in_flight[v] for v in ids if v not in states and v in in_flight}
        unread = [v for v in ids if v not in states]
        if unread:
            tokens: list[bytes | None] = self.redis.hmget(self.token_key, unread)  # type: ignore[assignment]
            for vehicle_id, token in zip(unread, tokens, strict=True):
                held = self.committed.get(vehicle_id)
                if held is not None and held[0] == token:
                    states[vehicle_id] = held[1]
            unread = [v for v in unread if v not in states]
        if unread:
            values: list[bytes | None] = self.redis.hmget(self.key, unread)  # type: ignore[assignment]
            pairs = ((v, self._decoded(v, data)) for v, data in zip(unread, values, strict=True))
            states |= {v: state for v, state in pairs if state is not None}
        return states

    def _decoded(self, vehicle_id: str, data: bytes | None) -> VehicleState | None:
        """A vehicle's state read from its checkpoint; None without one, and None, logged and
        counted, when it cannot be read: the vehicle starts afresh (its fixes checked against
        the fix store) rather than failing every batch it is in."""
        if not data:
            return None
        try:
            return checkpoint_codec.decode_state(data)
        except ValueError as error:
            self.unreadable += 1
            logger.error("checkpoint of %s unreadable; the vehicle starts afresh: %s",
                         vehicle_id, error)  # fmt: skip
            return None

    def save_states(self, states: Iterable[VehicleState]) -> None:
        """Hold states until the commit."""
        self.uncommitted.update((state.vehicle_id, state) for state in states)

    def prepare_commit(self) -> Callable[[], None]:
        """Set the held states aside (with any a failed write left) and return the call that
        writes them; they are served from memory meanwhile."""
        self.in_flight = {**self.in_flight, **self.uncommitted}
        self.uncommitted = {}
        return self._write_in_flight

    def commit(self) -> None:
        """Write the held states and their token in one transaction; on failure the next
        commit writes them."""
        self.prepare_commit()()

    def _write_in_flight(self) -> None:
        """Write the states set aside and their token in one transaction (MULTI), then serve
        them as committed; on failure they stay set aside."""
        in_flight = self.in_flight
        if not in_flight:
            return
        token = f"{self._writer}:{self._commits + 1}".encode()
        encode = checkpoint_codec.encode_state
        mapping: dict[Any, Any] = {v: encode(s) for v, s in in_flight.items()}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.key, mapping=mapping)
        pipe.hset(self.token_key, mapping=dict.fromkeys(mapping, token))
        pipe.execute()
        self._commits += 1
        self.committed.update((v, (token, state)) for v, state in in_flight.items())
        self.in_flight = {}  # after `committed`: a reader finds each state in one of the two

    def forget_vehicles(self, vehicle_ids: Collection[str]) -> None:
        """Stop serving these vehicles' committed states from memory (read them when asked)."""
        for vehicle_id in vehicle_ids:
            self.committed.pop(vehicle_id, None)

    def close(self) -> None:
        """Close the connection pool."""
        self.redis.close()
