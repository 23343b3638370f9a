"""Errors raised by the geodata package."""


class NetworkSourceError(ValueError):
    """A road-network source cannot be read or holds no usable roads."""


class TrackError(ValueError):
    """A track file or array cannot be read as GPS fixes."""
