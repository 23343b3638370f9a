"""Keep the dangerous-goods catalogue: entries by UN number, a built-in list, a CSV importer."""

from __future__ import annotations

import csv
import functools
import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from transport import _goods_columns
from transport._errors import CatalogueError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "HAZARD_CLASSES",
    "REQUIRED_COLUMNS",
    "Catalogue",
    "FieldError",
    "GoodsEntry",
    "ImportReport",
    "PackingGroup",
    "RejectedRow",
    "TunnelCode",
    "import_catalogue_csv",
    "load_builtin_catalogue",
    "normalise_un_number",
]

logger = logging.getLogger(__name__)

#: Classes and divisions of GB 6944 (the UN Model Regulations' list).
HAZARD_CLASSES: tuple[str, ...] = (
    "1.1", "1.2", "1.3", "1.4", "1.5", "1.6",
    "2.1", "2.2", "2.3",
    "3",
    "4.1", "4.2", "4.3",
    "5.1", "5.2",
    "6.1", "6.2",
    "7", "8", "9",
)  # fmt: skip

#: A subsidiary hazard may also be plain "1" (ADR labels "5.2 +1": explosive, no division).
SUBSIDIARY_HAZARDS: frozenset[str] = frozenset(HAZARD_CLASSES) | {"1"}

#: CSV columns every catalogue file must have (ADR Table A names, see SOURCE.md).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "un_number",
    "proper_shipping_name",
    "class",
    "packing_group",
    "tunnel_restriction_code",
)

_UN_NUMBER = re.compile(r"(?:UN)?\s*(\d{4})", re.IGNORECASE)
_TRUE = frozenset({"1", "true", "yes", "y", "是"})
_FALSE = frozenset({"", "0", "false", "no", "n", "否"})
_BUILTIN_FILE = "goods_builtin.csv"


class PackingGroup(StrEnum):
    """Packing group: I high danger, II medium, III low."""

    I = "I"  # noqa: E741 - the regulation's own name
    II = "II"
    III = "III"


class TunnelCode(StrEnum):
    """ADR tunnel restriction code of a load (Table A column 15), "(-)" for none."""

    B = "B"
    C = "C"
    D = "D"
    E = "E"
    B1000C = "B1000C"
    C5000D = "C5000D"
    B_D = "B/D"
    C_D = "C/D"
    B_E = "B/E"
    C_E = "C/E"
    D_E = "D/E"
    NONE = "(-)"


def normalise_un_number(value: object) -> str:
    """Return a UN number as four digits; accept "1203", "UN1203" and "UN 1203".

    Raises
    ------
    CatalogueError
        When the value is not four digits, with or without the "UN" prefix.
    """
    match = _UN_NUMBER.fullmatch(str(value).strip())
    if match is None:
        msg = f"UN number must be four digits, got {value!r}"
        raise CatalogueError(msg)
    return match.group(1)


def _choices(values: Iterable[str]) -> str:
    """Join allowed values for an error message."""
    return ", ".join(values)


class GoodsEntry(BaseModel):
    """One line of a dangerous-goods list: a UN number with its name, class and codes.

    ``name_zh`` is None when the source list has no Chinese name (ADR Table A). The flags
    ``is_highly_toxic`` (剧毒) and ``is_explosive_precursor`` (易制爆) come from Chinese lists and
    are False for entries imported from ADR alone.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    un_number: str
    name_en: str
    name_zh: str | None = None
    hazard_class: str
    subsidiary_hazards: tuple[str, ...] = ()
    packing_group: PackingGroup | None = None
    tunnel_code: TunnelCode
    is_highly_toxic: bool = False
    is_explosive_precursor: bool = False
    note: str = ""

    @property
    def is_explosive(self) -> bool:
        """Whether the entry is in class 1 (explosives)."""
        return self.hazard_class.startswith("1.")

    @property
    def hazard_classes(self) -> tuple[str, ...]:
        """Primary class or division followed by the subsidiary hazards."""
        return (self.hazard_class, *self.subsidiary_hazards)

    @field_validator("un_number", mode="before")
    @classmethod
    def _check_un_number(cls, value: object) -> str:
        try:
            return normalise_un_number(value)
        except CatalogueError as err:
            raise ValueError(str(err)) from err

    @field_validator("name_en", mode="before")
    @classmethod
    def _check_name_en(cls, value: object) -> str:
        text = str(value or "").strip()
        if not text:
            msg = "proper shipping name is empty"
            raise ValueError(msg)
        return text

    @field_validator("name_zh", mode="before")
    @classmethod
    def _blank_name_zh_is_none(cls, value: object) -> object:
        return None if value is None or not str(value).strip() else str(value).strip()

    @field_validator("hazard_class", mode="before")
    @classmethod
    def _check_hazard_class(cls, value: object) -> str:
        text = str(value or "").strip()
        if text in {"1", "2"}:
            msg = (
                f"class {text} needs a division (e.g. {text}.1); the classification code gives none"
            )
            raise ValueError(msg)
        if text not in HAZARD_CLASSES:
            msg = f"class {text!r} is not a GB 6944 class or division ({_choices(HAZARD_CLASSES)})"
            raise ValueError(msg)
        return text

    @field_validator("subsidiary_hazards", mode="before")
    @classmethod
    def _check_subsidiary_hazards(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            tokens = _goods_columns.split_hazards(value)
        elif isinstance(value, list | tuple):
            tokens = tuple(str(token).strip() for token in value)
        else:
            msg = f"subsidiary hazards must be text or a sequence, got {type(value).__name__}"
            raise TypeError(msg)
        unknown = [token for token in tokens if token not in SUBSIDIARY_HAZARDS]
        if unknown:
            msg = f"unknown subsidiary hazards {unknown}; allowed: 1, {_choices(HAZARD_CLASSES)}"
            raise ValueError(msg)
        return tuple(tokens)

    @field_validator("packing_group", mode="before")
    @classmethod
    def _check_packing_group(cls, value: object) -> PackingGroup | None:
        text = "" if value is None else str(value).strip().upper()
        if not text:
            return None
        if text not in PackingGroup.__members__:
            msg = f"packing group must be I, II, III or empty, got {value!r}"
            raise ValueError(msg)
        return PackingGroup(text)

    @field_validator("tunnel_code", mode="before")
    @classmethod
    def _check_tunnel_code(cls, value: object) -> TunnelCode:
        text = "" if value is None else str(value).strip()
        if not text:
            msg = "tunnel restriction code is missing"
            raise ValueError(msg)
        text = "(-)" if text in {"-", "(-)"} else text.strip("()")
        allowed = [code.value for code in TunnelCode]
        if text not in allowed:
            msg = f"tunnel restriction code {value!r} is not one of {_choices(allowed)}"
            raise ValueError(msg)
        return TunnelCode(text)

    @field_validator("is_highly_toxic", "is_explosive_precursor", mode="before")
    @classmethod
    def _parse_flag(cls, value: object) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value if value is not None else "").strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        msg = f"flag must be 1/0, true/false, yes/no or 是/否, got {value!r}"
        raise ValueError(msg)


def _safety_key(entry: GoodsEntry) -> tuple[object, ...]:
    """Fields that decide how a load is treated; entries equal here are interchangeable."""
    return (
        entry.hazard_classes,
        entry.packing_group,
        entry.tunnel_code,
        entry.is_highly_toxic,
        entry.is_explosive_precursor,
    )


def _describe(entries: Iterable[GoodsEntry]) -> str:
    """List entries for an error message: packing group, tunnel code and name."""
    return "; ".join(
        f"PG {e.packing_group or '-'} {e.tunnel_code.value} {e.name_zh or e.name_en}"
        for e in entries
    )


class Catalogue:
    """Dangerous-goods entries by UN number; one UN number may have several entries.

    Parameters
    ----------
    entries
        Entries in source order; order is kept within each UN number.
    """

    def __init__(self, entries: Iterable[GoodsEntry]) -> None:
        by_un: dict[str, list[GoodsEntry]] = {}
        for entry in entries:
            by_un.setdefault(entry.un_number, []).append(entry)
        self._by_un: dict[str, tuple[GoodsEntry, ...]] = {
            un: tuple(group) for un, group in by_un.items()
        }

    def __len__(self) -> int:
        return sum(len(group) for group in self._by_un.values())

    def __iter__(self) -> Iterator[GoodsEntry]:
        for group in self._by_un.values():
            yield from group

    def __contains__(self, un_number: object) -> bool:
        try:
            return normalise_un_number(un_number) in self._by_un
        except CatalogueError:
            return False

    @property
    def un_numbers(self) -> tuple[str, ...]:
        """UN numbers present, sorted."""
        return tuple(sorted(self._by_un))

    def entries_for(self, un_number: str) -> tuple[GoodsEntry, ...]:
        """Return every entry of one UN number, empty when it is absent."""
        return self._by_un.get(normalise_un_number(un_number), ())

    def lookup(
        self, un_number: str, *, packing_group: str | None = None, name: str | None = None
    ) -> GoodsEntry:
        """Return the one entry a UN number, packing group and name point at.

        Entries left after filtering that agree on class, subsidiary hazards, packing group,
        tunnel code and flags are interchangeable: the first is returned.

        Parameters
        ----------
        un_number
            Four digits, "UN" prefix allowed.
        packing_group
            "I", "II" or "III"; None keeps every packing group.
        name
            Part of the Chinese or English name, case-insensitive; None keeps every name.

        Raises
        ------
        CatalogueError
            When nothing matches, or the matches differ in what decides their handling.
        """
        number = normalise_un_number(un_number)
        candidates = self._by_un.get(number, ())
        if not candidates:
            msg = f"UN{number} is not in the catalogue"
            raise CatalogueError(msg)
        chosen = _filter_by_packing_group(number, candidates, packing_group)
        chosen = _filter_by_name(number, chosen, name)
        if len({_safety_key(entry) for entry in chosen}) > 1:
            msg = (
                f"UN{number} has {len(chosen)} entries that differ ({_describe(chosen)}): "
                "give `packing_group` or `name`"
            )
            raise CatalogueError(msg)
        return chosen[0]


def _filter_by_packing_group(
    number: str, entries: tuple[GoodsEntry, ...], packing_group: str | None
) -> tuple[GoodsEntry, ...]:
    """Keep the entries of one packing group; None keeps all."""
    if packing_group is None:
        return entries
    text = packing_group.strip().upper()
    if text not in PackingGroup.__members__:
        msg = f"`packing_group` must be I, II or III, got {packing_group!r}"
        raise CatalogueError(msg)
    kept = tuple(entry for entry in entries if entry.packing_group == text)
    if not kept:
        msg = f"UN{number} has no entry with packing group {text} (entries: {_describe(entries)})"
        raise CatalogueError(msg)
    return kept


def _filter_by_name(
    number: str, entries: tuple[GoodsEntry, ...], name: str | None
) -> tuple[GoodsEntry, ...]:
    """Keep the entries whose Chinese or English name contains ``name``; None keeps all."""
    if name is None:
        return entries
    wanted = name.strip().casefold()
    kept = tuple(
        entry
        for entry in entries
        if wanted in entry.name_en.casefold() or wanted in (entry.name_zh or "").casefold()
    )
    if not kept:
        msg = f"UN{number} has no entry named like {name!r} (entries: {_describe(entries)})"
        raise CatalogueError(msg)
    return kept


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a row was refused: the CSV column and what is wrong with it."""

    column: str
    message: str


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A CSV row that did not become an entry, with every reason.

    ``row_number`` counts as a spreadsheet does: the header is row 1, the first data row 2.
    """

    row_number: int
    un_number: str
    errors: tuple[FieldError, ...]

    @property
    def reason(self) -> str:
        """All reasons in one line, "column: message; ..."."""
        return "; ".join(f"{error.column}: {error.message}" for error in self.errors)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import produced: the accepted entries and the refused rows."""

    source: str
    entries: tuple[GoodsEntry, ...]
    rejected: tuple[RejectedRow, ...]

    @property
    def rows_read(self) -> int:
        """Data rows read from the file."""
        return len(self.entries) + len(self.rejected)

    def to_catalogue(self) -> Catalogue:
        """Return a catalogue of the accepted entries."""
        return Catalogue(self.entries)


def _field_errors(err: ValidationError, row: Mapping[str, str]) -> tuple[FieldError, ...]:
    """Turn a validation error into one FieldError per faulty field, named by CSV column."""
    found = []
    for detail in err.errors():
        field = str(detail["loc"][0]) if detail["loc"] else "row"
        column = _goods_columns.COLUMN_OF_FIELD.get(field, field)
        if field == "subsidiary_hazards" and field in row:  # that column wins over labels
            column = field
        cause = detail.get("ctx", {}).get("error")
        found.append(FieldError(column, str(cause) if cause is not None else detail["msg"]))
    return tuple(found)


def _parse_row(row_number: int, row: dict[str | None, Any]) -> GoodsEntry | RejectedRow:
    """Return the entry a row describes, or the row with every reason it is refused."""
    if None in row:  # csv.DictReader puts surplus cells under the key None
        surplus = FieldError("row", f"{len(row[None])} cells more than the header has")
        return RejectedRow(row_number, str(row.get("un_number") or ""), (surplus,))
    cells = {str(key): "" if value is None else str(value) for key, value in row.items()}
    try:
        return GoodsEntry.model_validate(_goods_columns.entry_fields(cells))
    except ValidationError as err:
        return RejectedRow(row_number, cells["un_number"].strip(), _field_errors(err, cells))


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str | None, Any]]]:
    """Yield (spreadsheet row number, row) after checking the header."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            msg = f"{path.name}: missing columns {missing}; required: {_choices(REQUIRED_COLUMNS)}"
            raise CatalogueError(msg)
        yield from enumerate(reader, start=2)


def import_catalogue_csv(path: str | Path) -> ImportReport:
    """Read a dangerous-goods list in CSV and report its entries and refused rows.

    Columns are those of ADR Table A as in ``adr_2017_table_a.csv``: required are
    ``un_number``, ``proper_shipping_name``, ``class``, ``packing_group`` and
    ``tunnel_restriction_code``; ``classification_code`` gives the division of classes 1 and
    2, ``labels`` the subsidiary hazards (every label after the first). Optional Chinese
    columns: ``name_zh``, ``subsidiary_hazards`` (wins over ``labels``), ``is_highly_toxic``,
    ``is_explosive_precursor`` (1/0, true/false, 是/否) and ``note``. The file is UTF-8, a BOM
    is allowed. A bad row never stops the import: it is returned with every reason, naming
    its spreadsheet row number (header = row 1) and the columns at fault. Rows marked
    "CARRIAGE PROHIBITED" or "NOT SUBJECT TO ADR" in the packing-group column are refused.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    report
        Accepted entries in file order, and refused rows.

    Raises
    ------
    CatalogueError
        When the file is missing, not UTF-8 text, or lacks a required column.
    """
    path = Path(path)
    entries: list[GoodsEntry] = []
    rejected: list[RejectedRow] = []
    try:
        for row_number, row in _read_rows(path):
            parsed = _parse_row(row_number, row)
            if isinstance(parsed, GoodsEntry):
                entries.append(parsed)
            else:
                rejected.append(parsed)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        msg = f"cannot read dangerous-goods list {path}: {err}"
        raise CatalogueError(msg) from err
    logger.info("imported %s: %s entries, %s rejected", path, len(entries), len(rejected))
    return ImportReport(str(path), tuple(entries), tuple(rejected))


@functools.cache
def load_builtin_catalogue() -> Catalogue:
    """Return the built-in catalogue of goods tankers commonly carry in China.

    It is package data (``transport/data/goods_builtin.csv``), written from public sources:
    ADR Table A for codes, 危险化学品目录(2015) for 剧毒 and 易制爆危险化学品名录(2017) for
    易制爆; the ``note`` column marks what is still to be checked.

    Raises
    ------
    CatalogueError
        When any row of the built-in file is invalid (a packaging fault), naming every row.
    """
    with resources.as_file(resources.files("transport") / "data" / _BUILTIN_FILE) as path:
        report = import_catalogue_csv(path)
    if report.rejected:
        reasons = " | ".join(f"row {row.row_number}: {row.reason}" for row in report.rejected)
        msg = f"built-in goods list is invalid: {reasons}"
        raise CatalogueError(msg)
    return report.to_catalogue()
