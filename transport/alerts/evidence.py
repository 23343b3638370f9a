"""The evidence an alert carries: fixes, matched edges, the rule, schedule and legal basis.

Evidence is a value that grows with each violating fix; it keeps the first and the latest fixes
(capped) so that a long alert stays small, and counts every fix it saw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transport.matched import MatchedFix
    from transport.rules.base import RuleEvent, Text

__all__ = [
    "Evidence",
    "FixEvidence",
    "add_fix",
    "evidence_to_dict",
    "fix_evidence",
    "start_evidence",
]

MAX_FIXES = 40  # first half and latest half are kept
MAX_EDGES = 200


@dataclass(frozen=True)
class FixEvidence:
    """One fix as evidence: time, position, speed and matched edge."""

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


def fix_evidence(fix: MatchedFix) -> FixEvidence:
    """Reduce a matched fix to its evidence (once per fix: its alerts share it)."""
    return FixEvidence(fix.fix_at, fix.lon, fix.lat, fix.speed_kmh, fix.edge_id)


def start_evidence(event: RuleEvent, fix: FixEvidence, *, rule_title: Text) -> Evidence:
    """Return the evidence of a new alert from its first event and fix."""
    return Evidence(
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


def add_fix(evidence: Evidence, event: RuleEvent, fix: FixEvidence) -> Evidence:
    """Return the evidence with one more violating fix (first and latest fixes kept)."""
    fixes = (*evidence.fixes, fix)
    if len(fixes) > MAX_FIXES:
        half = MAX_FIXES // 2
        fixes = fixes[:half] + fixes[-half:]
    edges, new_edges = evidence.edge_ids, event.edge_ids
    # A scan of the short tuple is cheaper than `set.issubset`, which builds a set of it.
    if len(edges) < MAX_EDGES and not all(map(edges.__contains__, new_edges)):
        edges = tuple(dict.fromkeys((*edges, *new_edges)))[:MAX_EDGES]
    peak, value = evidence.peak_value, event.value
    if value is not None and (peak is None or value > peak):
        peak = value  # as max(peak, value): the first of equal or unordered (NaN) values stays
    # A field copy: the cost of the dataclass __init__ adds up over every update of every alert.
    new = object.__new__(Evidence)
    new.__dict__.update(
        evidence.__dict__,
        fact=event.fact,
        fixes=fixes,
        edge_ids=edges,
        fix_count=evidence.fix_count + 1,
        peak_value=peak,
        limit=event.limit if event.limit is not None else evidence.limit,
    )
    return new


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
            {
                "fix_at": f.fix_at.isoformat(),
                "lon": f.lon,
                "lat": f.lat,
                "speed_kmh": f.speed_kmh,
                "edge_id": f.edge_id,
            }
            for f in evidence.fixes
        ],
        "edge_ids": list(evidence.edge_ids),
        "fix_count": evidence.fix_count,
        "peak_value": evidence.peak_value,
        "limit": evidence.limit,
    }
