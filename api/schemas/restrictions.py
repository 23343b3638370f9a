"""Schemas of restriction layers under version control and their audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from transport.layer_versions import LayerChange
from transport.store.restriction_layers import LayerAuditEntry, LayerSummary, LayerVersion


class LayerPublic(BaseModel):
    """A layer and its current version."""

    id: int
    name: str
    current_version: int
    is_retired: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, layer: LayerSummary) -> LayerPublic:
        """Return the public form of a layer."""
        return cls(
            id=layer.id,
            name=layer.name,
            current_version=layer.current_version,
            is_retired=layer.is_retired,
            created_at=layer.created_at,
            updated_at=layer.updated_at,
        )


class LayerVersionPublic(BaseModel):
    """One version of a layer; `content` is the GeoJSON layer (only when one version is read)."""

    layer_id: int
    version: int
    sha256: str
    feature_count: int
    created_by: str
    created_at: datetime
    content: dict[str, Any] | None = None

    @classmethod
    def of(cls, version: LayerVersion) -> LayerVersionPublic:
        """Return the public form of a version."""
        return cls(
            layer_id=version.layer_id,
            version=version.version,
            sha256=version.sha256,
            feature_count=version.feature_count,
            created_by=version.created_by,
            created_at=version.created_at,
            content=version.content,
        )


class LayerAuditPublic(BaseModel):
    """One audited change: who, when, what (features added, removed, changed)."""

    layer_id: int
    version: int
    action: LayerChange
    actor: str
    acted_at: datetime
    added_ids: list[str]
    removed_ids: list[str]
    changed_ids: list[str]

    @classmethod
    def of(cls, entry: LayerAuditEntry) -> LayerAuditPublic:
        """Return the public form of an audit entry."""
        return cls(
            layer_id=entry.layer_id,
            version=entry.version,
            action=entry.action,
            actor=entry.actor,
            acted_at=entry.acted_at,
            added_ids=list(entry.added_ids),
            removed_ids=list(entry.removed_ids),
            changed_ids=list(entry.changed_ids),
        )
