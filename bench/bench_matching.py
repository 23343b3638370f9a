"""Benchmark the HMM map matcher on the Kubicka et al. 2015 dataset, with leuvenmapmatching beside.

Run: ``.venv/bin/python bench/bench_matching.py [--limit N] [--peer-tracks N]``. Unpacks the
dataset once into ``~/.cache/hazmat/kubicka2015``, matches every track at 1 Hz and downsampled to
10 s and 30 s, scores the matched arcs against the ground-truth route by length, times network
preparation and matching apart, and writes ``bench/results/matching.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import resource
import tarfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from geodata.matching import index, matcher
from geodata.network import RoadNetwork

REPO = Path(__file__).resolve().parents[1]

ARCHIVE = REPO.parent / "shared/data/kubicka2015-map-matching/map-matching-dataset.tar.xz"
CACHE = Path.home() / ".cache/hazmat/kubicka2015"
RESULTS = REPO / "bench/results/matching.json"
SAMPLINGS_S = (1, 10, 30)

logger = logging.getLogger("bench_matching")


@dataclasses.dataclass
class Track:
    """One dataset track: fixes (lon, lat, t), network tables and the true arc sequence."""

    track_id: str
    fixes: np.ndarray
    nodes: pd.DataFrame
    arcs: pd.DataFrame
    route: np.ndarray


def dataset_dir() -> Path:
    """Unpack the archive once and return the folder of track folders."""
    root = CACHE / "map-matching-dataset"
    if not root.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tarfile.open(ARCHIVE) as archive:
            archive.extractall(CACHE, filter="data")
    return root


def read_track(folder: Path) -> Track:
    """Read the four files of one track."""
    name = folder.name

    def table(ext: str) -> np.ndarray:
        return np.loadtxt(folder / f"{name}.{ext}", ndmin=2)

    nodes = pd.DataFrame(table("nodes"), columns=["lon", "lat"])
    arcs = pd.DataFrame(table("arcs").astype(np.int64), columns=["u", "v"])
    route = table("route").astype(np.int64).ravel()
    return Track(name, table("track"), nodes, arcs, route)


def score(lengths: np.ndarray, matched: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Length-weighted correct fraction and Newson-Krumm route mismatch fraction."""
    m_ids, m_counts = np.unique(matched, return_counts=True)
    t_ids, t_counts = np.unique(truth, return_counts=True)
    common, mi, ti = np.intersect1d(m_ids, t_ids, return_indices=True)
    overlap = float((np.minimum(m_counts[mi], t_counts[ti]) * lengths[common]).sum())
    matched_m = float((m_counts * lengths[m_ids]).sum())
    true_m = float((t_counts * lengths[t_ids]).sum())
    return {
        "correct": overlap / max(matched_m, true_m, 1e-9),
        "mismatch": (matched_m - overlap + true_m - overlap) / max(true_m, 1e-9),
        "true_m": true_m,
    }


def subsample(n: int, step: int) -> np.ndarray:
    """Every `step`-th fix, always keeping the last."""
    keep = np.arange(0, n, step)
    return keep if keep[-1] == n - 1 else np.append(keep, n - 1)


def run_ours(track: Track, params: dict[int, matcher.MatchParams]) -> dict[str, Any]:
    """Prepare the network, match at each sampling, score and time."""
    start = time.perf_counter()
    network = RoadNetwork.from_tables(track.nodes, track.arcs, name=track.track_id)
    index.match_index(network)
    prep_s = time.perf_counter() - start
    x, y = network.from_lonlat.transform(track.fixes[:, 0], track.fixes[:, 1])
    t = track.fixes[:, 2]
    out: dict[str, Any] = {"track": track.track_id, "prep_s": prep_s, "arcs": len(track.arcs)}
    for step in SAMPLINGS_S:
        keep = subsample(len(t), step)
        start = time.perf_counter()
        result = matcher.match_track(network, x[keep], y[keep], t[keep], params=params[step])
        elapsed = time.perf_counter() - start
        scores = score(network.edge_length_m, result.matched_edge_ids(), track.route)
        out[f"{step}s"] = {
            **scores, "points": len(keep), "match_s": elapsed,
            "breaks": int(result.is_break.sum()), "unmatched": int((result.edge_id < 0).sum()),
        }  # fmt: skip
    return out


def run_leuven(track: Track, *, max_seconds: float) -> dict[str, Any]:
    """Match a track at 1 Hz with leuvenmapmatching's DistanceMatcher (metres, rtree index)."""
    from leuvenmapmatching.map.inmem import InMemMap
    from leuvenmapmatching.matcher.distance import DistanceMatcher

    network = RoadNetwork.from_tables(track.nodes, track.arcs, name=track.track_id)
    nodes_x, nodes_y = network.nodes["x"].to_numpy(), network.nodes["y"].to_numpy()
    graph = InMemMap(track.track_id, use_latlon=False, use_rtree=True, index_edges=True)
    for node, (nx_, ny_) in enumerate(zip(nodes_x, nodes_y, strict=True)):
        graph.add_node(node, (ny_, nx_))
    for u, v in zip(network.edge_u.tolist(), network.edge_v.tolist(), strict=True):
        graph.add_edge(u, v)
    x, y = network.from_lonlat.transform(track.fixes[:, 0], track.fixes[:, 1])
    leuven = DistanceMatcher(
        graph, max_dist=100, max_dist_init=50, min_prob_norm=0.001, non_emitting_length_factor=0.75,
        obs_noise=10, obs_noise_ne=20, dist_noise=10, non_emitting_states=True,
        max_lattice_width=5,
    )  # fmt: skip
    start = time.perf_counter()
    leuven.match(list(zip(y.tolist(), x.tolist(), strict=True)))
    elapsed = time.perf_counter() - start
    if elapsed > max_seconds:
        logger.info("leuven %s took %.1f s", track.track_id, elapsed)
    nodes = leuven.path_pred_onlynodes
    arc_of = {
        (u, v): e for e, (u, v) in enumerate(zip(network.edge_u, network.edge_v, strict=True))
    }
    matched = np.array([arc_of.get(p, -1) for p in itertools.pairwise(nodes)])
    scores = score(network.edge_length_m, matched[matched >= 0], track.route)
    return {"track": track.track_id, **scores, "points": len(x), "match_s": elapsed}


def peak_memory(track: Track, params: matcher.MatchParams) -> float:
    """Peak traced Python memory (MiB) to prepare and match the largest network at 1 Hz."""
    tracemalloc.start()
    network = RoadNetwork.from_tables(track.nodes, track.arcs, name=track.track_id)
    x, y = network.from_lonlat.transform(track.fixes[:, 0], track.fixes[:, 1])
    matcher.match_track(network, x, y, track.fixes[:, 2], params=params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Length-weighted and plain means per sampling, and matching speed."""
    summary: dict[str, Any] = {"tracks": len(rows), "prep_s": sum(r["prep_s"] for r in rows)}
    for step in SAMPLINGS_S:
        per = [r[f"{step}s"] for r in rows]
        weights = np.array([p["true_m"] for p in per])
        summary[f"{step}s"] = {
            "correct_weighted": float(np.average([p["correct"] for p in per], weights=weights)),
            "correct_mean": float(np.mean([p["correct"] for p in per])),
            "mismatch_weighted": float(np.average([p["mismatch"] for p in per], weights=weights)),
            "mismatch_mean": float(np.mean([p["mismatch"] for p in per])),
            "points": int(sum(p["points"] for p in per)),
            "match_s": float(sum(p["match_s"] for p in per)),
            "points_per_s": sum(p["points"] for p in per)
            / max(sum(p["match_s"] for p in per), 1e-9),
        }
    return summary


def print_table(summary: dict[str, Any], peer: dict[str, Any] | None, console: Console) -> None:
    """Rich table of the headline figures."""
    table = Table(title=f"Map matching on Kubicka 2015 ({summary['tracks']} tracks)")
    for col in (
        "matcher",
        "sampling",
        "correct (len-wtd)",
        "correct (mean)",
        "mismatch",
        "points/s",
    ):
        table.add_column(col, justify="right")
    for step in SAMPLINGS_S:
        s = summary[f"{step}s"]
        table.add_row(
            "hazmat HMM", f"{step} s", f"{s['correct_weighted']:.2%}", f"{s['correct_mean']:.2%}",
            f"{s['mismatch_weighted']:.2%}", f"{s['points_per_s']:,.0f}",
        )  # fmt: skip
    if peer:
        for name, s in (
            ("ours, same", peer["ours"]),
            ("leuven", peer["leuven"]),
        ):
            table.add_row(
                name, "1 s", f"{s['correct_weighted']:.2%}", f"{s['correct_mean']:.2%}",
                f"{s['mismatch_weighted']:.2%}", f"{s['points_per_s']:,.0f}",
            )  # fmt: skip
    console.print(table)
    console.print(
        f"prep {summary['prep_s']:.1f} s total; peak traced memory "
        f"{summary.get('peak_mib', 0):.0f} MiB (largest network, "
        f"{summary.get('largest_network_arcs', 0):,} arcs); max RSS "
        f"{summary.get('max_rss_mib', 0):.0f} MiB"
    )


def peer_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over the peer subset (1 Hz)."""
    weights = np.array([r["true_m"] for r in rows])
    return {
        "tracks": [r["track"] for r in rows],
        "correct_weighted": float(np.average([r["correct"] for r in rows], weights=weights)),
        "correct_mean": float(np.mean([r["correct"] for r in rows])),
        "mismatch_weighted": float(np.average([r["mismatch"] for r in rows], weights=weights)),
        "points_per_s": sum(r["points"] for r in rows) / max(sum(r["match_s"] for r in rows), 1e-9),
    }


def main() -> None:
    """Parse arguments, run, print and record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N tracks")
    parser.add_argument("--peer-tracks", type=int, default=20, help="leuven on the N shortest")
    parser.add_argument("--peer-budget-s", type=float, default=240.0, help="leuven time budget")
    parser.add_argument(
        "--params", type=json.loads, default={}, help="MatchParams overrides (JSON)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    console = Console()
    folders = sorted(p for p in dataset_dir().iterdir() if p.is_dir())[: args.limit]
    params = {step: matcher.MatchParams(**args.params) for step in SAMPLINGS_S}
    run_ours(read_track(folders[0]), params)  # warm-up: numba compiles or loads its cache
    rows, largest = [], None
    for folder in folders:
        track = read_track(folder)
        rows.append(run_ours(track, params))
        if largest is None or len(track.arcs) > len(largest.arcs):
            largest = track
        r = rows[-1]
        console.log(
            f"{r['track']} " + " ".join(f"{s}s={r[f'{s}s']['correct']:.3f}" for s in SAMPLINGS_S)
        )
    summary = summarise(rows)
    summary["peak_mib"] = peak_memory(largest, params[1]) if largest is not None else 0.0
    summary["largest_network_arcs"] = len(largest.arcs) if largest is not None else 0
    summary["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peer = run_peer(folders, rows, args, console)
    print_table(summary, peer, console)
    if not args.no_write:
        record = {
            "params": dataclasses.asdict(params[1]),
            "summary": summary,
            "peer": peer,
            "tracks": rows,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=1))
        console.print(f"wrote {RESULTS.relative_to(REPO)}")


def run_peer(
    folders: list[Path], rows: list[dict[str, Any]], args: argparse.Namespace, console: Console
) -> dict[str, Any] | None:
    """leuvenmapmatching on the shortest tracks within a time budget, and ours on the same."""
    if args.peer_tracks <= 0:
        return None
    sizes = sorted((len((f / f"{f.name}.track").read_bytes().splitlines()), f) for f in folders)
    spent, done = 0.0, []
    for _, folder in sizes[: args.peer_tracks]:
        if spent > args.peer_budget_s:
            break
        result = run_leuven(read_track(folder), max_seconds=args.peer_budget_s)
        spent += result["match_s"]
        done.append(result)
        console.log(
            f"leuven {result['track']} correct={result['correct']:.3f} {result['match_s']:.1f}s"
        )
    ours = [
        dict(r["1s"], track=r["track"]) for r in rows if r["track"] in {d["track"] for d in done}
    ]
    return {"leuven": peer_summary(done), "ours": peer_summary(ours)}


if __name__ == "__main__":
    main()
