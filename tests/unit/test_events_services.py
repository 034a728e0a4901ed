"""The events service on a fake unit of work: what organisers and residents would notice, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.db.models import Compound, Person
from bot.i18n import Translator
from bot.roles import Role
from bot.services import events
from bot.services.errors import UserFacingError
from tests.unit.fakes import EventsFakeGroup, EventsFakeRole, EventsFakeUnitOfWork

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in the compound
ORGANISER, ANNA, BO, CHEN = 100, 201, 202, 203
GROUP_CHAT = -5001


@pytest.fixture(scope="module")
def t() -> Translator:
    return Translator()


def _compound_with_people() -> EventsFakeUnitOfWork:
    uow = EventsFakeUnitOfWork()
    uow.community.compound_rows.append(Compound(id=1, name="阳光花园", timezone="Asia/Shanghai"))
    uow.community.groups.append(EventsFakeGroup(chat_id=GROUP_CHAT, compound_id=1))
    for person_id, telegram_id, name in (
        (1, ORGANISER, "王主任"),
        (2, ANNA, "安娜"),
        (3, BO, "小博"),
        (4, CHEN, "陈阿姨"),
    ):
        uow.community.people.append(
            Person(id=person_id, telegram_id=telegram_id, display_name=name, language="zh_CN", reachable=True)
        )
    uow.community.roles[1] = [EventsFakeRole(Role.COORDINATOR.value, 1)]
    return uow


def _draft(**changes: Any) -> events.EventDraft:
    values: dict[str, Any] = {
        "compound_id": 1,
        "title": "义诊",
        "place": "社区活动室",
        "starts_at": NOW + timedelta(days=3),
        "ends_at": NOW + timedelta(days=3, hours=2),
        "capacity": 2,
        "audience": "groups",
        "event_type": "clinic",
    }
    values.update(changes)
    return events.EventDraft(**values)


async def _published(t: Translator, **changes: Any) -> tuple[EventsFakeUnitOfWork, events.EventView]:
    uow = _compound_with_people()
    view = await events.create_event(uow, t, ORGANISER, _draft(**changes), NOW)  # type: ignore[arg-type]
    return uow, view


async def test_publishing_posts_the_event_to_the_compound_group_once(t: Translator) -> None:
    uow, view = await _published(t)
    assert view.title == "义诊" and view.going == 0 and view.capacity == 2
    posts = uow.outbox.to(GROUP_CHAT)
    assert len(posts) == 1 and "义诊" in posts[0] and "社区活动室" in posts[0]
    assert uow.commits == 1


async def test_a_resident_cannot_publish_an_event(t: Translator) -> None:
    uow = _compound_with_people()
    with pytest.raises(UserFacingError) as refused:
        await events.create_event(uow, t, ANNA, _draft(), NOW)  # type: ignore[arg-type]
    assert refused.value.key == "common.not_allowed"
    assert uow.outbox.messages == [] and uow.commits == 0


async def test_an_event_in_the_past_is_refused_before_anything_is_written(t: Translator) -> None:
    uow = _compound_with_people()
    with pytest.raises(UserFacingError) as refused:
        past = _draft(starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))
        await events.create_event(uow, t, ORGANISER, past, NOW)  # type: ignore[arg-type]
    assert refused.value.key == "events.in_past"
    assert uow.events.events == []


async def test_signing_up_books_a_place_and_arms_the_reminders(t: Translator) -> None:
    uow, view = await _published(t)
    rearmed = uow.rearmed
    result = await events.rsvp(uow, ANNA, "安娜", view.id, NOW)  # type: ignore[arg-type]
    assert result.status == "going" and result.event.going == 1
    assert {r.kind for r in uow.events.reminders if r.person_id == 2} == {"day", "hour"}
    assert uow.rearmed == rearmed + 1  # the scheduler learns of the new reminders when the sign-up commits


async def test_when_full_the_next_person_waits_and_a_second_press_is_refused(t: Translator) -> None:
    uow, view = await _published(t)
    await events.rsvp(uow, ANNA, "安娜", view.id, NOW)  # type: ignore[arg-type]
    await events.rsvp(uow, BO, "小博", view.id, NOW)  # type: ignore[arg-type]
    waiting = await events.rsvp(uow, CHEN, "陈阿姨", view.id, NOW)  # type: ignore[arg-type]
    assert waiting.status == "waiting" and waiting.position == 1
    with pytest.raises(UserFacingError) as again:
        await events.rsvp(uow, CHEN, "陈阿姨", view.id, NOW)  # type: ignore[arg-type]
    assert again.value.key == "events.already_waiting"


async def test_a_cancelled_place_goes_to_the_first_waiting_who_is_told(t: Translator) -> None:
    uow, view = await _published(t)
    for telegram_id, name in ((ANNA, "安娜"), (BO, "小博"), (CHEN, "陈阿姨")):
        await events.rsvp(uow, telegram_id, name, view.id, NOW + timedelta(minutes=telegram_id))  # type: ignore[arg-type]
    result = await events.cancel_rsvp(uow, t, ANNA, view.id, NOW + timedelta(hours=1))  # type: ignore[arg-type]
    assert result.status == "cancelled" and result.event.going == 2 and result.event.waiting == 0
    told = uow.outbox.to(CHEN)
    assert len(told) == 1 and "义诊" in told[0]
    assert uow.outbox.to(ANNA) == []


async def test_cancelling_the_event_tells_everyone_signed_up_and_the_group(t: Translator) -> None:
    uow, view = await _published(t)
    await events.rsvp(uow, ANNA, "安娜", view.id, NOW)  # type: ignore[arg-type]
    await events.rsvp(uow, BO, "小博", view.id, NOW)  # type: ignore[arg-type]
    told = await events.cancel_event(uow, t, ORGANISER, view.id, NOW)  # type: ignore[arg-type]
    assert told == 2
    assert len(uow.outbox.to(ANNA)) == 1 and len(uow.outbox.to(BO)) == 1
    assert len(uow.outbox.to(GROUP_CHAT)) == 2  # the post, then the cancellation
    assert all(r.done for r in uow.events.reminders)
    with pytest.raises(UserFacingError) as late:
        await events.rsvp(uow, CHEN, "陈阿姨", view.id, NOW)  # type: ignore[arg-type]
    assert late.value.key == "events.cancelled"
