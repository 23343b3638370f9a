"""Step `match`: put each vehicle's fixes on the road network with its online matcher.

One `OnlineMatcher` per vehicle lives in the worker; a vehicle new to this worker (first fix, or
taken over from a dead worker) starts a fresh chain, which the matcher marks as a break. The
fixes a matcher holds back (its lag) go into the vehicle's checkpoint (`WaitingFixes`, under
``monitor["match"]``): they are counted as processed there, so a worker that takes the vehicle
over, or gets it back, restarts the vehicle's matcher on them before its own fixes, and none is
left unmatched. Its matcher is restarted whenever the checkpoint holds waiting fixes other than
the ones this step last put there.
Back-filled fixes older than the vehicle's live stream are left to `match_backfill`, so they
never reorder the live stream. The batch is matched in rounds, the k-th fix of every vehicle in
one vectorised candidate search (`match_step_many`).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from geodata.matching.online import OnlineMatcher, match_step_many
from transport.matched import MatchedFix

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from geodata.matching.matcher import MatchParams
    from geodata.matching.result import MatchedPoint
    from geodata.network import RoadNetwork
    from transport.fixes import Fix
    from transport.pipeline.batch import Batch

__all__ = ["CHECKPOINT_KEY", "Match", "WaitingFixes"]

CHECKPOINT_KEY = "match"


class WaitingFixes:
    """The fixes a vehicle's matcher holds back, in its checkpoint: held as they are; the
    checkpoint written holds them as a tuple (`checkpoint_value`)."""

    __slots__ = ("fixes",)

    def __init__(self, fixes: tuple[Fix, ...]) -> None:
        self.fixes = fixes

    def checkpoint_value(self) -> tuple[Fix, ...]:
        """The fixes, as the checkpoint holds them (`waiting_fixes` reads them back)."""
        return self.fixes


def waiting_fixes(saved: WaitingFixes | tuple[Fix, ...]) -> tuple[Fix, ...]:
    """The waiting fixes of a checkpoint: as held in this process, or as read back."""
    return saved.fixes if isinstance(saved, WaitingFixes) else saved


class Match:
    """Feed fixes to per-vehicle online matchers; collect the matched fixes they decide."""

    def __init__(self, network: RoadNetwork, params: MatchParams) -> None:
        self.network = network
        self.params = params
        self.matchers: dict[str, OnlineMatcher] = {}
        self.waiting: dict[str, dict[int, tuple[Fix, float, float]]] = {}
        self.saved: dict[str, WaitingFixes] = {}

    def __call__(self, batch: Batch) -> Batch:
        """Return the batch with the fixes decided during it in `matched`, and each vehicle's
        waiting fixes in its state."""
        live = [fix for fix in batch.fixes if not batch.is_late(fix)]
        if not live:
            return batch
        vehicle_ids = dict.fromkeys(fix.vehicle_id for fix in live)
        live = [*self._restarted(vehicle_ids, batch), *live]
        xs, ys = self.network.from_lonlat.transform(
            [fix.lon for fix in live], [fix.lat for fix in live]
        )
        rounds: list[list[tuple[Fix, float, float]]] = []
        count: collections.Counter[str] = collections.Counter()
        for fix, x, y in zip(live, np.asarray(xs).tolist(), np.asarray(ys).tolist(), strict=True):
            k = count[fix.vehicle_id]
            count[fix.vehicle_id] += 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append((fix, x, y))
        matched: list[MatchedFix] = []
        for one_round in rounds:
            matched.extend(self._push_round(one_round))
        return self._decided(batch, matched, vehicle_ids)

    def flush(self, batch: Batch) -> Batch:
        """Decide every fix still held back (end of a replay); the next fix starts a chain."""
        matched = [
            _matched_fix(*self.waiting[vehicle_id].pop(point.seq), point)
            for vehicle_id, matcher in self.matchers.items()
            for point in matcher.flush()
        ]
        return self._decided(batch, matched, self.matchers)

    def _decided(
        self, batch: Batch, matched: list[MatchedFix], vehicle_ids: Collection[str]
    ) -> Batch:
        """The batch with the fixes decided added and the vehicles' waiting fixes in their
        states."""
        for vehicle_id in vehicle_ids:
            waiting = tuple(fix for fix, _, _ in self.waiting[vehicle_id].values())
            self.saved[vehicle_id] = WaitingFixes(waiting)
        states = batch.states_with(CHECKPOINT_KEY, {v: self.saved[v] for v in vehicle_ids})
        return dataclasses.replace(batch, matched=batch.matched + tuple(matched), states=states)

    def _restarted(self, vehicle_ids: Iterable[str], batch: Batch) -> list[Fix]:
        """Restart the matchers of vehicles whose checkpoint holds waiting fixes this step did
        not put there; return those fixes, to be matched first."""
        replayed: list[Fix] = []
        for vehicle_id in vehicle_ids:
            state = batch.state_of(vehicle_id)
            saved = state.monitor.get(CHECKPOINT_KEY) if state else None
            if saved is None or saved is self.saved.get(vehicle_id):
                continue
            self.matchers.pop(vehicle_id, None)
            self.waiting.pop(vehicle_id, None)
            replayed += waiting_fixes(saved)
        return replayed

    def forget_vehicles(self, vehicle_ids: Collection[str]) -> None:
        """Drop these vehicles' matchers: their checkpoints restart them (`_restarted`)."""
        for vehicle_id in vehicle_ids:
            self.matchers.pop(vehicle_id, None)
            self.waiting.pop(vehicle_id, None)
            self.saved.pop(vehicle_id, None)

    def _push_round(self, fixes: list[tuple[Fix, float, float]]) -> list[MatchedFix]:
        """Push one fix of each of several vehicles; return the fixes decided by them."""
        matchers = [self._matcher(fix.vehicle_id) for fix, _, _ in fixes]
        for matcher, (fix, x, y) in zip(matchers, fixes, strict=True):
            self.waiting[fix.vehicle_id][matcher.pushed] = (fix, x, y)
        xs = np.array([x for _, x, _ in fixes])
        ys = np.array([y for _, _, y in fixes])
        ts = np.array([fix.fix_at.timestamp() for fix, _, _ in fixes])
        decided = match_step_many(matchers, xs, ys, ts)
        return [
            _matched_fix(*self.waiting[fix.vehicle_id].pop(point.seq), point)
            for (fix, _, _), points in zip(fixes, decided, strict=True)
            for point in points
        ]

    def _matcher(self, vehicle_id: str) -> OnlineMatcher:
        """The vehicle's online matcher, started on its first fix here."""
        matcher = self.matchers.get(vehicle_id)
        if matcher is None:
            matcher = self.matchers[vehicle_id] = OnlineMatcher(self.network, self.params)
            self.waiting[vehicle_id] = {}
        return matcher


def _matched_fix(fix: Fix, x: float, y: float, point: MatchedPoint) -> MatchedFix:
    """Combine a fix with what the matcher decided for it."""
    return MatchedFix(
        vehicle_id=fix.vehicle_id,
        fix_at=fix.fix_at,
        x=x,
        y=y,
        lon=fix.lon,
        lat=fix.lat,
        speed_kmh=fix.speed_kmh,
        edge_id=point.edge_id,
        offset_m=point.offset_m,
        path_edge_ids=point.path_edge_ids,
        alarm_bits=fix.alarm_bits,
        is_backfill=fix.is_backfill,
        heading_deg=fix.heading_deg,
    )
