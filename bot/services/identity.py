"""One person, one record: a Telegram account attaches to the person the roster already knows.

The roster's person keeps its id, so every row that points at it (points ledger, partner memberships, patrol
sign-ups, tickets...) stays theirs without being touched. The temporary person created when the account first
wrote to the bot hands everything it has over to the roster's person in the same transaction and only then
goes away, with nothing left to cascade. Which tables point at people is read from the model metadata, so a
table added later is moved too.
"""

from __future__ import annotations

from bot.db.models import Person
from bot.db.repositories.identity import ReferenceClash, person_references
from bot.db.uow import UnitOfWork
from bot.services.errors import UserFacingError

# Where both people hold the same row (the same home, role, membership, reminder...), the two are one fact and
# the temporary person's copy is dropped. Anywhere else a clash is refused rather than guessed at: two points
# accounts in one compound, two sign-ups for one shift, two answers to one event.
SAME_FACT_TABLES = frozenset(
    {
        "residencies",
        "staff_roles",
        "invite_redemptions",
        "points_partner_members",
        "repair_followers",
        "event_reminders",
        "patrol_reminders",
        "law_feedback",
    }
)


async def references_to(uow: UnitOfWork, person_id: int) -> int:
    return await uow.identity.references_to(person_id)


async def attach_account(uow: UnitOfWork, account: Person, roster_person: Person) -> Person:
    """Give `roster_person` the Telegram account of `account` (the caller's temporary person); returns the
    person to use from now on. The caller commits."""
    if account.id == roster_person.id:
        return roster_person
    repo = uow.identity
    await repo.flush()
    try:
        await repo.move_references(account.id, roster_person.id, SAME_FACT_TABLES)
    except ReferenceClash:
        raise UserFacingError("residents.bind_conflict") from None
    telegram_id, language, phone = account.telegram_id, account.language, account.phone
    # The unique columns are freed on the temporary record before the roster's record takes them.
    account.telegram_id = None
    account.phone = None
    await repo.flush()
    roster_person.telegram_id = telegram_id
    roster_person.reachable = True
    if roster_person.language is None:
        roster_person.language = language
    if roster_person.phone is None:
        roster_person.phone = phone
    if not roster_person.display_name:
        roster_person.display_name = account.display_name
    await repo.flush()
    left = await repo.references_to(account.id)
    if left:  # a rule above missed something: refuse rather than let a cascade take it
        raise RuntimeError(f"person {account.id} still has {left} rows after the merge")
    await repo.delete_person(account)
    return roster_person


__all__ = ["SAME_FACT_TABLES", "attach_account", "person_references", "references_to"]
