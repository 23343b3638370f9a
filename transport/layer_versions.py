"""What changed between two versions of a restriction layer: features added, removed, changed."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["LayerChange", "content_sha256", "diff_features"]


class LayerChange(enum.StrEnum):
    """An audited change of a layer."""

    CREATED = "created"
    REPLACED = "replaced"
    RETIRED = "retired"


def content_sha256(content: Mapping[str, Any]) -> str:
    """Return the hash of a layer's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _features_by_id(content: Mapping[str, Any] | None) -> dict[str, str]:
    """Return each feature's canonical JSON hash by its id."""
    features = [] if content is None else content.get("features", [])
    return {f["properties"]["id"]: content_sha256(f) for f in features}


def diff_features(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> tuple[list[str], list[str], list[str]]:
    """Return the sorted ids of features added, removed and changed from `old` to `new`.

    Both are validated layers (every feature has a unique ``properties.id``); ``None`` is no
    layer (before creation, after retirement).

    Examples
    --------
    >>> f = lambda i, s: {"properties": {"id": i, "schedule": s}}
    >>> diff_features({"features": [f("a", "24/7"), f("b", "24/7")]},
    ...               {"features": [f("b", "Mo-Fr"), f("c", "24/7")]})
    (['c'], ['a'], ['b'])
    """
    before, after = _features_by_id(old), _features_by_id(new)
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(i for i in before.keys() & after.keys() if before[i] != after[i])
    return added, removed, changed
