"""Turn JT/T 808 frames into typed messages (2013 and 2019 layouts) and messages into bytes.

Each message is a frozen dataclass with a ``MESSAGE_ID``, a ``from_body`` reader and a ``to_body``
writer; `decode` and `encode` dispatch on the id. Ids without a class decode to `UnknownMessage`,
which the server answers with a general reply "unsupported". Location reports are validated
(coordinates within range, a real date) and every fault is named in the `MessageError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from transport.gateway import _jt808_fields as fields
from transport.gateway import jt808_frames as frames
from transport.gateway._errors import MessageError
from transport.gateway._jt808_location import (
    Alarm,
    BatchType,
    LocationBatch,
    LocationExtras,
    LocationReport,
    RejectedItem,
    Status,
)

__all__ = [
    "Alarm",
    "Auth",
    "BatchType",
    "Heartbeat",
    "LocationBatch",
    "LocationExtras",
    "LocationReport",
    "Logout",
    "Message",
    "PlatformReply",
    "Register",
    "RegisterReply",
    "RegisterResult",
    "RejectedItem",
    "ReplyResult",
    "SetParameters",
    "Status",
    "TerminalReply",
    "TextMessage",
    "UnknownMessage",
    "WaybillUpload",
    "decode",
    "encode",
    "encode_id",
]

V2013 = frames.Version.V2013
V2019 = frames.Version.V2019

_E = TypeVar("_E", bound=enum.IntEnum)


class ReplyResult(enum.IntEnum):
    """Result of a general reply (0x0001 terminal, 0x8001 platform)."""

    OK = 0
    FAILURE = 1
    MALFORMED = 2
    UNSUPPORTED = 3
    ALARM_ACKNOWLEDGED = 4


class RegisterResult(enum.IntEnum):
    """Result of a registration reply (0x8100)."""

    OK = 0
    VEHICLE_REGISTERED = 1
    NO_SUCH_VEHICLE = 2
    TERMINAL_REGISTERED = 3
    NO_SUCH_TERMINAL = 4


def _uint(value: int, width: int) -> bytes:
    """Shorthand for a big-endian unsigned field."""
    return fields.pack_uint(value, width)


# --- registration, authentication, keep-alive -------------------------------------------------

# (manufacturer, model, terminal id) widths; 2011 terminals send an 8-byte model.
_REGISTER_WIDTHS = {"2011": (5, 8, 7), V2013: (5, 20, 7), V2019: (11, 30, 30)}
_REGISTER_2013_MIN_BYTES = 2 + 2 + 5 + 20 + 7 + 1


@dataclass(frozen=True)
class Register:
    """0x0100 terminal registration."""

    MESSAGE_ID: ClassVar[int] = 0x0100
    province_id: int
    city_id: int
    manufacturer_id: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> Register:
        """Read the body; a 2013 body too short for 2013 widths is read with 2011 widths."""
        is_2011 = version is V2013 and reader.remaining < _REGISTER_2013_MIN_BYTES
        widths = _REGISTER_WIDTHS["2011" if is_2011 else version]
        province_id, city_id = reader.uint(2), reader.uint(2)
        manufacturer_id, model, terminal_id = (
            reader.text(w, field=f) for w, f in zip(widths, _REGISTER_TEXTS, strict=True)
        )
        plate_color, plate = reader.uint(1), reader.text(field="plate")
        return cls(province_id, city_id, manufacturer_id, model, terminal_id, plate_color, plate)

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body with the field widths of `version`."""
        texts = (self.manufacturer_id, self.model, self.terminal_id)
        widths = _REGISTER_WIDTHS[version]
        return b"".join(
            [
                _uint(self.province_id, 2),
                _uint(self.city_id, 2),
                *(fields.pack_text(t, w) for t, w in zip(texts, widths, strict=True)),
                _uint(self.plate_color, 1),
                fields.pack_text(self.plate),
            ]
        )


_REGISTER_TEXTS = ("manufacturer_id", "model", "terminal_id")


@dataclass(frozen=True)
class RegisterReply:
    """0x8100 registration reply; the auth code is empty when registration failed."""

    MESSAGE_ID: ClassVar[int] = 0x8100
    reply_serial: int
    result: RegisterResult
    auth_code: str = ""

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> RegisterReply:
        """Read the body."""
        serial, result = reader.uint(2), _enum_value(RegisterResult, reader.uint(1))
        return cls(serial, result, reader.text(field="auth_code"))

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body."""
        parts = [_uint(self.reply_serial, 2), _uint(self.result, 1)]
        return b"".join([*parts, fields.pack_text(self.auth_code)])


_IMEI_BYTES = 15
_SOFTWARE_VERSION_BYTES = 20


@dataclass(frozen=True)
class Auth:
    """0x0102 authentication; IMEI and software version exist only in 2019."""

    MESSAGE_ID: ClassVar[int] = 0x0102
    auth_code: str
    imei: str = ""
    software_version: str = ""

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> Auth:
        """Read the body: the code alone (2013) or length, code, IMEI, version (2019)."""
        if version is V2013:
            return cls(reader.text(field="auth_code"))
        code = reader.text(reader.uint(1), field="auth_code")
        imei = reader.text(_IMEI_BYTES, field="imei")
        return cls(code, imei, reader.text(_SOFTWARE_VERSION_BYTES, field="software_version"))

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body in the layout of `version`."""
        code = fields.pack_text(self.auth_code)
        if version is V2013:
            if self.imei or self.software_version:
                msg = "`imei` and `software_version` exist only in the 2019 auth message"
                raise ValueError(msg)
            return code
        return b"".join(
            [
                _uint(len(code), 1),
                code,
                fields.pack_text(self.imei, _IMEI_BYTES),
                fields.pack_text(self.software_version, _SOFTWARE_VERSION_BYTES),
            ]
        )


@dataclass(frozen=True)
class _EmptyMessage:
    """A message whose body is empty."""

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> Any:
        """Read the (empty) body."""
        return cls()

    def to_body(self, version: frames.Version) -> bytes:
        """Write the (empty) body."""
        return b""


@dataclass(frozen=True)
class Heartbeat(_EmptyMessage):
    """0x0002 terminal heartbeat."""

    MESSAGE_ID: ClassVar[int] = 0x0002


@dataclass(frozen=True)
class Logout(_EmptyMessage):
    """0x0003 terminal logout."""

    MESSAGE_ID: ClassVar[int] = 0x0003


@dataclass(frozen=True)
class _GeneralReply:
    """A general reply: which message (serial and id) it answers, and the result."""

    reply_serial: int
    reply_message_id: int
    result: ReplyResult

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> Any:
        """Read the body."""
        serial, message_id = reader.uint(2), reader.uint(2)
        return cls(serial, message_id, _enum_value(ReplyResult, reader.uint(1)))

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body."""
        parts = (self.reply_serial, 2), (self.reply_message_id, 2), (self.result, 1)
        return b"".join(_uint(value, width) for value, width in parts)


@dataclass(frozen=True)
class TerminalReply(_GeneralReply):
    """0x0001 terminal general reply."""

    MESSAGE_ID: ClassVar[int] = 0x0001


@dataclass(frozen=True)
class PlatformReply(_GeneralReply):
    """0x8001 platform general reply."""

    MESSAGE_ID: ClassVar[int] = 0x8001


def _enum_value(kind: type[_E], value: int) -> _E:
    """Return `value` as a member of `kind`, or raise a `MessageError` naming the field."""
    try:
        return kind(value)
    except ValueError as err:
        raise MessageError([("bad_result", f"{value} is not a {kind.__name__}")]) from err


# --- e-waybill, parameters, anything else -----------------------------------------------------


@dataclass(frozen=True)
class WaybillUpload:
    """0x0701 electronic waybill upload; the content is kept as sent."""

    MESSAGE_ID: ClassVar[int] = 0x0701
    content: bytes

    @property
    def text(self) -> str:
        """Return the content read as GBK, undecodable bytes replaced."""
        return self.content.decode(fields.TEXT_ENCODING, errors="replace")

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> WaybillUpload:
        """Read the body: a DWORD length, then exactly that many content bytes."""
        length = reader.uint(4)
        if length != reader.remaining:
            detail = f"length says {length} byte(s), body carries {reader.remaining}"
            raise MessageError([("waybill_length_mismatch", detail)])
        return cls(reader.rest())

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body."""
        return _uint(len(self.content), 4) + self.content


_PARAMETER_MIN_BYTES = 4 + 1


@dataclass(frozen=True)
class SetParameters:
    """0x8103 set terminal parameters, as (parameter id, raw value) pairs in frame order."""

    MESSAGE_ID: ClassVar[int] = 0x8103
    parameters: tuple[tuple[int, bytes], ...]

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> SetParameters:
        """Read the body; the count must fit the body before any parameter is read."""
        count = reader.uint(1)
        if count * _PARAMETER_MIN_BYTES > reader.remaining:
            detail = f"{count} parameter(s) cannot fit in {reader.remaining} byte(s)"
            raise MessageError([("bad_item_count", detail)])
        pairs = []
        for _ in range(count):
            parameter_id = reader.uint(4)
            pairs.append((parameter_id, reader.take(reader.uint(1))))
        return cls(tuple(pairs))

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body."""
        items = (_uint(pid, 4) + _uint(len(v), 1) + v for pid, v in self.parameters)
        return _uint(len(self.parameters), 1) + b"".join(items)


_TEXT_MAX_BYTES = frames.MAX_BODY_BYTES - 2


@dataclass(frozen=True)
class TextMessage:
    """0x8300 platform text to the terminal: flags, text type (2019 only) and GBK text.

    Flag bits: 2013 has 0 emergency, 2 display, 3 TTS read-out, 4 advertising screen, 5 CAN
    fault code; 2019 moves emergency to bit 1 and makes bit 0 "service". The text type (2019)
    is 1 notice, 2 service; a 2013 body has none and reads as 1.
    """

    MESSAGE_ID: ClassVar[int] = 0x8300
    DISPLAY: ClassVar[int] = 1 << 2
    TTS: ClassVar[int] = 1 << 3
    flags: int
    text: str
    text_type: int = 1

    @classmethod
    def from_body(cls, reader: fields.Reader, version: frames.Version) -> TextMessage:
        """Read the body in the layout of `version`."""
        flags = reader.uint(1)
        text_type = 1 if version is V2013 else reader.uint(1)
        return cls(flags, reader.text(field="text"), text_type)

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body; refuse a text longer than one frame can carry."""
        text = fields.pack_text(self.text)
        if len(text) > _TEXT_MAX_BYTES:
            msg = f"`text` takes {len(text)} GBK bytes, more than the {_TEXT_MAX_BYTES} allowed"
            raise ValueError(msg)
        head = _uint(self.flags, 1) + (b"" if version is V2013 else _uint(self.text_type, 1))
        return head + text


@dataclass(frozen=True)
class UnknownMessage:
    """A message id this codec does not read, with its body kept as is."""

    message_id: int
    body: bytes

    def to_body(self, version: frames.Version) -> bytes:
        """Write the body as kept."""
        return self.body


Message = (
    Register
    | RegisterReply
    | Auth
    | Heartbeat
    | Logout
    | TerminalReply
    | PlatformReply
    | LocationReport
    | LocationBatch
    | WaybillUpload
    | SetParameters
    | TextMessage
    | UnknownMessage
)

_BodyReader = Callable[[fields.Reader, frames.Version], Message]
_READERS: dict[int, _BodyReader] = {
    Register.MESSAGE_ID: Register.from_body,
    RegisterReply.MESSAGE_ID: RegisterReply.from_body,
    Auth.MESSAGE_ID: Auth.from_body,
    Heartbeat.MESSAGE_ID: Heartbeat.from_body,
    Logout.MESSAGE_ID: Logout.from_body,
    TerminalReply.MESSAGE_ID: TerminalReply.from_body,
    PlatformReply.MESSAGE_ID: PlatformReply.from_body,
    LocationReport.MESSAGE_ID: LocationReport.from_body,
    LocationBatch.MESSAGE_ID: LocationBatch.from_body,
    WaybillUpload.MESSAGE_ID: WaybillUpload.from_body,
    SetParameters.MESSAGE_ID: SetParameters.from_body,
    TextMessage.MESSAGE_ID: TextMessage.from_body,
}


def decode(frame: frames.Frame) -> Message:
    """Return the typed message a frame carries.

    Parameters
    ----------
    frame
        A checked frame from `jt808_frames.decode_frame`.

    Returns
    -------
    message
        The message of the frame's id, or `UnknownMessage` for an id without a reader.

    Raises
    ------
    MessageError
        With its reasons: ``encrypted_body``, ``split_packet`` (reassembly is the caller's),
        ``truncated``, ``trailing_bytes``, ``bad_bcd``, ``bad_text``, ``bad_result``,
        ``latitude_out_of_range``, ``longitude_out_of_range``, ``invalid_time``,
        ``bad_item_count``, ``bad_batch_type``, ``waybill_length_mismatch``.
    """
    header = frame.header
    read_body = _READERS.get(header.message_id)
    if read_body is None:
        return UnknownMessage(header.message_id, frame.body)
    if header.encryption:
        raise MessageError([("encrypted_body", f"encryption bits {header.encryption:03b}")])
    if header.packet is not None:
        packet = header.packet
        raise MessageError([("split_packet", f"packet {packet.index} of {packet.total}")])
    reader = fields.Reader(frame.body)
    message = read_body(reader, header.version)
    if reader.remaining:
        raise MessageError([("trailing_bytes", f"{reader.remaining} byte(s) after the body")])
    return message


def encode(
    message: Message,
    *,
    version: frames.Version,
    phone: str,
    serial: int,
    protocol_version: int = 1,
) -> bytes:
    """Return the wire bytes (escaped, delimited) of one message.

    Parameters
    ----------
    message
        The message to send.
    version
        Protocol edition: decides the header layout and the 0x0100 and 0x0102 body layouts.
    phone
        Terminal phone number, up to 12 digits (2013) or 20 (2019), left-padded with zeros.
    serial
        Message serial number, 0-65535.
    protocol_version
        The 2019 header's protocol version byte; unused in 2013.
    """
    header = frames.Header(
        message_id=_message_id(message),
        phone=phone,
        serial=serial,
        version=version,
        protocol_version=protocol_version if version is V2019 else None,
    )
    return frames.encode_frame(frames.Frame(header, message.to_body(version)))


def encode_id(message: Message) -> int:
    """Return the id a message is sent under."""
    return _message_id(message)


def _message_id(message: Message) -> int:
    """Return the id a message is sent under."""
    if isinstance(message, UnknownMessage):
        return message.message_id
    return message.MESSAGE_ID
