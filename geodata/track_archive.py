"""The track archive: archived fixes as GeoParquet, partitioned by day (``day=YYYY-MM-DD``).

One row per fix: trip, vehicle and carrier ids, the aware UTC fix time, WGS-84 position (as
``lon``/``lat`` columns and a Point geometry), the matched edge (-1 unknown) and the load as
plain text (comma-separated classes, UN numbers, permits; the tunnel code). Days are UTC dates,
so a partition holds whole UTC days; readers must not assume a trip lies in one partition.
Reading goes through dask-geopandas so the same analysis runs locally or on a Dask cluster.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import dask.dataframe
    import dask_geopandas

__all__ = ["ARCHIVE_COLUMNS", "archive_files", "read_archive", "read_archive_file", "write_archive"]

logger = logging.getLogger(__name__)

#: Column name and dtype of an archive row (besides ``geometry``).
ARCHIVE_COLUMNS: dict[str, str] = {
    "trip_id": "string",
    "vehicle_id": "string",
    "carrier_id": "string",
    "fix_at": "datetime64[us, UTC]",
    "lon": "float64",
    "lat": "float64",
    "edge_id": "int64",
    "classes": "string",
    "un_numbers": "string",
    "tunnel_code": "string",
    "permits": "string",
}


def write_archive(fixes: pd.DataFrame, root: str | Path) -> list[Path]:
    """Append fixes to an archive folder, one new Parquet file per UTC day.

    Parameters
    ----------
    fixes
        Columns of `ARCHIVE_COLUMNS` (``edge_id``, ``permits`` and ``tunnel_code`` may be
        missing: -1 and empty); ``fix_at`` timezone-aware.
    root
        Archive folder; created when missing.

    Returns
    -------
    paths
        The files written.

    Raises
    ------
    ValueError
        A required column is missing or ``fix_at`` is naive.
    """
    table = _normalised(fixes)
    root = Path(root)
    written = []
    days = table["fix_at"].dt.strftime("%Y-%m-%d")
    for day, part in table.groupby(days, sort=True):
        folder = root / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{uuid.uuid4().hex}.parquet"
        frame = gpd.GeoDataFrame(
            part.reset_index(drop=True),
            geometry=gpd.points_from_xy(part["lon"], part["lat"]),
            crs="EPSG:4326",
        )
        frame.to_parquet(path, index=False)
        written.append(path)
    logger.info("archived %d fixes in %d files under %s", len(table), len(written), root)
    return written


def _normalised(fixes: pd.DataFrame) -> pd.DataFrame:
    """Fill optional columns, check required ones and cast to the archive dtypes."""
    table = fixes.copy()
    table["edge_id"] = table.get("edge_id", pd.Series(-1, index=table.index))
    for column in ("permits", "tunnel_code"):
        table[column] = table.get(column, pd.Series("", index=table.index))
    missing = [c for c in ARCHIVE_COLUMNS if c not in table.columns]
    if missing:
        msg = f"`fixes` lacks archive columns: {', '.join(missing)}"
        raise ValueError(msg)
    if getattr(table["fix_at"].dtype, "tz", None) is None:
        msg = "`fix_at` must be timezone-aware"
        raise ValueError(msg)
    table["fix_at"] = table["fix_at"].dt.tz_convert("UTC")
    table["edge_id"] = table["edge_id"].fillna(-1).astype(np.int64)
    return table[list(ARCHIVE_COLUMNS)].astype(ARCHIVE_COLUMNS)


def archive_files(root: str | Path) -> list[Path]:
    """The Parquet files of an archive, in day order."""
    return sorted(Path(root).glob("day=*/*.parquet"))


def read_archive_file(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read one archive file: a GeoDataFrame with geometry, a plain frame without it."""
    if columns is None or "geometry" in columns:
        return gpd.read_parquet(path, columns=columns)
    return pd.read_parquet(path, columns=columns)


def read_archive(
    root: str | Path, *, columns: list[str] | None = None
) -> dask_geopandas.GeoDataFrame | dask.dataframe.DataFrame:
    """Open an archive lazily, one partition per file.

    With the geometry column (the default) the result is a dask-geopandas frame; a column
    selection without ``geometry`` skips decoding the points and gives a dask frame.
    """
    import dask.dataframe as dd  # heavy imports: only when an archive is read
    import dask_geopandas  # noqa: F401  (registers the GeoDataFrame partition type)

    files = archive_files(root)
    if not files:
        msg = f"no archive files under {root} (expected day=YYYY-MM-DD/*.parquet)"
        raise FileNotFoundError(msg)
    meta = read_archive_file(files[0], columns).iloc[:0]
    return dd.from_map(  # type: ignore[no-untyped-call]
        read_archive_file, files, columns=columns, meta=meta, enforce_metadata=False
    )
