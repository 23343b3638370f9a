"""`hazmat replay` and `hazmat simulate`: feed recorded tracks or simulated terminals in.

`replay` reads a CSV/GPX/GeoJSON track in its declared datum and publishes it at a speed-up
factor (to Redis, or to the in-process bus with an embedded worker storing to ``--db``);
`simulate` drives N simulated terminals along routes of a road network over real JT/T 808 TCP.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.commands import live
from geodata import sources
from geodata._errors import TrackError
from geodata.tracks import Datum, read_track
from transport import fixes, simulation
from transport.bus import memory, redis_streams
from transport.gateway import jt808_messages as messages
from transport.gateway import jt808_terminal
from transport.pipeline import checkpoint, fix_store, service

if TYPE_CHECKING:
    from transport.bus.base import Bus

logger = logging.getLogger(__name__)
console = Console(emoji=False, stderr=True)

PUBLISH_CHUNK = 500


def _progress() -> Progress:
    """Return the progress bar both commands show."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console,
    )  # fmt: skip


# --- replay -----------------------------------------------------------------------------------


def replay(
    file: Annotated[Path, typer.Argument(help="Track file: .csv, .gpx or .geojson.")],
    vehicle: Annotated[str | None, typer.Option(help="Vehicle id (default: file name).")] = None,
    datum: Annotated[Datum, typer.Option(help="Datum of the file / 坐标系.")] = Datum.WGS84,
    speedup: Annotated[float, typer.Option(min=0, help="Speed-up factor; 0 = at once.")] = 0.0,
    naive_tz: Annotated[str, typer.Option(help="Zone of times written without one.")] = "UTC",
    redis_url: live.RedisOption = None,
    n_shards: live.ShardCountOption = 4,
    db: live.DbOption = live.DEFAULT_DB,
) -> None:
    """Replay a recorded track into the pipeline / 回放轨迹文件."""
    try:
        track = read_track(file, datum_of_source=datum, naive_tz=naive_tz)
    except TrackError as err:
        console.print(f"[red]error / 错误:[/red] {err}")
        raise typer.Exit(code=2) from err
    candidates, rejected = _track_fixes(track.fixes, vehicle_id=vehicle or file.stem)
    for reason, count in sorted(rejected.items()):
        console.print(f"refused / 拒收 {count} row(s): {reason}")
    if len(track.rejected):
        console.print(f"unreadable / 无法读取 {len(track.rejected)} row(s)")
    asyncio.run(_replay(candidates, speedup=speedup, redis_url=redis_url, n_shards=n_shards, db=db))
    console.print(f"replayed / 已回放 {len(candidates)} fix(es) of {vehicle or file.stem}")


def _track_fixes(
    table: pd.DataFrame, *, vehicle_id: str
) -> tuple[list[fixes.Fix], collections.Counter[str]]:
    """Return the valid fixes of a track table in time order, and refusals counted by reason."""
    received_at = fixes.utc_now()
    speed = table["speed_kmh"] if "speed_kmh" in table else pd.Series(0.0, index=table.index)
    heading = table["heading_deg"] if "heading_deg" in table else pd.Series(0.0, index=table.index)
    accepted, rejected = [], collections.Counter[str]()
    rows = zip(table["fix_at"], table["lon"], table["lat"], speed, heading, strict=True)
    for fix_at, lon, lat, speed_kmh, heading_deg in rows:
        values = {
            "vehicle_id": vehicle_id, "fix_at": fix_at.to_pydatetime(), "lon": float(lon),
            "lat": float(lat), "speed_kmh": float(speed_kmh), "heading_deg": float(heading_deg),
        }  # fmt: skip
        problems = fixes.validate_fix_fields(**values, received_at=received_at)
        if problems:
            rejected.update(f"{p.field}: {p.message_en} / {p.message_zh}" for p in problems)
            continue
        accepted.append(fixes.Fix(**values, source=fixes.FixSource.REPLAY))
    accepted.sort(key=lambda fix: fix.fix_at)
    return accepted, rejected


async def _replay(
    candidates: list[fixes.Fix], *, speedup: float, redis_url: str | None, n_shards: int, db: Path
) -> None:
    """Publish fixes paced by their times / `speedup`; embedded: wait until all are stored."""
    stop = asyncio.Event()
    bus: Bus
    worker: asyncio.Task[object] | None = None
    if redis_url:
        bus = redis_streams.RedisStreamsBus(redis_url, n_shards=n_shards)
    else:
        bus = memory_bus = memory.MemoryBus(n_shards=n_shards)
        consumer = memory_bus.consumer(range(n_shards), name="replay")
        store = fix_store.SqliteFixStore(db)
        worker = asyncio.create_task(
            service.run_worker(
                consumer, fix_store=store, checkpoints=checkpoint.MemoryCheckpointStore(), stop=stop
            )
        )
    with _progress() as progress:
        task = progress.add_task("replay / 回放", total=len(candidates))
        await _publish_paced(
            bus, candidates, speedup=speedup, advance=lambda n: progress.advance(task, n)
        )
    if worker is not None:
        while any(memory_bus.depth(shard) for shard in range(n_shards)):
            await asyncio.sleep(0.05)
        stop.set()
        await worker
        store.close()
    await bus.close()


async def _publish_paced(
    bus: Bus,
    candidates: list[fixes.Fix],
    *,
    speedup: float,
    advance: collections.abc.Callable[[int], object],
) -> None:
    """Publish each fix when its time, scaled by `speedup`, comes (all at once for 0)."""
    if not candidates:
        return
    first_at, started = candidates[0].fix_at, time.monotonic()
    position = 0
    while position < len(candidates):
        if speedup > 0:
            elapsed_s = (time.monotonic() - started) * speedup
            due_at = first_at + timedelta(seconds=elapsed_s)
            end = position
            while end < len(candidates) and candidates[end].fix_at <= due_at:
                end += 1
            end = min(end, position + PUBLISH_CHUNK)
            if end == position:
                wait_s = (candidates[position].fix_at - due_at).total_seconds() / speedup
                await asyncio.sleep(min(wait_s, 0.5))
                continue
        else:
            end = min(position + PUBLISH_CHUNK, len(candidates))
        await bus.publish(candidates[position:end])
        advance(end - position)
        position = end


# --- simulate ---------------------------------------------------------------------------------


def simulate(
    jt808: Annotated[str, typer.Option("--jt808", help="Gateway HOST:PORT.")],
    vehicles: Annotated[int, typer.Option(min=1, max=5000, help="Simulated terminals.")] = 10,
    speedup: Annotated[float, typer.Option(min=1, help="Speed-up factor.")] = 10.0,
    interval_s: Annotated[float, typer.Option(min=1, help="Seconds between fixes.")] = 10.0,
    duration_s: Annotated[float, typer.Option(min=1, help="Stop after this many seconds.")] = 60.0,
    network_source: Annotated[str, typer.Option("--network", help="Road network.")] = "default",
    seed: Annotated[int, typer.Option(help="Random seed of the routes.")] = 808,
) -> None:
    """Drive simulated terminals along routes over JT/T 808 TCP / 模拟车载终端."""
    host, _, port = jt808.rpartition(":")
    if not host or not port.isdigit():
        msg = f"--jt808 takes HOST:PORT, got {jt808!r}"
        raise typer.BadParameter(msg)
    network = sources.load_network(network_source)
    started_at = fixes.utc_now()
    trips = simulation.simulate_fleet(
        network, vehicles, seed=seed, start_at=started_at, interval_s=interval_s
    )
    counts = asyncio.run(
        _simulate(trips, host, int(port), speedup=speedup, duration_s=duration_s, now=started_at)
    )
    console.print(f"sent / 已发送: {dict(counts)}")
    if counts["failed"] or counts["refused"]:
        raise typer.Exit(code=1)


def _schedule(
    trips: list[simulation.SimulatedTrip], *, speedup: float, now: datetime
) -> list[pd.DataFrame]:
    """Rebase every trip to start together; stamp times so none is ahead of the wall clock."""
    spans = [t.fixes["fix_at"].iloc[-1] - t.fixes["fix_at"].iloc[0] for t in trips]
    longest = max(spans)
    start_at = pd.Timestamp(now) - longest + longest / speedup
    tables = []
    for trip in trips:
        table = trip.fixes.copy()
        table["offset_s"] = (table["fix_at"] - table["fix_at"].iloc[0]).dt.total_seconds()
        table["fix_at"] = start_at + pd.to_timedelta(table["offset_s"], unit="s")
        tables.append(table)
    return tables


async def _simulate(
    trips: list[simulation.SimulatedTrip],
    host: str,
    port: int,
    *,
    speedup: float,
    duration_s: float,
    now: datetime,
) -> collections.Counter[str]:
    """Run every terminal concurrently until its trip ends or `duration_s` passes."""
    counts: collections.Counter[str] = collections.Counter()
    tables = _schedule(trips, speedup=speedup, now=now)
    with _progress() as progress:
        total = sum(len(t) for t in tables)
        task = progress.add_task("terminals / 终端", total=total)
        deadline = time.monotonic() + duration_s
        await asyncio.gather(
            *(
                _drive(index, trip, table, host, port, speedup=speedup, deadline=deadline,
                       counts=counts, advance=lambda: progress.advance(task))
                for index, (trip, table) in enumerate(zip(trips, tables, strict=True))
            )
        )  # fmt: skip
    return counts


async def _drive(
    index: int,
    trip: simulation.SimulatedTrip,
    table: pd.DataFrame,
    host: str,
    port: int,
    *,
    speedup: float,
    deadline: float,
    counts: collections.Counter[str],
    advance: collections.abc.Callable[[], object],
) -> None:
    """One terminal: register, authenticate, then report each fix at its (scaled) time."""
    client = jt808_terminal.TerminalClient(f"0199{index:08d}")
    try:
        await client.connect(host, port)
        register = messages.Register(44, 300, "SIMUL", "SIM-808", f"S{index:06d}", 1, trip.plate)
        await client.sign_in(register)
        started = time.monotonic()
        for row in table.itertuples():
            wait_s = started + row.offset_s / speedup - time.monotonic()
            if time.monotonic() + max(wait_s, 0) > deadline:
                counts["cut_by_duration"] += 1
                break
            await asyncio.sleep(max(wait_s, 0))
            reply = await client.request(_location(row))
            counts["ok" if reply.result == messages.ReplyResult.OK else "refused"] += 1
            advance()
    except (OSError, TimeoutError, ConnectionError) as err:
        counts["failed"] += 1
        logger.warning("terminal %s stopped: %s", index, err)
    finally:
        await client.close()


def _location(row: object) -> messages.LocationReport:
    """Return the 0x0200 report of one simulated fix row."""
    return messages.LocationReport(
        alarm=messages.Alarm(0),
        status=messages.Status.FIXED | messages.Status.ACC_ON,
        latitude_deg=round(float(row.lat), 6),  # type: ignore[attr-defined]
        longitude_deg=round(float(row.lon), 6),  # type: ignore[attr-defined]
        altitude_m=0,
        speed_kmh=round(float(row.speed_kmh), 1),  # type: ignore[attr-defined]
        direction_deg=int(row.heading_deg) % 360,  # type: ignore[attr-defined]
        fix_at=row.fix_at.to_pydatetime().replace(microsecond=0),  # type: ignore[attr-defined]
    )
