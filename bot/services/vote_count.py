"""The count of an owners' vote, as the law says; pure (no database), so it is proven by unit tests.

Civil Code art. 278 (the figures below are all of owners of the compound, not of those who pressed):
- Quorum: owners holding at least 2/3 of the exclusive-part area AND at least 2/3 of the owners take part
  (参与表决). "以上" includes the figure itself (art. 1259), so exactly 2/3 is enough.
- Special matters, items 6–8 (raising the maintenance fund; rebuilding; changing the use of common parts or
  using them for business): at least 3/4 of the participating area AND at least 3/4 of the participating
  owners agree (exactly 3/4 is enough).
- Every other matter: more than half (过半数, exactly 1/2 is not enough) of the participating area AND of the
  participating owners agree.
Headcount and area (Supreme People's Court interpretation on building ownership, arts. 8–9):
- The area is each home's exclusive-part area (the roster's 面积); a person's homes add up.
- One home counts as one owner; co-owners of one home are one owner and cast one vote.
- A person who owns several homes counts once (homes linked by any shared owner form one owner).
- All unsold homes of the developer together count as one owner.
- A home with no owner recorded counts as one owner (its paper ballot still counts).
Ballots: each home's current ballot is its latest (highest seq); earlier ones stay as evidence. An owner of
several homes votes per home (area follows each home); their one head goes to the option with the most area
among their homes, and to 弃权 when two options tie (a split will is not an agreement).
Arithmetic is exact: areas are integers in hundredths of a square metre and every comparison is a
cross-multiplication of integers; no floating point decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

OPTIONS = ("yes", "no", "abstain")
MATTERS = ("ordinary", "special")
DEVELOPER = "developer"


@dataclass(frozen=True)
class Home:
    household_id: int
    area: int  # hundredths of a square metre
    owners: frozenset[str] = (
        frozenset()
    )  # "p<person id>" per owner, DEVELOPER for the developer's unsold homes


@dataclass(frozen=True)
class CastBallot:
    household_id: int
    seq: int
    option: str


@dataclass(frozen=True)
class Figures:
    area: int = 0
    owners: int = 0


@dataclass(frozen=True)
class Tally:
    matter: str
    eligible: Figures
    participated: Figures
    options: dict[str, Figures] = field(default_factory=dict)

    @property
    def quorum_met(self) -> bool:
        e, p = self.eligible, self.participated
        return e.owners > 0 and 3 * p.area >= 2 * e.area and 3 * p.owners >= 2 * e.owners

    @property
    def threshold(self) -> str:
        return "3/4" if self.matter == "special" else "1/2"

    @property
    def agreed_enough(self) -> bool:
        yes, p = self.options["yes"], self.participated
        if p.owners == 0:
            return False
        if self.matter == "special":
            return 4 * yes.area >= 3 * p.area and 4 * yes.owners >= 3 * p.owners
        return 2 * yes.area > p.area and 2 * yes.owners > p.owners

    @property
    def passed(self) -> bool:
        return self.quorum_met and self.agreed_enough


def area_units(square_metres: Decimal | None) -> int:
    """The roster's area (two decimals) as an exact integer of hundredths of a square metre."""
    return int((square_metres or Decimal(0)) * 100)


def square_metres(units: int) -> Decimal:
    return Decimal(units) / 100


def owner_groups(homes: Iterable[Home]) -> list[list[Home]]:
    """Homes grouped by owner: one group per owner as art. 9 counts them (union of homes sharing an owner)."""
    homes = list(homes)
    parent = list(range(len(homes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_home_of: dict[str, int] = {}
    for index, home in enumerate(homes):
        for owner in home.owners:
            if owner in first_home_of:
                parent[root(index)] = root(first_home_of[owner])
            else:
                first_home_of[owner] = index
    groups: dict[int, list[Home]] = {}
    for index, home in enumerate(homes):
        groups.setdefault(root(index), []).append(home)
    return list(groups.values())


def current_ballots(ballots: Iterable[CastBallot]) -> dict[int, CastBallot]:
    """Each home's latest ballot."""
    current: dict[int, CastBallot] = {}
    for ballot in ballots:
        held = current.get(ballot.household_id)
        if held is None or ballot.seq > held.seq:
            current[ballot.household_id] = ballot
    return current


def count(matter: str, homes: Iterable[Home], ballots: Iterable[CastBallot]) -> Tally:
    if matter not in MATTERS:
        raise ValueError(matter)
    homes = list(homes)
    known = {h.household_id for h in homes}
    current = {k: b for k, b in current_ballots(ballots).items() if k in known}
    groups = owner_groups(homes)
    option_area = dict.fromkeys(OPTIONS, 0)
    option_owners = dict.fromkeys(OPTIONS, 0)
    participated_owners = 0
    for group in groups:
        area_by_option = dict.fromkeys(OPTIONS, 0)
        voted = False
        for home in group:
            ballot = current.get(home.household_id)
            if ballot is None:
                continue
            voted = True
            area_by_option[ballot.option] += home.area
            option_area[ballot.option] += home.area
        if not voted:
            continue
        participated_owners += 1
        most = max(area_by_option.values())
        leaders = [o for o in OPTIONS if area_by_option[o] == most]
        option_owners[leaders[0] if len(leaders) == 1 else "abstain"] += 1
    participated_area = sum(option_area.values())
    return Tally(
        matter=matter,
        eligible=Figures(sum(h.area for h in homes), len(groups)),
        participated=Figures(participated_area, participated_owners),
        options={o: Figures(option_area[o], option_owners[o]) for o in OPTIONS},
    )
