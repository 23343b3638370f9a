"""Tests for JT/T 808 messages: reference vectors, validation reasons, round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import shared_data_path
from tests.transport.gateway.conftest import DECODED_0200, HARVESTED, SELECTED, read_json, read_tsv
from transport.gateway import jt808_frames as frames
from transport.gateway import jt808_messages as messages
from transport.gateway._errors import MessageError

V2013, V2019 = frames.Version.V2013, frames.Version.V2019
UTC8 = timezone(timedelta(hours=8))
MESSAGE_TYPES = {
    0x0100: messages.Register,
    0x8100: messages.RegisterReply,
    0x0102: messages.Auth,
    0x0002: messages.Heartbeat,
    0x0003: messages.Logout,
    0x0001: messages.TerminalReply,
    0x8001: messages.PlatformReply,
    0x0200: messages.LocationReport,
    0x0704: messages.LocationBatch,
    0x0701: messages.WaybillUpload,
    0x8103: messages.SetParameters,
}
SWAPPED = "latitude_out_of_range"
# Harvested frames that pass the frame checks but whose body is refused, by their last 8 bytes.
REFUSED_BODIES = {
    "E800020000A8797E": "trailing_bytes",  # 0x0001 with two bytes after the result
    "D000048801FFE87E": "bad_result",  # 0x0001 result 255
    "199999990002467E": "truncated",  # 0x8001 with an empty body
    "5678901200000B7E": "truncated",
    # go-jt808 0x0200 vectors carry latitude and longitude swapped (latitude > 90)
    "200707192359C17E": SWAPPED,
    "2410012359591C7E": SWAPPED,
    "30011E3101286B7E": SWAPPED,
    "30011E310128637E": SWAPPED,
    "012806020001927E": SWAPPED,
    "3101283301207A7E": SWAPPED,
    "310128330301597E": SWAPPED,
    "011E310128333B7E": SWAPPED,
}
DECODED_ROWS = read_json(DECODED_0200)
SELECTED_ROWS = read_json(SELECTED)
HARVESTED_ROWS = [
    row
    for row in read_tsv(HARVESTED)
    if row["checksum_and_length_ok"] == "1" and int(row["msg_id"], 16) in MESSAGE_TYPES
]


def _decode_hex(frame_hex: str) -> messages.Message:
    """Decode one frame given in hex."""
    return messages.decode(frames.decode_frame(bytes.fromhex(frame_hex)))


def _extra_items(extras: messages.LocationExtras) -> list[str]:
    """Return the extras as sorted ``id:hex`` strings, the reference file's notation."""
    data, items = extras.to_bytes(), []
    while data:
        length = data[1]
        items.append(f"{data[0]:02X}:{data[2 : 2 + length].hex()}")
        data = data[2 + length :]
    return sorted(items)


def _is_swapped(row: dict[str, Any]) -> bool:
    """Tell whether a reference row carries an impossible latitude (swapped coordinates)."""
    return bool(row["lat"] > 90)


def test_reference_vectors_are_present() -> None:
    assert shared_data_path(DECODED_0200).stat().st_size > 0
    assert shared_data_path(SELECTED).stat().st_size > 0
    assert len(DECODED_ROWS) == 59
    assert sum(_is_swapped(row) for row in DECODED_ROWS) == 9


@pytest.mark.parametrize(
    "row", [r for r in DECODED_ROWS if not _is_swapped(r)], ids=lambda r: r["frame"][-12:-2]
)
def test_location_frame_decodes_to_recorded_values(row: dict[str, Any]) -> None:
    frame = frames.decode_frame(bytes.fromhex(row["frame"]))
    report = messages.decode(frame)
    assert isinstance(report, messages.LocationReport)
    assert (frame.header.phone, frame.header.serial) == (row["phone"], row["seq"])
    assert len(frame.body) == row["bodylen"]
    assert report.alarm == int(row["alarm"], 16)
    assert report.status == int(row["status"], 16)
    assert (report.latitude_deg, report.longitude_deg) == (row["lat"], row["lon"])
    assert (report.altitude_m, report.speed_kmh) == (row["alt_m"], row["speed_kmh"])
    assert report.direction_deg == row["dir"]
    local = datetime.fromisoformat(row["time"]).replace(tzinfo=UTC8)
    assert report.fix_at == local and report.fix_at.tzinfo is UTC
    assert _extra_items(report.extras) == sorted(
        item.upper()[:3] + item[3:] for item in row["extras"]
    )


@pytest.mark.parametrize(
    "row", [r for r in DECODED_ROWS if _is_swapped(r)], ids=lambda r: r["frame"][-12:-2]
)
def test_swapped_coordinates_are_refused_as_out_of_range(row: dict[str, Any]) -> None:
    with pytest.raises(MessageError, match=r"latitude_out_of_range: 1\d\d\.\d+ is beyond ±90°"):
        _decode_hex(row["frame"])


@pytest.mark.parametrize(
    "row", HARVESTED_ROWS, ids=lambda r: f"{r['msg_id']}-{r['frame_hex'][-16:-2]}"
)
def test_harvested_frame_of_known_id_decodes_or_is_refused_for_its_reason(
    row: dict[str, str],
) -> None:
    reason = REFUSED_BODIES.get(row["frame_hex"][-16:])
    if reason is None:
        message = _decode_hex(row["frame_hex"])
        assert type(message) is MESSAGE_TYPES[int(row["msg_id"], 16)]
        return
    with pytest.raises(MessageError, match=rf"^{reason}: ") as caught:
        _decode_hex(row["frame_hex"])
    assert caught.value.reasons == (reason,)


@pytest.mark.parametrize("row", SELECTED_ROWS, ids=lambda r: f"{r['msgid']}-{r['path'][-20:]}")
def test_selected_vector_header_matches_record(row: dict[str, Any]) -> None:
    frame = frames.decode_frame(bytes.fromhex(row["frame"]))
    assert frame.header.message_id == int(row["msgid"], 16)
    assert frame.header.version is (V2019 if row["ver"] == "2019" else V2013)
    assert (frame.header.phone, frame.header.serial) == (row["phone"], row["seq"])
    assert len(frame.body) == row["bodylen"]
    assert (b"\x7d" in bytes.fromhex(row["frame"])[1:-1]) is row["escaped"]


SELECTED_MESSAGES = [
    pytest.param(
        "7E0100002D000123456789000A002800323132333400736D616C6C6368693132330000000000000000"
        "004348493132330001D4C14131323334358A7E",
        messages.Register(40, 50, "1234", "smallchi123", "CHI123", 1, "粤A12345"),
        id="0100-2013",
    ),
    pytest.param(
        "7E010040540100000000000123456789000A00280032313233340000000000000073"
        "6D616C6C636869313233000000000000000000000000000000000000004348493132330000000000"
        "0000000000000000000000000000000000000001D4C1413132333435B27E",
        messages.Register(40, 50, "1234", "smallchi123", "CHI123", 1, "粤A12345"),
        id="0100-2019",
    ),
    pytest.param(
        "7E01000021000123456789000A002800323132333400746B3132333435004348493132330001D4C141"
        "3132333435857E",
        messages.Register(40, 50, "1234", "tk12345", "CHI123", 1, "粤A12345"),
        id="0100-2011-8-byte-model",
    ),
    pytest.param(
        "7E010200090123456789003039343536313231313131BE7E",
        messages.Auth("456121111"),
        id="0102-2013",
    ),
    pytest.param(
        "7E0102402F010000000001729984173800000B3137323939383431373338313233343536373839303132"
        "333435332E372E31350000000000000000000000000000227E",
        messages.Auth("17299841738", "123456789012345", "3.7.15"),
        id="0102-2019",
    ),
    pytest.param(
        "7E81000009012345678900000A006400313233343536687E",
        messages.RegisterReply(100, messages.RegisterResult.OK, "123456"),
        id="8100",
    ),
    pytest.param(
        "7E81000003012345678900000A006404617E",
        messages.RegisterReply(100, messages.RegisterResult.NO_SUCH_TERMINAL),
        id="8100-refused",
    ),
    pytest.param(
        "7E80010005012345678900000A0064020000617E",
        messages.PlatformReply(100, 0x0200, messages.ReplyResult.OK),
        id="8001",
    ),
    pytest.param(
        "7E000140050100000000017299841738FFFF007B01C803B57E",
        messages.TerminalReply(123, 0x01C8, messages.ReplyResult.UNSUPPORTED),
        id="0001-2019",
    ),
    pytest.param("7E00020000040021679287002B7D027E", messages.Heartbeat(), id="0002"),
]


@pytest.mark.parametrize(("frame_hex", "expected"), SELECTED_MESSAGES)
def test_selected_frame_decodes_to_message(frame_hex: str, expected: messages.Message) -> None:
    assert _decode_hex(frame_hex) == expected


def test_batch_upload_decodes_both_items() -> None:
    batch = _decode_hex(
        "7E0704005311223344556622B80002000026000000010000000200BA7F0E07E4F11C0028003C00001807151010"
        "10010400000064020200370026000000020000000100CB735507E6A32300290036007818071510103001040000"
        "006002020042D47E"
    )
    assert isinstance(batch, messages.LocationBatch)
    assert batch.batch_type is messages.BatchType.NORMAL and batch.rejected == ()
    first, second = batch.locations
    assert first.alarm is messages.Alarm.EMERGENCY
    assert (second.latitude_deg, second.longitude_deg) == (13.333333, 132.555555)
    assert second.fix_at == datetime(2018, 7, 15, 2, 10, 30, tzinfo=UTC)
    assert (second.extras.mileage_km, second.extras.fuel_l) == (9.6, 6.6)


def test_backfill_batch_sets_swapped_items_aside() -> None:
    batch = _decode_hex(
        "7E0704003F0123456789010000000200001C000004000000080007203B7D0202633DF701380003006324100123"
        "5959001C000004000000080007203B7D0202633DF7013800030063241001235959B67E"
    )
    assert isinstance(batch, messages.LocationBatch)
    assert batch.batch_type is messages.BatchType.NORMAL and batch.locations == ()
    assert [(item.index, item.reasons) for item in batch.rejected] == [
        (0, (SWAPPED,)),
        (1, (SWAPPED,)),
    ]


def _location_frame(body_hex: str, *, message_id: str = "0200") -> bytes:
    """Return a 2013 frame carrying `body_hex` under `message_id`."""
    body = bytes.fromhex(body_hex)
    attr = f"{len(body):04X}"
    header = bytes.fromhex(message_id + attr + "012345678901" + "0001")
    content = header + body
    return frames.encode_frame(
        frames.decode_frame(b"\x7e" + content + bytes([frames.checksum(content)]) + b"\x7e")
    )


FIX = "00000000" + "0000000C" + "{lat}" + "{lon}" + "0000" + "0000" + "0000" + "{time}"
BAD_BODIES = [
    pytest.param(
        "0200",
        FIX.format(lat="05F5E101", lon="0ABA9501", time="241301000000"),
        r"^latitude_out_of_range: -100\.000001 is beyond ±90°; "
        r"longitude_out_of_range: -180\.000001 is beyond ±180°; "
        r"invalid_time: 241301000000 is not a YYMMDDhhmmss date$",
        ("latitude_out_of_range", "longitude_out_of_range", "invalid_time"),
        id="all-three-faults-named",
    ),
    pytest.param(
        "0200",
        FIX.format(lat="01000000", lon="01000000", time="2402300000AA"),
        r"^invalid_time: 2402300000aa is not",
        ("invalid_time",),
        id="time-not-bcd",
    ),
    pytest.param(
        "0200",
        FIX.format(lat="01000000", lon="01000000", time="240230120060"),
        r"^invalid_time: 240230120060 is not a YYMMDDhhmmss date$",
        ("invalid_time",),
        id="time-digits-but-no-such-moment",
    ),
    pytest.param(
        "0200",
        "0000000000",
        r"^truncated: needs 4 byte\(s\) at offset 4",
        ("truncated",),
        id="short",
    ),
    pytest.param(
        "0704",
        "0005000010" + "00" * 40,
        r"^bad_item_count: 5 item\(s\) cannot fit in 42",
        ("bad_item_count",),
        id="batch-count-over-body",
    ),
    pytest.param(
        "0704",
        "000002",
        r"^bad_batch_type: 2 is neither 0 nor 1",
        ("bad_batch_type",),
        id="batch-type-2",
    ),
    pytest.param(
        "0701",
        "00000005414243",
        r"^waybill_length_mismatch: length says 5 byte\(s\), body carries 3$",
        ("waybill_length_mismatch",),
        id="waybill-short",
    ),
    pytest.param(
        "8103",
        "FF00000001",
        r"^bad_item_count: 255 parameter\(s\)",
        ("bad_item_count",),
        id="parameter-count-over-body",
    ),
    pytest.param(
        "0100",
        "0001000241" + "FF" * 34,
        r"^bad_text: manufacturer_id 41ffffffff is not GBK",
        ("bad_text",),
        id="register-not-gbk",
    ),
    pytest.param(
        "0003",
        "00",
        r"^trailing_bytes: 1 byte\(s\) after the body",
        ("trailing_bytes",),
        id="logout-with-body",
    ),
]


@pytest.mark.parametrize(("message_id", "body_hex", "message", "reasons"), BAD_BODIES)
def test_bad_body_names_every_reason(
    message_id: str, body_hex: str, message: str, reasons: tuple[str, ...]
) -> None:
    frame = frames.decode_frame(_location_frame(body_hex, message_id=message_id))
    with pytest.raises(MessageError, match=message) as caught:
        messages.decode(frame)
    assert caught.value.reasons == reasons


def test_encrypted_and_split_bodies_are_refused() -> None:
    header = frames.Header(0x0200, "1", 1, encryption=1)
    with pytest.raises(MessageError, match=r"^encrypted_body: encryption bits 001$"):
        messages.decode(frames.Frame(header, b""))
    header = frames.Header(0x0200, "1", 1, packet=frames.PacketPart(3, 2))
    with pytest.raises(MessageError, match=r"^split_packet: packet 2 of 3$"):
        messages.decode(frames.Frame(header, b""))


def test_unknown_id_keeps_its_body() -> None:
    frame = frames.Frame(frames.Header(0x0900, "1", 1, encryption=1), b"\x01\x02")
    assert messages.decode(frame) == messages.UnknownMessage(0x0900, b"\x01\x02")


def test_south_west_status_bits_give_negative_coordinates() -> None:
    frame = frames.decode_frame(
        _location_frame(FIX.format(lat="02160EC0", lon="03938700", time="240102030405") + "300112")
    )
    report = messages.decode(frame)
    assert isinstance(report, messages.LocationReport)
    assert (report.latitude_deg, report.longitude_deg) == (-35.0, -60.0)
    assert report.status == messages.Status.SOUTH | messages.Status.WEST
    assert report.fix_at == datetime(2024, 1, 1, 19, 4, 5, tzinfo=UTC)
    assert report.extras == messages.LocationExtras(signal_strength=0x12)


def test_waybill_text_is_gbk() -> None:
    assert messages.WaybillUpload("危货运单".encode("gbk")).text == "危货运单"


def test_encode_refuses_naive_fix_time() -> None:
    report = messages.LocationReport(
        messages.Alarm(0),
        messages.Status(0),
        1.0,
        1.0,
        0,
        0.0,
        0,
        datetime(2024, 1, 1, tzinfo=UTC).replace(tzinfo=None),
    )
    with pytest.raises(ValueError, match="`fix_at` must be timezone-aware"):
        messages.encode(report, version=V2013, phone="1", serial=1)


def test_encode_refuses_2019_fields_in_2013_auth() -> None:
    with pytest.raises(ValueError, match="exist only in the 2019 auth message"):
        messages.encode(messages.Auth("a", imei="1"), version=V2013, phone="1", serial=1)


# --- round trips ------------------------------------------------------------------------------

GBK_ALPHABET = "ABCXYZabcxyz0123456789-. 粤京沪苏浙危化品运输"
versions = st.sampled_from(frames.Version)
u8, u16, u32 = st.integers(0, 0xFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)


def gbk_text(max_bytes: int) -> st.SearchStrategy[str]:
    """GBK-encodable text (no NUL) of at most `max_bytes` encoded bytes."""
    return st.text(GBK_ALPHABET, max_size=max_bytes).filter(
        lambda text: len(text.encode("gbk")) <= max_bytes
    )


def tenths(maximum: int) -> st.SearchStrategy[float]:
    """Values carried on the wire in tenths."""
    return st.integers(0, maximum).map(lambda n: n / 10)


def _signed_coordinate(raw: int, is_negative: bool) -> float:
    """Return a coordinate as decoding would give it."""
    return -(raw / 1e6) if is_negative else raw / 1e6


FIRST_FIX_S = int(datetime(2000, 1, 1, tzinfo=UTC8).timestamp())
LAST_FIX_S = int(datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC8).timestamp())
known_extra_ids = {0x01, 0x02, 0x03, 0x04, 0x25, 0x2A, 0x2B, 0x30, 0x31}
extras = st.builds(
    messages.LocationExtras,
    mileage_km=st.none() | tenths(0xFFFFFFFF),
    fuel_l=st.none() | tenths(0xFFFF),
    tachograph_speed_kmh=st.none() | tenths(0xFFFF),
    alarm_event_id=st.none() | u16,
    vehicle_signal_status=st.none() | u32,
    io_status=st.none() | u16,
    analog=st.none() | u32,
    signal_strength=st.none() | u8,
    satellites=st.none() | u8,
    raw=st.lists(
        st.tuples(u8.filter(lambda i: i not in known_extra_ids), st.binary(max_size=60)),
        max_size=2,
    ).map(tuple),
)


@st.composite
def locations(draw: st.DrawFn) -> messages.LocationReport:
    """Location reports as decoding gives them (hemisphere sign from the status bits)."""
    status = messages.Status(draw(u32))
    latitude = _signed_coordinate(draw(st.integers(0, 90_000_000)), messages.Status.SOUTH in status)
    longitude = _signed_coordinate(
        draw(st.integers(0, 180_000_000)), messages.Status.WEST in status
    )
    fix_at = datetime.fromtimestamp(draw(st.integers(FIRST_FIX_S, LAST_FIX_S)), tz=UTC)
    return messages.LocationReport(
        messages.Alarm(draw(u32)),
        status,
        latitude,
        longitude,
        draw(u16),
        draw(tenths(0xFFFF)),
        draw(st.integers(0, 359)),
        fix_at,
        draw(extras),
    )


@st.composite
def batches(draw: st.DrawFn) -> messages.LocationBatch:
    """Batches mixing good reports with items refused for an impossible latitude."""
    entries = draw(st.lists(st.tuples(st.booleans(), locations()), max_size=3))
    good, rejected = [], []
    for index, (is_bad, report) in enumerate(entries):
        if is_bad:
            body = bytearray(report.to_body(V2013))
            body[8:12] = b"\xff\xff\xff\xff"
            rejected.append(messages.RejectedItem(index, (SWAPPED,), bytes(body)))
        else:
            good.append(report)
    return messages.LocationBatch(
        draw(st.sampled_from(messages.BatchType)), tuple(good), tuple(rejected)
    )


def registers(version: frames.Version) -> st.SearchStrategy[messages.Register]:
    """Registrations that fit the field widths of `version`."""
    widths = (11, 30, 30) if version is V2019 else (5, 20, 7)
    return st.builds(messages.Register, u16, u16, *(gbk_text(w) for w in widths), u8, gbk_text(40))


def auths(version: frames.Version) -> st.SearchStrategy[messages.Auth]:
    """Auth messages of `version` (IMEI and software version only in 2019)."""
    if version is V2013:
        return st.builds(messages.Auth, gbk_text(200))
    return st.builds(messages.Auth, gbk_text(255), gbk_text(15), gbk_text(20))


def any_message(version: frames.Version) -> st.SearchStrategy[messages.Message]:
    """Every message type the codec writes, for one version."""
    return st.one_of(
        registers(version),
        auths(version),
        st.builds(
            messages.RegisterReply, u16, st.sampled_from(messages.RegisterResult), gbk_text(50)
        ),
        st.just(messages.Heartbeat()),
        st.just(messages.Logout()),
        st.builds(messages.TerminalReply, u16, u16, st.sampled_from(messages.ReplyResult)),
        st.builds(messages.PlatformReply, u16, u16, st.sampled_from(messages.ReplyResult)),
        locations(),
        batches(),
        st.builds(messages.WaybillUpload, st.binary(max_size=1019)),
        st.builds(
            messages.SetParameters,
            st.lists(st.tuples(u32, st.binary(max_size=50)), max_size=15).map(tuple),
        ),
        st.builds(
            messages.UnknownMessage,
            u16.filter(lambda i: i not in MESSAGE_TYPES),
            st.binary(max_size=1023),
        ),
    )


@given(st.data(), versions, st.text("0123456789", min_size=20, max_size=20), u16)
def test_encode_then_decode_gives_the_message_back(
    data: st.DataObject, version: frames.Version, digits: str, serial: int
) -> None:
    message = data.draw(any_message(version))
    phone = digits if version is V2019 else digits[:12]
    raw = messages.encode(message, version=version, phone=phone, serial=serial)
    frame = frames.decode_frame(raw)
    assert (frame.header.phone, frame.header.serial, frame.header.version) == (
        phone,
        serial,
        version,
    )
    assert messages.decode(frame) == message
