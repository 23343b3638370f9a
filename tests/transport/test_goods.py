"""Tests of the dangerous-goods catalogue, its built-in list, the CSV importer and its commands."""

from __future__ import annotations

import csv
import re
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from api.commands import goods as goods_commands
from tests.conftest import shared_data_path
from transport import goods
from transport._errors import CatalogueError
from transport.goods import GoodsEntry, PackingGroup, TunnelCode

if TYPE_CHECKING:
    from pathlib import Path

ADR_TABLE = "adr-dangerous-goods/adr_2017_table_a.csv"
ADR_ROWS = 2914
ADR_REJECTED = 42  # 28 "carriage prohibited"/"not subject", 10 more without a code, 4 bad classes

MINIMAL_FIELDS = {
    "un_number": "1203",
    "name_en": "PETROL",
    "hazard_class": "3",
    "tunnel_code": "D/E",
}


@pytest.fixture(scope="module")
def adr_report() -> goods.ImportReport:
    """The real ADR 2017 Table A, imported once."""
    return goods.import_catalogue_csv(shared_data_path(ADR_TABLE))


@pytest.fixture(scope="module")
def builtin() -> goods.Catalogue:
    """The built-in catalogue."""
    return goods.load_builtin_catalogue()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write a small CSV for a test and return its path."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- UN numbers and entries -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [("1203", "1203"), ("UN1203", "1203"), ("un 1203", "1203"), (" 0004 ", "0004"), (1017, "1017")],
    ids=["digits", "prefix", "prefix-space-lower", "padded", "int"],
)
def test_un_number_is_normalised_to_four_digits(given_value: object, expected: str) -> None:
    assert goods.normalise_un_number(given_value) == expected


@pytest.mark.parametrize("bad", ["12", "12034", "UNABCD", "", "UN-1203"], ids=str)
def test_bad_un_number_is_refused(bad: str) -> None:
    with pytest.raises(CatalogueError, match="UN number must be four digits"):
        goods.normalise_un_number(bad)


@given(st.from_regex(r"\A(UN|un|UN )?[0-9]{4}\Z"))
def test_any_four_digit_un_number_survives_normalising(text: str) -> None:
    assert goods.normalise_un_number(text) == text[-4:]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("un_number", "12", "four digits"),
        ("name_en", "  ", "proper shipping name is empty"),
        ("hazard_class", "10", "not a GB 6944 class or division"),
        ("hazard_class", "1", "class 1 needs a division"),
        ("hazard_class", "9A", "not a GB 6944 class"),
        ("subsidiary_hazards", "5.1 +7X", r"unknown subsidiary hazards \['7X'\]"),
        ("packing_group", "IV", "packing group must be I, II, III or empty"),
        ("packing_group", "CARRIAGE PROHIBITED", "got 'CARRIAGE PROHIBITED'"),
        ("tunnel_code", "", "tunnel restriction code is missing"),
        ("tunnel_code", "A", "'A' is not one of B, C, D, E, B1000C"),
        ("is_highly_toxic", "maybe", "flag must be 1/0"),
    ],
    ids=lambda value: str(value)[:20],
)
def test_bad_entry_field_is_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GoodsEntry.model_validate({**MINIMAL_FIELDS, field: value})


def test_entry_names_every_bad_field_at_once() -> None:
    bad = {"un_number": "x", "name_en": "", "hazard_class": "0", "tunnel_code": "Q"}
    with pytest.raises(ValidationError) as caught:
        GoodsEntry.model_validate(bad)
    assert {error["loc"][0] for error in caught.value.errors()} == {
        "un_number",
        "name_en",
        "hazard_class",
        "tunnel_code",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("-", TunnelCode.NONE),
        ("(-)", TunnelCode.NONE),
        ("(D/E)", TunnelCode.D_E),
        ("B1000C", TunnelCode.B1000C),
    ],
    ids=["dash", "bracketed-dash", "bracketed", "mass-code"],
)
def test_tunnel_code_spellings_are_accepted(raw: str, expected: TunnelCode) -> None:
    assert GoodsEntry.model_validate({**MINIMAL_FIELDS, "tunnel_code": raw}).tunnel_code is expected


@pytest.mark.parametrize(
    ("hazard_class", "is_explosive"),
    [("1.1", True), ("1.6", True), ("3", False), ("5.1", False)],
    ids=["1.1", "1.6", "3", "5.1"],
)
def test_entry_is_explosive_in_class_1_only(hazard_class: str, is_explosive: bool) -> None:
    entry = GoodsEntry.model_validate({**MINIMAL_FIELDS, "hazard_class": hazard_class})
    assert entry.is_explosive is is_explosive


def test_entry_is_frozen() -> None:
    entry = GoodsEntry.model_validate(MINIMAL_FIELDS)
    with pytest.raises(ValidationError, match="frozen"):
        entry.un_number = "1202"


# --- built-in catalogue -----------------------------------------------------------------------

TANKER_GOODS = {
    "1203": "汽油",
    "1202": "柴油",
    "1223": "煤油",
    "1075": "液化石油气",
    "1972": "液化天然气",
    "1978": "丙烷",
    "1005": "液氨",
    "1017": "液氯",
    "1789": "盐酸",
    "1830": "硫酸",
    "2031": "硝酸",
    "1824": "氢氧化钠溶液",
    "1230": "甲醇",
    "1170": "乙醇",
    "1114": "苯",
    "1294": "甲苯",
    "1307": "二甲苯",
    "1090": "丙酮",
    "2055": "苯乙烯",
    "1093": "丙烯腈",
    "1073": "液氧",
    "1977": "液氮",
    "2014": "过氧化氢溶液",
    "2015": "过氧化氢溶液",
    "3414": "氰化钠溶液",
    "1267": "石油原油",
}


@pytest.mark.parametrize(("un_number", "name_zh"), TANKER_GOODS.items(), ids=TANKER_GOODS)
def test_builtin_catalogue_has_common_tanker_goods(
    builtin: goods.Catalogue, un_number: str, name_zh: str
) -> None:
    entries = builtin.entries_for(un_number)
    assert entries
    assert all(entry.name_zh and entry.name_zh.startswith(name_zh) for entry in entries)


@pytest.mark.parametrize(
    ("un_number", "is_highly_toxic", "is_explosive_precursor"),
    [
        ("1017", True, False),
        ("3414", True, False),
        ("1051", True, False),
        ("1093", False, False),
        ("1005", False, False),
        ("1203", False, False),
        ("2031", False, True),
        ("2014", False, True),
        ("2015", False, True),
        ("2984", False, True),
        ("1495", False, True),
        ("1830", False, False),
    ],
    ids=lambda value: str(value),
)
def test_builtin_flags_follow_chinese_lists(
    builtin: goods.Catalogue, un_number: str, is_highly_toxic: bool, is_explosive_precursor: bool
) -> None:
    for entry in builtin.entries_for(un_number):
        assert entry.is_highly_toxic is is_highly_toxic
        assert entry.is_explosive_precursor is is_explosive_precursor


def test_builtin_entries_agree_with_adr_table(
    builtin: goods.Catalogue, adr_report: goods.ImportReport
) -> None:
    adr = adr_report.to_catalogue()
    disagreeing = [
        (entry.un_number, entry.packing_group)
        for entry in builtin
        if not any(
            (other.hazard_class, set(other.subsidiary_hazards), other.tunnel_code)
            == (entry.hazard_class, set(entry.subsidiary_hazards), entry.tunnel_code)
            for other in adr.entries_for(entry.un_number)
            if other.packing_group == entry.packing_group
        )
    ]
    assert disagreeing == []


def test_builtin_catalogue_is_cached(builtin: goods.Catalogue) -> None:
    assert goods.load_builtin_catalogue() is builtin
    assert "UN1203" in builtin
    assert "12" not in builtin
    assert len(builtin) == len(list(builtin)) > len(builtin.un_numbers)


# --- choosing among several entries of one UN number ------------------------------------------


@pytest.mark.parametrize(
    ("un_number", "packing_group", "name", "expected_code", "expected_name"),
    [
        ("1203", None, None, TunnelCode.D_E, "汽油"),
        ("UN3414", "I", None, TunnelCode.C_E, "氰化钠溶液"),
        ("3414", "ii", None, TunnelCode.D_E, "氰化钠溶液"),
        ("1267", "II", None, TunnelCode.D_E, "石油原油"),
        ("2031", None, "含硝酸>70%", TunnelCode.E, "硝酸 [含硝酸>70%]"),
        ("2031", "II", "less than 65%", TunnelCode.E, "硝酸 [含硝酸<65%]"),
        ("1170", "III", "solution", TunnelCode.D_E, "乙醇溶液"),
    ],
    ids=["single", "pg-I", "pg-lowercase", "same-handling", "name-zh", "pg-and-name-en", "pg-3"],
)
def test_lookup_chooses_one_entry(
    builtin: goods.Catalogue,
    un_number: str,
    packing_group: str | None,
    name: str | None,
    expected_code: TunnelCode,
    expected_name: str,
) -> None:
    entry = builtin.lookup(un_number, packing_group=packing_group, name=name)
    assert (entry.tunnel_code, entry.name_zh) == (expected_code, expected_name)


@pytest.mark.parametrize(
    ("un_number", "packing_group", "name", "message"),
    [
        ("9999", None, None, "UN9999 is not in the catalogue"),
        ("3414", None, None, r"UN3414 has 3 entries that differ .*give `packing_group` or `name`"),
        ("2031", "II", None, "UN2031 has 2 entries that differ"),
        (
            "1203",
            "I",
            None,
            r"UN1203 has no entry with packing group I \(entries: PG II D/E 汽油\)",
        ),
        ("1203", "IV", None, "`packing_group` must be I, II or III, got 'IV'"),
        ("1203", None, "diesel", "UN1203 has no entry named like 'diesel'"),
        ("12", None, None, "UN number must be four digits"),
    ],
    ids=[
        "unknown",
        "ambiguous",
        "ambiguous-in-pg",
        "no-such-pg",
        "bad-pg",
        "no-such-name",
        "bad-un",
    ],
)
def test_lookup_without_single_answer_is_refused(
    builtin: goods.Catalogue,
    un_number: str,
    packing_group: str | None,
    name: str | None,
    message: str,
) -> None:
    with pytest.raises(CatalogueError, match=message):
        builtin.lookup(un_number, packing_group=packing_group, name=name)


# --- importing the real ADR table --------------------------------------------------------------


def test_adr_import_counts(adr_report: goods.ImportReport) -> None:
    assert adr_report.rows_read == ADR_ROWS
    assert len(adr_report.entries) == ADR_ROWS - ADR_REJECTED
    assert len(adr_report.rejected) == ADR_REJECTED
    assert all(rejected.errors for rejected in adr_report.rejected)


@pytest.mark.parametrize(
    ("un_number", "hazard_class", "subsidiary", "packing_group", "code"),
    [
        ("1203", "3", (), PackingGroup.II, TunnelCode.D_E),
        ("1017", "2.3", ("5.1", "8"), None, TunnelCode.C_D),
        ("1005", "2.3", ("8",), None, TunnelCode.C_D),
        ("1965", "2.1", (), None, TunnelCode.B_D),
        ("1073", "2.2", ("5.1",), None, TunnelCode.C_E),
        ("0004", "1.1", (), None, TunnelCode.B1000C),
        ("2814", "6.2", (), None, TunnelCode.NONE),
        ("2977", "7", ("6.1", "8"), None, TunnelCode.C),
    ],
    ids=["petrol", "chlorine", "ammonia", "lpg-mixture", "liquid-oxygen", "ammonium-picrate",
         "infectious", "uf6-fissile"],
)  # fmt: skip
def test_adr_import_known_rows(
    adr_report: goods.ImportReport,
    un_number: str,
    hazard_class: str,
    subsidiary: tuple[str, ...],
    packing_group: PackingGroup | None,
    code: TunnelCode,
) -> None:
    entry = adr_report.to_catalogue().entries_for(un_number)[0]
    assert (entry.hazard_class, entry.subsidiary_hazards) == (hazard_class, subsidiary)
    assert (entry.packing_group, entry.tunnel_code) == (packing_group, code)
    assert entry.name_zh is None
    assert entry.is_highly_toxic is entry.is_explosive_precursor is False


def test_adr_import_keeps_every_entry_of_a_un_number(adr_report: goods.ImportReport) -> None:
    catalogue = adr_report.to_catalogue()
    assert [entry.packing_group for entry in catalogue.entries_for("3414")] == ["I", "II", "III"]
    assert len(catalogue.entries_for("1202")) == 3
    assert catalogue.lookup("1202").tunnel_code is TunnelCode.D_E  # three entries, one handling
    with pytest.raises(CatalogueError, match="UN1263 has 3 entries that differ"):
        catalogue.lookup("1263", packing_group="III")


@pytest.mark.parametrize(
    ("row_number", "un_number", "reasons"),
    [
        (
            18,
            "0020",
            ["packing_group: .*'CARRIAGE PROHIBITED'", "tunnel_restriction_code: .*missing"],
        ),
        (105, "0190", ["class: class 1 needs a division"]),
        (1200, "1845", ["packing_group: .*'NOT SUBJECT TO ADR - except for 5.5.3'"]),
        (2032, "2815", ["class: class '8 \\+ 6.1' is not a GB 6944 class"]),
        (2856, "3480", ["class: class '9A' is not a GB 6944 class"]),
        (2905, "3527", ["tunnel_restriction_code: tunnel restriction code is missing"]),
    ],
    ids=["prohibited", "no-division", "not-subject", "two-classes", "label-as-class", "no-code"],
)
def test_adr_import_names_rejected_rows(
    adr_report: goods.ImportReport, row_number: int, un_number: str, reasons: list[str]
) -> None:
    rejected = {row.row_number: row for row in adr_report.rejected}[row_number]
    assert rejected.un_number == un_number
    for reason in reasons:
        assert any(re.search(reason, f"{e.column}: {e.message}") for e in rejected.errors), (
            reason,
            rejected.reason,
        )


# --- importer error paths on small files ------------------------------------------------------

HEADER = ["un_number", "proper_shipping_name", "class", "packing_group", "tunnel_restriction_code"]


def test_import_reports_every_bad_row_and_field(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "list.csv",
        HEADER,
        [
            ["1203", "PETROL", "3", "II", "D/E"],
            ["12", "", "3", "II", "D/E"],
            ["1017", "CHLORINE", "2.3", "IV", "Z"],
            ["1005", "AMMONIA", "2.3", "", "C/D"],
        ],
    )
    report = goods.import_catalogue_csv(path)
    assert [entry.un_number for entry in report.entries] == ["1203", "1005"]
    assert [(row.row_number, row.un_number) for row in report.rejected] == [(3, "12"), (4, "1017")]
    assert [error.column for error in report.rejected[0].errors] == [
        "un_number",
        "proper_shipping_name",
    ]
    assert report.rejected[1].reason == (
        "packing_group: packing group must be I, II, III or empty, got 'IV'; "
        "tunnel_restriction_code: tunnel restriction code 'Z' is not one of "
        "B, C, D, E, B1000C, C5000D, B/D, C/D, B/E, C/E, D/E, (-)"
    )


def test_import_reads_chinese_columns_and_bom(tmp_path: Path) -> None:
    header = [*HEADER, "name_zh", "subsidiary_hazards", "is_highly_toxic", "is_explosive_precursor"]
    path = tmp_path / "cn.csv"
    write_csv(path, header, [["1017", "CHLORINE", "2.3", "", "C/D", "液氯", "5.1 8", "是", "否"]])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    (entry,) = goods.import_catalogue_csv(path).entries
    assert (entry.name_zh, entry.subsidiary_hazards) == ("液氯", ("5.1", "8"))
    assert (entry.is_highly_toxic, entry.is_explosive_precursor) == (True, False)


@pytest.mark.parametrize(
    ("column", "value"), [("labels", "3 +7X"), ("subsidiary_hazards", "7X")], ids=["labels", "own"]
)
def test_import_names_the_column_subsidiary_hazards_came_from(
    tmp_path: Path, column: str, value: str
) -> None:
    path = write_csv(
        tmp_path / "x.csv", [*HEADER, column], [["1203", "PETROL", "3", "II", "D/E", value]]
    )
    (rejected,) = goods.import_catalogue_csv(path).rejected
    assert (
        rejected.reason
        == f"{column}: unknown subsidiary hazards ['7X']; allowed: 1, "
        + ", ".join(goods.HAZARD_CLASSES)
    )


def test_import_refuses_row_with_surplus_cells(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", HEADER, [["1203", "PETROL", "3", "II", "D/E", "extra"]])
    (rejected,) = goods.import_catalogue_csv(path).rejected
    assert rejected.reason == "row: 1 cells more than the header has"


def test_import_without_required_columns_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["un_number", "class"], [["1203", "3"]])
    with pytest.raises(
        CatalogueError, match=r"missing columns \['proper_shipping_name', 'packing_group', 'tunnel"
    ):
        goods.import_catalogue_csv(path)


@pytest.mark.parametrize(
    "content", [None, b"un_number\n\xff\xfe\x00bad"], ids=["missing", "not-utf8"]
)
def test_unreadable_file_is_refused(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "list.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CatalogueError, match="cannot read dangerous-goods list"):
        goods.import_catalogue_csv(path)


# --- the `hazmat goods` commands --------------------------------------------------------------


def test_import_command_prints_counts_and_reasons() -> None:
    result = CliRunner().invoke(
        goods_commands.app, ["import", str(shared_data_path(ADR_TABLE)), "--limit", "50"]
    )
    assert result.exit_code == 0, result.output
    assert "2914" in result.output
    assert "2872" in result.output
    assert "CARRIAGE" in result.output


@pytest.mark.parametrize(
    ("args", "exit_code", "text"),
    [
        (["show", "UN1203"], 0, "汽油"),
        (["show", "3414"], 0, "C/E"),
        (["show", "9999"], 1, "not in the catalogue"),
        (["show", "12"], 2, "four digits"),
        (["import", "no-such-file.csv"], 2, "cannot read"),
    ],
    ids=["petrol", "several-entries", "unknown", "bad-number", "missing-file"],
)
def test_goods_commands_exit_codes(args: list[str], exit_code: int, text: str) -> None:
    result = CliRunner().invoke(goods_commands.app, args, terminal_width=200)
    assert result.exit_code == exit_code, result.output
    assert text in result.output


def test_import_command_strict_fails_on_rejected_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", HEADER, [["1203", "PETROL", "3", "IV", "D/E"]])
    result = CliRunner().invoke(goods_commands.app, ["import", str(path), "--strict"])
    assert result.exit_code == 1
    assert "got 'IV'" in result.output
