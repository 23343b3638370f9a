"""Registered JT/T 808 terminals: their auth codes, vehicles and uploaded e-waybills.

`TerminalRegistry` is what the gateway needs; `MemoryTerminalRegistry` is the in-process
default (registrations are lost with the process, terminals then register again);
`redis_terminal_registry.RedisTerminalRegistry` keeps them for every gateway of a deployment.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from transport.gateway import jt808_messages as messages

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "KeptWaybill",
    "MemoryTerminalRegistry",
    "Terminal",
    "TerminalRegistry",
    "new_auth_code",
]


@dataclass(frozen=True)
class Terminal:
    """A registered terminal and the vehicle it is fitted to."""

    phone: str
    auth_code: str
    plate: str
    plate_color: int
    terminal_id: str
    manufacturer_id: str
    model: str
    registered_at: datetime

    @classmethod
    def of_registration(
        cls, phone: str, message: messages.Register, *, auth_code: str, registered_at: datetime
    ) -> Terminal:
        """The terminal a 0x0100 registration describes, with its code and first registration."""
        return cls(
            phone=phone,
            auth_code=auth_code,
            plate=message.plate,
            plate_color=message.plate_color,
            terminal_id=message.terminal_id,
            manufacturer_id=message.manufacturer_id,
            model=message.model,
            registered_at=registered_at,
        )

    @property
    def vehicle_id(self) -> str:
        """Return the vehicle id fixes carry: the plate, or the phone when no plate was given."""
        return self.plate or f"jt808:{self.phone}"

    def accepts(self, auth_code: str) -> bool:
        """Whether `auth_code` is this terminal's (compared in constant time)."""
        return secrets.compare_digest(self.auth_code.encode(), auth_code.encode())


@dataclass(frozen=True)
class KeptWaybill:
    """An e-waybill as a terminal uploaded it (0x0701), kept for the waybill module."""

    phone: str
    vehicle_id: str
    content: bytes
    received_at: datetime

    @property
    def text(self) -> str:
        """The content read as GBK, undecodable bytes replaced (as the message reads it)."""
        return messages.WaybillUpload(self.content).text


class TerminalRegistry(Protocol):
    """What the gateway asks of the terminal registry."""

    async def register(
        self, phone: str, message: messages.Register, *, at: datetime
    ) -> tuple[messages.RegisterResult, Terminal | None]:
        """Register a terminal; return the result and, when it is OK, the terminal."""
        ...

    async def authenticate(self, phone: str, auth_code: str) -> Terminal | None:
        """Return the terminal when `auth_code` is the one issued to `phone`, else None."""
        ...

    async def deregister(self, phone: str) -> None:
        """Forget a terminal that logged out (0x0003)."""
        ...

    async def keep_waybill(self, waybill: KeptWaybill) -> None:
        """Keep an uploaded e-waybill."""
        ...


def new_auth_code() -> str:
    """Return a fresh, unguessable auth code."""
    return secrets.token_hex(8)


class MemoryTerminalRegistry:
    """Registrations and uploaded waybills held in this process."""

    def __init__(self, *, make_auth_code: Callable[[], str] = new_auth_code) -> None:
        self.make_auth_code = make_auth_code
        self.terminals: dict[str, Terminal] = {}
        self.waybills: list[KeptWaybill] = []

    async def register(
        self, phone: str, message: messages.Register, *, at: datetime
    ) -> tuple[messages.RegisterResult, Terminal | None]:
        """Register (or register again, keeping the code); refuse a plate held by another phone."""
        holder = next(
            (t for t in self.terminals.values() if message.plate and t.plate == message.plate),
            None,
        )
        if holder is not None and holder.phone != phone:
            return messages.RegisterResult.VEHICLE_REGISTERED, None
        known = self.terminals.get(phone)
        terminal = Terminal.of_registration(
            phone,
            message,
            auth_code=known.auth_code if known else self.make_auth_code(),
            registered_at=known.registered_at if known else at,
        )
        self.terminals[phone] = terminal
        return messages.RegisterResult.OK, terminal

    async def authenticate(self, phone: str, auth_code: str) -> Terminal | None:
        """Return the terminal whose code matches (compared in constant time)."""
        terminal = self.terminals.get(phone)
        return terminal if terminal is not None and terminal.accepts(auth_code) else None

    async def deregister(self, phone: str) -> None:
        """Forget the terminal."""
        self.terminals.pop(phone, None)

    async def keep_waybill(self, waybill: KeptWaybill) -> None:
        """Append the waybill."""
        self.waybills.append(waybill)
