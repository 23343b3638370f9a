"""Bilingual reasons: why a value, a waybill or an event was refused, in Chinese and English."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Reason", "join_en", "join_zh"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason: the field it is about ("" for the whole object), a machine code, zh/en text."""

    field: str
    code: str
    en: str
    zh: str

    def describe(self) -> str:
        """Return "field: english / 中文" for logs and command-line output."""
        prefix = f"{self.field}: " if self.field else ""
        return f"{prefix}{self.en} / {self.zh}"


def join_en(reasons: Iterable[Reason]) -> str:
    """Join the English texts of several reasons with "; "."""
    return "; ".join(reason.en for reason in reasons)


def join_zh(reasons: Iterable[Reason]) -> str:
    """Join the Chinese texts of several reasons with "；"."""
    return "；".join(reason.zh for reason in reasons)
