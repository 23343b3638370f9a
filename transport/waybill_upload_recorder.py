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

from datetime import datetime
from typing import TYPE_CHECKING

from transport.gateway.redis_terminal_registry import waybills_stream
from transport.gateway.terminal_registry import KeptWaybill
from transport.store import waybill_uploads
from transport.stream_recorder import StreamRecorder

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session

__all__ = ["GROUP", "WaybillUploadRecorder", "upload_of"]

GROUP = "waybill-upload-recorders"
FIELDS = ("phone", "vehicle_id", "content", "received_at")


def upload_of(fields: Mapping[str, bytes]) -> KeptWaybill:
    """Return the upload one stream entry holds; `ValueError` names what is wrong."""
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
    return KeptWaybill(text["phone"], text["vehicle_id"], fields["content"], received_at)


class WaybillUploadRecorder(StreamRecorder[tuple[str, KeptWaybill], set[str]]):
    """Record uploaded e-waybills in the database (one consumer of the group), each by its
    source key (stream and entry id).

    `stats` counts ``recorded``, ``repeated`` (recorded before), ``malformed``, ``trimmed``,
    ``transactions``, ``redis_errors`` and ``database_errors``.
    """

    group = GROUP
    entry_name = "e-waybill upload"
    stream_of = staticmethod(waybills_stream)

    def parse(self, entry_id: str, fields: dict[str, bytes]) -> tuple[str, KeptWaybill]:
        """The source key and upload of one stream entry."""
        return f"{self.stream}#{entry_id}", upload_of(fields)

    def store(self, session: Session, items: list[tuple[str, KeptWaybill]]) -> set[str]:
        """Record the uploads; return the source keys of those that were new."""
        return waybill_uploads.record_waybill_uploads(session, dict(items), all_carriers=True)

    def settle(self, items: list[tuple[str, KeptWaybill]], outcome: set[str]) -> list[str]:
        """Count the new and repeated uploads; every one is done."""
        self.stats["recorded"] += len(outcome)
        self.stats["repeated"] += len(items) - len(outcome)
        return [source_key.rsplit("#", 1)[1] for source_key, _ in items]
