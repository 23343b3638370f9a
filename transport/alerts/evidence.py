"""The evidence an alert carries: fixes, matched edges, the rule, schedule and legal basis.

Evidence is a value that grows with each violating fix; it keeps the first and the latest fixes
(capped) so that a long alert stays small, and counts every fix it saw.
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from transport.frozen import build, evolve
from transport.rules.base import EPOCH, Text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from transport.matched import MatchedFix
    from transport.rules.base import RuleEvent

__all__ = [
    "Evidence",
    "FixEvidence",
    "Growth",
    "evidence_to_dict",
    "fix_evidence",
    "start_evidence",
]

MAX_FIXES = 40  # first half and latest half are kept
#: a fix as checkpoints pickled by earlier workers packed it: time (µs since the epoch), lon,
#: lat, speed, edge
_FIX_ROW = struct.Struct("<qdddq")
ISO_TIMES_CACHED = 16_384

#: ISO 8601 text of a fix time: an open alert's evidence is written again at each update with
#: mostly the same fixes, and formatting is most of the cost of `evidence_to_dict`.
_iso_time = functools.lru_cache(maxsize=ISO_TIMES_CACHED)(dt.datetime.isoformat)
MAX_EDGES = 200


class FixEvidence(NamedTuple):
    """One fix as evidence: time, position, speed and matched edge (a tuple: cheap to make)."""

    fix_at: dt.datetime
    lon: float
    lat: float
    speed_kmh: float
    edge_id: int


@dataclass(frozen=True)
class Evidence:
    """Why an alert exists."""

    rule_id: str
    rule_title: Text
    legal_basis: Text
    fact: Text  # the latest
    restriction_id: str | None
    schedule: str | None
    fixes: tuple[FixEvidence, ...]
    edge_ids: tuple[int, ...]
    fix_count: int
    peak_value: float | None
    limit: float | None


def _unpickled_evidence(state: dict[str, Any]) -> Evidence:
    """The evidence in a checkpoint pickled by an earlier worker, its fixes packed as rows or
    (before those) as columns: such a pickle names this function to rebuild it."""
    state = dict(state)
    layout, packed = state.pop("fix_layout", "columns"), state["fixes"]
    if isinstance(packed, bytes):
        records = _FIX_ROW.iter_unpack(packed) if layout == "rows" else _column_records(packed)
        state["fixes"] = tuple(
            FixEvidence(EPOCH + dt.timedelta(microseconds=us), lon, lat, speed, edge)
            for us, lon, lat, speed, edge in records
        )
    return build(Evidence, **state)


def _column_records(packed: bytes) -> Iterator[tuple[Any, ...]]:
    """The fixes of an earlier checkpoint, packed as columns, one record per fix."""
    n = len(packed) // _FIX_ROW.size  # the same numbers per fix as a row
    columns = struct.unpack(_fix_columns(n), packed)
    return zip(*(columns[k * n : (k + 1) * n] for k in range(5)), strict=True)


def _fix_columns(n: int) -> str:
    """The struct format of `n` fixes packed as columns: times (µs since the epoch), lon, lat,
    speed, edge."""
    return f"<{n}q{n}d{n}d{n}d{n}q"


def fix_evidence(fix: MatchedFix) -> FixEvidence:
    """Reduce a matched fix to its evidence (once per fix: its alerts share it)."""
    return FixEvidence(fix.fix_at, fix.lon, fix.lat, fix.speed_kmh, fix.edge_id)


def start_evidence(event: RuleEvent, fix: FixEvidence, *, rule_title: Text) -> Evidence:
    """Return the evidence of a new alert from its first event and fix."""
    return build(
        Evidence,
        rule_id=event.rule_id,
        rule_title=rule_title,
        legal_basis=event.legal_basis,
        fact=event.fact,
        restriction_id=event.restriction_id,
        schedule=event.schedule,
        fixes=(fix,),
        edge_ids=tuple(dict.fromkeys(event.edge_ids))[:MAX_EDGES],
        fix_count=1,
        peak_value=event.value,
        limit=event.limit,
    )


class Growth:
    """An open alert's evidence while a batch of fixes adds to it, folded once at the end.

    Adding is a few appends; `evidence` gives what adding the fixes one by one to `base`
    would give (the first and latest fixes kept, edges in first-seen order, the peak value).
    """

    __slots__ = ("base", "edges", "fact", "fixes", "limit", "peak")

    def __init__(self, base: Evidence) -> None:
        self.base = base
        self.fixes: list[MatchedFix] = []
        self.edges = dict.fromkeys(base.edge_ids)
        self.fact, self.peak, self.limit = base.fact, base.peak_value, base.limit

    def add(self, event: RuleEvent, fix: MatchedFix) -> None:
        """One more violating fix and the event found at it."""
        self.fixes.append(fix)
        edges = self.edges
        if len(edges) < MAX_EDGES:
            for edge_id in event.edge_ids:
                edges[edge_id] = None
        value = event.value
        if value is not None and (self.peak is None or value > self.peak):
            self.peak = value  # as max(peak, value): the first of equal or unordered (NaN) stays
        self.fact = event.fact
        if event.limit is not None:
            self.limit = event.limit

    def evidence(self) -> Evidence:
        """The evidence with every added fix."""
        base, added = self.base, self.fixes
        kept = added
        if len(base.fixes) + len(added) > MAX_FIXES:
            half = MAX_FIXES // 2
            head = max(0, half - len(base.fixes))
            kept = added[:head] + added[max(head, len(added) - half) :]
        fixes = (*base.fixes, *map(fix_evidence, kept))
        if len(fixes) > MAX_FIXES:
            fixes = fixes[: MAX_FIXES // 2] + fixes[-(MAX_FIXES // 2) :]
        return evolve(
            base,
            fact=self.fact,
            fixes=fixes,
            edge_ids=tuple(self.edges)[:MAX_EDGES],
            fix_count=base.fix_count + len(added),
            peak_value=self.peak,
            limit=self.limit,
        )


def evidence_to_dict(evidence: Evidence) -> dict[str, Any]:
    """Return the evidence as JSON-ready values (ISO times, zh/en texts)."""
    return {
        "rule_id": evidence.rule_id,
        "rule": {"zh": evidence.rule_title.zh, "en": evidence.rule_title.en},
        "legal_basis": {"zh": evidence.legal_basis.zh, "en": evidence.legal_basis.en},
        "fact": {"zh": evidence.fact.zh, "en": evidence.fact.en},
        "restriction_id": evidence.restriction_id,
        "schedule": evidence.schedule,
        "fixes": [
            {"fix_at": _iso_time(at), "lon": lon, "lat": lat, "speed_kmh": speed, "edge_id": edge}
            for at, lon, lat, speed, edge in evidence.fixes
        ],
        "edge_ids": list(evidence.edge_ids),
        "fix_count": evidence.fix_count,
        "peak_value": evidence.peak_value,
        "limit": evidence.limit,
    }
