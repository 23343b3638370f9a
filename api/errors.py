"""Turn domain refusals into HTTP answers: 422 naming each field, 409 with the zh/en reason."""

from __future__ import annotations

import re
from typing import TypeVar

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from transport._errors import (
    ConflictError,
    ReasonedError,
    RegistryError,
    TransitionError,
    WaybillError,
)

_STATUS: dict[type[ReasonedError], int] = {
    WaybillError: 422,
    RegistryError: 422,
    TransitionError: 409,
    ConflictError: 409,
}
T = TypeVar("T")

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _loc(field: str) -> list[str | int]:
    """Split "lines[1].hazard_class" into ["body", "lines", 1, "hazard_class"]."""
    parts: list[str | int] = ["body"]
    for name, index in _PART.findall(field):
        parts.append(int(index) if index else name)
    return parts


def reasons_response(err: ReasonedError) -> JSONResponse:
    """Answer a refusal: one detail item per reason, in FastAPI's validation-error shape."""
    status = next(code for cls, code in _STATUS.items() if isinstance(err, cls))
    detail = [
        {"loc": _loc(r.field), "type": r.code, "msg": r.en, "msg_zh": r.zh} for r in err.reasons
    ]
    return JSONResponse(status_code=status, content={"detail": detail})


async def _handle(_request: Request, err: Exception) -> JSONResponse:
    """Exception handler for every reasoned refusal."""
    assert isinstance(err, ReasonedError)
    return reasons_response(err)


def install_error_handlers(app: FastAPI) -> None:
    """Register the refusal handlers on an application."""
    for cls in _STATUS:
        app.add_exception_handler(cls, _handle)


def found(value: T | None, what: str, what_zh: str, key: object) -> T:
    """Return the value, or answer 404 naming what was not found (also when out of scope)."""
    if value is None:
        raise HTTPException(404, detail=f"{what} {key} not found / {what_zh}不存在")
    return value
