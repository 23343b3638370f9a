"""`hazmat match`: match a track file to a road network and write the driven edges as GeoJSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.commands._match_report import report_match
from geodata import path_features, sources, tracks
from geodata._errors import NetworkSourceError, TrackError
from geodata.matching.matcher import match_track

console = Console(emoji=False)


def match_file(
    track_file: Annotated[
        Path, typer.Argument(help="CSV (lon, lat, time), GPX or GeoJSON points.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="GeoJSON file to write.")],
    network_source: Annotated[
        str, typer.Option("--network", "-n", help="Network source (see `hazmat network`).")
    ] = sources.DEFAULT_SOURCE,
    datum: Annotated[
        tracks.Datum, typer.Option(help="Datum of the track's coordinates.")
    ] = tracks.Datum.WGS84,
    naive_tz: Annotated[
        str, typer.Option("--tz", help="Time zone of times written without one.")
    ] = "UTC",
) -> None:
    """Match a track: one LineString feature per traversed edge, in travel order."""
    try:
        track = tracks.read_track(track_file, datum_of_source=datum, naive_tz=naive_tz)
        network = sources.load_network(network_source)
    except (TrackError, NetworkSourceError) as err:
        console.print(f"[red]error / 错误:[/red] {err}")
        raise typer.Exit(code=2) from err
    x, y = network.from_lonlat.transform(
        track.fixes["lon"].to_numpy(), track.fixes["lat"].to_numpy()
    )
    result = match_track(network, x, y, track.seconds)
    features = path_features.edge_features(network, result.matched_edge_ids())
    out.write_text(features.to_json(drop_id=True, ensure_ascii=False), encoding="utf-8")
    report = report_match(network, result, track.seconds)
    console.print(f"track / 轨迹: {track_file.name}  network / 路网: {network.name}")
    console.print(
        f"fixes / 定位点: {report.fixes + len(track.rejected)}  "
        f"matched / 已匹配: {report.matched}  unreadable rows / 无法读取: {len(track.rejected)}  "
        f"rejected / 拒绝: {report.rejected or 0}"
    )
    console.print(
        f"driven / 行驶: {report.km:.2f} km in {report.duration_s / 60:.1f} min, "
        f"{len(features)} edges, breaks / 断点: {report.breaks}"
    )
    console.print(f"roads / 道路: {', '.join(report.roads) or '-'}")
    console.print(f"written / 已写入: {out}")
