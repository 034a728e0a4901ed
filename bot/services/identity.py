"""One person, one record: a Telegram account attaches to the person the roster already knows.

The roster's person keeps its id, so every row that points at it (points ledger, partner memberships, patrol
sign-ups, tickets...) stays theirs without being touched. The temporary person created when the account first
wrote to the bot hands everything it has over to the roster's person in the same transaction and only then
goes away, with nothing left to cascade. Which tables point at people is read from the model metadata, so a
table added later is moved too.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Column, Table, UniqueConstraint, and_, delete, exists, func, select, update

from bot.db.base import Base
from bot.db.models import Person
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


def person_references() -> Iterator[tuple[Table, Column[int]]]:
    """Every (table, column) that holds a people.id."""
    people = Base.metadata.tables["people"]
    for table in Base.metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
            if fk.column.table is people:
                yield table, fk.parent  # type: ignore[misc]


def _unique_column_sets(table: Table, column: Column[int]) -> list[list[Column[int]]]:
    """The other columns of each unique rule that includes `column`."""
    sets: list[list[Column[int]]] = []
    rules = [list(c.columns) for c in table.constraints if isinstance(c, UniqueConstraint)]
    rules += [list(i.columns) for i in table.indexes if i.unique]
    rules += [[c] for c in table.columns if c.unique]
    for rule in rules:
        if any(c.name == column.name for c in rule):
            sets.append([c for c in rule if c.name != column.name])  # type: ignore[misc]
    return sets


async def references_to(uow: UnitOfWork, person_id: int) -> int:
    total = 0
    for table, column in person_references():
        count = select(func.count()).select_from(table).where(column == person_id)
        total += int(await uow.session.scalar(count) or 0)
    return total


async def _move_references(uow: UnitOfWork, source_id: int, target_id: int) -> None:
    session = uow.session
    for table, column in person_references():
        primary = next(iter(table.primary_key.columns))
        for others in _unique_column_sets(table, column):
            theirs = table.alias("theirs")
            same = [getattr(theirs.c, c.name) == c for c in others]
            theirs_too = exists().where(getattr(theirs.c, column.name) == target_id, *same)
            clash = and_(column == source_id, theirs_too)
            clashing = list((await session.scalars(select(primary).where(clash))).all())
            if not clashing:
                continue
            if table.name not in SAME_FACT_TABLES:
                raise UserFacingError("residents.bind_conflict")
            await session.execute(delete(table).where(primary.in_(clashing)))
        await session.execute(update(table).where(column == source_id).values({column.name: target_id}))


async def attach_account(uow: UnitOfWork, account: Person, roster_person: Person) -> Person:
    """Give `roster_person` the Telegram account of `account` (the caller's temporary person); returns the
    person to use from now on. The caller commits."""
    if account.id == roster_person.id:
        return roster_person
    session = uow.session
    await session.flush()
    await _move_references(uow, account.id, roster_person.id)
    telegram_id, language, phone = account.telegram_id, account.language, account.phone
    # The unique columns are freed on the temporary record before the roster's record takes them.
    account.telegram_id = None
    account.phone = None
    await session.flush()
    roster_person.telegram_id = telegram_id
    roster_person.reachable = True
    if roster_person.language is None:
        roster_person.language = language
    if roster_person.phone is None:
        roster_person.phone = phone
    if not roster_person.display_name:
        roster_person.display_name = account.display_name
    await session.flush()
    left = await references_to(uow, account.id)
    if left:  # a rule above missed something: refuse rather than let a cascade take it
        raise RuntimeError(f"person {account.id} still has {left} rows after the merge")
    await session.execute(delete(Person).where(Person.id == account.id))
    session.expunge(account)
    return roster_person
