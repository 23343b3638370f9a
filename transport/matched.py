"""The matched fix: what the matcher hands the rules, as plain per-fix values.

The map matcher (`geodata.matching`) produces arrays; the pipeline's match step turns each row
into a `MatchedFix`, so rules never depend on the matcher's internals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["MatchedFix"]


@dataclass(frozen=True)
class MatchedFix:
    """One fix after map matching.

    Attributes
    ----------
    vehicle_id
        The vehicle.
    fix_at
        Aware UTC time of the fix.
    x, y
        Fix position in the network's metric CRS.
    lon, lat
        Fix position, WGS-84.
    speed_kmh
        Speed reported by the terminal (km/h, as at the edge of the system).
    edge_id
        Matched edge, -1 when unmatched.
    offset_m
        Distance along the edge from its start to the snapped point (NaN when unmatched).
    path_edge_ids
        Edges travelled since the previous matched fix, ending with `edge_id`.
    alarm_bits
        JT/T 808 alarm DWORD as reported.
    is_backfill
        Stored by the terminal while offline: processed, but raises no live alert.
    heading_deg
        Heading reported by the terminal (degrees clockwise from north), kept for the track.
    """

    vehicle_id: str
    fix_at: dt.datetime
    x: float
    y: float
    lon: float
    lat: float
    speed_kmh: float
    edge_id: int = -1
    offset_m: float = float("nan")
    path_edge_ids: tuple[int, ...] = ()
    alarm_bits: int = 0
    is_backfill: bool = False
    heading_deg: float = 0.0

    def __post_init__(self) -> None:
        if self.fix_at.tzinfo is None or self.fix_at.utcoffset() is None:
            msg = "`fix_at` must be timezone-aware"
            raise ValueError(msg)

    @property
    def is_matched(self) -> bool:
        """Whether the fix lies on an edge."""
        return self.edge_id >= 0

    @property
    def driven_edge_ids(self) -> tuple[int, ...]:
        """The path since the previous fix with the fix's own edge, without repeats."""
        edges = self.path_edge_ids
        if self.edge_id >= 0 and (not edges or edges[-1] != self.edge_id):
            edges = (*edges, self.edge_id)
        return edges
