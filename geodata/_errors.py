"""Errors raised by the geodata package."""


class NetworkSourceError(ValueError):
    """A road-network source cannot be read or holds no usable roads."""


class TrackError(ValueError):
    """A track file or array cannot be read as GPS fixes."""


class ScheduleError(ValueError):
    """An opening_hours schedule, its time zone or its date ranges cannot be used."""


class RestrictionLayerError(ValueError):
    """A restriction layer does not follow the layer format; the message lists every problem."""

    def __init__(self, message: str, problems: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems
