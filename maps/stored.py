"""What the maps draw, from what the store keeps: alerts, track points and restriction layers.

The map builders take the pipeline's own types (`transport.alerts.lifecycle.Alert`, a fixes
frame, `geodata.restrictions.Restriction`); the API reads `StoredAlert`, `TrackPoint` and layer
contents from the store. These functions translate, knowing nothing of HTTP or sessions. On the
maps a vehicle is named by its key in the fixes (plate or terminal number), as the pipeline
names it; plates and goods come separately as `maps.live.VehicleInfo`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from geodata import restrictions
from geodata._errors import RestrictionLayerError
from transport.alerts import evidence, lifecycle
from transport.rules.base import Text

if TYPE_CHECKING:
    from transport.store.alerts import StoredAlert
    from transport.store.tracks import TrackPoint

__all__ = ["FIX_COLUMNS", "alert_of", "evidence_of", "fixes_frame", "restrictions_of"]

logger = logging.getLogger(__name__)

FIX_COLUMNS = ("vehicle_id", "lon", "lat", "fix_at", "speed_kmh", "heading_deg")


def _text(value: Any) -> Text:
    """A zh/en text of the stored evidence (``{"zh": ..., "en": ...}``); empty when absent."""
    value = value if isinstance(value, Mapping) else {}
    return Text(str(value.get("zh") or ""), str(value.get("en") or ""))


def evidence_of(content: Mapping[str, Any]) -> evidence.Evidence:
    """Return the evidence stored by `transport.alerts.evidence.evidence_to_dict`."""
    fixes = tuple(
        evidence.FixEvidence(
            dt.datetime.fromisoformat(f["fix_at"]),
            float(f["lon"]),
            float(f["lat"]),
            float(f.get("speed_kmh") or 0.0),
            int(f.get("edge_id", -1)),
        )
        for f in content.get("fixes") or ()
    )
    return evidence.Evidence(
        rule_id=str(content.get("rule_id") or ""),
        rule_title=_text(content.get("rule")),
        legal_basis=_text(content.get("legal_basis")),
        fact=_text(content.get("fact")),
        restriction_id=content.get("restriction_id"),
        schedule=content.get("schedule"),
        fixes=fixes,
        edge_ids=tuple(int(e) for e in content.get("edge_ids") or ()),
        fix_count=int(content.get("fix_count") or len(fixes)),
        peak_value=content.get("peak_value"),
        limit=content.get("limit"),
    )


def alert_of(stored: StoredAlert) -> lifecycle.Alert:
    """Return a stored alert as the maps draw it (vehicle named by its key, waybill by id)."""
    return lifecycle.Alert(
        alert_id=stored.alert_key,
        vehicle_id=stored.vehicle_key,
        rule_id=stored.rule_id,
        key=stored.condition_key,
        status=lifecycle.AlertStatus.OPEN if stored.is_active else lifecycle.AlertStatus.CLOSED,
        severity=stored.severity,
        started_at=stored.started_at,
        last_at=stored.last_at,
        ended_at=None if stored.is_active else (stored.ended_at or stored.last_at),
        evidence=evidence_of(stored.evidence),
        waybill_id=None if stored.waybill_id is None else str(stored.waybill_id),
        acknowledged_by=stored.acknowledged_by,
        acknowledged_at=stored.acknowledged_at,
    )


def fixes_frame(points: Sequence[TrackPoint]) -> pd.DataFrame:
    """Return track points as the fixes frame of the maps (`FIX_COLUMNS`, `vehicle_id` = key)."""
    rows = [(p.vehicle_key, p.lon, p.lat, p.fix_at, p.speed_kmh, p.heading_deg) for p in points]
    frame = pd.DataFrame(rows, columns=list(FIX_COLUMNS))
    frame["fix_at"] = pd.to_datetime(frame["fix_at"], utc=True)
    return frame


def restrictions_of(contents: Iterable[Mapping[str, Any]]) -> list[restrictions.Restriction]:
    """Return the restrictions of stored layer contents, in order.

    Layers were validated when stored; one that no longer loads (a format change) is skipped
    with a warning rather than failing every map.
    """
    out: list[restrictions.Restriction] = []
    for content in contents:
        try:
            out += restrictions.load_layer(content).features
        except RestrictionLayerError as err:
            logger.warning("stored layer %r skipped on the maps: %s", content.get("name"), err)
    return out
