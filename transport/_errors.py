"""Errors raised by the transport package."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from transport.reasons import Reason


class CatalogueError(ValueError):
    """A dangerous-goods catalogue cannot be read, or a look-up in it has no single answer."""


class CargoError(ValueError):
    """Waybill goods lines cannot be turned into a cargo profile."""


class ReasonedError(ValueError):
    """A refusal with one or more zh/en reasons; ``str()`` joins the English texts."""

    def __init__(self, reasons: Sequence[Reason]) -> None:
        self.reasons: tuple[Reason, ...] = tuple(reasons)
        super().__init__("; ".join(reason.describe() for reason in self.reasons))


class RegistryError(ReasonedError):
    """A carrier, vehicle, tank or person record (or a CSV row of one) is refused."""


class WaybillError(ReasonedError):
    """An e-waybill is refused: faulty fields, unknown goods or registry entries."""


class TransitionError(ReasonedError):
    """A waybill lifecycle event is not allowed in the waybill's state."""


class ConflictError(ReasonedError):
    """A write conflicts with what is stored: a duplicate key or a second active waybill."""


class ScopeError(TypeError):
    """A store query was called without a carrier scope (or with two)."""
