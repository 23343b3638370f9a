"""Check a whole recorded track offline: match it, run every rule, return the alerts with evidence.

The one path shared by `hazmat check`, the scenario tests and the demo: fixes (WGS-84, aware
times) are projected, map-matched in one batch, turned into `MatchedFix` values and fed in time
order through a `Monitor`; alerts still open at the end of the track are closed at their last
violating fix. Speeds come from the track when it has them (terminals report them); otherwise
they are derived from the matched route over a short centred window, so GPS drift while stopped
does not read as driving.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geodata import osm_restrictions, restriction_index
from geodata.matching.matcher import DEFAULT_PARAMS, MatchParams, match_track
from transport.alerts import evidence
from transport.alerts.lifecycle import Alert, AlertChange, LifecycleParams
from transport.matched import MatchedFix
from transport.monitoring import Monitor
from transport.rules.base import RoadContext, VehicleContext

if TYPE_CHECKING:
    from geodata.matching.result import MatchResult
    from geodata.network import RoadNetwork
    from geodata.restrictions import Restriction, RestrictionLayer
    from transport.alerts.lifecycle import AlertEvent
    from transport.rules.params import RuleParams

__all__ = [
    "TrackCheck",
    "alert_to_dict",
    "check_track",
    "closed_alerts",
    "derive_speed_kmh",
    "match_stream",
    "matched_fixes",
    "road_context",
]

logger = logging.getLogger(__name__)

SPEED_WINDOW_S = 30.0  # derived speed: route distance over at least this span, centred


@dataclass(frozen=True)
class TrackCheck:
    """What checking one track found.

    Attributes
    ----------
    alerts
        Every alert, closed, in order of start time (then rule id).
    fixes, matched
        Fixes given and fixes matched to an edge.
    ignored
        Fixes the monitor skipped, by reason (out of order, other vehicle).
    """

    alerts: tuple[Alert, ...]
    fixes: int
    matched: int
    ignored: dict[str, int]

    def of_rule(self, rule_id: str) -> tuple[Alert, ...]:
        """The alerts of one rule."""
        return tuple(a for a in self.alerts if a.rule_id == rule_id)


def road_context(
    network: RoadNetwork,
    layers: Iterable[RestrictionLayer | Restriction],
    *,
    with_osm: bool = True,
    fuel_stations_lonlat: Iterable[tuple[float, float]] = (),
    compile_params: restriction_index.CompileParams | None = None,
) -> RoadContext:
    """Compile layers (plus the OSM-derived layer unless `with_osm` is off) into a context.

    Raises
    ------
    ValueError
        Two restrictions share an id.
    """
    all_layers = list(layers)
    if with_osm:
        all_layers.append(osm_restrictions.derive_layer(network))
    compiled = restriction_index.compile_layers(network, all_layers, params=compile_params)
    for problem in compiled.problems:
        logger.warning("restriction did not compile fully: %s", problem)
    return RoadContext.from_network(network, compiled, fuel_stations_lonlat=fuel_stations_lonlat)


def derive_speed_kmh(
    network: RoadNetwork,
    result: MatchResult,
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    *,
    window_s: float = SPEED_WINDOW_S,
) -> np.ndarray:
    """Return a speed per fix from the distance driven along the matched route.

    The distance between consecutive matched fixes is the route distance (snapped positions
    along the path, signed on one edge so that drift while standing cancels out); after a break
    or for unmatched fixes it is the straight distance. Each fix's speed is the distance over
    the smallest centred window of at least `window_s`.
    """
    n = len(t)
    step_m = np.zeros(n)
    step_m[1:] = np.hypot(np.diff(x), np.diff(y))
    matched = np.flatnonzero(result.is_matched)
    lengths = network.edge_length_m
    for prev, cur in zip(matched[:-1].tolist(), matched[1:].tolist(), strict=True):
        if result.is_break[cur]:
            continue
        path = result.path_of(cur)
        offset_prev, offset_cur = result.offset_m[prev], result.offset_m[cur]
        if len(path) == 0:
            route_m = offset_cur - offset_prev  # signed: drift while standing cancels out
        else:
            route_m = lengths[result.edge_id[prev]] - offset_prev
            route_m += lengths[path[:-1]].sum() + offset_cur
        step_m[prev + 1 : cur + 1] = 0.0
        step_m[cur] = float(route_m)
    cumulative = np.cumsum(step_m)
    half = window_s / 2.0
    lo = np.searchsorted(t, t - half, side="right") - 1
    hi = np.searchsorted(t, t + half, side="left")
    lo, hi = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
    span_s = t[hi] - t[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.abs(cumulative[hi] - cumulative[lo]) / span_s * 3.6
    return np.where(span_s > 0, speed, 0.0)


def matched_fixes(
    fixes: pd.DataFrame,
    result: MatchResult,
    *,
    vehicle_id: str,
    speed_kmh: np.ndarray,
) -> list[MatchedFix]:
    """Turn a matched track into `MatchedFix` values (raw positions, matched edges and paths).

    `fixes` has columns ``lon``, ``lat``, ``x``, ``y`` (network CRS) and ``fix_at`` (aware).
    """
    times = pd.to_datetime(fixes["fix_at"], utc=True).dt.to_pydatetime()
    columns = (fixes[c].to_numpy(float).tolist() for c in ("x", "y", "lon", "lat"))
    x, y, lon, lat = columns
    edge_ids, offsets = result.edge_id.tolist(), result.offset_m.tolist()
    return [
        MatchedFix(
            vehicle_id=vehicle_id,
            fix_at=times[i],
            x=x[i],
            y=y[i],
            lon=lon[i],
            lat=lat[i],
            speed_kmh=float(speed_kmh[i]),
            edge_id=edge_ids[i],
            offset_m=offsets[i],
            path_edge_ids=tuple(result.path_of(i).tolist()),
        )
        for i in range(len(times))
    ]


def check_track(
    network: RoadNetwork,
    road: RoadContext,
    vehicle: VehicleContext,
    fixes: pd.DataFrame,
    *,
    params: RuleParams | None = None,
    alert_params: LifecycleParams | None = None,
    match_params: MatchParams = DEFAULT_PARAMS,
) -> TrackCheck:
    """Match one vehicle's track and run every rule over it.

    Parameters
    ----------
    network
        Projected road network the context was compiled on.
    road
        Compiled restrictions and road facts (`road_context`).
    vehicle
        Vehicle, cargo with permits, waybill and approved corridor.
    fixes
        Columns ``lon``, ``lat`` (WGS-84) and ``fix_at`` (aware), optionally ``speed_kmh``
        (reported speed; derived from the matched route when absent or NaN). Rows are sorted
        by time; a row repeating a time is dropped by the matcher's screening.
    params, alert_params, match_params
        Rule thresholds, alert hysteresis and matcher parameters.

    Returns
    -------
    check
        The alerts with their evidence, and counts.

    Raises
    ------
    ValueError
        `fixes` lacks a column or its times are naive.
    """
    stream, matched = match_stream(network, vehicle.vehicle_id, fixes, match_params=match_params)
    monitor = Monitor(vehicle, road, params=params, alert_params=alert_params)
    changes = [*monitor.process_all(stream), *monitor.finish()]
    return TrackCheck(
        alerts=closed_alerts(changes),
        fixes=len(stream),
        matched=matched,
        ignored=dict(Counter(monitor.ignored)),
    )


def match_stream(
    network: RoadNetwork,
    vehicle_id: str,
    fixes: pd.DataFrame,
    *,
    match_params: MatchParams = DEFAULT_PARAMS,
) -> tuple[list[MatchedFix], int]:
    """Match one vehicle's track in one batch; return its fixes in time order and how many
    matched an edge (columns and speeds as in `check_track`)."""
    frame = _prepared(network, fixes)
    t = (frame["fix_at"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    x, y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
    result = match_track(network, x, y, t, params=match_params)
    derived = derive_speed_kmh(network, result, x, y, t)
    reported = (
        frame["speed_kmh"].to_numpy(float) if "speed_kmh" in frame else np.full(len(t), np.nan)
    )
    speed = np.where(np.isfinite(reported), reported, derived)
    stream = matched_fixes(frame, result, vehicle_id=vehicle_id, speed_kmh=speed)
    return stream, int(result.is_matched.sum())


def closed_alerts(changes: Iterable[AlertEvent]) -> tuple[Alert, ...]:
    """The alerts closed among lifecycle changes, by start time, then rule id and key."""
    closed = [c.alert for c in changes if c.change is AlertChange.CLOSED]
    closed.sort(key=lambda a: (a.started_at, a.rule_id, a.key))
    return tuple(closed)


def _prepared(network: RoadNetwork, fixes: pd.DataFrame) -> pd.DataFrame:
    """Check the columns, sort by time and add metric coordinates."""
    missing = [c for c in ("lon", "lat", "fix_at") if c not in fixes.columns]
    if missing:
        msg = f"`fixes` lacks column(s): {', '.join(missing)}"
        raise ValueError(msg)
    frame = fixes.reset_index(drop=True)
    times = pd.to_datetime(frame["fix_at"])
    if times.dt.tz is None:
        msg = "`fixes.fix_at` must be timezone-aware"
        raise ValueError(msg)
    frame = frame.assign(fix_at=times.dt.tz_convert("UTC")).sort_values("fix_at", kind="stable")
    x, y = network.from_lonlat.transform(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    return frame.assign(x=np.asarray(x), y=np.asarray(y)).reset_index(drop=True)


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """Return an alert as JSON-ready values: rule, times, place (first fix), evidence."""
    first = alert.evidence.fixes[0] if alert.evidence.fixes else None
    return {
        "alert_id": alert.alert_id,
        "vehicle_id": alert.vehicle_id,
        "rule_id": alert.rule_id,
        "key": alert.key,
        "severity": alert.severity,
        "status": alert.status.value,
        "started_at": alert.started_at.isoformat(),
        "ended_at": alert.ended_at.isoformat() if alert.ended_at else None,
        "duration_s": _duration_s(alert.started_at, alert.ended_at or alert.last_at),
        "place": {"lon": first.lon, "lat": first.lat} if first else None,
        "waybill_id": alert.waybill_id,
        "evidence": evidence.evidence_to_dict(alert.evidence),
    }


def _duration_s(start: dt.datetime, end: dt.datetime) -> float:
    """Seconds between two aware times."""
    return (end - start).total_seconds()


def alerts_to_dicts(alerts: Sequence[Alert]) -> list[dict[str, Any]]:
    """Every alert as JSON-ready values."""
    return [alert_to_dict(a) for a in alerts]
