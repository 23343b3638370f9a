"""Schemas of alerts: the alert, a page of them, handling bodies and the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from transport.alerts.handling import ACTION_LABELS, AlertAction, HandlingState
from transport.store.alerts import AlertHistoryEntry, StoredAlert


class Bilingual(BaseModel):
    """A text in Chinese and English."""

    zh: str
    en: str


class AlertBase(BaseModel):
    """What an alert is about: rule, vehicle, carrier, waybill, when and where."""

    rule_id: str
    severity: str
    vehicle_key: str = Field(description="Vehicle id of the fixes (plate or jt808:<phone>).")
    vehicle_id: int | None = Field(description="Registry vehicle, None when unregistered.")
    carrier_id: int | None
    waybill_id: int | None
    started_at: datetime
    last_at: datetime
    ended_at: datetime | None
    lon: float | None
    lat: float | None


class AlertPublic(AlertBase):
    """A stored alert: condition (active or ended), handling state, rule and legal basis."""

    id: int
    alert_key: str
    is_active: bool
    state: HandlingState
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    rule: Bilingual | None
    legal_basis: Bilingual | None
    fact: Bilingual | None

    @classmethod
    def of(cls, alert: StoredAlert) -> AlertPublic:
        """Return the public form of a stored alert."""
        texts = {
            name: Bilingual.model_validate(alert.evidence[name])
            if isinstance(alert.evidence.get(name), dict)
            else None
            for name in ("rule", "legal_basis", "fact")
        }
        fields = {name: getattr(alert, name) for name in AlertBase.model_fields}
        return cls.model_validate(
            fields
            | texts
            | {
                "id": alert.id,
                "alert_key": alert.alert_key,
                "is_active": alert.is_active,
                "state": alert.state,
                "acknowledged_by": alert.acknowledged_by,
                "acknowledged_at": alert.acknowledged_at,
                "closed_by": alert.closed_by,
                "closed_at": alert.closed_at,
            }
        )


class AlertDetail(AlertPublic):
    """An alert with its whole evidence (fixes, edges, rule, schedule) and matched roads."""

    evidence: dict[str, Any]
    matched_geojson: dict[str, Any] | None

    @classmethod
    def of(cls, alert: StoredAlert) -> AlertDetail:
        """Return the detailed form of a stored alert."""
        return cls(
            **AlertPublic.of(alert).model_dump(),
            evidence=alert.evidence,
            matched_geojson=alert.matched_geojson,
        )


class AlertPage(BaseModel):
    """One page of alerts, newest first."""

    items: list[AlertPublic]
    total: int
    offset: int
    limit: int


class AlertUpdate(BaseModel):
    """Acknowledge or close an alert, optionally with a note."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, min_length=1, max_length=2000)


class AlertNoteCreate(BaseModel):
    """A note on an alert."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)


class AlertHistoryPublic(BaseModel):
    """One entry of an alert's history: a person's action or a step of the driver's reminder."""

    action: AlertAction
    label: Bilingual = Field(description="What the action is called, in Chinese and English.")
    actor: str = Field(description="Account, gateway id (reminder steps) or `system`.")
    note: str | None
    acted_at: datetime

    @classmethod
    def of(cls, entry: AlertHistoryEntry) -> AlertHistoryPublic:
        """Return the public form of a history entry."""
        zh, en = ACTION_LABELS[entry.action]
        return cls(
            action=entry.action, label=Bilingual(zh=zh, en=en), actor=entry.actor,
            note=entry.note, acted_at=entry.acted_at,
        )  # fmt: skip
