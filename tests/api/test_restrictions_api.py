"""Restriction layers API on both databases: upload, replace, retire, versions, audit, 422s."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from geodata import restrictions
from tests.api import apps
from tests.api.apps import Headers
from tests.transport import fleet
from tests.transport.store import databases
from transport.accounts import Role

if TYPE_CHECKING:
    from collections.abc import Iterator

DEMO_LAYER = Path(restrictions.__file__).parent / "examples" / "shenzhen_demo_layer.geojson"


@pytest.fixture(scope="module", params=databases.BACKENDS)
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    with apps.api_client(request.param, tmp_path_factory.mktemp("layers")) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def planner(client: TestClient) -> Headers:
    return apps.add_account(client, Role.PLANNER, username=f"planner-{id(client)}")


def _layer(**changes: Any) -> dict[str, Any]:
    layer: dict[str, Any] = json.loads(DEMO_LAYER.read_text(encoding="utf-8"))
    return layer | {"name": fleet.unique("layer-")} | changes


def test_upload_replace_retire_is_versioned_and_audited(
    client: TestClient, planner: Headers
) -> None:
    layer = _layer()
    created = client.post("/v1/restrictions", json=layer, headers=planner)
    assert created.status_code == 201, created.text
    layer_id = created.json()["id"]
    changed = copy.deepcopy(layer)
    changed["features"][0]["properties"]["schedule"] = "Mo-Fr 22:00-06:00"
    removed = changed["features"].pop()
    replaced = client.put(f"/v1/restrictions/{layer_id}", json=changed, headers=planner)
    assert replaced.status_code == 200 and replaced.json()["current_version"] == 2
    assert client.delete(f"/v1/restrictions/{layer_id}", headers=planner).status_code == 200
    assert layer_id not in [x["id"] for x in client.get("/v1/restrictions", headers=planner).json()]
    audit = client.get(f"/v1/restrictions/{layer_id}/audit", headers=planner).json()
    assert [(a["action"], a["version"]) for a in audit] == [
        ("created", 1),
        ("replaced", 2),
        ("retired", 2),
    ]
    assert len(audit[0]["added_ids"]) == 5
    assert audit[1]["changed_ids"] == [layer["features"][0]["properties"]["id"]]
    assert audit[1]["removed_ids"] == [removed["properties"]["id"]]
    assert all(a["actor"].startswith("planner user") and a["acted_at"] for a in audit)
    versions = client.get(f"/v1/restrictions/{layer_id}/versions", headers=planner).json()
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["feature_count"] == 5
    first = client.get(f"/v1/restrictions/{layer_id}/versions/1", headers=planner).json()
    assert first["content"] == layer


def test_invalid_layer_is_422_listing_every_problem(client: TestClient, planner: Headers) -> None:
    layer = _layer()
    layer["features"][0]["properties"]["kind"] = "no_such_kind"
    layer["features"][2]["properties"]["schedule"] = "Mo-Xx 25:00"
    layer["features"][3]["properties"]["id"] = layer["features"][1]["properties"]["id"]
    response = client.post("/v1/restrictions", json=layer, headers=planner)
    assert response.status_code == 422
    locs = [tuple(item["loc"][:3]) for item in response.json()["detail"]]
    assert {("body", "features", 0), ("body", "features", 2), ("body", "features", 3)} <= set(locs)
    names = [x["name"] for x in client.get("/v1/restrictions", headers=planner).json()]
    assert layer["name"] not in names


def test_duplicate_name_is_409(client: TestClient, planner: Headers) -> None:
    layer = _layer()
    assert client.post("/v1/restrictions", json=layer, headers=planner).status_code == 201
    response = client.post("/v1/restrictions", json=layer, headers=planner)
    assert response.status_code == 409 and response.json()["detail"][0]["loc"] == ["body", "name"]


def test_police_read_layers_and_audit_but_cannot_change_them(
    client: TestClient, planner: Headers
) -> None:
    police = apps.add_account(client, Role.POLICE)
    layer_id = client.post("/v1/restrictions", json=_layer(), headers=planner).json()["id"]
    assert client.get(f"/v1/restrictions/{layer_id}", headers=police).status_code == 200
    assert client.get("/v1/restrictions/audit", headers=police).status_code == 200
    assert (
        client.put(f"/v1/restrictions/{layer_id}", json=_layer(), headers=police).status_code == 403
    )
