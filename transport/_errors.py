"""Errors raised by the transport package."""


class CatalogueError(ValueError):
    """A dangerous-goods catalogue cannot be read, or a look-up in it has no single answer."""


class CargoError(ValueError):
    """Waybill goods lines cannot be turned into a cargo profile."""
