"""End-to-end benchmark of the live pipeline: terminals → gateway → Redis → workers → alerts.

Run with ``nice .venv/bin/python bench/bench_pipeline.py`` (needs ``redis-server``); writes
``bench/results/pipeline.json``, or ``pipeline-<phases>.json`` beside it for a run of some
``--phases`` (git ignores those). Everything runs on this machine over loopback, bounded in
count and time:

0. the worker's match step alone, in process: the fleet's fixes in time order through
   `transport.pipeline.steps.match.Match`, in batches of 8,000 (a draining worker's four
   shard reads of 2,000), best of three after a warm-up;
0b. the worker's chain alone, in process (``bench_chain.py``): the fleet's first fixes through
   monitoring, track points, live channel, checkpoints and fix store in reads of 100 and
   1,000 fixes; what a fix costs, and what a batch costs as such;
1. worker throughput: the simulated fleet's fixes are put on Redis first (as the HTTP ingest
   does), then 1 and then 2 ``hazmat worker`` processes with monitoring (Helsinki default
   network + demo layer, waybills from a SQLite store, alerts and track points recorded, live
   channel and reminders on) drain them; fixes/s from the first to the last fix stored; and
   one worker again reading 250 fixes per shard (`LIVE_READ`): about one fix per vehicle and
   batch, as in live operation, where per-vehicle costs (checkpoint, rules) are not shared;
2. memory: worker RSS growth from its first batch to 1,000 active vehicles, and the Redis
   checkpoint hash per 1,000 vehicles;
3. gateway ingest: 1,000 JT/T 808 terminals over loopback TCP sending 0x0200 as fast as the
   replies come back, to a ``hazmat gateway --redis`` process (no workers), with the CPU
   seconds of the gateway and the load generator;
4. the fleet runs: 1,000 terminals at a fixed offered load (`FLEET_RUNS`) for 60 s through a
   gateway and 1 or 2 workers, each terminal driving further trips after its own so the load
   lasts the whole run; latency from sending the fix to the alert arriving on the live channel
   (after the database commit), p50/p99, and the driver reminders acknowledged.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import redis
from bench_chain import chain_costs  # beside this script
from bench_databases import (  # beside this script
    BenchDatabases,
    PostgresDatabases,
    SqliteDatabases,
    count_alerts,
)
from machine_speed import reference_loop_s  # beside this script
from service_heap import settled_heap  # beside this script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geodata import sources  # noqa: E402
from geodata.matching.matcher import MatchParams  # noqa: E402
from transport import demo_layers, goods, registry  # noqa: E402
from transport.bus.redis_streams import RedisStreamsBus  # noqa: E402
from transport.fixes import Fix  # noqa: E402
from transport.gateway import jt808_messages as messages  # noqa: E402
from transport.gateway import jt808_terminal  # noqa: E402
from transport.live_channel import LiveHub, MessageKind  # noqa: E402
from transport.live_relay import RedisLiveSubscriber  # noqa: E402
from transport.pipeline import runner  # noqa: E402
from transport.pipeline.batch import Batch  # noqa: E402
from transport.pipeline.steps.match import Match  # noqa: E402
from transport.reminders import read_reminder_log  # noqa: E402
from transport.simulation import SimulatedTrip, simulate_fleet, trip_fixes  # noqa: E402
from transport.store import registries  # noqa: E402
from transport.store import waybills as waybill_store  # noqa: E402
from transport.store.alerts import StoredAlert  # noqa: E402
from transport.store.engine import make_engine, make_session_factory, migrate  # noqa: E402
from transport.waybills import Waybill, WaybillEvent  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "pipeline.json"
RUN_CLI = "import sys; from api.cli import app; sys.argv[0] = 'hazmat'; app()"
N_VEHICLES = 1_000
N_SHARDS = 4
INTERVAL_S = 10.0
# (offered fixes/s, workers): the load and lighter ones, with one and two workers (two
# workers share one SQLite file, whose write lock they may wait for)
FLEET_RUNS = ((2_000.0, 1), (2_000.0, 2), (1_000.0, 1), (500.0, 1), (500.0, 2))
FLEET_RUN_MAX_S = 60.0
INGEST_MAX_S = 20.0
DRAIN_MAX_S = 240.0
MATCH_LAG = 2
TRIP_PAUSE = timedelta(minutes=30)
PHASES = ("match", "chain", "drain", "ingest", "fleet")
MATCH_BATCH = 8_000
LIVE_READ = 250  # fixes per shard read: 1,000 per batch, about one per vehicle
READ_LINGER_MS: int | None = None  # the workers' read linger; None: the worker's default
LOADS = ("1203", "1075", "1017", "1202", "1830")


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A redis-server without persistence on a free port."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server not found")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    for _ in range(200):
        with contextlib.suppress(redis.ConnectionError):
            client.ping()
            break
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a `hazmat` command at low priority, output to a log file."""
    command = ["nice", sys.executable, "-c", RUN_CLI, *args]
    handle = log.open("wb")
    return subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=handle)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process and of this one (the load generator)."""
    return {name: cpu_s(pid) for name, pid in pids.items()} | {
        "load_generator": time.process_time()
    }


def cpu_used(before: dict[str, float], pids: dict[str, int], window_s: float) -> dict[str, Any]:
    """CPU seconds each process used since `before`, and the cores they kept busy together."""
    used = {name: cpu - before[name] for name, cpu in cpu_snapshot(pids).items()}
    return {name: round(cpu, 1) for name, cpu in used.items()} | {
        "window_s": round(window_s, 1),
        "cores_used": round(sum(used.values()) / window_s, 2),
    }


def rss_mb(pid: int) -> float:
    """Resident memory of a process (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_args(redis_url: str, db_url: str, fix_db: Path, prefix: str, shards: str, name: str,
                layer: Path, *, track: bool = True,
                read: int | None = None) -> list[str]:  # fmt: skip
    options = [] if track else ["--no-track"]
    options += [] if read is None else ["--batch-size", str(read)]
    options += [] if READ_LINGER_MS is None else ["--read-linger-ms", str(READ_LINGER_MS)]
    return [
        "worker", "--redis", redis_url, "--n-shards", str(N_SHARDS), "--shards", shards,
        "--name", name, "--prefix", prefix, "--db", str(fix_db), "--network", "default",
        "--layers", str(layer), "--database", db_url, "--match-lag", str(MATCH_LAG), *options,
    ]  # fmt: skip


def shard_split(n_workers: int) -> list[str]:
    """Shards per worker: all for one, halves for two."""
    if n_workers == 1:
        return ["all"]
    return [
        ",".join(str(s) for s in range(N_SHARDS) if s % n_workers == k) for k in range(n_workers)
    ]


def stored_fixes(fix_db: Path) -> int:
    if not fix_db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(fix_db, timeout=30)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM fixes").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


# --- data -------------------------------------------------------------------------------------


def fleet_trips(network: Any) -> list[SimulatedTrip]:
    """The simulated trips of the fleet (staggered; see `rebased`)."""
    return simulate_fleet(
        network, N_VEHICLES, seed=808, start_at=fleet_start_at(), interval_s=INTERVAL_S
    )


def rebased(fixes: list[Fix], plate: str, index: int) -> list[Fix]:
    """A trip's fixes under the plate, moved to start with the others (the simulator staggers
    trips by 7 minutes; the fleet should be on the road together, and never in the future)."""
    shift = fixes[0].fix_at - fleet_start_at() - timedelta(seconds=index % 60)
    return [dataclasses.replace(f, vehicle_id=plate, fix_at=f.fix_at - shift) for f in fixes]


def continued(by_vehicle: list[list[Fix]], n_fixes: int) -> list[list[Fix]]:
    """Each vehicle's fixes, lengthened to `n_fixes` by driving the next vehicles' trips after
    it (each after a `TRIP_PAUSE` parked): the fleet runs offer their load to the end."""
    out = []
    for index, fixes in enumerate(by_vehicle):
        sequence = list(fixes)
        k = 1
        while len(sequence) < n_fixes:
            trip = by_vehicle[(index + k) % len(by_vehicle)]
            shift = sequence[-1].fix_at + TRIP_PAUSE - trip[0].fix_at
            sequence += [dataclasses.replace(f, vehicle_id=fixes[0].vehicle_id,
                                             fix_at=f.fix_at + shift) for f in trip]  # fmt: skip
            k += 1
        out.append(sequence[:n_fixes])
    return out


def fleet_start_at() -> datetime:
    """Yesterday 00:30 UTC, 08:30 in Beijing (the demo's daytime ban is in force)."""
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)


def plate_of(index: int) -> str:
    return f"粤B{index:05d}"


def seed_database(url: str) -> None:
    """One carrier, 1,000 tankers with terminals, each with a dispatched waybill."""
    migrate(url)
    engine = make_engine(url)
    catalogue = goods.load_builtin_catalogue()
    valid = date(2030, 12, 31)
    with make_session_factory(engine)() as session:
        carrier = registries.add_carrier(session, registry.Carrier(
            name="基准运输公司", permit_number="BENCH-0001", permitted_classes=("2", "3", "8"),
            permit_valid_until=valid))  # fmt: skip
        cid = carrier.id
        assert cid is not None, "a stored carrier has its id"
        people = [
            registries.add_record(
                session,
                registry.Person(
                    carrier_id=cid,
                    name=name,
                    role=role,
                    certificate_number=f"C-{name}",
                    permitted_classes=("2", "3", "8"),
                    certificate_valid_until=valid,
                ),
                carrier_id=cid,
            )
            for name, role in (
                ("张三", registry.PersonRole.DRIVER),
                ("李四", registry.PersonRole.ESCORT),
            )
        ]
        for index in range(N_VEHICLES):
            vehicle = registries.add_record(session, registry.Vehicle(
                carrier_id=cid, plate=plate_of(index), licence_number=f"XSZ{index}",
                licence_valid_until=valid, operating_certificate_number=f"YYZ{index}",
                operating_certificate_valid_until=valid, rated_load_kg=30_000, is_tank=True,
                terminal_phone=f"0199{index:08d}"), carrier_id=cid)  # fmt: skip
            waybill = Waybill.model_validate({
                "carrier_id": cid, "vehicle_id": vehicle.id, "driver_id": people[0].id,
                "escort_id": people[1].id,
                "consignor": {"name": "托运人"}, "consignee": {"name": "收货人"},
                "loader": {"name": "装货人"},
                "lines": [{"un_number": LOADS[index % len(LOADS)], "quantity": 20, "unit": "t",
                           "carriage": "tank"}],
                "loading_place": {"name": "A"}, "unloading_place": {"name": "B"},
                "planned_departure_at": datetime.now(UTC) - timedelta(days=2),
                "emergency_contact": {"name": "王强", "phone": "13900139000"},
            })  # fmt: skip
            created = waybill_store.create_waybill(session, waybill, carrier_id=cid,
                                                   catalogue=catalogue)  # fmt: skip
            waybill_store.apply_event(session, waybill_id=created.id, event=WaybillEvent.DISPATCH,  # type: ignore[arg-type]
                                      carrier_id=cid, actor="bench")  # fmt: skip
        session.commit()
    engine.dispose()


# --- phase 0: the match step alone -----------------------------------------------------------


def match_phase(network: Any, fixes: list[Fix], *, repeats: int = 3) -> dict[str, Any]:
    """Best-of-`repeats` fixes/s of the worker's match step over the fleet, after a warm-up
    (which also builds the network's matching index)."""
    best = float("inf")
    for attempt in range(repeats + 1):
        step = Match(network, MatchParams(lag=MATCH_LAG))
        started = time.perf_counter()
        for begin in range(0, len(fixes), MATCH_BATCH):
            step(Batch(tuple(fixes[begin : begin + MATCH_BATCH]), {}))
        if attempt:
            best = min(best, time.perf_counter() - started)
    result = {"batch_fixes": MATCH_BATCH, "fixes": len(fixes), "seconds": round(best, 3),
              "fixes_per_s": round(len(fixes) / best)}  # fmt: skip
    print({"match_step": result})
    return {"match_step": result}


# --- phase 1 and 2: worker throughput and memory ----------------------------------------------


def drain(redis_url: str, fixes: list[Fix], databases: BenchDatabases, layer: Path, work: Path,
          n_workers: int, *, track: bool = True,
          read: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Put every fix on Redis, start `n_workers` workers, time them until all are stored
    (`read`: fixes per shard read, the worker's default when None)."""
    prefix = f"drain{n_workers}{'' if track else 'notrack'}{read or ''}"
    db_url = databases.copy(prefix)
    fix_db = work / f"{prefix}-fixes.sqlite"

    async def preload() -> None:
        bus = RedisStreamsBus(redis_url, n_shards=N_SHARDS, prefix=prefix)
        for begin in range(0, len(fixes), 2_000):
            await bus.publish(fixes[begin : begin + 2_000])
        await bus.close()

    asyncio.run(preload())
    workers = [
        start(
            worker_args(
                redis_url,
                db_url,
                fix_db,
                prefix,
                shards,
                f"w{k}",
                layer,
                track=track,
                read=read,
            ),
            work / f"{prefix}-w{k}.log",
        )
        for k, shards in enumerate(shard_split(n_workers))
    ]
    try:
        deadline = time.monotonic() + DRAIN_MAX_S
        while (first := stored_fixes(fix_db)) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        rss0 = [rss_mb(w.pid) for w in workers]
        while (done := stored_fixes(fix_db)) < len(fixes) and time.monotonic() < deadline:
            time.sleep(0.1)
        elapsed_s = time.monotonic() - t0
        rss1 = [rss_mb(w.pid) for w in workers]
        client = redis.Redis.from_url(redis_url)
        state_bytes = int(client.memory_usage(f"{prefix}:vehicle_state") or 0)
    finally:
        for worker in workers:
            stop(worker)  # each finishes (and publishes) the batch in hand
    alerts = count_alerts(db_url)
    rate = (done - first) / elapsed_s if elapsed_s > 0 else float("nan")
    return {
        "workers": n_workers,
        "track_points_stored": track,
        "fixes_per_shard_read": read or runner.DEFAULT_BATCH_SIZE,
        "worker_ms_per_fix_by_step": step_costs(
            [work / f"{prefix}-w{k}.log" for k in range(n_workers)]
        ),
        "fixes": len(fixes),
        "fixes_stored": done,
        "seconds": round(elapsed_s, 2),
        "fixes_per_s": round(rate),
        "fixes_per_s_per_worker": round(rate / n_workers),
        "alerts_stored": alerts,
        "worker_rss_mb_first_batch": [round(r, 1) for r in rss0],
        "worker_rss_mb_end": [round(r, 1) for r in rss1],
        "redis_checkpoint_bytes": state_bytes,
        "complete": done == len(fixes),
    }


def step_costs(logs: list[Path]) -> dict[str, float]:
    """Milliseconds per fix of each step, from the workers' closing statistics lines."""
    seconds: dict[str, float] = {}
    fixes = 0
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if " stopped: {" in line:
                stats = ast.literal_eval(line.split(" stopped: ", 1)[1])
                fixes += int(stats.get("Deduplicate.in", 0))
                for key, value in stats.items():
                    if key.endswith(".seconds"):
                        step = key.removesuffix(".seconds")
                        seconds[step] = seconds.get(step, 0.0) + float(value)
    return {step: round(1000 * s / fixes, 3) for step, s in seconds.items()} if fixes else {}


# --- phase 3 and 4: terminals through the gateway ---------------------------------------------


def location(fix: Fix) -> messages.LocationReport:
    """The 0x0200 report of one fix."""
    return messages.LocationReport(
        alarm=messages.Alarm(0), status=messages.Status.FIXED | messages.Status.ACC_ON,
        latitude_deg=round(fix.lat, 6), longitude_deg=round(fix.lon, 6), altitude_m=0,
        speed_kmh=round(fix.speed_kmh, 1), direction_deg=int(fix.heading_deg) % 360,
        fix_at=fix.fix_at.replace(microsecond=0),
    )  # fmt: skip


async def signed_in_terminals(port: int, n: int) -> list[jt808_terminal.TerminalClient]:
    """Connect and sign in `n` terminals (in groups, so the gateway is not flooded)."""
    clients = [jt808_terminal.TerminalClient(f"0199{i:08d}", reply_timeout_s=30) for i in range(n)]

    async def sign_in(index: int, client: jt808_terminal.TerminalClient) -> None:
        await client.connect("127.0.0.1", port)
        await client.sign_in(
            messages.Register(44, 300, "BENCH", "SIM-808", f"S{index:06d}", 1, plate_of(index))
        )

    for begin in range(0, n, 100):
        await asyncio.gather(*(sign_in(i, clients[i]) for i in range(begin, min(begin + 100, n))))
    return clients


async def ingest(port: int, by_vehicle: list[list[Fix]], gateway_pid: int) -> dict[str, Any]:
    """Every terminal sends its fixes back to back; count what the gateway accepted, and the
    CPU seconds of the gateway and the load generator while they sent."""
    clients = await signed_in_terminals(port, len(by_vehicle))
    accepted = 0
    deadline = time.monotonic() + INGEST_MAX_S  # from the end of the sign-ins

    async def drive(client: jt808_terminal.TerminalClient, fixes: list[Fix]) -> None:
        nonlocal accepted
        for fix in fixes:
            if time.monotonic() > deadline:
                return
            reply = await client.request(location(fix))
            accepted += reply.result == messages.ReplyResult.OK

    pids = {"gateway": gateway_pid}
    cpu_before = cpu_snapshot(pids)
    started = time.monotonic()
    await asyncio.gather(*(drive(c, f) for c, f in zip(clients, by_vehicle, strict=True)))
    elapsed_s = time.monotonic() - started
    cpu_seconds = cpu_used(cpu_before, pids, elapsed_s)
    await asyncio.gather(*(c.close() for c in clients))
    return {"terminals": len(clients), "fixes_accepted": accepted,
            "seconds": round(elapsed_s, 2), "fixes_per_s": round(accepted / elapsed_s),
            "cpu_seconds": cpu_seconds}  # fmt: skip


async def fleet_run(port: int, redis_url: str, prefix: str, by_vehicle: list[list[Fix]],
                    offered_per_s: float, pids: dict[str, int]) -> dict[str, Any]:  # fmt: skip
    """1,000 terminals at a fixed total rate; latency fix sent → alert on the live channel.

    The frames are encoded before the clock starts and sent by one scheduler at their due
    times, replies read as they come, the heap settled: the load generator shares the two
    cores with the gateway and the workers, and must not be what limits the offered load. The
    CPU seconds of the processes in `pids` and of the load generator are counted from the
    first frame sent to the end of the tail that lets the workers finish.
    """
    hub = LiveHub()
    alerts_seen = hub.subscribe(all_carriers=True, kinds=[MessageKind.ALERT])
    subscriber = RedisLiveSubscriber(redis_url, hub, prefix=prefix)
    stop_event = asyncio.Event()
    relay = asyncio.create_task(subscriber.run(stop=stop_event))
    await asyncio.wait_for(subscriber.subscribed.wait(), 10)
    clients = await signed_in_terminals(port, len(by_vehicle))
    per_vehicle_s = len(by_vehicle) / offered_per_s
    schedule = []
    for index, (client, fixes) in enumerate(zip(clients, by_vehicle, strict=True)):
        offset_s = index * per_vehicle_s / len(by_vehicle)  # spread the terminals over a period
        for k, fix in enumerate(fixes):
            due_s = offset_s + k * per_vehicle_s
            if due_s > FLEET_RUN_MAX_S:
                break
            frame = messages.encode(location(fix), version=client.version, phone=client.phone,
                                    serial=client.next_serial)  # fmt: skip
            client.next_serial += 1
            key = (fix.vehicle_id, fix.fix_at.replace(microsecond=0))
            schedule.append((due_s, index, frame, key))
    schedule.sort(key=lambda item: item[0])
    sent_at: dict[tuple[str, datetime], float] = {}
    received: dict[str, tuple[float, Any]] = {}

    async def collect() -> None:
        while True:
            message = await alerts_seen.get()
            item = message.item
            if isinstance(item, StoredAlert):  # the subscription takes alerts only
                received.setdefault(item.alert_key, (time.time(), item))

    collector = asyncio.create_task(collect())
    with settled_heap():  # the schedule and the bench's data are not scanned while it runs
        cpu_before = cpu_snapshot(pids)
        started = time.monotonic()
        for due_s, index, frame, key in schedule:
            delay = started + due_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_at[key] = time.time()
            await clients[index].send_raw(frame)
        sending_s = time.monotonic() - started
        await asyncio.sleep(8.0)  # let the workers finish the queue
        cpu_seconds = cpu_used(cpu_before, pids, time.monotonic() - started)
    collector.cancel()
    stop_event.set()
    await asyncio.gather(relay, collector, return_exceptions=True)
    await asyncio.gather(*(c.close() for c in clients))
    accepted = sum(
        isinstance(m, messages.PlatformReply) and m.result == messages.ReplyResult.OK
        for c in clients for m in c.unmatched
    )  # fmt: skip
    acknowledged = sum(isinstance(m, messages.TextMessage) for c in clients for m in c.received)
    return _latencies(received, sent_at, by_vehicle) | {
        "terminals": len(clients), "offered_fixes_per_s": offered_per_s,
        "fixes_sent": len(sent_at), "fixes_accepted": accepted,
        "sending_seconds": round(sending_s, 1),
        "achieved_fixes_per_s": round(len(sent_at) / sending_s),
        "alerts_on_live_channel": len(received), "reminders_received_by_terminals": acknowledged,
        "cpu_seconds": cpu_seconds,
    }  # fmt: skip


def _latencies(received: dict[str, tuple[float, Any]], sent_at: dict[tuple[str, datetime], float],
               by_vehicle: list[list[Fix]]) -> dict[str, Any]:  # fmt: skip
    """Alert latency from the fix that started the condition (includes the rules' minimum
    durations), and from the fix that let the matcher decide the fix the alert opened at
    (the `MATCH_LAG`-th fix after it): the system's own delay. The opening fix is the alert's
    last fix when first published (a later fix of the same batch, if any, makes it shorter)."""
    times = {fixes[0].vehicle_id: [f.fix_at.replace(microsecond=0) for f in fixes]
             for fixes in by_vehicle if fixes}  # fmt: skip
    from_start, from_decision = [], []
    for arrived, alert in received.values():
        vehicle, sequence = alert.vehicle_key, times[alert.vehicle_key]
        started = alert.started_at.astimezone(UTC).replace(microsecond=0)
        if (vehicle, started) in sent_at:
            from_start.append(arrived - sent_at[(vehicle, started)])
        opened = alert.last_at.astimezone(UTC).replace(microsecond=0)
        if opened not in sequence:
            continue
        position = sequence.index(opened) + MATCH_LAG
        if position < len(sequence) and (vehicle, sequence[position]) in sent_at:
            from_decision.append(arrived - sent_at[(vehicle, sequence[position])])

    def stats(values: list[float]) -> dict[str, float | int]:
        if not values:
            return {"n": 0}
        ms = np.array(values) * 1000
        p50_ms, p99_ms = (round(float(np.percentile(ms, q))) for q in (50, 99))
        return {"n": len(values), "p50_ms": p50_ms, "p99_ms": p99_ms,
                "max_ms": round(float(ms.max()))}  # fmt: skip

    return {"latency_from_violating_fix": stats(from_start),
            "latency_from_deciding_fix": stats(from_decision)}  # fmt: skip


def wait_listening(process: subprocess.Popen[bytes], port: int, timeout_s: float = 120.0) -> None:
    """Wait until a started process accepts connections on `port`.

    Raises
    ------
    RuntimeError
        The process exited first.
    TimeoutError
        Nothing listens after `timeout_s` (a slow machine may need long: imports, network).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"process exited with {process.returncode} before listening on port {port}"
            raise RuntimeError(msg)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    msg = f"nothing listens on port {port} after {timeout_s:.0f} s"
    raise TimeoutError(msg)


def with_gateway(redis_url: str, prefix: str, work: Path, coroutine: Any) -> dict[str, Any]:
    """Run a coroutine (given the port and the gateway's pid) against a `hazmat gateway
    --redis` process on a free port."""
    port = free_port()
    gateway = start(["gateway", "--redis", redis_url, "--n-shards", str(N_SHARDS), "--port",
                     str(port), "--prefix", prefix, "--gateway-id", f"{prefix}-gw"],
                    work / f"{prefix}-gateway.log")  # fmt: skip
    try:
        wait_listening(gateway, port)
        result: dict[str, Any] = asyncio.run(coroutine(port, gateway.pid))
        result["gateway_rss_mb"] = round(rss_mb(gateway.pid), 1)
        return result
    finally:
        stop(gateway)


def fleet(redis_url: str, databases: BenchDatabases, layer: Path, work: Path,
          by_vehicle: list[list[Fix]],
          *, offered_per_s: float, n_workers: int, run: int) -> dict[str, Any]:  # fmt: skip
    """Gateway and workers with monitoring; 1,000 terminals at a fixed offered load. Each run
    (its index in `--fleet-runs`) has its own stores and Redis keys: a repeated load would
    otherwise find its fixes stored already and drop them all as duplicates."""
    prefix = f"fleet{run}-{int(offered_per_s)}w{n_workers}"
    per_vehicle = int(FLEET_RUN_MAX_S * offered_per_s / len(by_vehicle)) + 1
    by_vehicle = continued(by_vehicle, per_vehicle)
    db_url = databases.copy(prefix)
    fix_db = work / f"{prefix}-fixes.sqlite"
    workers = [
        start(worker_args(redis_url, db_url, fix_db, prefix, shards, f"f{k}",
                          layer), work / f"{prefix}-w{k}.log")
        for k, shards in enumerate(shard_split(n_workers))
    ]  # fmt: skip
    try:
        client = redis.Redis.from_url(redis_url)
        while len(client.keys(f"{prefix}:lease:*")) < N_SHARDS:  # workers ready
            time.sleep(0.2)
        pids = {f"worker_{k}": w.pid for k, w in enumerate(workers)}
        pids["redis"] = int(client.info("server")["process_id"])
        result = with_gateway(
            redis_url, prefix, work,
            lambda port, gateway_pid: fleet_run(port, redis_url, prefix, by_vehicle,
                                                offered_per_s, pids | {"gateway": gateway_pid}),
        )  # fmt: skip
        log = read_reminder_log(client, prefix=prefix)
        result["reminder_log"] = {
            status: sum(e["status"] == status for e in log)
            for status in ("queued", "sent", "acknowledged", "undeliverable")
        }
    finally:
        for worker in workers:
            stop(worker)
    result["workers"] = n_workers
    result["alerts_stored"] = count_alerts(db_url)
    result["fixes_stored"] = stored_fixes(fix_db)
    print(result)
    return result


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    global N_VEHICLES, READ_LINGER_MS  # a smaller fleet for a smoke run; a linger to compare
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=N_VEHICLES)
    parser.add_argument("--out", type=Path, default=None,
                        help=f"default: {RESULTS.relative_to(ROOT)} for all phases, else a file "
                             "beside it named by the phases run")  # fmt: skip
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES),
                        help="what to measure (default: all)")  # fmt: skip
    parser.add_argument("--fleet-runs", nargs="+", type=fleet_run_option, default=FLEET_RUNS,
                        metavar="RATExWORKERS",
                        help="fleet runs as offered fixes/s x workers, e.g. 2000x1")  # fmt: skip
    parser.add_argument("--read-linger-ms", type=int, default=None,
                        help="the workers' read linger (default: the worker's own)")  # fmt: skip
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="record into PostgreSQL databases made on this server (e.g. "
                             "postgresql+psycopg://postgres@127.0.0.1:5432/postgres); "
                             "default: SQLite files")  # fmt: skip
    options = parser.parse_args()
    N_VEHICLES = options.vehicles
    READ_LINGER_MS = options.read_linger_ms
    network = sources.load_network()
    trips = fleet_trips(network)
    by_vehicle = [rebased(trip_fixes(trip), plate_of(i), i) for i, trip in enumerate(trips)]
    fixes = sorted((f for fs in by_vehicle for f in fs), key=lambda f: f.fix_at)
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "reference_loop_s": reference_loop_s(),
        },
        "setup": {
            "network": network.name,
            "layers": ["helsinki-demo (default_demo_layer)", "osm"],
            "vehicles": N_VEHICLES,
            "fixes": len(fixes),
            "fix_interval_s": INTERVAL_S,
            "shards": N_SHARDS,
            "match_lag": MATCH_LAG,
            "read_linger_ms": READ_LINGER_MS if READ_LINGER_MS is not None else "worker default",
            "database": "PostgreSQL" if options.postgres else "SQLite (WAL)",
            "sinks": [
                "alerts → database + live channel",
                "reminders → gateway",
                "track points → database + live channel",
            ],
        },
    }
    if "match" in options.phases:
        results |= match_phase(network, fixes)
    if set(options.phases) - {"match"}:
        results |= server_phases(options.phases, network, fixes, by_vehicle,
                                 fleet_runs=tuple(options.fleet_runs),
                                 postgres_url=options.postgres)  # fmt: skip
    out = options.out or results_path(options.phases)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def results_path(phases: list[str]) -> Path:
    """Where a run's results go by default: a run of some phases does not overwrite the
    record of a full run."""
    if set(phases) == set(PHASES):
        return RESULTS
    return RESULTS.with_name(f"{RESULTS.stem}-{'-'.join(p for p in PHASES if p in phases)}.json")


def fleet_run_option(text: str) -> tuple[float, int]:
    """A `--fleet-runs` item: offered fixes/s and workers, as ``2000x1``."""
    rate, _, workers = text.partition("x")
    try:
        return float(rate), int(workers)
    except ValueError:
        msg = f"expected offered fixes/s x workers, as 2000x1; got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def server_phases(phases: list[str], network: Any, fixes: list[Fix],
                  by_vehicle: list[list[Fix]], *, fleet_runs: tuple[tuple[float, int], ...],
                  postgres_url: str | None) -> dict[str, Any]:  # fmt: skip
    """The phases with Redis, a database (SQLite, or PostgreSQL on `postgres_url`), workers
    and a gateway."""
    with tempfile.TemporaryDirectory() as scratch, redis_server(Path(scratch)) as redis_url:
        work = Path(scratch)
        databases = PostgresDatabases(postgres_url) if postgres_url else SqliteDatabases(work)
        try:
            t0 = time.monotonic()
            seed_database(databases.seed_url)
            print(f"seeded {N_VEHICLES} vehicles and waybills in {time.monotonic() - t0:.1f} s")
            return phases_on(phases, redis_url, databases, work, network, fixes, by_vehicle,
                             fleet_runs=fleet_runs)  # fmt: skip
        finally:
            databases.close()


def phases_on(phases: list[str], redis_url: str, databases: BenchDatabases, work: Path,
              network: Any, fixes: list[Fix], by_vehicle: list[list[Fix]], *,
              fleet_runs: tuple[tuple[float, int], ...]) -> dict[str, Any]:  # fmt: skip
    """Run the server phases on a seeded database and a Redis."""
    results: dict[str, Any] = {}
    layer = demo_layers.default_demo_layer(network)
    layer_path = work / "demo-layer.geojson"
    layer_path.write_text(json.dumps(layer.model_dump(mode="json", exclude_none=True)))
    if "chain" in phases:
        results["chain_by_read"] = chain_costs(redis_url, databases.copy, work, network,
                                               layer, fixes, match_lag=MATCH_LAG)  # fmt: skip
        print({"chain_by_read": results["chain_by_read"]})
    if "drain" in phases:
        results |= drain_phase(redis_url, fixes, databases, layer_path, work)
    if "ingest" in phases:
        results["gateway_ingest"] = with_gateway(
            redis_url, "ingest", work, lambda port, pid: ingest(port, by_vehicle, pid)
        )
        print(results["gateway_ingest"])
    if "fleet" in phases:
        results["fleet_runs"] = [
            fleet(redis_url, databases, layer_path, work, by_vehicle,
                  offered_per_s=r, n_workers=w, run=k)
            for k, (r, w) in enumerate(fleet_runs)
        ]  # fmt: skip
    return results


def drain_phase(redis_url: str, fixes: list[Fix], databases: BenchDatabases, layer_path: Path,
                work: Path) -> dict[str, Any]:  # fmt: skip
    """Worker throughput with 1 and 2 workers (and 1 without track points, 1 with live-sized
    reads), and memory."""
    runs = []
    for n_workers, track, read in ((1, True, None), (2, True, None), (1, False, None),
                                   (1, True, LIVE_READ)):  # fmt: skip
        run = drain(
            redis_url, fixes, databases, layer_path, work, n_workers, track=track, read=read
        )
        print(run)
        runs.append(run)
    one = runs[0]
    return {"worker_throughput": runs, "memory": {
            "worker_rss_mb_per_1000_active_vehicles": round(
                (one["worker_rss_mb_end"][0] - one["worker_rss_mb_first_batch"][0])
                * 1000 / N_VEHICLES, 1),
            "worker_rss_mb_total_with_1000_vehicles": one["worker_rss_mb_end"][0],
            "redis_checkpoint_kb_per_1000_vehicles": round(
                one["redis_checkpoint_bytes"] / 1024 * 1000 / N_VEHICLES, 1),
    }}  # fmt: skip


if __name__ == "__main__":
    main()
