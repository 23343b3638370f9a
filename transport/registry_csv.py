"""Read and write registry CSV files: carriers, vehicles, tanks and people, one row per record.

Columns carry the field names of :mod:`transport.registry`; lists (classes, UN numbers) are
space-separated in one cell. A file is read whole or refused whole, naming every faulty cell
by spreadsheet row (header = row 1) and column.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from transport import registry
from transport._errors import RegistryError
from transport.reasons import Reason

__all__ = ["RegistryKind", "columns", "read_records_csv", "write_records_csv"]

MAX_ROWS = 10_000


class RegistryKind(StrEnum):
    """Which registry a CSV file holds."""

    CARRIERS = "carriers"
    VEHICLES = "vehicles"
    TANKS = "tanks"
    PEOPLE = "people"


RECORD_CLASSES: dict[RegistryKind, type[BaseModel]] = {
    RegistryKind.CARRIERS: registry.Carrier,
    RegistryKind.VEHICLES: registry.Vehicle,
    RegistryKind.TANKS: registry.Tank,
    RegistryKind.PEOPLE: registry.Person,
}


def columns(kind: RegistryKind) -> tuple[str, ...]:
    """Return the CSV columns of one kind: ``id`` first, then the fields (no ``carrier_id``)."""
    fields = RECORD_CLASSES[RegistryKind(kind)].model_fields
    return tuple(name for name in fields if name != "carrier_id")


def _cell(value: Any) -> str:
    """Render one value for a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return " ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value if isinstance(value, StrEnum) else value)


def write_records_csv(records: list[Any], kind: RegistryKind) -> str:
    """Return records as CSV text with a header row."""
    names = columns(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for record in records:
        writer.writerow([_cell(getattr(record, name)) for name in names])
    return out.getvalue()


def _row_reasons(row_number: int, err: ValidationError) -> list[Reason]:
    """Return one reason per faulty cell of a row."""
    reasons = []
    for detail in err.errors():
        column = ".".join(str(part) for part in detail["loc"]) or "row"
        cause = detail.get("ctx", {}).get("error")
        text = str(cause) if cause is not None else detail["msg"]
        reasons.append(
            Reason(
                f"row {row_number}.{column}",
                detail["type"],
                f"row {row_number}, column {column}: {text}",
                f"第 {row_number} 行 {column} 列：{text}",
            )
        )
    return reasons


def _parse_row(
    kind: RegistryKind, row_number: int, cells: dict[str | None, Any], carrier_id: int | None
) -> tuple[Any, list[Reason]]:
    """Return the record of one row, or None and the reasons it is refused."""
    if None in cells:
        reason = Reason(
            f"row {row_number}",
            "surplus_cells",
            f"row {row_number} has more cells than the header",
            f"第 {row_number} 行单元格多于表头",
        )
        return None, [reason]
    data: dict[str, Any] = {
        str(key): (value.strip() if isinstance(value, str) else value)
        for key, value in cells.items()
        if value not in ("", None)
    }
    data.pop("id", None)
    if kind is not RegistryKind.CARRIERS:
        data["carrier_id"] = carrier_id
    try:
        return RECORD_CLASSES[kind].model_validate(data), []
    except ValidationError as err:
        return None, _row_reasons(row_number, err)


def read_records_csv(text: str, kind: RegistryKind, *, carrier_id: int | None) -> list[Any]:
    """Return the records of a CSV text, all of them or none.

    Parameters
    ----------
    text
        CSV with a header row of :func:`columns` names (``id`` optional, ignored).
    kind
        Which registry the file holds.
    carrier_id
        Owner of the vehicles, tanks or people; None for carriers.

    Raises
    ------
    RegistryError
        Naming every faulty cell, missing column and surplus cell.
    """
    kind = RegistryKind(kind)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = set(reader.fieldnames or ())
    required = {
        name
        for name, info in RECORD_CLASSES[kind].model_fields.items()
        if info.is_required() and name != "carrier_id"
    }
    missing = sorted(required - header)
    if missing:
        reason = Reason(
            "header",
            "missing_columns",
            f"missing columns: {', '.join(missing)}",
            f"缺少列：{'、'.join(missing)}",
        )
        raise RegistryError([reason])
    records, reasons = [], []
    for index, cells in enumerate(reader):
        if index >= MAX_ROWS:
            reasons.append(
                Reason("rows", "too_many", f"more than {MAX_ROWS} rows", f"超过 {MAX_ROWS} 行")
            )
            break
        record, problems = _parse_row(kind, index + 2, cells, carrier_id)
        records.append(record)
        reasons += problems
    if reasons:
        raise RegistryError(reasons)
    return records
