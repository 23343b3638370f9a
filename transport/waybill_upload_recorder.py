"""Record the e-waybills terminals upload (JT/T 808 0x0701) from the gateways' stream.

A gateway with ``--redis`` adds each upload to ``{prefix}:jt808:waybills``, trimmed near
100,000 entries: Redis holds live state, not the record. Every monitoring worker runs a
`WaybillUploadRecorder` beside its pipeline (reading as every `stream_recorder.StreamRecorder`
does), in the consumer group ``waybill-upload-recorders``: idempotent by the entry id (the row's
``source_key``), an entry acknowledged once its row is committed. A malformed entry is logged,
counted and acknowledged (it stays in the stream); after a database error the entries stay
pending and are read again at the next retry.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_errors

from transport.gateway.redis_terminal_registry import waybills_stream
from transport.store import waybill_uploads
from transport.stream_recorder import Entry, StreamRecorder

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["GROUP", "WaybillUploadRecorder", "upload_of"]

logger = logging.getLogger(__name__)

GROUP = "waybill-upload-recorders"
FIELDS = ("phone", "vehicle_id", "content", "received_at")


def upload_of(
    stream: str, entry_id: str, fields: Mapping[str, bytes]
) -> waybill_uploads.WaybillUpload:
    """Return the upload of one stream entry; `ValueError` names what is wrong."""
    missing = [f"`{name}` missing" for name in FIELDS if name not in fields]
    if missing:
        raise ValueError("; ".join(missing))
    text = {name: fields[name].decode(errors="replace") for name in FIELDS if name != "content"}
    try:
        received_at = datetime.fromisoformat(text["received_at"])
    except ValueError as err:
        msg = f"unreadable `received_at`: {err}"
        raise ValueError(msg) from err
    if received_at.tzinfo is None:
        msg = f"`received_at` must be timezone-aware, got {text['received_at']!r}"
        raise ValueError(msg)
    if not text["vehicle_id"] or not text["phone"]:
        msg = "`phone` and `vehicle_id` must not be empty"
        raise ValueError(msg)
    return waybill_uploads.WaybillUpload(
        source_key=f"{stream}#{entry_id}", phone=text["phone"], vehicle_key=text["vehicle_id"],
        content=fields["content"], received_at=received_at,
    )  # fmt: skip


class WaybillUploadRecorder(StreamRecorder):
    """Record uploaded e-waybills in the database (one consumer of the group; `reading` takes
    `StreamRecorder`'s options).

    `stats` counts ``recorded``, ``repeated`` (recorded before), ``malformed``, ``trimmed``,
    ``transactions``, ``redis_errors`` and ``database_errors``.
    """

    group = GROUP

    def __init__(
        self,
        url: str,
        session_factory: sessionmaker[Session],
        *,
        consumer: str,
        prefix: str = "hazmat",
        **reading: Any,
    ) -> None:
        super().__init__(
            url, waybills_stream(prefix), session_factory, consumer=consumer, **reading
        )

    async def record(self, entries: Sequence[Entry]) -> int:
        """Record a batch of entries, then acknowledge those recorded or never recordable."""
        uploads, done = [], []
        for entry_id, fields in entries:
            if not fields:
                self.stats["trimmed"] += 1  # trimmed from the stream before it was recorded
                done.append(entry_id)
                continue
            try:
                uploads.append(upload_of(self.stream, entry_id, fields))
            except ValueError as err:
                self.stats["malformed"] += 1
                logger.error("e-waybill upload %s not recorded: %s", entry_id, err)
                done.append(entry_id)
        if uploads:
            self.stats["transactions"] += 1
            try:
                new = await asyncio.to_thread(self._store, uploads)
            except sa_errors.SQLAlchemyError as err:
                self.stats["database_errors"] += 1
                logger.warning("e-waybill uploads not recorded, retried later (%s)", err)
            else:
                self.stats["recorded"] += len(new)
                self.stats["repeated"] += len(uploads) - len(new)
                done += [upload.source_key.rsplit("#", 1)[1] for upload in uploads]
        if done:
            await self.redis.xack(self.stream, self.group, *done)
        return len(entries)

    def _store(self, uploads: list[waybill_uploads.WaybillUpload]) -> set[str]:
        """Record uploads in one transaction (runs in a thread); return the new ones' keys."""
        with self.session_factory() as session, session.begin():
            return waybill_uploads.record_waybill_uploads(session, uploads, all_carriers=True)
