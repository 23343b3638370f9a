"""Benchmark compliant time-dependent routing against plain networkx Dijkstra, and the what-if scan.

Run: ``nice .venv/bin/python bench/bench_routing.py [--queries N] [--city-queries N]``.
Route latency p50/p99 on the Shenzhen network (demo layer + OSM-derived restrictions) and on
the largest network of the Kubicka 2015 dataset (≥ 50,000 edges, with synthetic zones and
scheduled segment bans): our compliant, time-dependent query (snapping, per-query masks and the
numba kernel) beside ``networkx.shortest_path`` with travel-time weights on the same graph.
Then the what-if scan over a synthetic archive of ≥ 1 million fixes (built once, cached in
``~/.cache/hazmat/bench-archive``). Writes ``bench/results/routing.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
import zoneinfo
from pathlib import Path
from typing import Any, cast

import networkx as nx
import numpy as np
from bench_matching import dataset_dir, read_track  # beside this script
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geodata import (  # noqa: E402
    osm_restrictions,
    restriction_index,
    restrictions,
    route_graph,
    routing,
    sources,
    track_archive,
    whatif,
)  # fmt: skip
from geodata.network import RoadNetwork  # noqa: E402
from transport import archive  # noqa: E402

SZ = zoneinfo.ZoneInfo("Asia/Shanghai")
SHENZHEN = (
    REPO.parent / "shared/data/osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf"
)
RESULTS = REPO / "bench/results/routing.json"
ARCHIVE = Path.home() / ".cache/hazmat/bench-archive"
CARGO = restriction_index.CargoKey(
    classes=frozenset({"3"}), un_numbers=frozenset({"1203"}), tunnel_code="D/E"
)
SCHEDULES = ("19:00-06:00", "Mo-Fr 07:00-09:00,17:00-19:00; PH off", "24/7", "22:00-05:00",
             "Mo-Su 10:00-16:00")  # fmt: skip

logger = logging.getLogger("bench_routing")


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50, p99 and mean in milliseconds."""
    ms = np.asarray(samples_s) * 1000.0
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "n": len(ms)}  # fmt: skip


def city_network() -> RoadNetwork:
    """The largest network of the Kubicka dataset, by arcs."""
    folders = [p for p in dataset_dir().iterdir() if p.is_dir()]
    sizes = [(len((f / f"{f.name}.arcs").read_bytes().splitlines()), f) for f in folders]
    _, folder = max(sizes)
    track = read_track(folder)
    return RoadNetwork.from_tables(track.nodes, track.arcs, name=f"kubicka-{track.track_id}")


def synthetic_layer(
    network: RoadNetwork, rng: np.random.Generator
) -> restrictions.RestrictionLayer:
    """Zones (boxes of 400–1200 m) and scheduled segment bans along random edge chains."""
    features: list[dict[str, Any]] = []
    nodes = network.nodes
    for k in range(15):
        row = nodes.iloc[int(rng.integers(len(nodes)))]
        half = float(rng.uniform(0.002, 0.006))
        lon, lat = float(row["lon"]), float(row["lat"])
        ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
                [lon - half, lat + half], [lon - half, lat - half]]  # fmt: skip
        kind = "water_source_level2" if k % 5 == 4 else "zone"
        features.append(_feature(f"zone-{k}", kind, {"type": "Polygon", "coordinates": [ring]},
                                 SCHEDULES[k % len(SCHEDULES)]))  # fmt: skip
    indptr, out = network.out_edges
    for k in range(40):
        edge = int(rng.integers(len(network.edges)))
        chain = [edge]
        for _ in range(6):
            node = network.edge_v[chain[-1]]
            if indptr[node + 1] == indptr[node]:
                break
            chain.append(int(out[indptr[node] + rng.integers(indptr[node + 1] - indptr[node])]))
        bare = cast("route_graph.RoutingIndex", _Bare(network))  # route_line reads .network only
        line = routing.route_line(bare, routing.Route(np.array(chain), np.zeros(1),
                                  dt.datetime.now(SZ), 0, 0))  # fmt: skip
        features.append(_feature(f"seg-{k}", "forbidden_segment", line.__geo_interface__,
                                 SCHEDULES[k % len(SCHEDULES)]))  # fmt: skip
    return restrictions.RestrictionLayer.model_validate(
        {"type": "FeatureCollection", "hazmat_layer_version": 1, "name": "bench",
         "authority": {"zh": "基准", "en": "bench"}, "features": features}
    )  # fmt: skip


class _Bare:
    """Just enough of a routing index for `routing.route_line`."""

    def __init__(self, network: RoadNetwork) -> None:
        self.network = network


def _feature(rid: str, kind: str, geometry: Any, schedule: str) -> dict[str, Any]:
    """One synthetic restriction feature."""
    return {"type": "Feature", "geometry": geometry, "properties": {
        "id": rid, "kind": kind, "name": {"zh": rid, "en": rid},
        "legal_basis": {"zh": "基准", "en": "bench"}, "cargo": {"all_dangerous_goods": True},
        "schedule": schedule, "source": {"kind": "example"}}}  # fmt: skip


def time_routes(
    network: RoadNetwork, layers: list[Any], *, queries: int, seed: int, console: Console
) -> dict[str, Any]:
    """Latency of compliant TD routing and of networkx Dijkstra on the same OD pairs."""
    start = time.perf_counter()
    compiled = restriction_index.compile_layers(network, layers)
    index = route_graph.build_routing_index(network, compiled)
    prep_s = time.perf_counter() - start
    G = network.graph
    keys = network._node_keys()
    for _u, _v, k, data in G.edges(keys=True, data=True):
        data["travel_time_s"] = float(index.edge_time_s[k])
    rng = np.random.default_rng(seed)
    nodes = network.nodes
    base = dt.datetime(2025, 10, 13, tzinfo=SZ)
    ours: list[float] = []
    plain: list[float] = []
    detoured, no_route = 0, 0
    routing.fastest_route(index, (nodes.lon[0], nodes.lat[0]), (nodes.lon[1], nodes.lat[1]),
                          base, CARGO)  # warm-up (numba cache)  # fmt: skip
    while len(ours) < queries:
        a, b = (int(i) for i in rng.integers(len(nodes), size=2))
        depart = base + dt.timedelta(minutes=int(rng.integers(7 * 24 * 60)))
        t0 = time.perf_counter()
        try:
            path = nx.shortest_path(G, keys[a], keys[b], weight="travel_time_s")
        except nx.NetworkXNoPath:
            continue
        plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        route = routing.fastest_route(
            index, (nodes.lon[a], nodes.lat[a]), (nodes.lon[b], nodes.lat[b]), depart, CARGO
        )
        ours.append(time.perf_counter() - t0)
        no_route += route is None
        detoured += route is not None and len(route.edge_ids) != len(path) + 1
    out: dict[str, Any] = {
        "network": network.name, "edges": len(network.edges), "nodes": len(nodes),
        "restrictions": len(compiled), "blocking_pairs": len(index.pair_edge),
        "prep_s": prep_s, "ours": percentiles(ours), "networkx": percentiles(plain),
        "no_route": int(no_route), "differs_from_plain": int(detoured)}  # fmt: skip
    out["p50_ratio"] = out["ours"]["p50_ms"] / out["networkx"]["p50_ms"]
    console.log(f"{network.name}: ours p50 {out['ours']['p50_ms']:.2f} ms, "
                f"networkx p50 {out['networkx']['p50_ms']:.2f} ms")  # fmt: skip
    return out


def ensure_archive(network: RoadNetwork, min_fixes: int, console: Console) -> int:
    """Build the synthetic archive once (≥ `min_fixes` rows); return its row count."""
    marker = ARCHIVE / "rows.json"
    if marker.exists() and json.loads(marker.read_text())["rows"] >= min_fixes:
        return int(json.loads(marker.read_text())["rows"])
    if ARCHIVE.exists():
        for path in sorted(ARCHIVE.rglob("*.parquet")):
            path.unlink()
    rows, day, start = 0, dt.date(2025, 9, 1), time.perf_counter()
    while rows < min_fixes:
        rows += archive.write_synthetic_archive(
            network, ARCHIVE, first_day=day, days=1, vehicles_per_day=200, interval_s=5.0,
            seed=day.toordinal(),
        )  # fmt: skip
        day += dt.timedelta(days=1)
    marker.write_text(json.dumps({"rows": rows}))
    console.log(f"archive: {rows:,} fixes in {time.perf_counter() - start:.0f} s")
    return rows


def time_whatif(network: RoadNetwork, rows: int, console: Console) -> dict[str, Any]:
    """What-if scans (zone and segment proposals) over the whole archive."""
    zone = whatif.propose("futian-daytime", geometry={"type": "Polygon", "coordinates": [[
        [114.03, 22.53], [114.06, 22.53], [114.06, 22.552], [114.03, 22.552], [114.03, 22.53]]]},
        schedule="Mo-Fr 07:00-20:00; PH off", cargo={"classes": ["2", "3"]},
        exemptions=["fuel_supply"])  # fmt: skip
    seg = whatif.propose("binhai-night", kind="forbidden_segment", geometry={
        "type": "LineString", "coordinates": [[113.982, 22.5205], [114.005, 22.5215],
                                              [114.03, 22.5225], [114.058, 22.526]]},
        schedule="19:00-06:00")  # fmt: skip
    out: dict[str, Any] = {"fixes": rows, "files": len(track_archive.archive_files(ARCHIVE))}
    for proposal in (zone, seg):
        start = time.perf_counter()
        result = whatif.trips_hit(ARCHIVE, network, proposal)
        elapsed = time.perf_counter() - start
        out[proposal.properties.id] = {"seconds": elapsed, "trips_hit": len(result.trips),
                                       "per_carrier": result.per_carrier.to_dict()}  # fmt: skip
        console.log(f"what-if {proposal.properties.id}: {len(result.trips)} trips, {elapsed:.2f} s")
    return out


def print_table(record: dict[str, Any], console: Console) -> None:
    """Rich table of the headline figures."""
    table = Table(title="Route query latency (ms)")
    for col in ("network", "edges", "ours p50", "ours p99", "networkx p50", "networkx p99",
                "ratio p50"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in record["routing"]:
        table.add_row(r["network"], f"{r['edges']:,}", f"{r['ours']['p50_ms']:.2f}",
                      f"{r['ours']['p99_ms']:.2f}", f"{r['networkx']['p50_ms']:.2f}",
                      f"{r['networkx']['p99_ms']:.2f}", f"{r['p50_ratio']:.3f}")  # fmt: skip
    console.print(table)
    w = record.get("whatif")
    if w:
        for key, value in w.items():
            if isinstance(value, dict):
                console.print(f"what-if {key}: {value['seconds']:.2f} s over {w['fixes']:,} fixes, "
                              f"{value['trips_hit']} trips hit")  # fmt: skip


def main() -> None:
    """Parse arguments, run, print and record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200, help="route queries on Shenzhen")
    parser.add_argument("--city-queries", type=int, default=60, help="queries on the city net")
    parser.add_argument("--fixes", type=int, default=1_000_000, help="archive size for what-if")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    console = Console()
    shenzhen = sources.load_network(SHENZHEN)
    demo = restrictions.load_layer(REPO / "geodata/examples/shenzhen_demo_layer.geojson")
    layers = [demo, osm_restrictions.derive_layer(shenzhen)]
    record: dict[str, Any] = {"machine": {"cores": 2, "python": sys.version.split()[0]}}
    record["routing"] = [time_routes(shenzhen, layers, queries=args.queries, seed=1,
                                     console=console)]  # fmt: skip
    city = city_network()
    city_layer = synthetic_layer(city, np.random.default_rng(5))
    record["routing"].append(
        time_routes(city, [city_layer], queries=args.city_queries, seed=2, console=console)
    )
    if args.fixes > 0:
        rows = ensure_archive(shenzhen, args.fixes, console)
        record["whatif"] = time_whatif(shenzhen, rows, console)
    print_table(record, console)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=1, ensure_ascii=False))
        console.print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
