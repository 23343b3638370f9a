"""Replay one real loopback session (ybzwyrcld/jt808 client and server) through the codec."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import shared_data_path
from tests.transport.gateway.conftest import LIVE_CAPTURE, read_tsv
from transport.gateway import jt808_frames as frames
from transport.gateway import jt808_messages as messages

ROWS = read_tsv(LIVE_CAPTURE)


def test_capture_is_present() -> None:
    assert shared_data_path(LIVE_CAPTURE).stat().st_size > 0
    assert len(ROWS) == 18


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['direction'][:8]}-{r['frame_hex'][2:6]}")
def test_every_captured_frame_decodes(row: dict[str, str]) -> None:
    raw = bytes.fromhex(row["frame_hex"])
    frame = frames.decode_frame(raw)
    message = messages.decode(frame)
    assert not isinstance(message, messages.UnknownMessage)
    assert frame.header.phone == "013395279527"
    assert (
        messages.encode(
            message, version=frame.header.version, phone="013395279527", serial=frame.header.serial
        )
        == raw
    )


def test_session_reads_as_register_auth_and_acknowledged_reports() -> None:
    stream = b"".join(bytes.fromhex(row["frame_hex"]) for row in ROWS)
    splitter = frames.FrameSplitter()
    raws = [
        raw
        for start in range(0, len(stream), 7)
        for raw in splitter.feed(stream[start : start + 7])
    ]
    decoded = [messages.decode(frames.decode_frame(raw)) for raw in raws]
    kinds = [type(message).__name__ for message in decoded]
    assert kinds[:4] == ["Register", "RegisterReply", "Auth", "PlatformReply"]
    assert kinds[4:] == ["LocationReport", "PlatformReply"] * 7
    register, reply = decoded[0], decoded[1]
    assert register == messages.Register(44, 300, "SKOEM", "SK9151", "000001", 1, "粤B12345")
    assert isinstance(reply, messages.RegisterReply) and reply.auth_code == "387582241"
    assert decoded[2] == messages.Auth("387582241")
    first = decoded[4]
    assert isinstance(first, messages.LocationReport)
    assert (first.latitude_deg, first.longitude_deg) == (22.570336, 113.937577)
    assert first.fix_at == datetime(2020, 11, 23, 10, 46, 35, tzinfo=UTC)
    assert first.extras.satellites == 11 and first.status == messages.Status.FIXED
    assert splitter.garbage_bytes == 0 and splitter.oversized_frames == 0
