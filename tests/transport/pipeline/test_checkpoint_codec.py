"""Tests for the checkpoint codec: states come back exactly, earlier workers' checkpoints load."""

from __future__ import annotations

import base64
import dataclasses
import pickle
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.transport.bus.fixtures import fixes, make_fix
from transport.alerts.evidence import Evidence, FixEvidence
from transport.alerts.lifecycle import Alert, AlertStatus, LifecycleState, _Track
from transport.bus import fix_json
from transport.matched import MatchedFix
from transport.monitoring import MonitorState
from transport.pipeline.batch import VehicleState
from transport.pipeline.checkpoint_codec import RULE_STATE_TYPES, decode_state, encode_state
from transport.pipeline.steps.evaluate_rules import MonitorCheckpoint
from transport.pipeline.steps.match import WaitingFixes
from transport.rules import RULES
from transport.rules.base import Text
from transport.rules.driving_time import DrivingState
from transport.rules.forbidden import ExitGrace, ForbiddenState, Phase
from transport.rules.parking import ParkingState
from transport.rules.route_deviation import DeviationState
from transport.rules.speed import SpeedState

INT64 = st.integers(-(2**63), 2**63 - 1)
times = st.datetimes(  # hypothesis takes naive bounds; the values are UTC
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda at: at.replace(fold=0))  # a fold means nothing in UTC
maybe_times = st.none() | times
floats = st.floats()  # NaN, infinities and -0.0 included
texts = st.text(max_size=12)
text_pairs = st.builds(Text, zh=texts, en=texts)

fix_evidence = st.builds(
    FixEvidence, fix_at=times, lon=floats, lat=floats, speed_kmh=floats, edge_id=INT64
)
evidence = st.builds(
    Evidence,
    rule_id=texts, rule_title=text_pairs, legal_basis=text_pairs, fact=text_pairs,
    restriction_id=st.none() | texts, schedule=st.none() | texts,
    fixes=st.lists(fix_evidence, max_size=40).map(tuple),
    edge_ids=st.lists(INT64, max_size=8).map(tuple), fix_count=INT64,
    peak_value=st.none() | floats, limit=st.none() | floats,
)  # fmt: skip
alerts = st.builds(
    Alert,
    alert_id=texts, vehicle_id=texts, rule_id=texts, key=texts,
    status=st.sampled_from(AlertStatus), severity=texts, started_at=times, last_at=times,
    ended_at=maybe_times, evidence=evidence, waybill_id=st.none() | texts,
    acknowledged_by=st.none() | texts, acknowledged_at=maybe_times,
)  # fmt: skip
tracks = st.builds(_Track, first_at=times, last_at=times, clear_fixes=INT64,
                   alert=st.none() | alerts)  # fmt: skip
parking = st.builds(ParkingState, stop_since=maybe_times, anchor_x=floats, anchor_y=floats,
                    fix_count=INT64)  # fmt: skip
rule_states = st.tuples(
    st.builds(ForbiddenState, graces=st.lists(st.builds(
        ExitGrace, restriction_id=texts, phase=st.sampled_from(Phase), since_at=maybe_times,
        driven_m=floats, edge_id=INT64,
    ), max_size=3).map(tuple)),
    st.none(),
    st.none(),
    st.builds(SpeedState, over_since=maybe_times, peak_kmh=floats),
    st.builds(DrivingState, last_at=maybe_times, was_moving=st.booleans(), continuous_s=floats,
              night_s=floats, rest_s=floats,
              driven=st.lists(st.tuples(INT64, INT64), max_size=4).map(tuple)),
    parking, parking, parking, parking,
    st.builds(DeviationState, outside_since=maybe_times, max_distance_m=floats),
)  # fmt: skip
matched_fixes = st.builds(
    MatchedFix,
    vehicle_id=texts, fix_at=times, x=floats, y=floats, lon=floats, lat=floats,
    speed_kmh=floats, edge_id=INT64, offset_m=floats,
    path_edge_ids=st.lists(INT64, max_size=6).map(tuple), alarm_bits=INT64,
    is_backfill=st.booleans(), heading_deg=floats,
)  # fmt: skip
monitor_states = st.builds(
    MonitorState,
    rule_states=rule_states,
    alerts=st.builds(LifecycleState, tracks=st.dictionaries(st.tuples(texts, texts), tracks,
                                                            max_size=3)),
    last_fix=st.none() | matched_fixes,
)  # fmt: skip
vehicle_states = st.builds(
    VehicleState,
    vehicle_id=texts,
    last_fix_us=st.none() | INT64,
    recent_fix_us=st.lists(INT64, max_size=32).map(tuple),
    fixes_seen=INT64,
    backfill_seen=INT64,
    monitor=st.fixed_dictionaries({
        "rules": monitor_states.map(MonitorCheckpoint),
        "match": st.lists(fixes, max_size=3).map(lambda waiting: WaitingFixes(tuple(waiting))),
    }),
)  # fmt: skip


def as_read(state: VehicleState) -> VehicleState:
    """A state as it is read back: each monitor part as its checkpoint value."""
    monitor = {key: value.checkpoint_value() for key, value in state.monitor.items()}
    return dataclasses.replace(state, monitor=monitor)


@given(vehicle_states)
def test_a_state_comes_back_from_its_checkpoint_exactly(state: VehicleState) -> None:
    read = decode_state(encode_state(state))

    assert repr(read) == repr(as_read(state))  # repr: NaN compares equal, UTC zones shown
    rule_states_read = read.monitor["rules"].rule_states
    assert tuple(type(rule_state) for rule_state in rule_states_read) == RULE_STATE_TYPES


def test_a_time_in_another_zone_comes_back_as_the_same_instant_in_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    waiting = (make_fix(fix_at=datetime(2026, 3, 2, 16, 0, tzinfo=beijing)),)

    read = decode_state(encode_state(VehicleState("粤B12345", monitor={"match": waiting})))

    [fix] = read.monitor["match"]
    assert fix.fix_at == waiting[0].fix_at and fix.fix_at.tzinfo is UTC


def test_numpy_numbers_are_written_as_the_numbers_they_hold() -> None:
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    last = MatchedFix("粤B12345", at, np.float64(1.5), 2.0, 114.0, 22.5, 40.0, np.int64(7), 3.0,
                      (np.int64(7),), 0, np.bool_(False))  # fmt: skip
    state = VehicleState("粤B12345", monitor={"rules": MonitorState((None,), last_fix=last)})

    read = decode_state(encode_state(state))

    assert read.monitor["rules"].last_fix == last
    assert type(read.monitor["rules"].last_fix.edge_id) is int


def test_rule_states_written_with_other_rules_are_kept_as_plain_data() -> None:
    # The monitor restarts those clocks (it cannot pair them with its rules) and keeps alerts.
    written = MonitorState((SpeedState(None, 88.0),), last_fix=None)

    read = decode_state(encode_state(VehicleState("粤B12345", monitor={"rules": written})))

    assert read.monitor["rules"].rule_states == ({"over_since": None, "peak_kmh": 88.0},)


def test_a_part_of_no_known_type_comes_back_as_plain_data() -> None:
    state = VehicleState("粤B12345", monitor={"note": {"seen": [1, 2]}})

    assert decode_state(encode_state(state)) == state


def test_a_checkpoint_pickled_by_an_earlier_worker_loads() -> None:
    monitor_state = MonitorState(tuple(rule.initial_state() for rule in RULES))
    waiting = (make_fix(step=2),)
    fields = {"vehicle_id": "粤B12345", "last_fix_us": 5, "recent_fix_us": (4, 5),
              "fixes_seen": 2, "backfill_seen": 0,
              "monitor": {"rules": monitor_state, "match": waiting}}  # fmt: skip

    read = decode_state(pickle.dumps(fields, protocol=pickle.HIGHEST_PROTOCOL))

    assert repr(read) == repr(VehicleState("粤B12345", 5, (4, 5), 2, 0, fields["monitor"]))


def test_a_checkpoint_of_earlier_workers_json_loads() -> None:
    monitor_state, waiting = MonitorState(rule_states=(None, 3)), make_fix(step=2)
    legacy = {
        "vehicle_id": "粤B12345", "last_fix_us": 5, "recent_fix_us": [4, 5], "fixes_seen": 2,
        "backfill_seen": 0,
        "monitor": {
            "rules": base64.b64encode(pickle.dumps(monitor_state)).decode(),
            "match": [fix_json.fix_to_json(waiting).decode()],
        },
    }  # fmt: skip

    read = decode_state(orjson.dumps(legacy))

    assert (read.last_fix_us, read.recent_fix_us, read.fixes_seen) == (5, (4, 5), 2)
    assert read.monitor == {"rules": monitor_state, "match": (waiting,)}


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (pickle.dumps(["V1"]), "checkpoint holds a list, not a vehicle state's fields"),
        (pickle.dumps({"vehicle_id": "V1"}), "unreadable: 'recent_fix_us'"),
        (b"\x80\x05\x95", "checkpoint of an earlier worker unreadable"),
        (b'{"vehicle_id": ', "checkpoint of an earlier worker unreadable"),
        (b"\x93\x01\x02\x03", "Expected `array` of at least length 6, got 3"),
        (b"\xc1", "checkpoint is not a vehicle state"),
    ],
    ids=[
        "pickled-list",
        "pickled-fields-missing",
        "cut-pickle",
        "cut-json",
        "short-array",
        "not-msgpack",
    ],
)
def test_a_checkpoint_holding_something_else_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        decode_state(data)
