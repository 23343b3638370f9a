"""Contract over the rule family: ids, zh/en texts, legal basis, a pure initial state."""

from __future__ import annotations

import pytest

from transport.rules import RULES, waiting_clusters


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.rule_id)
def test_every_rule_has_id_texts_and_legal_basis(rule) -> None:
    assert rule.rule_id.isidentifier()
    for text in (rule.title, rule.legal_basis):
        assert text.zh.strip() and text.en.strip()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text.zh)
    assert rule.initial_state() == rule.initial_state()


def test_rule_ids_are_unique_and_include_the_fleet_rules() -> None:
    ids = [r.rule_id for r in RULES]
    assert len(ids) == len(set(ids))
    assert {waiting_clusters.RULE_ID, "lot_capacity", "lot_segregation"} <= set(ids)
    assert waiting_clusters.LEGAL_BASIS.zh and waiting_clusters.TITLE.en
