"""The loading-time five checks (五必查) and the extra checks that decide whether loading may go on.

Pure functions, no I/O. Each check reads one :class:`LoadingContext` and returns a
:class:`CheckResult`: pass, fail or not applicable, the fact that decided it, a zh/en reason and
the legal basis. Every reason found is kept (a check that fails twice says both). Validity is
judged at the loading time given in the context, never at "now". Any failed check refuses
loading, and the waybill then cannot depart (see :func:`transport.waybills.next_state`).
"""

from __future__ import annotations

from collections.abc import Callable

from transport import _checks_documents as documents
from transport import _checks_goods as loaded_goods
from transport._check_base import (
    CHECK_TITLES,
    CheckId,
    CheckReport,
    CheckResult,
    LoadingContext,
    Outcome,
)

__all__ = [
    "CHECKS",
    "CHECK_TITLES",
    "CheckId",
    "CheckReport",
    "CheckResult",
    "LoadingContext",
    "Outcome",
    "run_checks",
]

#: The checks in the order they run and are shown.
CHECKS: tuple[tuple[CheckId, Callable[[LoadingContext], CheckResult]], ...] = (
    (CheckId.VEHICLE_DOCUMENTS, documents.check_vehicle_documents),
    (CheckId.PERSONNEL_QUALIFICATIONS, documents.check_personnel_qualifications),
    (CheckId.TANK_INSPECTION, documents.check_tank_inspection),
    (CheckId.GOODS_MATCH_WAYBILL, loaded_goods.check_goods_match_waybill),
    (CheckId.TANK_PERMITTED_MEDIA, loaded_goods.check_tank_permitted_media),
    (CheckId.RATED_LOAD, loaded_goods.check_rated_load),
    (CheckId.CARRIER_SCOPE, documents.check_carrier_scope),
    (CheckId.DRIVER_NOT_ESCORT, documents.check_driver_not_escort),
    (CheckId.SPECIAL_DOCUMENTS, documents.check_special_documents),
)


def run_checks(ctx: LoadingContext) -> CheckReport:
    """Run every check on one loading context; loading is refused when any check fails."""
    return CheckReport(ctx.loading_at, tuple(check(ctx) for _, check in CHECKS))
