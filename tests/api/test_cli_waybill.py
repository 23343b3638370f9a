"""`hazmat registry` and `hazmat waybill` end to end on a SQLite file: fleet, waybill, checks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.transport import fleet
from transport.settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the settings at a fresh SQLite file."""
    monkeypatch.setenv("HAZMAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    return f"{result.exit_code}\n{result.output}"


def test_register_fleet_create_waybill_and_check(database: Path) -> None:
    (database / "carriers.csv").write_text(
        "name,permit_number,permitted_classes,permit_valid_until\n"
        "深圳安运,粤交运 440300-1,2 3 8,2026-12-31\n",
        encoding="utf-8",
    )
    assert _invoke("registry", "import", "carriers", str(database / "carriers.csv")).startswith(
        "0\n"
    )
    rows = {
        "vehicles": "plate,licence_number,licence_valid_until,operating_certificate_number,"
        "operating_certificate_valid_until,rated_load_kg,is_tank\n"
        "粤B12345,XSZ1,2026-12-31,YYZ1,2026-12-31,30000,true\n",
        "tanks": "number,volume_m3,inspection_valid_until,permitted_un_numbers\n"
        "TK1,40,2026-12-31,1203 1202\n",
        "people": "name,role,certificate_number,permitted_classes,certificate_valid_until\n"
        "张伟,driver,C1,3,2026-12-31\n李娜,escort,C2,3,2026-12-31\n",
    }
    for kind, text in rows.items():
        (database / f"{kind}.csv").write_text(text, encoding="utf-8")
        output = _invoke(
            "registry", "import", kind, str(database / f"{kind}.csv"), "--carrier", "1"
        )
        assert output.startswith("0\n"), output
    exported = _invoke("registry", "export", "people", "--carrier", "1")
    assert "张伟,driver,C1" in exported
    body = fleet.waybill_fields(carrier_id=1, vehicle_id=1, tank_id=1, driver_id=1, escort_id=2)
    body["planned_route"] = body.pop("planned_route_wkt")
    (database / "waybill.json").write_text(json.dumps(body, default=str), encoding="utf-8")
    created = _invoke("waybill", "create", str(database / "waybill.json"))
    assert created.startswith("0\n") and "id 1" in created, created
    refused = _invoke("waybill", "event", "1", "depart")
    assert refused.startswith("2\n") and "不得发车" in refused
    assert _invoke("waybill", "event", "1", "dispatch").startswith("0\n")
    checked = _invoke("waybill", "check", "1", "--as-stated", "--at", fleet.LOADING_AT.isoformat())
    assert checked.startswith("0\n"), checked
    assert "loading may proceed / 准予装货" in checked and "loading_checked" in checked
    assert _invoke("waybill", "event", "1", "depart").startswith("0\n")


def test_demo_shows_one_loading_refused_and_why(database: Path) -> None:
    output = _invoke("waybill", "demo")
    assert output.startswith("0\n"), output
    assert "loading refused / 不予装货" in output and "超过核定载质量" in output
    assert "409" in output and "不得发车" in output


def test_bad_csv_names_cells_and_exits_2(database: Path) -> None:
    (database / "carriers.csv").write_text(
        "name,permit_number,permitted_classes,permit_valid_until\nX,P1,11,2026-02-30\n",
        encoding="utf-8",
    )
    output = _invoke("registry", "import", "carriers", str(database / "carriers.csv"))
    assert output.startswith("2\n")
    assert (
        "row 2, column permitted_classes" in output and "row 2, column permit_valid_until" in output
    )
