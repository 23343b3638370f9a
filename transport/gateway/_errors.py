"""Errors raised by the gateway package, each with machine reason codes for counters."""

from __future__ import annotations

from collections.abc import Iterable


class GatewayError(ValueError):
    """Untrusted terminal input refused, with one reason code per fault found."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        self.reasons: tuple[str, ...] = tuple(code for code, _ in self.problems)
        super().__init__("; ".join(f"{code}: {detail}" for code, detail in self.problems))

    @property
    def reason(self) -> str:
        """Return the first reason code, the one a single counter is keyed by."""
        return self.reasons[0]


class FrameError(GatewayError):
    """Bytes that cannot be delimited, unescaped, checksummed or read as a JT/T 808 frame."""


class MessageError(GatewayError):
    """A well-formed frame whose body is not a valid message of its id."""
