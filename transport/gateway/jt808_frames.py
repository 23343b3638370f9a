"""Turn a JT/T 808 byte stream into checked frames and frames back into bytes (no sockets).

A frame on the wire is ``7E | header | body | checksum | 7E`` with 7E escaped as 7D 02 and 7D as
7D 01 inside; the checksum is the XOR of header and body. The header carries the message id, the
body attributes (length bits 0-9, encryption 10-12, split flag 13, 2019 version flag 14), the 2019
protocol version byte, the terminal phone in BCD (6 bytes in 2013, 10 in 2019), the serial number
and, for split messages, the packet total and index.
"""

from __future__ import annotations

import enum
import functools
import logging
import operator
from dataclasses import dataclass

from transport.gateway import _jt808_fields as fields
from transport.gateway._errors import FrameError

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_FRAME_BYTES",
    "Frame",
    "FrameSplitter",
    "Header",
    "PacketPart",
    "Version",
    "checksum",
    "decode_frame",
    "encode_frame",
    "escape",
    "unescape",
]

logger = logging.getLogger(__name__)

DELIMITER = 0x7E
ESCAPE = 0x7D
MAX_BODY_BYTES = 0x3FF
MAX_HEADER_BYTES = 21
# Every byte escaped, plus the two delimiters: the longest frame the protocol can produce.
MAX_FRAME_BYTES = 2 + 2 * (MAX_HEADER_BYTES + MAX_BODY_BYTES + 1)
MIN_FRAME_BYTES = 2 + 12 + 1

_LENGTH_MASK = 0x03FF
_ENCRYPTION_SHIFT = 10
_SPLIT_BIT = 1 << 13
_VERSION_BIT = 1 << 14
_PHONE_BYTES = {False: 6, True: 10}


class Version(enum.Enum):
    """Protocol edition of a frame; 2011 and 2013 share one header layout."""

    V2013 = "2013"
    V2019 = "2019"


@dataclass(frozen=True)
class PacketPart:
    """Position of one packet in a message split across several frames (index counts from 1)."""

    total: int
    index: int


@dataclass(frozen=True)
class Header:
    """The header of a frame, without the body length (that is the body's)."""

    message_id: int
    phone: str
    serial: int
    version: Version = Version.V2013
    protocol_version: int | None = None
    encryption: int = 0
    packet: PacketPart | None = None


@dataclass(frozen=True)
class Frame:
    """One unescaped, checksum-verified frame: its header and its body bytes."""

    header: Header
    body: bytes


def checksum(data: bytes) -> int:
    """Return the XOR of every byte (0 for empty input)."""
    return functools.reduce(operator.xor, data, 0)


def escape(data: bytes) -> bytes:
    """Return `data` with 7D written as 7D 01 and 7E as 7D 02."""
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Return `data` with 7D 01 read as 7D and 7D 02 as 7E.

    A 7D followed by anything else (or last) is kept as it is: some terminals leave a 7D
    checksum unescaped, and the checksum and length checks still guard the frame.
    """
    parts = data.split(b"\x7d")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if part[:1] == b"\x01":
            out += b"\x7d" + part[1:]
        elif part[:1] == b"\x02":
            out += b"\x7e" + part[1:]
        else:
            out += b"\x7d" + part
    return bytes(out)


def decode_frame(raw: bytes) -> Frame:
    """Return the frame held by `raw`, delimiters included.

    Parameters
    ----------
    raw
        One frame as read from the stream, ``7E ... 7E``, still escaped.

    Returns
    -------
    frame
        Header and body; the checksum has been verified.

    Raises
    ------
    FrameError
        With every reason found: ``frame_too_long``, ``missing_delimiter``,
        ``unescaped_delimiter``, ``frame_too_short``, ``bad_checksum``, ``truncated``,
        ``bad_bcd``, ``body_length_mismatch``.
    """
    content = _strip_delimiters(raw)
    problems: list[tuple[str, str]] = []
    carried, computed = content[-1], checksum(content[:-1])
    if carried != computed:
        problems.append(("bad_checksum", f"carried 0x{carried:02X}, computed 0x{computed:02X}"))
    reader = fields.Reader(content[:-1], error=FrameError)
    try:
        header, body_length = _read_header(reader)
    except FrameError as err:
        raise FrameError([*problems, *err.problems]) from err
    if body_length != reader.remaining:
        detail = f"attributes say {body_length} body byte(s), frame has {reader.remaining}"
        problems.append(("body_length_mismatch", detail))
    if problems:
        raise FrameError(problems)
    return Frame(header, reader.rest())


def _strip_delimiters(raw: bytes) -> bytes:
    """Return the unescaped content between the delimiters, checksum byte last."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError([("frame_too_long", f"{len(raw)} bytes, at most {MAX_FRAME_BYTES}")])
    if len(raw) < 2 or raw[0] != DELIMITER or raw[-1] != DELIMITER:
        raise FrameError([("missing_delimiter", "a frame starts and ends with 7E")])
    if DELIMITER in raw[1:-1]:
        raise FrameError([("unescaped_delimiter", f"7E at offset {raw.index(0x7E, 1)}")])
    content = unescape(raw[1:-1])
    if len(content) < MIN_FRAME_BYTES - 2:
        detail = f"{len(content)} unescaped byte(s), a header and checksum need 13"
        raise FrameError([("frame_too_short", detail)])
    return content


def _read_header(reader: fields.Reader) -> tuple[Header, int]:
    """Read a header; return it with the body length its attributes declare."""
    message_id = reader.uint(2)
    attributes = reader.uint(2)
    is_2019 = bool(attributes & _VERSION_BIT)
    protocol_version = reader.uint(1) if is_2019 else None
    phone = reader.bcd(_PHONE_BYTES[is_2019], field="phone")
    serial = reader.uint(2)
    packet = PacketPart(reader.uint(2), reader.uint(2)) if attributes & _SPLIT_BIT else None
    header = Header(
        message_id=message_id,
        phone=phone,
        serial=serial,
        version=Version.V2019 if is_2019 else Version.V2013,
        protocol_version=protocol_version,
        encryption=(attributes >> _ENCRYPTION_SHIFT) & 0b111,
        packet=packet,
    )
    return header, attributes & _LENGTH_MASK


def encode_header(header: Header, body_length: int) -> bytes:
    """Return the unescaped header bytes for a body of `body_length` bytes."""
    if not 0 <= body_length <= MAX_BODY_BYTES:
        raise FrameError([("body_too_long", f"{body_length} bytes, at most {MAX_BODY_BYTES}")])
    is_2019 = header.version is Version.V2019
    attributes = body_length | (header.encryption & 0b111) << _ENCRYPTION_SHIFT
    attributes |= (_VERSION_BIT if is_2019 else 0) | (_SPLIT_BIT if header.packet else 0)
    parts = [fields.pack_uint(header.message_id, 2), fields.pack_uint(attributes, 2)]
    if is_2019:
        parts.append(fields.pack_uint(header.protocol_version or 0, 1))
    parts += [
        fields.pack_bcd(header.phone, _PHONE_BYTES[is_2019]),
        fields.pack_uint(header.serial, 2),
    ]
    if header.packet:
        parts += [
            fields.pack_uint(header.packet.total, 2),
            fields.pack_uint(header.packet.index, 2),
        ]
    return b"".join(parts)


def encode_frame(frame: Frame) -> bytes:
    """Return the wire bytes of `frame`: header, body and checksum, escaped and delimited."""
    content = encode_header(frame.header, len(frame.body)) + frame.body
    return b"\x7e" + escape(content + bytes([checksum(content)])) + b"\x7e"


class FrameSplitter:
    """Cut a TCP byte stream, in chunks of any size, into raw frames ``7E ... 7E``.

    Bytes outside a frame are discarded and counted in `garbage_bytes`; a frame growing past
    `max_frame_bytes` is discarded and counted in `oversized_frames`, and its bytes past the cap
    are garbage. Two delimiters in a row
    (one frame's end and the next one's start) never make an empty frame.
    """

    def __init__(self, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.garbage_bytes = 0
        self.oversized_frames = 0
        self._buffer = bytearray()
        self._in_frame = False

    def feed(self, chunk: bytes) -> list[bytes]:
        """Take the next chunk of the stream; return the frames it completes, in order."""
        frames: list[bytes] = []
        position = 0
        while position < len(chunk):
            end = chunk.find(b"\x7e", position)
            stop = len(chunk) if end < 0 else end
            self._consume(chunk[position:stop])
            if end >= 0:
                self._on_delimiter(frames)
            position = stop + 1
        return frames

    def _consume(self, data: bytes) -> None:
        """Add bytes that hold no delimiter to the open frame, or count them as garbage."""
        if self._in_frame:
            room = self.max_frame_bytes - 2 - len(self._buffer)
            if len(data) <= room:
                self._buffer += data
                return
            logger.debug("discarding a frame longer than %s bytes", self.max_frame_bytes)
            self.oversized_frames += 1
            self._buffer.clear()
            self._in_frame = False
            data = data[room + 1 :]
        self.garbage_bytes += len(data)

    def _on_delimiter(self, frames: list[bytes]) -> None:
        """Open a frame, or close the open one (an empty one stays open as the next start)."""
        if self._in_frame and self._buffer:
            frames.append(b"\x7e" + bytes(self._buffer) + b"\x7e")
            self._buffer.clear()
            self._in_frame = False
        else:
            self._in_frame = True
