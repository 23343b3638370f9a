"""An alert's evidence package as GeoJSON and CSV: track, violating fixes, matched roads, rule.

Both carry the same facts so either can be filed: the alert (who, what, when, handling), the
rule and its legal basis in Chinese and English, the vehicle's track around the alert, the
fixes that violated the rule, and the roads they were matched to.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

import shapely

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.store.alerts import StoredAlert
    from transport.store.tracks import TrackPoint

__all__ = ["CSV_COLUMNS", "package_csv", "package_geojson"]

CSV_COLUMNS = (
    "alert_id", "rule_id", "rule_zh", "rule_en", "legal_basis_zh", "legal_basis_en", "fact_zh",
    "fact_en", "vehicle", "kind", "fix_at", "lon", "lat", "speed_kmh", "edge_id", "wkt",
)  # fmt: skip


def _text(alert: StoredAlert, name: str, lang: str) -> str:
    """Return one zh/en text of the evidence ('' when absent)."""
    value = alert.evidence.get(name)
    return str(value.get(lang, "")) if isinstance(value, dict) else ""


def _summary(alert: StoredAlert) -> dict[str, Any]:
    """Return the alert's facts as JSON values."""
    return {
        "alert_id": alert.id,
        "alert_key": alert.alert_key,
        "rule_id": alert.rule_id,
        "rule": alert.evidence.get("rule"),
        "legal_basis": alert.evidence.get("legal_basis"),
        "fact": alert.evidence.get("fact"),
        "restriction_id": alert.evidence.get("restriction_id"),
        "schedule": alert.evidence.get("schedule"),
        "severity": alert.severity,
        "vehicle_key": alert.vehicle_key,
        "vehicle_id": alert.vehicle_id,
        "carrier_id": alert.carrier_id,
        "waybill_id": alert.waybill_id,
        "started_at": alert.started_at.isoformat(),
        "last_at": alert.last_at.isoformat(),
        "ended_at": None if alert.ended_at is None else alert.ended_at.isoformat(),
        "state": alert.state.value,
        "acknowledged_by": alert.acknowledged_by,
        "closed_by": alert.closed_by,
        "fix_count": alert.evidence.get("fix_count"),
        "peak_value": alert.evidence.get("peak_value"),
        "limit": alert.evidence.get("limit"),
        "edge_ids": alert.evidence.get("edge_ids", []),
    }


def _feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    """Return one GeoJSON feature."""
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def package_geojson(alert: StoredAlert, track: Sequence[TrackPoint]) -> dict[str, Any]:
    """Return the evidence package as a FeatureCollection; the alert's facts in ``properties``.

    Features, each with ``properties.kind``: ``alert`` (where it began), ``track`` (LineString
    of the surrounding track), ``evidence_fix`` (each violating fix) and ``matched_roads``.
    """
    fixes = alert.evidence.get("fixes", [])
    features = []
    if fixes:
        first = fixes[0]
        point = {"type": "Point", "coordinates": [first["lon"], first["lat"]]}
        features.append(_feature(point, kind="alert", began_at=first["fix_at"]))
    if len(track) >= 2:
        line = {"type": "LineString", "coordinates": [[p.lon, p.lat] for p in track]}
        times = [p.fix_at.isoformat() for p in track]
        features.append(_feature(line, kind="track", times=times))
    for fix in fixes:
        point = {"type": "Point", "coordinates": [fix["lon"], fix["lat"]]}
        features.append(_feature(point, kind="evidence_fix", **fix))
    if alert.matched_geojson is not None:
        features.append(
            _feature(
                alert.matched_geojson, kind="matched_roads", edge_ids=_summary(alert)["edge_ids"]
            )
        )
    return {"type": "FeatureCollection", "features": features, "properties": _summary(alert)}


def package_csv(alert: StoredAlert, track: Sequence[TrackPoint]) -> str:
    """Return the evidence package as CSV: one row per track point, violating fix, matched road.

    Every row repeats the alert, rule, legal basis and fact (zh and en), so any row stands alone.
    """
    head = [
        alert.id, alert.rule_id, _text(alert, "rule", "zh"), _text(alert, "rule", "en"),
        _text(alert, "legal_basis", "zh"), _text(alert, "legal_basis", "en"),
        _text(alert, "fact", "zh"), _text(alert, "fact", "en"), alert.vehicle_key,
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in track:
        writer.writerow([*head, "track", p.fix_at.isoformat(), p.lon, p.lat, p.speed_kmh, "", ""])
    for f in alert.evidence.get("fixes", []):
        writer.writerow(
            [
                *head,
                "evidence_fix",
                f["fix_at"],
                f["lon"],
                f["lat"],
                f["speed_kmh"],
                f["edge_id"],
                "",
            ]
        )
    if alert.matched_geojson is not None:
        wkt = shapely.to_wkt(
            shapely.from_geojson(json.dumps(alert.matched_geojson)), rounding_precision=7
        )
        writer.writerow([*head, "matched_roads", "", "", "", "", "", wkt])
    return out.getvalue()
