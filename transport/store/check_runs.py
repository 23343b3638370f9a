"""Run the loading checks on a stored waybill and keep every run: who, when, where, results.

A run and its results are stored together with the waybill's state change, in one savepoint:
a run that cannot be stored whole is not stored at all, and the state does not move.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from transport import five_checks, waybills
from transport._errors import TransitionError
from transport.five_checks import CheckId, CheckReport, CheckResult, Outcome
from transport.store import models
from transport.store import waybills as waybill_store
from transport.store.scope import scoped
from transport.waybills import Place, Refusal, WaybillEvent, WaybillLine, WaybillState

if TYPE_CHECKING:
    from collections.abc import Sequence
    from zoneinfo import ZoneInfo

    from sqlalchemy.orm import Session

    from transport import goods

__all__ = ["CheckRun", "list_check_runs", "record_check_run", "run_loading_check"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckRun:
    """A stored check run: the report, who ran it, when and where, and the waybill's new state."""

    id: int
    waybill_id: int
    checked_by: str
    checked_at: datetime
    place: Place
    report: CheckReport
    loaded_lines: tuple[WaybillLine, ...] | None
    state_after: WaybillState | None = None

    @property
    def passed(self) -> bool:
        """Whether loading may go on."""
        return self.report.passed


def _to_run(row: models.CheckRunRow, state_after: WaybillState | None = None) -> CheckRun:
    """Return the domain run of a stored row and its results."""
    results = tuple(
        CheckResult(
            CheckId(r.check_id),
            Outcome(r.outcome),
            r.fact,
            r.reason_en,
            r.reason_zh,
            r.legal_basis,
        )
        for r in row.results
    )
    loaded = (
        None
        if row.loaded_lines is None
        else tuple(map(WaybillLine.model_validate, row.loaded_lines))
    )
    return CheckRun(
        id=row.id,
        waybill_id=row.waybill_id,
        checked_by=row.checked_by,
        checked_at=row.checked_at,
        place=Place(name=row.place_name, lon=row.lon, lat=row.lat),
        report=CheckReport(row.loading_at, results),
        loaded_lines=loaded,
        state_after=state_after,
    )


def _run_row(
    waybill_row: models.WaybillRow,
    report: CheckReport,
    *,
    checked_by: str,
    place: Place,
    loaded_lines: Sequence[WaybillLine] | None,
) -> models.CheckRunRow:
    """Return a new run row with one result row per check."""
    loaded: list[dict[str, Any]] | None = (
        None if loaded_lines is None else [line.model_dump(mode="json") for line in loaded_lines]
    )
    row = models.CheckRunRow(
        waybill_id=waybill_row.id,
        carrier_id=waybill_row.carrier_id,
        checked_by=checked_by,
        loading_at=report.loading_at,
        place_name=place.name,
        lon=place.lon,
        lat=place.lat,
        passed=report.passed,
        loaded_lines=loaded,
    )
    row.results = [
        models.CheckResultRow(
            position=position,
            check_id=str(result.check_id),
            outcome=str(result.outcome),
            fact=result.fact,
            reason_en=result.reason_en,
            reason_zh=result.reason_zh,
            legal_basis=result.legal_basis,
        )
        for position, result in enumerate(report.results)
    ]
    return row


def record_check_run(
    session: Session,
    report: CheckReport,
    *,
    waybill_id: int,
    checked_by: str,
    place: Place,
    loaded_lines: Sequence[WaybillLine] | None,
    carrier_id: int | None = None,
    all_carriers: bool = False,
) -> CheckRun | None:
    """Store a check report as a run of a waybill and move the waybill by its outcome.

    Returns None when the waybill is unknown in this scope.

    Raises
    ------
    TransitionError
        When the waybill's state takes no loading check (draft, departed, ...).
    sqlalchemy.exc.IntegrityError
        When the report cannot be stored (e.g. an outcome outside pass/fail/n.a.); nothing is.
    """
    row = waybill_store.lock_waybill_row(
        session, waybill_id=waybill_id, carrier_id=carrier_id, all_carriers=all_carriers
    )
    if row is None:
        return None
    event = WaybillEvent.CHECK_PASSED if report.passed else WaybillEvent.CHECK_FAILED
    run_row = _run_row(row, report, checked_by=checked_by, place=place, loaded_lines=loaded_lines)
    try:
        with session.begin_nested():
            session.add(run_row)
            session.flush()
            state = waybill_store.change_state(session, row, event, actor=checked_by)
    except Exception:
        session.refresh(row)
        raise
    logger.info("waybill %s check run %s passed=%s", waybill_id, run_row.id, report.passed)
    return _to_run(run_row, state)


def run_loading_check(
    session: Session,
    *,
    waybill_id: int,
    checked_by: str,
    place: Place,
    loading_at: datetime,
    loaded_lines: Sequence[WaybillLine] | None,
    catalogue: goods.Catalogue,
    zone: ZoneInfo,
    carrier_id: int | None = None,
    all_carriers: bool = False,
    record: bool = True,
) -> CheckRun | CheckReport | None:
    """Run the checks on a stored waybill at a loading time; record the run unless ``record=False``.

    Returns the stored :class:`CheckRun`, or the bare :class:`CheckReport` when not recording,
    or None when the waybill is unknown in this scope.

    Raises
    ------
    TransitionError
        When recording and the waybill's state takes no loading check; nothing is stored.
    """
    waybill = waybill_store.get_waybill(
        session, waybill_id=waybill_id, carrier_id=carrier_id, all_carriers=all_carriers
    )
    if waybill is None:
        return None
    if record:
        refusal = waybills.next_state(waybill.state, WaybillEvent.CHECK_FAILED)
        if isinstance(refusal, Refusal):
            raise TransitionError([refusal.reason])
    parties = waybill_store.load_parties(session, waybill)
    context = five_checks.LoadingContext.build(
        waybill,
        carrier=parties.carrier,
        vehicle=parties.vehicle,
        tank=parties.tank,
        driver=parties.driver,
        escort=parties.escort,
        loading_at=loading_at,
        zone=zone,
        loaded_lines=loaded_lines,
        catalogue=catalogue,
    )
    report = five_checks.run_checks(context)
    if not record:
        return report
    return record_check_run(
        session,
        report,
        waybill_id=waybill_id,
        checked_by=checked_by,
        place=place,
        loaded_lines=loaded_lines,
        carrier_id=waybill.carrier_id,
    )


def list_check_runs(
    session: Session, *, waybill_id: int, carrier_id: int | None = None, all_carriers: bool = False
) -> list[CheckRun]:
    """Return every recorded run of a waybill in scope, oldest first."""
    statement = scoped(
        select(models.CheckRunRow)
        .where(models.CheckRunRow.waybill_id == waybill_id)
        .order_by(models.CheckRunRow.id),
        models.CheckRunRow,
        carrier_id=carrier_id,
        all_carriers=all_carriers,
    )
    return [_to_run(row) for row in session.scalars(statement)]
