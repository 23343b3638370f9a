"""Store restriction layers under version control, auditing every change: who, when, what.

A layer's versions are immutable; uploading a layer again makes a new version and an audit
entry naming the features added, removed and changed. Retiring keeps every version. Layers are
authority data, readable by every role that may see them, so they carry no carrier scope.
Contents are validated by the caller (`geodata.restrictions.load_layer`) before they get here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from transport._errors import ConflictError
from transport.layer_versions import LayerChange, content_sha256, diff_features
from transport.reasons import Reason
from transport.store import models

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session

__all__ = [
    "LayerAuditEntry",
    "LayerSummary",
    "LayerVersion",
    "create_layer",
    "get_layer_version",
    "list_layer_audit",
    "list_layer_versions",
    "list_layers",
    "replace_layer",
    "retire_layer",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerSummary:
    """A layer and its current version."""

    id: int
    name: str
    current_version: int
    is_retired: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LayerVersion:
    """One version of a layer; `content` is None in listings."""

    layer_id: int
    version: int
    sha256: str
    feature_count: int
    created_by: str
    created_at: datetime
    content: dict[str, Any] | None = None


@dataclass(frozen=True)
class LayerAuditEntry:
    """One audited change."""

    layer_id: int
    version: int
    action: LayerChange
    actor: str
    acted_at: datetime
    added_ids: tuple[str, ...]
    removed_ids: tuple[str, ...]
    changed_ids: tuple[str, ...]


def _summary(row: models.RestrictionLayerRow) -> LayerSummary:
    """Return the summary of a layer row."""
    return LayerSummary(
        row.id, row.name, row.current_version, row.is_retired, row.created_at, row.updated_at
    )


def _version(row: models.RestrictionLayerVersionRow, *, with_content: bool) -> LayerVersion:
    """Return a version of a row."""
    return LayerVersion(
        row.layer_id, row.version, row.sha256, row.feature_count, row.created_by, row.created_at,
        row.content if with_content else None,
    )  # fmt: skip


def _name_taken(name: str) -> ConflictError:
    """Return the conflict of a taken layer name."""
    reason = Reason("name", "duplicate", f"a layer named {name} exists", f"图层 {name} 已存在")
    return ConflictError([reason])


def _write(
    session: Session,
    row: models.RestrictionLayerRow,
    *,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    action: LayerChange,
    actor: str,
) -> None:
    """Write a new version (unless retiring) and the audit entry of one change."""
    now = datetime.now(UTC)
    added, removed, changed = diff_features(old, new)
    row.updated_at = now
    if new is not None:
        session.add(
            models.RestrictionLayerVersionRow(
                layer_id=row.id, version=row.current_version, content=dict(new),
                sha256=content_sha256(new), feature_count=len(new["features"]),
                created_by=actor, created_at=now,
            )
        )  # fmt: skip
    session.add(
        models.RestrictionLayerAuditRow(
            layer_id=row.id, version=row.current_version, action=action.value, actor=actor,
            acted_at=now, added_ids=added, removed_ids=removed, changed_ids=changed,
        )
    )  # fmt: skip
    session.flush()
    logger.info("layer %s %s by %s (version %d)", row.name, action, actor, row.current_version)


def create_layer(session: Session, *, content: Mapping[str, Any], actor: str) -> LayerSummary:
    """Store a new layer as version 1 and audit it.

    Raises
    ------
    ConflictError
        When a layer of that name exists (retired ones included).
    """
    row = models.RestrictionLayerRow(name=content["name"], current_version=1)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            _write(session, row, old=None, new=content, action=LayerChange.CREATED, actor=actor)
    except IntegrityError as err:
        raise _name_taken(content["name"]) from err
    return _summary(row)


def _current(session: Session, row: models.RestrictionLayerRow) -> dict[str, Any] | None:
    """Return the content of a layer's current version."""
    return session.scalars(
        select(models.RestrictionLayerVersionRow.content).where(
            models.RestrictionLayerVersionRow.layer_id == row.id,
            models.RestrictionLayerVersionRow.version == row.current_version,
        )
    ).one_or_none()


def _locked(session: Session, layer_id: int) -> models.RestrictionLayerRow | None:
    """Return a layer row locked for update, None when unknown."""
    return session.scalars(
        select(models.RestrictionLayerRow)
        .where(models.RestrictionLayerRow.id == layer_id)
        .with_for_update()
    ).one_or_none()


def replace_layer(
    session: Session, *, layer_id: int, content: Mapping[str, Any], actor: str
) -> LayerSummary | None:
    """Store a new version of a layer (also un-retiring it) and audit it; None when unknown.

    Raises
    ------
    ConflictError
        When the new name is another layer's.
    """
    row = _locked(session, layer_id)
    if row is None:
        return None
    old = None if row.is_retired else _current(session, row)
    action = LayerChange.CREATED if row.is_retired else LayerChange.REPLACED
    try:
        with session.begin_nested():
            row.name, row.current_version, row.is_retired = (
                content["name"],
                row.current_version + 1,
                False,
            )
            _write(session, row, old=old, new=content, action=action, actor=actor)
    except IntegrityError as err:
        session.refresh(row)
        raise _name_taken(content["name"]) from err
    return _summary(row)


def retire_layer(session: Session, *, layer_id: int, actor: str) -> LayerSummary | None:
    """Retire a layer (its versions stay) and audit it; None when unknown or already retired."""
    row = _locked(session, layer_id)
    if row is None or row.is_retired:
        return None
    old = _current(session, row)
    with session.begin_nested():
        row.is_retired = True
        _write(session, row, old=old, new=None, action=LayerChange.RETIRED, actor=actor)
    return _summary(row)


def list_layers(session: Session, *, include_retired: bool = False) -> list[LayerSummary]:
    """Return the layers by name."""
    statement = select(models.RestrictionLayerRow).order_by(models.RestrictionLayerRow.name)
    if not include_retired:
        statement = statement.where(models.RestrictionLayerRow.is_retired.is_(False))
    return [_summary(row) for row in session.scalars(statement)]


def get_layer_version(
    session: Session, *, layer_id: int, version: int | None = None
) -> tuple[LayerSummary, LayerVersion] | None:
    """Return a layer and one version with its content (default: current); None when unknown."""
    row = session.get(models.RestrictionLayerRow, layer_id)
    if row is None:
        return None
    found = session.scalars(
        select(models.RestrictionLayerVersionRow).where(
            models.RestrictionLayerVersionRow.layer_id == layer_id,
            models.RestrictionLayerVersionRow.version == (version or row.current_version),
        )
    ).one_or_none()
    return None if found is None else (_summary(row), _version(found, with_content=True))


def list_layer_versions(session: Session, *, layer_id: int) -> list[LayerVersion] | None:
    """Return every version of a layer, oldest first, without contents; None when unknown."""
    if session.get(models.RestrictionLayerRow, layer_id) is None:
        return None
    statement = (
        select(models.RestrictionLayerVersionRow)
        .where(models.RestrictionLayerVersionRow.layer_id == layer_id)
        .order_by(models.RestrictionLayerVersionRow.version)
    )
    return [_version(row, with_content=False) for row in session.scalars(statement)]


def list_layer_audit(session: Session, *, layer_id: int | None = None) -> list[LayerAuditEntry]:
    """Return the audit trail, oldest first, of one layer or of all."""
    table = models.RestrictionLayerAuditRow
    statement = select(table).order_by(table.acted_at, table.id)
    if layer_id is not None:
        statement = statement.where(table.layer_id == layer_id)
    return [
        LayerAuditEntry(
            r.layer_id,
            r.version,
            LayerChange(r.action),
            r.actor,
            r.acted_at,
            tuple(r.added_ids),
            tuple(r.removed_ids),
            tuple(r.changed_ids),
        )
        for r in session.scalars(statement)
    ]
