"""Read and write the JT/T 808 field types: big-endian integers, BCD digits and GBK text."""

from __future__ import annotations

from typing import NoReturn

from transport.gateway._errors import GatewayError, MessageError

__all__ = ["Reader", "pack_bcd", "pack_text", "pack_uint", "unpack_bcd"]

TEXT_ENCODING = "gbk"


def pack_uint(value: int, width: int) -> bytes:
    """Return an unsigned integer as `width` big-endian bytes; refuse values that do not fit."""
    if not 0 <= value < 1 << (8 * width):
        msg = f"`value` {value} does not fit in {width} unsigned byte(s)"
        raise ValueError(msg)
    return value.to_bytes(width, "big")


def unpack_bcd(data: bytes) -> str | None:
    """Return the decimal digits of packed BCD bytes, or None when a nibble is above 9."""
    digits = data.hex()
    return digits if digits.isdigit() else None


def pack_bcd(digits: str, width: int) -> bytes:
    """Return decimal digits as `width` BCD bytes, left-padded with zeros."""
    if not digits.isascii() or not digits.isdigit() or len(digits) > 2 * width:
        msg = f"`digits` {digits!r} is not at most {2 * width} decimal digits"
        raise ValueError(msg)
    return bytes.fromhex(digits.rjust(2 * width, "0"))


def pack_text(text: str, width: int | None = None) -> bytes:
    """Return GBK bytes of `text`, NUL-padded to `width` when given (None: as long as needed)."""
    data = text.encode(TEXT_ENCODING)
    if width is None:
        return data
    if len(data) > width:
        msg = f"`text` {text!r} takes {len(data)} GBK bytes, more than the field's {width}"
        raise ValueError(msg)
    return data.ljust(width, b"\x00")


class Reader:
    """Cursor over a byte string that raises a gateway error, with a reason, when it runs short."""

    def __init__(self, data: bytes, *, error: type[GatewayError] = MessageError) -> None:
        self._data = data
        self._offset = 0
        self._error = error

    @property
    def remaining(self) -> int:
        """Return the number of bytes not yet read."""
        return len(self._data) - self._offset

    def fail(self, reason: str, detail: str) -> NoReturn:
        """Raise this reader's error class with one reason."""
        raise self._error([(reason, detail)])

    def take(self, size: int) -> bytes:
        """Read `size` bytes."""
        if size > self.remaining:
            detail = f"needs {size} byte(s) at offset {self._offset}, {self.remaining} left"
            self.fail("truncated", detail)
        chunk = self._data[self._offset : self._offset + size]
        self._offset += size
        return chunk

    def rest(self) -> bytes:
        """Read every byte left."""
        return self.take(self.remaining)

    def uint(self, width: int) -> int:
        """Read an unsigned big-endian integer of `width` bytes."""
        return int.from_bytes(self.take(width), "big")

    def bcd(self, width: int, *, field: str) -> str:
        """Read `width` BCD bytes as decimal digits; a nibble above 9 is refused."""
        data = self.take(width)
        digits = unpack_bcd(data)
        if digits is None:
            self.fail("bad_bcd", f"{field} {data.hex()} is not BCD")
        return digits

    def text(self, width: int | None = None, *, field: str) -> str:
        """Read GBK text of `width` bytes (None: the rest), trailing NUL padding removed."""
        data = self.rest() if width is None else self.take(width)
        try:
            return data.rstrip(b"\x00").decode(TEXT_ENCODING)
        except UnicodeDecodeError:
            self.fail("bad_text", f"{field} {data.hex()} is not GBK text")
