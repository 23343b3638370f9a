"""Benchmark rule evaluation on matched fixes with 1,000 restrictions loaded on Shenzhen.

Run: ``.venv/bin/python bench/bench_rules.py [--restrictions N] [--trips N] [--no-write]``.
Generates restrictions on the Futian + Nanshan network (forbidden segments on OSM ways with
night, rush-hour, holiday and all-day schedules; zones; tunnels and bridges; water-source zones
of each level; dense areas; no-parking zones and lots), compiles them, simulates and matches a
fleet of trips, then times `Monitor.process_many` over every vehicle's matched fixes on one core
(matching is not timed; ``--per-fix`` times `Monitor.process` fix by fix instead).
``--live-rounds K`` also times batches of K fixes per vehicle located together, as a live worker
sees them, and the worker's checkpoint of each vehicle after its batch. Prints a table and
writes ``bench/results/rules.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from machine_speed import reference_loop_s  # beside this script
from rich.console import Console
from rich.table import Table

from geodata import restriction_index, restrictions, sources
from geodata.matching.matcher import match_track
from geodata.network import RoadNetwork
from transport import simulation, track_check
from transport.cargo import CargoProfile
from transport.monitoring import Monitor, process_fleet
from transport.pipeline.batch import VehicleState
from transport.pipeline.checkpoint_codec import encode_state
from transport.pipeline.steps.evaluate_rules import MonitorCheckpoint
from transport.rules.base import RoadContext, VehicleContext

REPO = Path(__file__).resolve().parents[1]
SHENZHEN = (
    REPO.parent / "shared/data/osm-china/shenzhen/shenzhen_futian_nanshan_drive_2024-10.osm.pbf"
)
RESULTS = REPO / "bench/results/rules.json"
CARGO = CargoProfile.from_lines(  # every trip's load: a tank of petrol
    [{"un_number": "1203", "quantity": 20, "unit": "t", "carriage": "tank"}]
)
TARGET_FIXES_PER_S = 50_000
START_AT = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)  # 18:30 Shanghai: windows change
SCHEDULES = (
    "19:00-06:00",
    "Mo-Fr 07:00-09:00,17:00-19:00; PH off",
    "24/7",
    "22:00-06:00",
    "Mo-Su 18:00-20:00",
    "Sa,Su,PH 00:00-24:00",
)
# Share of each kind among the generated restrictions.
MIX = (
    ("forbidden_segment", 0.40),
    ("zone", 0.15),
    ("tunnel", 0.05),
    ("bridge", 0.05),
    ("water_source_level1", 0.05),
    ("water_source_level2", 0.05),
    ("water_source_belt", 0.05),
    ("dense_area", 0.05),
    ("no_parking_zone", 0.05),
    ("parking_lot", 0.10),
)


def _box(rng: np.random.Generator, network: RoadNetwork) -> dict[str, Any]:
    """A random rectangle of 200-800 m around a random node, WGS-84."""
    node = network.nodes.iloc[int(rng.integers(len(network.nodes)))]
    half_lon, half_lat = rng.uniform(0.001, 0.004, size=2)
    lon0, lat0, lon1, lat1 = (
        node["lon"] - half_lon,
        node["lat"] - half_lat,
        node["lon"] + half_lon,
        node["lat"] + half_lat,
    )
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


def generate_layer(network: RoadNetwork, n: int, *, seed: int = 3) -> restrictions.RestrictionLayer:
    """`n` restrictions of the kinds in `MIX` with varied schedules, on real ways and places."""
    rng = np.random.default_rng(seed)
    edges = network.edges
    ways = edges["osm_way_id"].to_numpy(np.int64)
    tunnel_ways = np.unique(ways[edges["is_tunnel"].to_numpy(bool)])
    bridge_ways = np.unique(ways[edges["is_bridge"].to_numpy(bool)])
    kinds = rng.choice([k for k, _ in MIX], size=n, p=[w for _, w in MIX])
    features = []
    for i, kind in enumerate(kinds.tolist()):
        props: dict[str, Any] = {"schedule": str(rng.choice(SCHEDULES))}
        geometry = None
        if kind in {"forbidden_segment", "tunnel", "bridge"}:
            pool = {"tunnel": tunnel_ways, "bridge": bridge_ways}.get(kind, ways)
            props["osm_way_ids"] = sorted({int(w) for w in rng.choice(pool, size=3)})
        elif kind == "dense_area":
            node = network.nodes.iloc[int(rng.integers(len(network.nodes)))]
            geometry = {"type": "Point", "coordinates": [node["lon"], node["lat"]]}
            props["buffer_m"] = float(rng.uniform(50, 300))
        else:
            geometry = _box(rng, network)
        if kind == "parking_lot":
            props["max_dwell_min"] = 360.0
        if i % 7 == 0:
            props["cargo"] = {"classes": ["2.1", "8"]}
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "id": f"bench-{i:04d}",
                    "kind": kind,
                    "name": {"zh": f"基准{i}", "en": f"bench {i}"},
                    "legal_basis": {"zh": "基准测试", "en": "benchmark"},
                    "cargo": {"all_dangerous_goods": True},
                    "source": {"kind": "example"},
                    **props,
                },
            }
        )
    return restrictions.load_layer(
        restrictions.layer_document(features, name="bench", authority=("基准", "benchmark"))
    )


def matched_streams(network: RoadNetwork, trips: int, *, seed: int) -> list[list[Any]]:
    """Simulate and match a fleet; one list of `MatchedFix` per vehicle."""
    streams = []
    for trip in simulation.simulate_fleet(network, trips, seed=seed, start_at=START_AT):
        fixes = trip.fixes
        t = (fixes["fix_at"] - START_AT).dt.total_seconds().to_numpy()
        result = match_track(network, fixes["x"].to_numpy(), fixes["y"].to_numpy(), t)
        streams.append(
            track_check.matched_fixes(
                fixes, result, vehicle_id=trip.vehicle_id, speed_kmh=fixes["speed_kmh"].to_numpy()
            )
        )
    return streams


def time_rules(
    road: RoadContext, streams: list[list[Any]], *, repeats: int, per_fix: bool = False
) -> tuple[float, int]:
    """Best-of-`repeats` seconds to run every rule over every fix, and the fix count."""
    best = float("inf")
    for _ in range(repeats):
        monitors = [Monitor(VehicleContext(s[0].vehicle_id, cargo=CARGO), road) for s in streams]
        started = time.perf_counter()
        for monitor, stream in zip(monitors, streams, strict=True):
            if per_fix:
                for fix in stream:
                    monitor.process(fix)
            else:
                monitor.process_many(stream)
        best = min(best, time.perf_counter() - started)
    return best, sum(len(s) for s in streams)


def time_live_rounds(
    road: RoadContext, streams: list[list[Any]], *, fixes_per_vehicle: int, repeats: int
) -> dict[str, float]:
    """Best-of-`repeats` µs per vehicle and batch when every vehicle's fixes come
    `fixes_per_vehicle` at a time, all vehicles located together (`process_fleet`, as the
    pipeline's rules step), and to encode each vehicle's checkpoint after its batch."""
    rounds = range(0, max(map(len, streams)), fixes_per_vehicle)
    best_rules = best_checkpoint = float("inf")
    vehicle_batches = sum(1 for s in streams for k in rounds if k < len(s))
    for _ in range(repeats):
        monitors = {
            s[0].vehicle_id: Monitor(VehicleContext(s[0].vehicle_id, cargo=CARGO), road)
            for s in streams
        }
        rules_s = checkpoint_s = 0.0
        for k in rounds:
            fixes = [f for s in streams for f in s[k : k + fixes_per_vehicle]]
            started = time.perf_counter()
            process_fleet(monitors, fixes)
            between = time.perf_counter()
            for vehicle_id in {f.vehicle_id for f in fixes}:
                checkpoint = MonitorCheckpoint(monitors[vehicle_id].state)
                encode_state(VehicleState(vehicle_id, monitor={"rules": checkpoint}))
            rules_s += between - started
            checkpoint_s += time.perf_counter() - between
        best_rules, best_checkpoint = min(best_rules, rules_s), min(best_checkpoint, checkpoint_s)
    return {
        "live_fixes_per_vehicle_batch": fixes_per_vehicle,
        "live_us_per_vehicle_batch_rules": round(best_rules / vehicle_batches * 1e6, 1),
        "live_us_per_vehicle_batch_checkpoint": round(best_checkpoint / vehicle_batches * 1e6, 1),
    }


def instrument_one_repeat(road: RoadContext, streams: list[list[Any]], *, per_fix: bool) -> None:
    """Under ``valgrind --tool=callgrind --instr-atstart=no``: one warm-up repeat, then one
    repeat with instrumentation on; print the fix count for the caller."""
    time_rules(road, streams, repeats=1, per_fix=per_fix)
    control = ["callgrind_control", "--instr=on", str(os.getpid())]
    subprocess.run(control, check=True, capture_output=True)
    _, fixes = time_rules(road, streams, repeats=1, per_fix=per_fix)
    subprocess.run([*control[:1], "--instr=off", *control[2:]], check=True, capture_output=True)
    print(json.dumps({"fixes": fixes}))


def main() -> None:
    """Run the benchmark, print a table, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restrictions", type=int, default=1000)
    parser.add_argument("--trips", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-fix", action="store_true", help="time `Monitor.process` per fix")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    parser.add_argument(
        "--live-rounds",
        type=int,
        metavar="K",
        help="also time rounds of K fixes per vehicle, as a live worker sees them",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="run one warm repeat with callgrind instrumentation on (bench_instructions.py)",
    )
    args = parser.parse_args()
    network = sources.load_network(SHENZHEN)
    layer = generate_layer(network, args.restrictions)
    tracemalloc.start()
    started = time.perf_counter()
    compiled = restriction_index.compile_layers(network, [layer])
    compile_s = time.perf_counter() - started
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    road = RoadContext.from_network(network, compiled)
    streams = matched_streams(network, args.trips, seed=808)
    if args.callgrind:
        instrument_one_repeat(road, streams, per_fix=args.per_fix)
        return
    loop_s = reference_loop_s()
    seconds, fixes = time_rules(road, streams, repeats=args.repeats, per_fix=args.per_fix)
    record = {
        "network": network.name,
        "edges": len(network.edges),
        "restrictions": len(compiled),
        "zones": len(compiled.zone_geometries),
        "edge_restriction_pairs": len(compiled.edge_restriction_idx),
        "compile_s": round(compile_s, 3),
        "index_bytes": compiled.nbytes,
        "compile_peak_bytes": peak_bytes,
        "vehicles": len(streams),
        "fixes": fixes,
        "rules_s": round(seconds, 4),
        "path": "per_fix" if args.per_fix else "batch",
        "fixes_per_s": round(fixes / seconds),
        "us_per_fix": round(seconds / fixes * 1e6, 1),
        "target_fixes_per_s": TARGET_FIXES_PER_S,
        "python": platform.python_version(),
        "reference_loop_s": loop_s,
        "measured_on": dt.datetime.now(dt.UTC).date().isoformat(),
    }
    if args.live_rounds:
        record |= time_live_rounds(
            road, streams, fixes_per_vehicle=args.live_rounds, repeats=args.repeats
        )
    table = Table(title="Rule evaluation / 规则评估")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in record.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
