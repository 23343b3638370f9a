"""Tests for JT/T 808 framing: delimiting, escaping, checksum, header, stream splitting."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import shared_data_path
from tests.transport.gateway.conftest import HARVESTED, read_tsv
from transport.gateway import jt808_frames as frames
from transport.gateway._errors import FrameError

FRAME_REASONS = {
    "frame_too_long",
    "missing_delimiter",
    "unescaped_delimiter",
    "frame_too_short",
    "bad_checksum",
    "truncated",
    "bad_bcd",
    "body_length_mismatch",
}
HARVESTED_ROWS = read_tsv(HARVESTED)
VALID_ROWS = [row for row in HARVESTED_ROWS if row["checksum_and_length_ok"] == "1"]
INVALID_ROWS = [row for row in HARVESTED_ROWS if row["checksum_and_length_ok"] == "0"]


def _row_id(row: dict[str, str]) -> str:
    """Name a harvested row by id, version and the tail of its checksum-bearing hex."""
    return f"{row['msg_id']}-{row['version'][-4:]}-{row['frame_hex'][-12:-2]}"


def test_reference_frames_are_present() -> None:
    assert shared_data_path(HARVESTED).stat().st_size > 0
    assert len(VALID_ROWS) == 296
    assert len(INVALID_ROWS) == 49


@pytest.mark.parametrize("row", VALID_ROWS, ids=_row_id)
def test_valid_harvested_frame_decodes_to_recorded_header(row: dict[str, str]) -> None:
    raw = bytes.fromhex(row["frame_hex"])
    frame = frames.decode_frame(raw)
    expected_version = frames.Version.V2019 if row["version"] == "2019" else frames.Version.V2013
    assert frame.header.message_id == int(row["msg_id"], 16)
    assert frame.header.version is expected_version
    assert len(raw) == int(row["frame_len_bytes"])
    assert frames.decode_frame(frames.encode_frame(frame)) == frame


@pytest.mark.parametrize("row", INVALID_ROWS, ids=_row_id)
def test_invalid_harvested_frame_is_rejected_with_reasons(row: dict[str, str]) -> None:
    with pytest.raises(FrameError, match="|".join(sorted(FRAME_REASONS))) as caught:
        frames.decode_frame(bytes.fromhex(row["frame_hex"]))
    assert caught.value.reasons
    assert set(caught.value.reasons) <= FRAME_REASONS


BAD_FRAMES = [
    pytest.param(
        "7E02000026123456789012007E000000010000000200BA7F0E07E4F11C0028003C0000181015101010"
        "0104000000640202007D137E",
        ("unescaped_delimiter",),
        r"unescaped_delimiter: 7E at offset 12",
        id="unescaped-7E-inside",
    ),
    pytest.param(
        "7E0200001C2234567890150000000000000002080301CD779E0728C032003C0000008F230125145158FA7E",
        ("bad_checksum",),
        r"bad_checksum: carried 0xFA, computed 0xFB",
        id="checksum-off-by-one",
    ),
    pytest.param(
        "7E8104000001000000000134199055070001" + "6B7E",
        ("body_length_mismatch",),
        r"body_length_mismatch: attributes say 0 body byte\(s\), frame has 5",
        id="length-says-0-body-has-5",
    ),
    pytest.param(
        "7E0000000000000000000000ABCDEF12347E",
        ("bad_checksum", "body_length_mismatch"),
        r"bad_checksum: .*; body_length_mismatch: attributes say 0",
        id="checksum-and-length-both-wrong",
    ),
    pytest.param("7E000200007E", ("frame_too_short",), r"frame_too_short", id="too-short"),
    pytest.param("0200000012345678", ("missing_delimiter",), r"starts and ends", id="no-7E"),
    pytest.param(
        "7E" + "0002400001" + "00" * 7 + "43" + "7E",
        ("truncated",),
        r"truncated: needs 10 byte\(s\) at offset 5, 7 left",
        id="2019-header-cut-short",
    ),
    pytest.param(
        "7E000200000123456789AB002B" + "0B" + "7E",
        ("bad_bcd",),
        r"bad_bcd: phone 0123456789ab is not BCD",
        id="phone-not-bcd",
    ),
    pytest.param(
        "7E" + "00" * (frames.MAX_FRAME_BYTES - 1) + "7E",
        ("frame_too_long",),
        rf"frame_too_long: {frames.MAX_FRAME_BYTES + 1} bytes, at most {frames.MAX_FRAME_BYTES}",
        id="longer-than-cap",
    ),
]


@pytest.mark.parametrize(("frame_hex", "reasons", "message"), BAD_FRAMES)
def test_bad_frame_names_every_reason(
    frame_hex: str, reasons: tuple[str, ...], message: str
) -> None:
    with pytest.raises(FrameError, match=message) as caught:
        frames.decode_frame(bytes.fromhex(frame_hex))
    assert caught.value.reasons == reasons
    assert caught.value.reason == reasons[0]


def test_escaped_frame_reads_header_and_body() -> None:
    raw = bytes.fromhex("7E00020000040021679287002B7D027E")
    frame = frames.decode_frame(raw)
    assert frame == frames.Frame(frames.Header(0x0002, "040021679287", 43), b"")
    assert frames.encode_frame(frame) == raw


def test_2019_header_reads_protocol_version_and_20_digit_phone() -> None:
    frame = frames.decode_frame(bytes.fromhex("7E000140050100000000017299841738FFFF007B01C803B57E"))
    assert frame.header == frames.Header(
        0x0001, "00000000017299841738", 0xFFFF, frames.Version.V2019, protocol_version=1
    )
    assert frame.body == bytes.fromhex("007B01C803")


def test_split_packet_header_reads_total_and_index() -> None:
    frame = frames.decode_frame(bytes.fromhex("7E0801200500123456789002DE001A00022808000102537E"))
    assert frame.header.packet == frames.PacketPart(total=26, index=2)
    assert frame.body == bytes.fromhex("2808000102")


def test_unescaped_7d_checksum_is_tolerated() -> None:
    frame = frames.decode_frame(bytes.fromhex("7E0002000000000000067900007D7E"))
    assert frame.header.phone == "000000000679"


@pytest.mark.parametrize(
    ("plain", "escaped"),
    [
        pytest.param("30 7E 08 7D 55", "30 7D 02 08 7D 01 55", id="both"),
        pytest.param("7D 02", "7D 01 02", id="escape-lookalike"),
        pytest.param("7E 7E", "7D 02 7D 02", id="two-delimiters"),
        pytest.param("", "", id="empty"),
    ],
)
def test_escape_table(plain: str, escaped: str) -> None:
    assert frames.escape(bytes.fromhex(plain)) == bytes.fromhex(escaped)
    assert frames.unescape(bytes.fromhex(escaped)) == bytes.fromhex(plain)


@given(st.binary(max_size=2048))
def test_unescape_inverts_escape_and_escaped_has_no_delimiter(data: bytes) -> None:
    escaped = frames.escape(data)
    assert b"\x7e" not in escaped
    assert frames.unescape(escaped) == data


headers = st.builds(
    lambda version, message_id, phone_digits, serial, protocol_version, encryption, packet: (
        frames.Header(
            message_id=message_id,
            phone=phone_digits[: 20 if version is frames.Version.V2019 else 12],
            serial=serial,
            version=version,
            protocol_version=protocol_version if version is frames.Version.V2019 else None,
            encryption=encryption,
            packet=packet,
        )
    ),
    st.sampled_from(frames.Version),
    st.integers(0, 0xFFFF),
    st.text("0123456789", min_size=20, max_size=20),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFF),
    st.integers(0, 7),
    st.none() | st.builds(frames.PacketPart, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
)
frames_strategy = st.builds(frames.Frame, headers, st.binary(max_size=frames.MAX_BODY_BYTES))


@given(frames_strategy)
def test_frame_round_trip(frame: frames.Frame) -> None:
    raw = frames.encode_frame(frame)
    assert len(raw) <= frames.MAX_FRAME_BYTES
    assert frames.decode_frame(raw) == frame


def test_encode_refuses_body_over_1023_bytes() -> None:
    frame = frames.Frame(frames.Header(0x0200, "1", 1), bytes(1024))
    with pytest.raises(FrameError, match=r"body_too_long: 1024 bytes, at most 1023"):
        frames.encode_frame(frame)


def test_encode_refuses_phone_too_long_for_2013() -> None:
    frame = frames.Frame(frames.Header(0x0002, "1" * 13, 1), b"")
    with pytest.raises(ValueError, match=r"`digits` '1111111111111' is not at most 12"):
        frames.encode_frame(frame)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut `data` at the given offsets (sorted, deduplicated, clipped)."""
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def _run_splitter(chunks: list[bytes]) -> tuple[list[bytes], int, int]:
    """Feed chunks to one splitter; return frames, garbage bytes and oversized frames."""
    splitter = frames.FrameSplitter(max_frame_bytes=64)
    out = [frame for chunk in chunks for frame in splitter.feed(chunk)]
    return out, splitter.garbage_bytes, splitter.oversized_frames


@given(
    st.binary(max_size=400).map(lambda b: b.replace(b"\x01", b"\x7e")),
    st.lists(st.integers(0, 400), max_size=30),
)
def test_splitter_output_does_not_depend_on_chunking(stream: bytes, cuts: list[int]) -> None:
    assert _run_splitter(_split(stream, cuts)) == _run_splitter([stream])


@given(
    st.lists(st.tuples(st.binary(max_size=20).filter(lambda b: b"\x7e" not in b), frames_strategy)),
    st.lists(st.integers(0, 5000), max_size=40),
)
def test_splitter_returns_every_frame_between_garbage(
    pieces: list[tuple[bytes, frames.Frame]], cuts: list[int]
) -> None:
    raws = [frames.encode_frame(frame) for _, frame in pieces]
    stream = b"".join(garbage + raw for (garbage, _), raw in zip(pieces, raws, strict=True))
    splitter = frames.FrameSplitter()
    out = [frame for chunk in _split(stream, cuts) for frame in splitter.feed(chunk)]
    assert out == raws
    assert splitter.garbage_bytes == sum(len(garbage) for garbage, _ in pieces)


def test_splitter_drops_oversized_frame_and_keeps_the_next() -> None:
    good = bytes.fromhex("7E00020000040021679287002B7D027E")
    splitter = frames.FrameSplitter(max_frame_bytes=32)
    out = splitter.feed(b"\x7e" + b"\x11" * 40 + b"\x7e" + good[:5])
    out += splitter.feed(good[5:])
    assert out == [good]
    assert splitter.oversized_frames == 1
    assert splitter.garbage_bytes == 40 - 31


def test_splitter_glued_frames_share_no_bytes() -> None:
    one = bytes.fromhex("7E00020000040021679287002B7D027E")
    two = bytes.fromhex("7E80010005012345678900000A0064020000617E")
    splitter = frames.FrameSplitter()
    assert splitter.feed(b"junk" + one + two + two[:3]) == [one, two]
    assert splitter.feed(two[3:]) == [two]
    assert splitter.garbage_bytes == 4


def test_reasons_are_documented() -> None:
    doc = frames.decode_frame.__doc__ or ""
    assert set(re.findall(r"``(\w+)``", doc)) == FRAME_REASONS
