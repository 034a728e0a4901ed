"""The emergency alert service against the database: one ticket per typed message, even when two presses
race (two phones), and nothing for people who have no home to send help to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.db.models.delivery import OutboxMessage
from bot.db.models.repairs import RepairTicket
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import default_translator
from bot.services import emergency
from bot.services.errors import UserFacingError
from tests.factories import USERS

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def _raise(uow_factory: UnitOfWorkFactory, telegram_id: int, key: str) -> emergency.AlertResult:
    return await emergency.raise_alert(
        uow_factory(),
        default_translator(),
        telegram_id=telegram_id,
        chat_id=telegram_id,
        private=True,
        kind="gas",
        text="家里有煤气味",
        key=key,
        now=NOW,
    )


async def test_two_presses_at_once_make_one_ticket_and_one_set_of_alerts(
    uow_factory: UnitOfWorkFactory,
) -> None:
    key = emergency.alert_key(USERS.resident, 42)
    first, second = await asyncio.gather(
        _raise(uow_factory, USERS.resident, key), _raise(uow_factory, USERS.resident, key)
    )
    assert first.number == second.number
    assert sorted([first.already_raised, second.already_raised]) == [False, True]
    async with uow_factory() as uow:
        [ticket] = list(await uow.session.scalars(select(RepairTicket)))
        assert ticket.urgency == "emergency" and ticket.alert_key == key and "煤气味" in ticket.description
        per_person = await uow.session.execute(
            select(OutboxMessage.chat_id, func.count()).group_by(OutboxMessage.chat_id)
        )
        assert all(count == 1 for _chat, count in per_person)
    # Another message is another alert.
    third = await _raise(uow_factory, USERS.resident, emergency.alert_key(USERS.resident, 43))
    assert third.number != first.number and not third.already_raised


async def test_no_home_no_alert(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(UserFacingError):
        await _raise(uow_factory, USERS.outsider, emergency.alert_key(USERS.outsider, 1))
    with pytest.raises(UserFacingError):
        await _raise(uow_factory, USERS.newcomer, emergency.alert_key(USERS.newcomer, 1))
    help_ = await emergency.help_for(uow_factory(), USERS.newcomer, USERS.newcomer, private=True)
    assert not help_.can_alert
