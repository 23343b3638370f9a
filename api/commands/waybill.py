"""`hazmat waybill create|show|event|check|demo`: e-waybills and the loading checks (五必查)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from api.commands._db import console, open_session
from api.schemas.waybills import WaybillCreate
from transport import goods, registry, waybills
from transport._errors import TransitionError
from transport.five_checks import CheckReport, Outcome
from transport.settings import get_settings
from transport.store import check_runs, registries
from transport.store import waybills as waybill_store
from transport.waybills import Place, WaybillEvent, WaybillLine

app = typer.Typer(
    help="E-waybills / 电子运单: create, move through the lifecycle, run the loading checks.",
    no_args_is_help=True,
)

_OUTCOME_STYLE = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.NOT_APPLICABLE: "dim"}
_OUTCOME_TEXT = {
    Outcome.PASS: "pass / 通过",
    Outcome.FAIL: "FAIL / 不通过",
    Outcome.NOT_APPLICABLE: "n/a / 不适用",
}
_LINES = TypeAdapter(list[WaybillLine])


def _fail(message: str) -> typer.Exit:
    """Print an error and return the exit to raise."""
    console.print(f"[red]error / 错误:[/red] {message}", markup=True)
    return typer.Exit(code=2)


def _read_json(path: Path) -> Any:
    """Read a JSON file or exit with the reason."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        msg = f"{path}: {err}"
        raise _fail(msg) from err


def _validation_exit(err: ValidationError) -> typer.Exit:
    """Print each bad field of a validation error."""
    for detail in err.errors():
        field = ".".join(str(part) for part in detail["loc"])
        console.print(f"  - {field}: {detail['msg']}", markup=False)
    return _fail("invalid fields / 字段无效")


@app.command("create")
def create_waybill(
    file: Annotated[
        Path, typer.Argument(help="JSON: the API's WaybillCreate fields plus carrier_id.")
    ],
    carrier_id: Annotated[
        int | None, typer.Option("--carrier", help="Overrides carrier_id.")
    ] = None,
) -> None:
    """Create a waybill in state draft from a JSON file; print its id and number."""
    data = _read_json(file)
    cid = carrier_id if carrier_id is not None else data.pop("carrier_id", None)
    data.pop("carrier_id", None)
    if cid is None:
        msg = "give carrier_id in the file or --carrier / 请指定承运人"
        raise _fail(msg)
    try:
        body = WaybillCreate.model_validate(data)
    except ValidationError as err:
        raise _validation_exit(err) from err
    with open_session() as session:
        created = waybill_store.create_waybill(
            session, body.to_waybill(cid), carrier_id=cid, catalogue=goods.load_builtin_catalogue()
        )
    console.print(f"waybill / 运单 id {created.id} number {created.number} state {created.state}")


@app.command("show")
def show_waybill(waybill_id: Annotated[int, typer.Argument(help="Waybill id.")]) -> None:
    """Print a waybill as JSON."""
    with open_session() as session:
        found = waybill_store.get_waybill(session, waybill_id=waybill_id, all_carriers=True)
    if found is None:
        msg = f"waybill {waybill_id} not found / 运单不存在"
        raise _fail(msg)
    typer.echo(found.model_dump_json(indent=2))


@app.command("event")
def apply_event(
    waybill_id: Annotated[int, typer.Argument(help="Waybill id.")],
    event: Annotated[str, typer.Argument(help="dispatch, depart, arrive, archive or cancel")],
    actor: Annotated[str, typer.Option("--by", help="Who does it.")] = "cli",
) -> None:
    """Move a waybill through its lifecycle; refusals are printed with the reason."""
    allowed = ("dispatch", "depart", "arrive", "archive", "cancel")
    if event not in allowed:
        msg = f"event must be one of {', '.join(allowed)}"
        raise _fail(msg)
    with open_session() as session:
        moved = waybill_store.apply_event(
            session,
            waybill_id=waybill_id,
            event=WaybillEvent(event),
            actor=actor,
            all_carriers=True,
        )
    if moved is None:
        msg = f"waybill {waybill_id} not found / 运单不存在"
        raise _fail(msg)
    console.print(f"waybill / 运单 {moved.number}: {moved.state}")


def report_table(report: CheckReport, title: str) -> Table:
    """Tabulate a check report: check, outcome, deciding fact, reasons zh/en."""
    table = Table(title=title, show_lines=True)
    for column in ("check / 查验项", "result / 结果", "fact / 依据", "reason / 原因"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        style = _OUTCOME_STYLE[result.outcome]
        table.add_row(
            f"{result.title_zh}\n{result.title_en}",
            f"[{style}]{_OUTCOME_TEXT[result.outcome]}[/{style}]",
            result.fact,
            f"{result.reason_zh}\n{result.reason_en}",
        )
    return table


def _loaded(
    loaded_file: Path | None, as_stated: bool, waybill: waybills.Waybill
) -> list[WaybillLine] | None:
    """Return the loaded goods: from a JSON file, as stated on the waybill, or not recorded."""
    if loaded_file is not None:
        try:
            return _LINES.validate_python(_read_json(loaded_file))
        except ValidationError as err:
            raise _validation_exit(err) from err
    return list(waybill.lines) if as_stated else None


@app.command("check")
def check_waybill(
    waybill_id: Annotated[int, typer.Argument(help="Waybill id.")],
    checked_by: Annotated[str, typer.Option("--by", help="Who checks (the loader).")] = "cli",
    place: Annotated[str | None, typer.Option(help="Loading place; default the waybill's.")] = None,
    at: Annotated[
        datetime | None, typer.Option("--at", help="Loading time, ISO with offset; default now.")
    ] = None,
    loaded_file: Annotated[
        Path | None, typer.Option("--loaded", help="JSON list of goods lines actually loaded.")
    ] = None,
    as_stated: Annotated[
        bool, typer.Option("--as-stated", help="Loaded goods are as the waybill states.")
    ] = False,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Keep the run and move the waybill.")
    ] = True,
) -> None:
    """Run the five and the extra checks on a stored waybill; exit 1 if loading is refused."""
    loading_at = datetime.now(UTC) if at is None else at
    if loading_at.tzinfo is None:
        msg = "--at needs an offset, e.g. 2025-06-10T08:00:00+08:00"
        raise _fail(msg)
    with open_session() as session:
        waybill = waybill_store.get_waybill(session, waybill_id=waybill_id, all_carriers=True)
        if waybill is None:
            msg = f"waybill {waybill_id} not found / 运单不存在"
            raise _fail(msg)
        outcome = check_runs.run_loading_check(
            session,
            waybill_id=waybill_id,
            checked_by=checked_by,
            place=Place(name=place) if place else waybill.loading_place,
            loading_at=loading_at,
            loaded_lines=_loaded(loaded_file, as_stated, waybill),
            catalogue=goods.load_builtin_catalogue(),
            zone=get_settings().zone,
            carrier_id=waybill.carrier_id,
            record=record,
        )
    report = outcome.report if isinstance(outcome, check_runs.CheckRun) else outcome
    assert isinstance(report, CheckReport)
    console.print(report_table(report, f"五必查 / loading checks: {waybill.number}"))
    verdict = (
        "[green]loading may proceed / 准予装货[/green]"
        if report.passed
        else "[bold red]loading refused / 不予装货[/bold red]"
    )
    console.print(verdict)
    if isinstance(outcome, check_runs.CheckRun):
        console.print(
            f"recorded as run / 已记录 {outcome.id}; waybill state / 运单状态 {outcome.state_after}"
        )
    if not report.passed:
        raise typer.Exit(code=1)


def _demo_fleet(session: Any, tag: str) -> dict[str, int]:
    """Register a demo carrier with one tanker, tank, driver and escort; return the ids."""
    until = date(2030, 12, 31)
    carrier = registries.add_carrier(
        session,
        registry.Carrier(
            name=f"演示危运公司 {tag}",
            permit_number=f"DEMO-{tag}",
            permitted_classes=("2", "3", "8"),
            permit_valid_until=until,
        ),
    )
    cid = carrier.id
    assert cid is not None
    vehicle = registries.add_record(
        session,
        registry.Vehicle(
            carrier_id=cid,
            plate=f"粤B{int(tag, 16) % 100000:05d}",
            licence_number=f"XSZ-{tag}",
            licence_valid_until=until,
            operating_certificate_number=f"YYZ-{tag}",
            operating_certificate_valid_until=until,
            rated_load_kg=30_000,
            is_tank=True,
        ),
        carrier_id=cid,
    )
    tank = registries.add_record(
        session,
        registry.Tank(
            carrier_id=cid,
            number=f"TK-{tag}",
            volume_m3=40,
            inspection_valid_until=until,
            permitted_un_numbers=("1203", "1202"),
            vehicle_id=vehicle.id,
        ),
        carrier_id=cid,
    )
    people = [
        registries.add_record(
            session,
            registry.Person(
                carrier_id=cid,
                name=name,
                role=role,
                certificate_number=f"{role}-{tag}",
                permitted_classes=("3",),
                certificate_valid_until=until,
                phone="13800138000",
            ),
            carrier_id=cid,
        )
        for name, role in (
            ("张伟", registry.PersonRole.DRIVER),
            ("李娜", registry.PersonRole.ESCORT),
        )
    ]
    ids = {
        "carrier_id": cid,
        "vehicle_id": vehicle.id,
        "tank_id": tank.id,
        "driver_id": people[0].id,
        "escort_id": people[1].id,
    }
    return {name: value for name, value in ids.items() if value is not None}


def _demo_waybill(
    session: Any, refs: dict[str, int], un_number: str, tonnes: float
) -> waybills.Waybill:
    """Create and dispatch one demo waybill."""
    beijing = timezone(timedelta(hours=8))
    body = WaybillCreate.model_validate(
        {
            "consignor": {"name": "中石化深圳石油分公司"},
            "consignee": {"name": "南山加油站"},
            "loader": {"name": "大铲湾油库"},
            "vehicle_id": refs["vehicle_id"],
            "tank_id": refs["tank_id"],
            "driver_id": refs["driver_id"],
            "escort_id": refs["escort_id"],
            "lines": [{"un_number": un_number, "quantity": tonnes, "unit": "t"}],
            "loading_place": {"name": "大铲湾油库", "lon": 113.87, "lat": 22.53},
            "unloading_place": {"name": "南山加油站", "lon": 114.05, "lat": 22.55},
            "planned_departure_at": datetime.now(beijing) + timedelta(hours=1),
            "planned_route": "LINESTRING (113.87 22.53, 113.98 22.54, 114.05 22.55)",
            "emergency_contact": {"name": "王强", "phone": "13900139000"},
        }
    )
    cid = refs["carrier_id"]
    created = waybill_store.create_waybill(
        session, body.to_waybill(cid), carrier_id=cid, catalogue=goods.load_builtin_catalogue()
    )
    assert created.id is not None
    waybill_store.apply_event(
        session, waybill_id=created.id, event=WaybillEvent.DISPATCH, actor="demo", carrier_id=cid
    )
    return created


def _demo_check(session: Any, waybill: waybills.Waybill, carrier_id: int) -> CheckReport:
    """Run and record the loading check of a demo waybill, goods loaded as stated."""
    assert waybill.id is not None
    run = check_runs.run_loading_check(
        session,
        waybill_id=waybill.id,
        checked_by="装货员 陈刚",
        place=waybill.loading_place,
        loading_at=datetime.now(UTC),
        loaded_lines=waybill.lines,
        catalogue=goods.load_builtin_catalogue(),
        zone=get_settings().zone,
        carrier_id=carrier_id,
    )
    assert isinstance(run, check_runs.CheckRun)
    return run.report


@app.command("demo")
def demo_waybills() -> None:
    """Register a fleet, create two waybills and check them: one loads, one is refused, and why."""
    tag = secrets.token_hex(3).upper()
    with open_session() as session:
        refs = _demo_fleet(session, tag)
        cid = refs["carrier_id"]
        console.print(
            f"fleet / 车队: carrier {cid}, vehicle {refs['vehicle_id']}, tank {refs['tank_id']}"
        )
        good = _demo_waybill(session, refs, "1203", 20)
        assert good.id is not None
        console.print(report_table(_demo_check(session, good, cid), f"{good.number}: 汽油 20 t"))
        for event in (WaybillEvent.DEPART, WaybillEvent.ARRIVE):
            moved = waybill_store.apply_event(
                session, waybill_id=good.id, event=event, actor="张伟", carrier_id=cid
            )
            console.print(f"{good.number}: {event.value} → {moved.state if moved else '?'}")
        bad = _demo_waybill(session, refs, "1005", 35)
        bad_id = bad.id
        assert bad_id is not None
        report = _demo_check(session, bad, cid)
        console.print(report_table(report, f"{bad.number}: 液氨 35 t"))
        console.print(
            "[bold red]loading refused / 不予装货[/bold red]: "
            + "; ".join(r.check_id.value for r in report.failed)
        )
    with open_session() as session:
        try:
            waybill_store.apply_event(
                session, waybill_id=bad_id, event=WaybillEvent.DEPART, actor="张伟", carrier_id=cid
            )
        except TransitionError as err:
            console.print(
                f"depart / 发车 {bad.number}: 409 {err.reasons[0].describe()}", markup=False
            )
