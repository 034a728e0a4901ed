"""The owners' vote count (Civil Code art. 278; SPC interpretation arts. 8–9), at its exact boundaries."""

from __future__ import annotations

from decimal import Decimal

from bot.services.vote_count import DEVELOPER, CastBallot, Figures, Home, area_units, count


def homes(*areas: int, owners: list[frozenset[str]] | None = None) -> list[Home]:
    return [
        Home(i + 1, area * 100, owners[i] if owners else frozenset({f"p{i + 1}"}))
        for i, area in enumerate(areas)
    ]


def ballots(*options: str) -> list[CastBallot]:
    return [CastBallot(i + 1, 1, option) for i, option in enumerate(options) if option]


def test_special_matter_passes_by_headcount_but_fails_by_area() -> None:
    # Four small homes agree, one big home disagrees: 4/5 of the owners but 400/1400 of the area.
    tally = count("special", homes(100, 100, 100, 100, 1000), ballots("yes", "yes", "yes", "yes", "no"))
    assert tally.quorum_met
    assert tally.options["yes"] == Figures(40000, 4)
    assert 4 * tally.options["yes"].owners >= 3 * tally.participated.owners  # enough heads
    assert not tally.passed  # not enough area
    assert tally.threshold == "3/4"


def test_a_co_owned_home_is_one_owner_with_one_vote() -> None:
    couple = frozenset({"p1", "p2"})
    tally = count("ordinary", homes(90, 90, owners=[couple, frozenset({"p3"})]), ballots("yes", ""))
    assert tally.eligible == Figures(18000, 2)
    assert tally.participated == Figures(9000, 1)


def test_an_owner_of_three_homes_counts_once_with_the_areas_added() -> None:
    one = frozenset({"p9"})
    owned = homes(80, 90, 100, 70, owners=[one, one, one, frozenset({"p4"})])
    tally = count(
        "ordinary", owned, [CastBallot(1, 1, "yes"), CastBallot(2, 1, "yes"), CastBallot(3, 1, "no")]
    )
    assert tally.eligible == Figures(34000, 2)
    assert tally.participated == Figures(27000, 1)
    assert tally.options["yes"] == Figures(17000, 1)  # the head follows the larger area
    assert tally.options["no"] == Figures(10000, 0)


def test_an_owner_split_evenly_counts_as_abstaining() -> None:
    one = frozenset({"p9"})
    tally = count(
        "ordinary", homes(80, 80, owners=[one, one]), [CastBallot(1, 1, "yes"), CastBallot(2, 1, "no")]
    )
    assert tally.options["abstain"].owners == 1
    assert not tally.passed


def test_the_developers_unsold_homes_together_count_as_one_owner() -> None:
    dev = frozenset({DEVELOPER})
    owned = homes(100, 100, 100, 100, owners=[dev, dev, dev, frozenset({"p1"})])
    tally = count("ordinary", owned, ballots("no", "", "", "yes"))
    assert tally.eligible == Figures(40000, 2)
    assert tally.participated == Figures(20000, 2)


def test_a_home_with_no_owner_recorded_counts_as_one_owner() -> None:
    tally = count("ordinary", homes(50, 50, owners=[frozenset(), frozenset()]), ballots("yes", ""))
    assert tally.eligible.owners == 2


def test_quorum_exactly_two_thirds_is_enough_and_just_under_is_not() -> None:
    tally = count("ordinary", homes(100, 100, 100), ballots("yes", "yes", ""))
    assert tally.participated == Figures(20000, 2)
    assert tally.quorum_met and tally.passed
    # 2/3 of the owners but one hundredth of a square metre short of 2/3 of the area.
    short = [
        Home(1, 10000, frozenset({"a"})),
        Home(2, 9999, frozenset({"b"})),
        Home(3, 10001, frozenset({"c"})),
    ]
    tally = count("ordinary", short, ballots("yes", "yes", ""))
    assert 3 * tally.participated.area == 2 * 30000 - 3
    assert not tally.quorum_met and not tally.passed


def test_special_matter_exactly_three_quarters_passes() -> None:
    tally = count("special", homes(100, 100, 100, 100), ballots("yes", "yes", "yes", "no"))
    assert tally.passed
    tally = count("special", homes(100, 100, 100, 100), ballots("yes", "yes", "abstain", "no"))
    assert not tally.passed  # abstaining takes part but does not agree


def test_ordinary_matter_exactly_half_fails_and_just_over_passes() -> None:
    assert not count("ordinary", homes(100, 100, 100, 100), ballots("yes", "yes", "no", "no")).passed
    assert count("ordinary", homes(100, 100, 101, 100, 100), ballots("yes", "yes", "yes", "no", "no")).passed


def test_only_the_latest_ballot_of_a_home_counts() -> None:
    tally = count(
        "ordinary", homes(100), [CastBallot(1, 1, "no"), CastBallot(1, 3, "yes"), CastBallot(1, 2, "no")]
    )
    assert tally.options["yes"] == Figures(10000, 1) and tally.participated.owners == 1


def test_areas_are_exact_hundredths() -> None:
    assert area_units(Decimal("89.55")) == 8955
    assert area_units(None) == 0
