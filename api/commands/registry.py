"""`hazmat registry import|export`: carriers, vehicles, tanks and people as CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from api.commands._db import console, open_session
from transport import registry, registry_csv
from transport.registry_csv import RegistryKind
from transport.store import registries

app = typer.Typer(
    help="Registries / 登记: carriers, vehicles, tanks, drivers and escorts as CSV.",
    no_args_is_help=True,
)

_RECORDS: dict[RegistryKind, type[Any]] = {
    RegistryKind.VEHICLES: registry.Vehicle,
    RegistryKind.TANKS: registry.Tank,
    RegistryKind.PEOPLE: registry.Person,
}

CarrierOption = Annotated[
    int | None,
    typer.Option("--carrier", help="Carrier id owning the records (not for carriers)."),
]


def _need_carrier(kind: RegistryKind, carrier_id: int | None) -> None:
    """Exit with a message when a carrier-owned kind has no --carrier, or carriers have one."""
    if kind is RegistryKind.CARRIERS and carrier_id is not None:
        console.print("[red]carriers are not owned by a carrier: leave out --carrier[/red]")
        raise typer.Exit(code=2)
    if kind is not RegistryKind.CARRIERS and carrier_id is None:
        console.print(
            f"[red]{kind.value} belong to a carrier: give --carrier ID / 请指定承运人[/red]"
        )
        raise typer.Exit(code=2)


@app.command("import")
def import_registry(
    kind: Annotated[RegistryKind, typer.Argument(help="carriers, vehicles, tanks or people")],
    file: Annotated[Path, typer.Argument(help="CSV file, UTF-8, with a header row.", exists=True)],
    carrier_id: CarrierOption = None,
) -> None:
    """Create or update records from CSV by natural key; all rows or none."""
    _need_carrier(kind, carrier_id)
    text = file.read_text(encoding="utf-8-sig")
    with open_session() as session:
        records = registry_csv.read_records_csv(text, kind, carrier_id=carrier_id)
        if kind is RegistryKind.CARRIERS:
            report = registries.upsert_carriers(session, records, all_carriers=True)
        else:
            assert carrier_id is not None
            report = registries.upsert_records(session, records, carrier_id=carrier_id)
    created = ", ".join(str(r.id) for r in report.created) or "-"
    updated = ", ".join(str(r.id) for r in report.updated) or "-"
    console.print(f"{kind.value}: created / 新增 ids {created}; updated / 更新 ids {updated}")


@app.command("export")
def export_registry(
    kind: Annotated[RegistryKind, typer.Argument(help="carriers, vehicles, tanks or people")],
    carrier_id: CarrierOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """Write the records as CSV (with ids, to reference them in a waybill)."""
    _need_carrier(kind, carrier_id)
    with open_session() as session:
        if kind is RegistryKind.CARRIERS:
            records: list[Any] = registries.list_carriers(session, all_carriers=True)
        else:
            records = registries.list_records(session, _RECORDS[kind], carrier_id=carrier_id)
    text = registry_csv.write_records_csv(records, kind)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"{len(records)} {kind.value} → {out}")
