"""Registered JT/T 808 terminals in Redis, shared by every gateway of a deployment.

A terminal registers once (0x0100) and keeps the auth code it was given; after every reconnect
it only authenticates (0x0102). With registrations in the gateway's memory a restarted gateway
refused every code it had issued, and a reconnect that reached another gateway process was
refused too. Here each terminal is a hash ``{prefix}:jt808:terminal:{phone}`` (auth code,
registration time, plate, plate colour, terminal id, manufacturer, model), the plates a hash
``{prefix}:jt808:plates`` (plate → phone) so that one plate has one terminal, and registering
is one script, so that two gateways cannot give one plate to two phones. Uploaded e-waybills
(0x0701) go to the stream ``{prefix}:jt808:waybills`` (fields ``phone``, ``vehicle_id``,
``content``, ``received_at``), trimmed near `WAYBILL_STREAM_MAXLEN`, which the workers record in
the database (`transport.waybill_upload_recorder`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from transport.gateway import jt808_messages as messages
from transport.gateway.terminal_registry import KeptWaybill, Terminal, new_auth_code
from transport.redis_client import async_client

if TYPE_CHECKING:
    import redis.asyncio as aioredis

__all__ = ["WAYBILL_STREAM_MAXLEN", "RedisTerminalRegistry", "waybills_stream"]

WAYBILL_STREAM_MAXLEN = 100_000

# KEYS: the terminal's hash, the plates hash. ARGV: phone, plate, auth code and registration
# time if new, plate colour, terminal id, manufacturer id, model. Returns false when another
# phone holds the plate, else the terminal's auth code and registration time (kept when known).
_REGISTER = """
local phone, plate = ARGV[1], ARGV[2]
if plate ~= '' then
  local holder = redis.call('HGET', KEYS[2], plate)
  if holder and holder ~= phone then return false end
end
local old_plate = redis.call('HGET', KEYS[1], 'plate')
if old_plate and old_plate ~= plate and redis.call('HGET', KEYS[2], old_plate) == phone then
  redis.call('HDEL', KEYS[2], old_plate)
end
redis.call('HSETNX', KEYS[1], 'auth_code', ARGV[3])
redis.call('HSETNX', KEYS[1], 'registered_at', ARGV[4])
redis.call('HSET', KEYS[1], 'plate', plate, 'plate_color', ARGV[5], 'terminal_id', ARGV[6],
           'manufacturer_id', ARGV[7], 'model', ARGV[8])
if plate ~= '' then redis.call('HSET', KEYS[2], plate, phone) end
return redis.call('HMGET', KEYS[1], 'auth_code', 'registered_at')
"""

# KEYS: the terminal's hash, the plates hash. ARGV: phone. Forget the terminal and its plate.
_DEREGISTER = """
local plate = redis.call('HGET', KEYS[1], 'plate')
if plate and redis.call('HGET', KEYS[2], plate) == ARGV[1] then
  redis.call('HDEL', KEYS[2], plate)
end
return redis.call('DEL', KEYS[1])
"""


def waybills_stream(prefix: str) -> str:
    """The stream the gateways add uploaded e-waybills to (`transport.waybill_upload_recorder`
    records it)."""
    return f"{prefix}:jt808:waybills"


class RedisTerminalRegistry:
    """The `TerminalRegistry` of gateways with ``--redis``: registrations outlive the process."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "hazmat",
        make_auth_code: Callable[[], str] = new_auth_code,
    ) -> None:
        self.redis: aioredis.Redis = async_client(url)
        self.prefix = prefix
        self.make_auth_code = make_auth_code
        self.plates_key = f"{prefix}:jt808:plates"
        self.waybills_key = waybills_stream(prefix)
        self._register = self.redis.register_script(_REGISTER)
        self._deregister = self.redis.register_script(_DEREGISTER)

    def terminal_key(self, phone: str) -> str:
        """Return the key of one terminal's hash."""
        return f"{self.prefix}:jt808:terminal:{phone}"

    async def register(
        self, phone: str, message: messages.Register, *, at: datetime
    ) -> tuple[messages.RegisterResult, Terminal | None]:
        """Register (or register again, keeping the code); refuse a plate held by another phone."""
        kept = await self._register(
            keys=[self.terminal_key(phone), self.plates_key],
            args=[phone, message.plate, self.make_auth_code(), at.isoformat(),
                  message.plate_color, message.terminal_id, message.manufacturer_id,
                  message.model],
        )  # fmt: skip
        if kept is None:
            return messages.RegisterResult.VEHICLE_REGISTERED, None
        auth_code, registered_at = (_text(value) for value in kept)
        terminal = Terminal.of_registration(
            phone, message, auth_code=auth_code, registered_at=datetime.fromisoformat(registered_at)
        )
        return messages.RegisterResult.OK, terminal

    async def authenticate(self, phone: str, auth_code: str) -> Terminal | None:
        """Return the terminal whose code matches (compared in constant time)."""
        stored = await self.redis.hgetall(self.terminal_key(phone))
        if not stored:
            return None
        fields = {_text(key): _text(value) for key, value in stored.items()}
        terminal = Terminal(
            phone=phone,
            auth_code=fields["auth_code"],
            plate=fields["plate"],
            plate_color=int(fields["plate_color"]),
            terminal_id=fields["terminal_id"],
            manufacturer_id=fields["manufacturer_id"],
            model=fields["model"],
            registered_at=datetime.fromisoformat(fields["registered_at"]),
        )
        return terminal if terminal.accepts(auth_code) else None

    async def deregister(self, phone: str) -> None:
        """Forget the terminal (it logged out) and free its plate."""
        await self._deregister(keys=[self.terminal_key(phone), self.plates_key], args=[phone])

    async def keep_waybill(self, waybill: KeptWaybill) -> None:
        """Add the waybill to the deployment's waybill stream."""
        entry = {
            "phone": waybill.phone,
            "vehicle_id": waybill.vehicle_id,
            "content": waybill.content,
            "received_at": waybill.received_at.isoformat(),
        }
        await self.redis.xadd(
            self.waybills_key,
            entry,  # type: ignore[arg-type]
            maxlen=WAYBILL_STREAM_MAXLEN,
            approximate=True,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()


def _text(value: bytes | str) -> str:
    """A Redis reply value as text."""
    return value.decode() if isinstance(value, bytes) else value
