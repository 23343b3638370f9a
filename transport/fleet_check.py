"""Check several vehicles' recorded tracks together, so the fleet-level parking rules apply.

The offline counterpart of the pipeline's stop sharing: each track is matched in one batch as
`track_check` does, then every vehicle's fixes go through its `Monitor` slice by slice of fix
time; before a slice the monitors read the fleet's current stops (a `FleetView` from an
in-memory stop store), and after it each vehicle's stop is published, exactly as the
`refresh_fleet` and `publish_stops` steps do between batches.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from geodata.matching.matcher import DEFAULT_PARAMS, MatchParams
from transport import track_check
from transport.monitoring import Monitor, process_fleet
from transport.pipeline.fleet_stops import MemoryStopStore, current_stops
from transport.rules.params import RuleParams

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from geodata.network import RoadNetwork
    from transport.alerts.lifecycle import AlertEvent, LifecycleParams
    from transport.matched import MatchedFix
    from transport.rules.base import RoadContext, VehicleContext

__all__ = ["DEFAULT_SLICE_S", "check_fleet"]

DEFAULT_SLICE_S = 60.0


def check_fleet(
    network: RoadNetwork,
    road: RoadContext,
    tracks: Sequence[tuple[VehicleContext, pd.DataFrame]],
    *,
    params: RuleParams | None = None,
    alert_params: LifecycleParams | None = None,
    match_params: MatchParams = DEFAULT_PARAMS,
    slice_s: float = DEFAULT_SLICE_S,
) -> track_check.TrackCheck:
    """Match every vehicle's track and run every rule, the fleet rules included, over them all.

    Parameters
    ----------
    network, road
        As for `track_check.check_track`.
    tracks
        Each vehicle with its fixes (columns as for `check_track`); vehicle ids are distinct.
    slice_s
        Fix time between two refreshes of the fleet's stops: a vehicle sees another's stop
        at most this late, as a worker sees it one batch late.

    Returns
    -------
    check
        Every vehicle's alerts, closed, by start time; fixes, matched and ignored summed.

    Raises
    ------
    ValueError
        Two tracks share a vehicle id, or a track lacks a column or has naive times.
    """
    params = params or RuleParams()
    ids = [vehicle.vehicle_id for vehicle, _ in tracks]
    if len(set(ids)) != len(ids):
        msg = f"`tracks` repeat a vehicle id: {sorted(ids)}"
        raise ValueError(msg)
    monitors: dict[str, Monitor] = {}
    fixes: list[MatchedFix] = []
    matched = 0
    for vehicle, frame in tracks:
        stream, n = track_check.match_stream(
            network, vehicle.vehicle_id, frame, match_params=match_params
        )
        monitors[vehicle.vehicle_id] = Monitor(
            vehicle, road, params=params, alert_params=alert_params
        )
        fixes += stream
        matched += n
    changes = _run_in_slices(monitors, fixes, road, params, slice_s)
    for monitor in monitors.values():
        changes += monitor.finish()
    ignored: Counter[str] = Counter()
    for monitor in monitors.values():
        ignored.update(monitor.ignored)
    return track_check.TrackCheck(
        alerts=track_check.closed_alerts(changes),
        fixes=len(fixes),
        matched=matched,
        ignored=dict(ignored),
    )


def _run_in_slices(
    monitors: dict[str, Monitor],
    fixes: list[MatchedFix],
    road: RoadContext,
    params: RuleParams,
    slice_s: float,
) -> list[AlertEvent]:
    """Feed the fixes slice by slice of time, reading and publishing the stops between."""
    fixes.sort(key=lambda f: (f.fix_at, f.vehicle_id))
    store = MemoryStopStore(max_age_s=params.parking.fleet_stop_max_age_s)
    changes: list[AlertEvent] = []
    start = 0
    while start < len(fixes):
        first_at = fixes[start].fix_at.timestamp()
        end = start
        while end < len(fixes) and fixes[end].fix_at.timestamp() - first_at < slice_s:
            end += 1
        view = store.view(at=fixes[end - 1].fix_at)
        by_vehicle = process_fleet(monitors, fixes[start:end], fleet=view)
        changes += [change for vehicle_changes in by_vehicle.values() for change in vehicle_changes]
        store.publish(current_stops(monitors, list(by_vehicle), road, params))
        start = end
    return changes
