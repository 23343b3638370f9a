"""Every map page in real headless Chromium: map, layers, markers, popups, no errors, offline.

Each page is written as `hazmat map ...` writes it (assets inlined), served from 127.0.0.1 and
loaded in Debian's Chromium; any request leaving the local server is refused and fails the test,
as does any JavaScript error. A screenshot of each page goes to test-artifacts/maps/.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from api.commands import maps as map_commands
from maps import assets, evidence, layers, live, planner, playback
from tests.maps import browser
from tests.maps.conftest import screenshot

if TYPE_CHECKING:
    from pathlib import Path

    from api.commands._map_scene import MapScene

pytestmark = pytest.mark.slow

# Restriction features on the map: [id, kind, is_active] of every layer carrying one.
JS_RESTRICTIONS = """() => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const out = [];
  map.eachLayer(l => {
    const p = l.feature && l.feature.properties;
    if (p && p.restriction_id) { out.push([p.restriction_id, p.kind, p.is_active]); }
  });
  return out;
}"""
JS_CLUSTERED = """() => Object.values(window)
  .filter(v => v instanceof L.MarkerClusterGroup)
  .reduce((n, g) => n + g.getLayers().length, 0)"""
JS_OPEN_RESTRICTION_POPUP = """(rid) => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  let found = null;
  map.eachLayer(l => {
    const p = l.feature && l.feature.properties;
    if (p && p.restriction_id === rid) { found = l; }
  });
  const ll = found.getBounds ? found.getBounds().getCenter() : found.getLatLng();
  found.fire('click', {latlng: ll}, true);  // propagate to the GeoJSON group holding the popup
  return true;
}"""


def _load(context: Any, site: tuple[Path, str], name: str, html_path: Path) -> browser.Visit:
    """Open a written page from the local server."""
    _, base_url = site
    return browser.open_page(context, base_url + html_path.name)


def _overlay_labels(visit: browser.Visit) -> list[str]:
    """The overlay names in the layer control."""
    return [t.strip() for t in visit.page.locator(
        ".leaflet-control-layers-overlays label span span").all_inner_texts()]  # fmt: skip


def _live_at(scene: MapScene) -> Any:
    return scene.live_at


def test_live_map_shows_vehicles_restrictions_and_alerts(
    context: Any, site: tuple[Path, str], scene: MapScene
) -> None:
    folder, _ = site
    page_path = map_commands.write_scene_live_map(scene, folder / "live.html")
    at = scene.live_at
    shown = live.alerts_at(scene.alerts, at=at, lookback_s=live.LiveParams().alert_lookback_s)
    positions = live.vehicle_positions(scene.fixes, at=at, vehicles=scene.vehicles)
    visit = _load(context, site, "live", page_path)
    page = visit.page
    page.wait_for_selector(".hz-legend")

    assert page.locator(".leaflet-container").count() == 1
    labels = _overlay_labels(visit)
    for expected in ("车辆 / vehicles", "轨迹 / trails", "报警 / alerts",
                     "限制 一级水源保护区 / water source level 1"):  # fmt: skip
        assert expected in labels
    assert page.evaluate(JS_CLUSTERED) == len(positions)
    assert page.locator(".hz-alert").count() == len(shown)
    assert page.locator(".hz-alert-open").count() == sum(is_open for _, is_open in shown)
    drawn = page.evaluate(JS_RESTRICTIONS)
    restrictions = layers.restrictions_of(scene.layers)
    expected_active = {r.properties.id: r.is_in_force(at) for r in restrictions}
    assert {rid: active for rid, _, active in drawn} == expected_active
    for state in ("moving", "stopped", "offline", "alert"):
        assert page.locator(f'.hz-legend [data-state="{state}"]').count() == 1

    page.locator(".hz-alert").first.click()
    popup = page.locator(".leaflet-popup-content .hz-alert-popup")
    popup.wait_for()
    text = popup.inner_text()
    first_alert = shown[0][0]
    assert first_alert.evidence.rule_title.zh in text
    assert first_alert.evidence.rule_title.en in text
    assert scene.vehicles[first_alert.vehicle_id].plate in text
    assert first_alert.waybill_id in text
    assert scene.vehicles[first_alert.vehicle_id].goods in text
    screenshot(visit, "live")
    assert visit.problems() == []


def test_live_map_vehicle_popup_tells_state_speed_and_goods(
    context: Any, site: tuple[Path, str], scene: MapScene
) -> None:
    folder, _ = site
    page_path = map_commands.write_scene_live_map(scene, folder / "live-zoomed.html")
    visit = _load(context, site, "live-zoomed", page_path)
    page = visit.page
    page.evaluate("""() => {
      const map = Object.values(window).find(v => v instanceof L.Map);
      map.setZoom(18, {animate: false});
    }""")
    vehicle = page.locator(".hz-vehicle").first
    vehicle.wait_for()
    vehicle_id = vehicle.get_attribute("data-vehicle-id")
    page.evaluate(
        """(vid) => {
      const map = Object.values(window).find(v => v instanceof L.Map);
      const group = Object.values(window).find(v => v instanceof L.MarkerClusterGroup);
      const marker = group.getLayers().find(
        m => m.options.icon.options.html.includes('data-vehicle-id="' + vid + '"'));
      // Its icon is on the map (it was found in the page): open it in place. zoomToShowLayer
      // pans when the point lies just outside the view and can miss its own 'moveend'.
      if (marker._icon) { marker.openPopup(); }
      else { group.zoomToShowLayer(marker, () => marker.openPopup()); }
    }""",
        vehicle_id,
    )
    popup = page.locator(".leaflet-popup-content .hz-vehicle-popup")
    popup.wait_for()
    text = popup.inner_text()
    assert scene.vehicles[vehicle_id].plate in text
    assert scene.vehicles[vehicle_id].goods in text
    assert "km/h" in text
    assert visit.problems() == []


def test_live_map_polls_the_positions_url_and_redraws(
    context: Any, site: tuple[Path, str], scene: MapScene
) -> None:
    folder, _ = site
    later = scene.end_at  # every vehicle has reported by then
    positions = live.vehicle_positions(scene.fixes, at=later, vehicles=scene.vehicles)
    (folder / "positions.geojson").write_text(
        json.dumps(live.positions_geojson(positions)), encoding="utf-8"
    )
    page_path = map_commands.write_scene_live_map(
        scene, folder / "live-polling.html", refresh_url="positions.geojson"
    )
    visit = _load(context, site, "live-polling", page_path)
    page = visit.page
    page.wait_for_function(
        "() => Number(document.querySelector('.hz-live-status').dataset.refreshes) >= 1",
        timeout=15_000,
    )
    assert page.evaluate(JS_CLUSTERED) == len(positions) == len(scene.vehicles)
    assert "更新于 updated" in page.locator(".hz-live-status").inner_text()
    screenshot(visit, "live-polling")
    assert visit.problems() == []


def test_playback_map_has_speed_path_stops_alerts_and_time_slider(
    context: Any, site: tuple[Path, str], scene: MapScene
) -> None:
    folder, _ = site
    vehicle_id = next(
        v for v in scene.vehicles if playback.find_stops(scene.fixes_of(v))
    )  # a vehicle that stopped
    fixes = scene.fixes_of(vehicle_id)
    alerts = [a for a in scene.alerts if a.vehicle_id == vehicle_id]
    page_path = playback.write_playback_map(
        folder / "playback.html", scene.network, fixes, vehicle=scene.vehicles[vehicle_id],
        alerts=alerts,
    )  # fmt: skip
    visit = _load(context, site, "playback", page_path)
    page = visit.page
    page.wait_for_selector(".leaflet-control-timecontrol")

    assert page.locator("path.hz-speed").count() >= 1
    assert page.locator("path.hz-stop").count() == len(playback.find_stops(fixes))
    assert page.locator(".hz-alert").count() == len(alerts)
    assert {"速度 / speed", "停车 / stops", "报警 / alerts"} <= set(_overlay_labels(visit))
    assert scene.vehicles[vehicle_id].plate in page.locator(".hz-legend").inner_text()
    before = page.locator(".timecontrol-date").inner_text()
    page.locator(".timecontrol-forward").click()
    page.wait_for_function(
        "(t) => document.querySelector('.timecontrol-date').innerText !== t", arg=before
    )
    page.evaluate("""() => Object.values(window)
      .find(v => v instanceof L.CircleMarker && v.options.className === 'hz-stop')
      .openPopup()""")
    stop_popup = page.locator(".leaflet-popup-content .hz-stop-popup")
    stop_popup.wait_for()
    assert "min" in stop_popup.inner_text()
    screenshot(visit, "playback")
    assert visit.problems() == []


def test_evidence_map_shows_fixes_path_restriction_and_start(
    context: Any, site: tuple[Path, str], scene: MapScene
) -> None:
    folder, _ = site
    alert = next(a for a in scene.alerts if a.evidence.restriction_id)
    page_path = evidence.write_evidence_map(
        folder / "evidence.html", scene.network, alert,
        restrictions=layers.restrictions_of(scene.layers),
        vehicle=scene.vehicles[alert.vehicle_id], track=scene.fixes_of(alert.vehicle_id),
    )  # fmt: skip
    visit = _load(context, site, "evidence", page_path)
    page = visit.page
    panel = page.locator(".hz-evidence-panel")
    panel.wait_for()

    assert alert.evidence.rule_title.zh in panel.inner_text()
    assert alert.evidence.legal_basis.en in panel.inner_text()
    assert page.locator("path.hz-evidence-fix").count() == len(alert.evidence.fixes)
    assert page.locator(".hz-began").count() == 1
    assert [r[0] for r in page.evaluate(JS_RESTRICTIONS)] == [alert.evidence.restriction_id]
    assert "匹配路径 / matched path" in _overlay_labels(visit)
    page.evaluate("""() => {
      const m = Object.values(window).find(v => v instanceof L.CircleMarker);
      m.openPopup();
    }""")
    page.locator(".leaflet-popup-content .hz-fix-popup").wait_for()
    screenshot(visit, "evidence")
    assert visit.problems() == []


def test_planner_map_draws_every_restriction_with_its_popup(
    context: Any, site: tuple[Path, str], scene: MapScene
) -> None:
    folder, _ = site
    restrictions = layers.restrictions_of(scene.layers)
    page_path = planner.write_planner_map(
        folder / "planner.html", scene.network, restrictions, at=scene.live_at
    )
    visit = _load(context, site, "planner", page_path)
    page = visit.page
    page.wait_for_selector(".hz-legend")

    drawn = page.evaluate(JS_RESTRICTIONS)
    assert sorted(r[0] for r in drawn) == sorted(r.properties.id for r in restrictions)
    kinds = {r.properties.kind.value for r in restrictions}
    assert {e.get_attribute("data-kind") for e in page.locator(".hz-legend-kind").all()} == kinds
    active = sum(r.is_in_force(scene.live_at) for r in restrictions)
    assert f"{active} / {len(restrictions)}" in page.locator(".hz-planner-count").inner_text()
    page.evaluate(JS_OPEN_RESTRICTION_POPUP, "EX-NIGHT-WAY")
    popup = page.locator(".leaflet-popup-content .hz-restriction-popup")
    popup.wait_for()
    assert "22:00-06:00" in popup.inner_text()
    assert "未生效 / not in force" in popup.inner_text()
    screenshot(visit, "planner")
    assert visit.problems() == []


def test_served_page_loads_its_assets_from_the_local_static_folder(
    context: Any, site: tuple[Path, str], scene: MapScene
) -> None:
    # As the API will serve pages: assets by URL under a static prefix, not inlined.
    folder, _ = site
    assets.write_assets(folder / "static")
    page_path = playback.write_playback_map(
        folder / "served-playback.html",
        scene.network,
        scene.fixes_of("V001"),
        vehicle=scene.vehicles["V001"],
        static_url="static/",
    )
    html = page_path.read_text(encoding="utf-8")
    assert '<script src="static/' in html
    visit = _load(context, site, "served-playback", page_path)
    visit.page.wait_for_selector(".leaflet-control-timecontrol")
    assert visit.page.locator("path.hz-speed").count() >= 1
    assert visit.problems() == []
