"""Read GPS tracks from CSV, GPX and GeoJSON files into one WGS-84, UTC table.

Each row that cannot be read is kept out with a reason (row number and field) instead of
stopping the whole file; coordinates in GCJ-02 are converted to WGS-84 on entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import gpxpy
import numpy as np
import pandas as pd

from geodata import datum
from geodata._errors import TrackError

__all__ = ["Datum", "Track", "read_track"]

LON_NAMES = ("lon", "lng", "longitude", "long", "x")
LAT_NAMES = ("lat", "latitude", "y")
TIME_NAMES = ("time", "timestamp", "datetime", "t", "fix_at", "gps_time")
SPEED_NAMES = ("speed_kmh", "speed", "gps_speed")  # km/h, optional


class Datum(StrEnum):
    """Coordinate datum of a source; every source must say which it uses."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"


@dataclass(frozen=True)
class Track:
    """Fixes of one track: `lon`, `lat` (WGS-84) and `fix_at` (aware UTC), in file order, and
    `speed_kmh` when the file reports speeds (NaN where a value is unreadable or negative).

    `rejected` lists rows that could not be read: `row` (1-based data row) and `reason`.
    """

    fixes: pd.DataFrame
    rejected: pd.DataFrame

    @property
    def seconds(self) -> np.ndarray:
        """Fix times as float seconds since the Unix epoch."""
        times = self.fixes["fix_at"]
        return (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def read_track(path: Path, *, datum_of_source: Datum = Datum.WGS84, naive_tz: str = "UTC") -> Track:
    """Read a track file (`.csv`, `.gpx`, `.geojson`/`.json`).

    Parameters
    ----------
    path
        The file. CSV needs longitude, latitude and time columns (names such as lon/lng,
        lat, time/timestamp); times are ISO 8601 or Unix seconds.
    datum_of_source
        Datum of the file's coordinates; GCJ-02 is converted to WGS-84.
    naive_tz
        Time zone of times written without one (JT/T 808 terminals use Asia/Shanghai).
    """
    suffix = path.suffix.lower()
    readers = {
        ".csv": _read_csv,
        ".gpx": _read_gpx,
        ".geojson": _read_geojson,
        ".json": _read_geojson,
    }
    if suffix not in readers:
        msg = f"unsupported track file {path.name}: use .csv, .gpx or .geojson"
        raise TrackError(msg)
    if not path.is_file():
        msg = f"track file not found: {path}"
        raise TrackError(msg)
    raw = readers[suffix](path)
    return _clean(raw, datum_of_source=datum_of_source, naive_tz=naive_tz)


def _pick(columns: list[str], names: tuple[str, ...], what: str, path: Path) -> str:
    """The first column whose lower-cased name is one of `names`."""
    lowered = {c.lower().strip(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    msg = f"{path.name}: no {what} column (looked for {', '.join(names)}; found {columns})"
    raise TrackError(msg)


def _read_csv(path: Path) -> pd.DataFrame:
    """Raw lon, lat, time strings from a CSV file."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = list(frame.columns)
    raw = pd.DataFrame(
        {
            "lon": frame[_pick(columns, LON_NAMES, "longitude", path)],
            "lat": frame[_pick(columns, LAT_NAMES, "latitude", path)],
            "time": frame[_pick(columns, TIME_NAMES, "time", path)],
        }
    )
    lowered = {c.lower().strip(): c for c in columns}
    speed = next((lowered[n] for n in SPEED_NAMES if n in lowered), None)
    if speed is not None:
        raw["speed"] = frame[speed]
    return raw


def _read_gpx(path: Path) -> pd.DataFrame:
    """Raw lon, lat, time from every track, segment and route point of a GPX file."""
    try:
        document = gpxpy.parse(path.read_text(encoding="utf-8"))
    except gpxpy.gpx.GPXException as err:
        msg = f"{path.name}: not valid GPX: {err}"
        raise TrackError(msg) from err
    points: list[Any] = [p for t in document.tracks for s in t.segments for p in s.points]
    points += [p for r in document.routes for p in r.points]
    return pd.DataFrame(
        {
            "lon": [p.longitude for p in points],
            "lat": [p.latitude for p in points],
            "time": [p.time.isoformat() if p.time else "" for p in points],
        }
    )


def _read_geojson(path: Path) -> pd.DataFrame:
    """Raw lon, lat, time from the Point features of a GeoJSON FeatureCollection."""
    try:
        features: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["features"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        msg = f"{path.name}: not a GeoJSON FeatureCollection: {err}"
        raise TrackError(msg) from err
    rows = []
    for feature in features:
        geometry = feature.get("geometry") or {}
        coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        props = feature.get("properties") or {}
        stamp = next((props[n] for n in TIME_NAMES if props.get(n) not in (None, "")), "")
        speed = next((props[n] for n in SPEED_NAMES if props.get(n) not in (None, "")), "")
        lon, lat = (coords[0], coords[1]) if coords and len(coords) >= 2 else ("", "")
        rows.append({"lon": lon, "lat": lat, "time": str(stamp), "speed": speed})
    raw = pd.DataFrame(rows, columns=["lon", "lat", "time", "speed"])
    return raw if (raw["speed"] != "").any() else raw.drop(columns="speed")


def _parse_times(raw: pd.Series, naive_tz: str) -> pd.Series:
    """Aware UTC times from ISO 8601 strings or Unix seconds; NaT where unreadable."""
    text = raw.astype(str).str.strip().str.replace("/", "-", regex=False)
    numeric = pd.to_numeric(text, errors="coerce")
    has_zone = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    is_iso = numeric.isna() & (text != "")
    aware = pd.to_datetime(
        text.where(is_iso & has_zone), utc=True, errors="coerce", format="ISO8601"
    )
    naive = pd.to_datetime(text.where(is_iso & ~has_zone), errors="coerce", format="ISO8601")
    localised = naive.dt.tz_localize(naive_tz, ambiguous="NaT", nonexistent="NaT")
    epoch = pd.to_datetime(numeric, unit="s", utc=True, errors="coerce")
    return aware.fillna(localised.dt.tz_convert("UTC")).fillna(epoch)


def _clean(raw: pd.DataFrame, *, datum_of_source: Datum, naive_tz: str) -> Track:
    """Typed, range-checked fixes and the rows rejected with their reasons."""
    lon = pd.to_numeric(raw["lon"], errors="coerce")
    lat = pd.to_numeric(raw["lat"], errors="coerce")
    fix_at = _parse_times(raw["time"], naive_tz)
    checks = {
        "longitude missing or not a number": lon.isna(),
        "latitude missing or not a number": lat.isna(),
        "longitude outside -180..180": lon.abs() > 180,
        "latitude outside -90..90": lat.abs() > 90,
        "time missing or unreadable": fix_at.isna(),
    }
    reasons = pd.Series("", index=raw.index)
    for reason, failed in checks.items():
        reasons[failed] = reasons[failed] + "; " + reason
    bad = reasons != ""
    rejected = pd.DataFrame({"row": np.flatnonzero(bad) + 1, "reason": reasons[bad].str[2:]})
    good_lon, good_lat = lon[~bad].to_numpy(float), lat[~bad].to_numpy(float)
    if datum_of_source is Datum.GCJ02:
        good_lon, good_lat = datum.gcj02_to_wgs84(good_lon, good_lat)
    fixes = pd.DataFrame({"lon": good_lon, "lat": good_lat, "fix_at": fix_at[~bad].to_numpy()})
    if "speed" in raw:
        speed = pd.to_numeric(raw["speed"], errors="coerce")[~bad].to_numpy(float)
        fixes["speed_kmh"] = np.where(speed >= 0, speed, np.nan)
    return Track(fixes.reset_index(drop=True), rejected.reset_index(drop=True))
