"""Typed drafts: what a step stores, the next step reads back; an old dict draft still reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.context import Draft


@dataclass
class TripDraft(Draft):
    KEY = "trip_draft"
    compound_id: int | None = None
    title: str = ""
    photos: list[str] = field(default_factory=list)


def test_a_draft_round_trips_through_json() -> None:
    draft = TripDraft(compound_id=3, title="巡逻", photos=["a"])
    assert TripDraft.from_json(draft.to_json()) == draft


def test_an_old_dict_draft_reads_back_and_unknown_keys_are_ignored() -> None:
    assert TripDraft.from_json({"compound_id": 5, "stale_flag": True}) == TripDraft(compound_id=5)
    assert TripDraft.from_json(None) == TripDraft()
