"""The map pages as the real server serves them, in real headless Chromium, as police and carrier.

The application runs under uvicorn on 127.0.0.1 (a free port, a background thread) over a fresh
SQLite database seeded as the pipeline would: two carriers' vehicles driving the demo's simulated
run (shifted to end now), an unregistered vehicle, open alerts, and the run's restriction layer
uploaded by a planner over HTTP. Each page is opened with ``?access_token=`` as a link would
open it; every request leaving 127.0.0.1 is refused and fails the test, as does any JavaScript
error. Screenshots go to ``test-artifacts/maps/served-*.png``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import httpx
import pytest
import shapely
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.main import create_app
from tests.api import apps
from tests.api.apps import Headers, Tenant
from tests.maps import browser
from tests.maps.conftest import screenshot
from tests.transport import fleet
from tests.transport.store import databases
from transport.accounts import Role
from transport.alerts import evidence, lifecycle
from transport.fixes import Fix
from transport.rules.base import Text
from transport.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi import FastAPI

    from api.commands._map_scene import MapScene
    from geodata.network import RoadNetwork

pytestmark = pytest.mark.slow

SERVER_START_S = 15.0
# Vehicle plates on the map: the titles of the markers in the vehicles' cluster group.
JS_VEHICLE_PLATES = """() => Object.values(window)
  .filter(v => v instanceof L.MarkerClusterGroup)
  .flatMap(g => g.getLayers().map(m => m.options.title)).sort()"""
# Restriction ids drawn on the map.
JS_RESTRICTION_IDS = """() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const out = new Set();
  map.eachLayer(l => {
    const p = l.feature && l.feature.properties;
    if (p && p.restriction_id) { out.add(p.restriction_id); }
  });
  return [...out].sort();
}"""
JS_OPEN_ALERT_POPUP = """() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  let marker = null;
  map.eachLayer(l => {
    const icon = l.options && l.options.icon;
    if (!marker && icon && String(icon.options.html).includes('hz-alert')) { marker = l; }
  });
  marker.openPopup();
}"""
JS_OPEN_VEHICLE_POPUP = """(plate) => {
  const group = Object.values(window).find(v => v instanceof L.MarkerClusterGroup);
  const marker = group.getLayers().find(m => m.options.title === plate);
  group.zoomToShowLayer(marker, () => marker.openPopup());
}"""


@dataclasses.dataclass(frozen=True)
class Served:
    """The running server and what it was seeded with."""

    base_url: str
    police: Headers
    planner: Headers
    mine: Tenant  # carrier with two vehicles driving and one alert
    theirs: Tenant  # carrier with one vehicle driving and one alert
    mine_plates: tuple[str, ...]
    unregistered_key: str
    alert_ids: dict[str, int]  # by plate
    restriction_ids: tuple[str, ...]

    def url(self, path: str, headers: Headers) -> str:
        """The address of a page opened from a link by the holder of `headers`."""
        token = headers["Authorization"].removeprefix("Bearer ")
        joiner = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{joiner}access_token={token}"


@contextlib.contextmanager
def _uvicorn(app: FastAPI) -> Iterator[str]:
    """Run the application under uvicorn on 127.0.0.1 at a free port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _shifted_fixes(scene: MapScene, end: dt.datetime) -> Any:
    """The run's fixes moved in time so that the last one is at `end`."""
    fixes = scene.fixes.copy()
    fixes["fix_at"] = fixes["fix_at"] + (end - fixes["fix_at"].max())
    return fixes


def _nearest_edges(network: RoadNetwork, lonlat: list[tuple[float, float]]) -> list[int]:
    """Positions in the network's edge table of the edges nearest to points (lon, lat)."""
    points = gpd.GeoSeries(shapely.points(lonlat), crs=4326).to_crs(network.edges.crs)
    _, edges = network.edges.sindex.nearest(points.to_numpy(), return_all=False)
    return [int(e) for e in edges]


def _alert(network: RoadNetwork, plate: str, track: Any, restriction_id: str) -> Any:
    """An open alert of a vehicle on three fixes of its track, against a restriction."""
    part = track.iloc[len(track) // 2 : len(track) // 2 + 3]
    lonlat = list(zip(part["lon"].tolist(), part["lat"].tolist(), strict=True))
    edge_ids = _nearest_edges(network, lonlat)
    fixes = tuple(
        evidence.FixEvidence(row.fix_at.to_pydatetime(), row.lon, row.lat, row.speed_kmh, edge)
        for row, edge in zip(part.itertuples(), edge_ids, strict=True)
    )
    ev = evidence.Evidence(
        rule_id="forbidden_zone",
        rule_title=Text("禁入区域", "Forbidden zone"),
        legal_basis=Text("《危险货物道路运输安全管理办法》第四十条", "Art. 40 of the Measures"),
        fact=Text("驶入一级水源保护区", "entered a level-1 water source zone"),
        restriction_id=restriction_id,
        schedule="24/7",
        fixes=fixes,
        edge_ids=tuple(edge_ids),
        fix_count=len(fixes),
        peak_value=None,
        limit=None,
    )
    alert = lifecycle.Alert(
        alert_id=f"served-{plate}",
        vehicle_id=plate,
        rule_id="forbidden_zone",
        key=restriction_id,
        status=lifecycle.AlertStatus.OPEN,
        severity="violation",
        started_at=fixes[0].fix_at,
        last_at=fixes[-1].fix_at,
        ended_at=None,
        evidence=ev,
    )
    return lifecycle.AlertEvent(lifecycle.AlertChange.OPENED, alert)


def _seed(client: TestClient, base_url: str, scene: MapScene) -> Served:
    """Two carriers, four vehicles driving (one unregistered), two alerts, the layer."""
    admin = apps.add_account(client, Role.ADMIN)
    mine, theirs = apps.new_tenant(client, admin), apps.new_tenant(client, admin)
    extra = client.post(
        "/v1/vehicles",
        json=apps.record_json(fleet.vehicle(mine.carrier_id)),
        headers=mine.headers,
    )
    assert extra.status_code == 201, extra.text
    unregistered = fleet.unique_plate()
    plates = [mine.plate, extra.json()["plate"], theirs.plate, unregistered]
    fixes = _shifted_fixes(scene, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20))
    run_ids = sorted(fixes["vehicle_id"].unique())[: len(plates)]
    plate_of = dict(zip(run_ids, plates, strict=True))
    tracks = {plate_of[v]: fixes[fixes["vehicle_id"] == v].sort_values("fix_at") for v in run_ids}
    apps.record_positions(
        client,
        [
            Fix(plate, row.fix_at.to_pydatetime(), row.lon, row.lat, row.speed_kmh,
                row.heading_deg)
            for plate, track in tracks.items()
            for row in track.itertuples()
        ],
    )  # fmt: skip
    planner = apps.add_account(client, Role.PLANNER)
    [layer] = scene.layers
    uploaded = httpx.post(
        f"{base_url}/v1/restrictions",
        json=layer.model_dump(mode="json", exclude_none=True),
        headers=planner,
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    restriction_ids = tuple(sorted(r.properties.id for r in layer.features))
    zone = restriction_ids[0]
    events = [_alert(scene.network, p, tracks[p], zone) for p in (mine.plate, theirs.plate)]
    stored = apps.record_alerts(client, events)
    return Served(
        base_url=base_url,
        police=apps.add_account(client, Role.POLICE),
        planner=planner,
        mine=mine,
        theirs=theirs,
        mine_plates=tuple(sorted(plates[:2])),
        unregistered_key=unregistered,
        alert_ids={a.vehicle_key: a.id for a in stored},
        restriction_ids=restriction_ids,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, scene: MapScene) -> Iterator[Served]:
    """The real application under uvicorn on a fresh, seeded SQLite database."""
    folder = tmp_path_factory.mktemp("served-maps")
    with databases.sqlite_database(folder, migrated=False) as url:
        app = create_app(Settings(database_url=url, auth_secret_key=SecretStr(apps.SECRET_KEY)))
        app.state.map_network = scene.network
        with _uvicorn(app) as base_url:
            yield _seed(TestClient(app), base_url, scene)
        app.state.engine.dispose()


def _open(context: Any, url: str) -> browser.Visit:
    """Open a served page and wait for its Leaflet map."""
    visit = browser.open_page(context, url)
    visit.page.wait_for_selector(".hz-legend, .hz-evidence-panel")
    return visit


def _overlay_labels(visit: browser.Visit) -> list[str]:
    """The overlay names in the layer control."""
    return [t.strip() for t in visit.page.locator(
        ".leaflet-control-layers-overlays label span span").all_inner_texts()]  # fmt: skip


def _wait_for_refresh(visit: browser.Visit) -> None:
    """Wait until the live page has fetched its positions feed once."""
    visit.page.wait_for_function(
        "() => Number(document.querySelector('.hz-live-status').dataset.refreshes) >= 1",
        timeout=15_000,
    )


def test_live_map_served_to_police_shows_every_vehicle_layers_and_alerts(
    context: Any, served: Served
) -> None:
    visit = _open(context, served.url("/maps/live", served.police))
    page = visit.page
    _wait_for_refresh(visit)  # the page's own fetch, with the token of its address, succeeded

    assert page.locator(".leaflet-container").count() == 1
    plates = page.evaluate(JS_VEHICLE_PLATES)
    expected = sorted([*served.mine_plates, served.theirs.plate, served.unregistered_key])
    assert plates == expected
    assert {"车辆 / vehicles", "轨迹 / trails", "报警 / alerts"} <= set(_overlay_labels(visit))
    assert page.evaluate(JS_RESTRICTION_IDS) == list(served.restriction_ids)
    assert page.locator(".hz-alert-open").count() == 2
    assert "更新于 updated" in page.locator(".hz-live-status").inner_text()
    page.evaluate(JS_OPEN_ALERT_POPUP)
    popup = page.locator(".leaflet-popup-content .hz-alert-popup")
    popup.wait_for()
    assert "禁入区域 / Forbidden zone" in popup.inner_text()
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    screenshot(visit, "served-live-police")
    assert visit.problems() == []


def test_live_map_served_to_carrier_shows_only_its_vehicles_and_alerts(
    context: Any, served: Served
) -> None:
    visit = _open(context, served.url("/maps/live", served.mine.headers))
    page = visit.page
    _wait_for_refresh(visit)

    assert page.evaluate(JS_VEHICLE_PLATES) == list(served.mine_plates)
    assert page.locator(".hz-alert-open").count() == 1
    html = page.content()
    for foreign in (served.theirs.plate, served.unregistered_key):
        assert foreign not in html
    page.evaluate(JS_OPEN_VEHICLE_POPUP, served.mine.plate)
    popup = page.locator(".leaflet-popup-content .hz-vehicle-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert served.mine.plate in text
    assert "报警 / in alert" in text
    screenshot(visit, "served-live-carrier")
    assert visit.problems() == []


def test_playback_served_to_carrier_has_speed_path_alert_and_time_slider(
    context: Any, served: Served
) -> None:
    path = f"/maps/vehicles/{served.mine.vehicle_id}/playback"
    visit = _open(context, served.url(path, served.mine.headers))
    page = visit.page
    page.wait_for_selector(".leaflet-control-timecontrol")

    assert page.locator("path.hz-speed").count() >= 1
    assert page.locator(".hz-alert").count() == 1
    assert {"速度 / speed", "停车 / stops", "报警 / alerts"} <= set(_overlay_labels(visit))
    assert served.mine.plate in page.locator(".hz-legend").inner_text()
    screenshot(visit, "served-playback-carrier")
    assert visit.problems() == []


@pytest.mark.parametrize("role", ["police", "carrier"])
def test_evidence_map_served_shows_fixes_path_and_restriction(
    context: Any, served: Served, role: str
) -> None:
    viewer = served.police if role == "police" else served.theirs.headers
    alert_id = served.alert_ids[served.theirs.plate]
    visit = _open(context, served.url(f"/maps/alerts/{alert_id}/evidence", viewer))
    page = visit.page

    panel = page.locator(".hz-evidence-panel").inner_text()
    assert "禁入区域 / Forbidden zone" in panel
    assert served.theirs.plate in panel
    assert page.locator(".hz-began").count() == 1
    assert page.evaluate(JS_RESTRICTION_IDS) == [served.restriction_ids[0]]
    assert "匹配路径 / matched path" in _overlay_labels(visit)
    screenshot(visit, f"served-evidence-{role}")
    assert visit.problems() == []


@pytest.mark.parametrize("role", ["planner", "police"])
def test_planner_map_served_shows_every_restriction(
    context: Any, served: Served, role: str
) -> None:
    viewer = served.planner if role == "planner" else served.police
    visit = _open(context, served.url("/maps/planner?at=2026-11-26T10:00:00%2B08:00", viewer))
    page = visit.page

    assert page.evaluate(JS_RESTRICTION_IDS) == list(served.restriction_ids)
    count = page.locator(".hz-planner-count").inner_text()
    assert count.endswith(f"/ {len(served.restriction_ids)} 生效 in force")
    assert "2026-11-26 10:00" in page.locator(".hz-legend").inner_text()
    screenshot(visit, f"served-planner-{role}")
    assert visit.problems() == []


def test_carrier_opening_another_carriers_playback_gets_404(context: Any, served: Served) -> None:
    path = f"/maps/vehicles/{served.theirs.vehicle_id}/playback"
    page = context.new_page()
    response = page.goto(served.url(path, served.mine.headers))
    assert response is not None
    assert response.status == 404
    assert f"vehicle {served.theirs.vehicle_id}" in page.content()
