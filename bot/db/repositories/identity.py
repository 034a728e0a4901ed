"""Moving everything a person holds to another person: which tables point at people, read from the model
metadata so a table added later is moved too. Never commits."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Column, Table, UniqueConstraint, and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import Base
from bot.db.models import Person


class ReferenceClash(Exception):
    """Both people hold a row the rules say is not the same fact (two points accounts in one compound...)."""


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


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def references_to(self, person_id: int) -> int:
        total = 0
        for table, column in person_references():
            count = select(func.count()).select_from(table).where(column == person_id)
            total += int(await self.session.scalar(count) or 0)
        return total

    async def move_references(self, source_id: int, target_id: int, same_fact_tables: frozenset[str]) -> None:
        """Point every row of `source_id` at `target_id`. Where both hold the same row, the source's copy is
        dropped if its table is in `same_fact_tables`; anywhere else the clash raises ReferenceClash."""
        for table, column in person_references():
            primary = next(iter(table.primary_key.columns))
            for others in _unique_column_sets(table, column):
                theirs = table.alias("theirs")
                same = [getattr(theirs.c, c.name) == c for c in others]
                theirs_too = exists().where(getattr(theirs.c, column.name) == target_id, *same)
                clash = and_(column == source_id, theirs_too)
                clashing = list((await self.session.scalars(select(primary).where(clash))).all())
                if not clashing:
                    continue
                if table.name not in same_fact_tables:
                    raise ReferenceClash(table.name)
                await self.session.execute(delete(table).where(primary.in_(clashing)))
            await self.session.execute(
                update(table).where(column == source_id).values({column.name: target_id})
            )

    async def flush(self) -> None:
        await self.session.flush()

    async def delete_person(self, person: Person) -> None:
        """Delete a person nothing points at any more, and forget the loaded object."""
        await self.session.execute(delete(Person).where(Person.id == person.id))
        self.session.expunge(person)
