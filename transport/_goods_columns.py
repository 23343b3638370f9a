"""Map the columns of a dangerous-goods CSV (ADR Table A names) onto catalogue entry fields."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Label codes that are not hazards: "7E" marks fissile radioactive material.
_LABELS_WITHOUT_HAZARD: frozenset[str] = frozenset({"7E"})


def split_hazards(text: str) -> tuple[str, ...]:
    """Split "5.1 +8" or "5.1 8" into hazard codes."""
    return tuple(text.replace("+", " ").split())


#: Entry field -> CSV column, to name the column a validation error comes from.
COLUMN_OF_FIELD: Mapping[str, str] = {
    "un_number": "un_number",
    "name_en": "proper_shipping_name",
    "name_zh": "name_zh",
    "hazard_class": "class",
    "subsidiary_hazards": "labels",
    "packing_group": "packing_group",
    "tunnel_code": "tunnel_restriction_code",
    "is_highly_toxic": "is_highly_toxic",
    "is_explosive_precursor": "is_explosive_precursor",
    "note": "note",
}


def _division(raw_class: str, classification_code: str) -> str:
    """Return the GB 6944 division; ADR gives classes 1 and 2 without one.

    Class 1 takes it from the classification code ("1.1D" -> "1.1"). Class 2 from the code's
    letters: any T is toxic 2.3, else F is flammable 2.1, else 2.2. Anything else is returned
    as given, for the entry's validator to judge.
    """
    text = raw_class.strip()
    code = classification_code.strip().upper()
    if text == "1" and re.fullmatch(r"1\.[1-6][A-Z]", code):
        return code[:3]
    if text == "2" and re.fullmatch(r"\d[A-Z]+", code):
        letters = code[1:]
        return "2.3" if "T" in letters else "2.1" if "F" in letters else "2.2"
    return text


def _subsidiaries(row: Mapping[str, str]) -> str | tuple[str, ...]:
    """Return subsidiary hazards: the column of that name, else the labels after the first."""
    if "subsidiary_hazards" in row:
        return row["subsidiary_hazards"]
    tokens = split_hazards(row.get("labels", ""))[1:]
    return tuple(token for token in tokens if token not in _LABELS_WITHOUT_HAZARD)


def entry_fields(row: Mapping[str, str]) -> dict[str, Any]:
    """Map one CSV row onto GoodsEntry fields, leaving judgement to the model."""
    return {
        "un_number": row["un_number"],
        "name_en": row["proper_shipping_name"],
        "name_zh": row.get("name_zh"),
        "hazard_class": _division(row["class"], row.get("classification_code", "")),
        "subsidiary_hazards": _subsidiaries(row),
        "packing_group": row["packing_group"],
        "tunnel_code": row["tunnel_restriction_code"],
        "is_highly_toxic": row.get("is_highly_toxic", ""),
        "is_explosive_precursor": row.get("is_explosive_precursor", ""),
        "note": row.get("note", ""),
    }
