"""Restriction layers API: planners upload, replace and retire layers; every change audited.

A layer is checked with `geodata.restrictions.load_layer` before it is stored; a faulty layer is
answered 422 with one detail item per problem (feature index and field in ``loc``). Each upload
is a new immutable version; the audit trail says who changed what and when.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query

from api.deps import CurrentAccount, RecordId, SessionDep, require_role
from api.errors import found
from api.schemas.restrictions import LayerAuditPublic, LayerPublic, LayerVersionPublic
from geodata import restrictions
from geodata._errors import RestrictionLayerError
from transport.accounts import Role
from transport.store import restriction_layers

router = APIRouter(prefix="/v1/restrictions", tags=["restrictions"])

READERS = Depends(require_role(Role.PLANNER, Role.POLICE, Role.CARRIER))
PLANNER_ONLY = Depends(require_role(Role.PLANNER))
MAX_NAME_CHARS = 200
LayerBody = Annotated[
    dict[str, Any],
    Body(description="A restriction layer: GeoJSON FeatureCollection, hazmat_layer_version 1."),
]


def _problem_detail(problem: Any) -> dict[str, Any]:
    """Return one 422 detail item of a layer problem."""
    where: list[str | int] = ["body"]
    if problem.feature_index is not None:
        where += ["features", problem.feature_index]
    where += [part for part in problem.field.split(".") if part]
    return {"loc": where, "type": "restriction_layer", "msg": problem.message}


def _validated(content: dict[str, Any]) -> dict[str, Any]:
    """Return the layer when it follows the format, else answer 422 listing every problem."""
    try:
        layer = restrictions.load_layer(content)
    except RestrictionLayerError as err:
        problems = err.problems or (restrictions.LayerProblem("<layer>", None, "", str(err)),)
        raise HTTPException(422, detail=[_problem_detail(p) for p in problems]) from err
    if len(layer.name) > MAX_NAME_CHARS:
        detail = {"loc": ["body", "name"], "type": "too_long", "msg": "name is too long"}
        raise HTTPException(422, detail=[detail])
    return content


@router.get("", dependencies=[READERS])
def read_layers(
    session: SessionDep, include_retired: Annotated[bool, Query()] = False
) -> list[LayerPublic]:
    """List the layers by name, with their current versions."""
    layers = restriction_layers.list_layers(session, include_retired=include_retired)
    return [LayerPublic.of(layer) for layer in layers]


@router.post("", status_code=201, dependencies=[PLANNER_ONLY])
def create_layer(session: SessionDep, account: CurrentAccount, body: LayerBody) -> LayerPublic:
    """Upload a new layer as version 1 (409 when its name is taken)."""
    layer = restriction_layers.create_layer(session, content=_validated(body), actor=account.label)
    return LayerPublic.of(layer)


@router.put("/{layer_id}", dependencies=[PLANNER_ONLY])
def replace_layer(
    session: SessionDep, account: CurrentAccount, layer_id: RecordId, body: LayerBody
) -> LayerPublic:
    """Replace a layer: its next version, audited with the features added, removed, changed."""
    layer = restriction_layers.replace_layer(
        session, layer_id=layer_id, content=_validated(body), actor=account.label
    )
    return LayerPublic.of(found(layer, "layer", "图层", layer_id))


@router.delete("/{layer_id}", dependencies=[PLANNER_ONLY])
def retire_layer(session: SessionDep, account: CurrentAccount, layer_id: RecordId) -> LayerPublic:
    """Retire a layer (no longer in force; its versions and audit stay)."""
    layer = restriction_layers.retire_layer(session, layer_id=layer_id, actor=account.label)
    return LayerPublic.of(found(layer, "active layer", "有效图层", layer_id))


@router.get("/audit", dependencies=[Depends(require_role(Role.PLANNER, Role.POLICE))])
def read_audit(session: SessionDep) -> list[LayerAuditPublic]:
    """Return the audit trail of every layer, oldest first."""
    return [LayerAuditPublic.of(e) for e in restriction_layers.list_layer_audit(session)]


@router.get("/{layer_id}", dependencies=[READERS])
def read_layer(session: SessionDep, layer_id: RecordId) -> LayerVersionPublic:
    """Return a layer's current version with its GeoJSON content."""
    read = restriction_layers.get_layer_version(session, layer_id=layer_id)
    _, version = found(read, "layer", "图层", layer_id)
    return LayerVersionPublic.of(version)


@router.get("/{layer_id}/versions", dependencies=[READERS])
def read_layer_versions(session: SessionDep, layer_id: RecordId) -> list[LayerVersionPublic]:
    """List a layer's versions, oldest first (without contents)."""
    versions = restriction_layers.list_layer_versions(session, layer_id=layer_id)
    return [LayerVersionPublic.of(v) for v in found(versions, "layer", "图层", layer_id)]


@router.get("/{layer_id}/versions/{version}", dependencies=[READERS])
def read_layer_version(
    session: SessionDep, layer_id: RecordId, version: RecordId
) -> LayerVersionPublic:
    """Return one version of a layer with its GeoJSON content."""
    read = restriction_layers.get_layer_version(session, layer_id=layer_id, version=version)
    _, found_version = found(read, "layer version", "图层版本", f"{layer_id}/{version}")
    return LayerVersionPublic.of(found_version)


@router.get("/{layer_id}/audit", dependencies=[Depends(require_role(Role.PLANNER, Role.POLICE))])
def read_layer_audit(session: SessionDep, layer_id: RecordId) -> list[LayerAuditPublic]:
    """Return one layer's audit trail: who changed what, when."""
    found(
        restriction_layers.list_layer_versions(session, layer_id=layer_id),
        "layer",
        "图层",
        layer_id,
    )
    entries = restriction_layers.list_layer_audit(session, layer_id=layer_id)
    return [LayerAuditPublic.of(e) for e in entries]
