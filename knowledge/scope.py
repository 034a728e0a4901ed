"""Questions outside the Civil Code (a traffic accident, unpaid wages, tax, a crime): where to send them.

Data-driven: ``knowledge/data/scope/offices.yaml`` lists each office's number and the words that put a
question on its desk. A cue only counts when the Civil Code entry the matcher found does not itself use that
word ("工伤赔的钱算夫妻共同财产吗" mentions 工伤 but is a marriage question our corpus answers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.normalize import normalize_text

SCOPE_FILE = Path(__file__).resolve().parent / "data" / "scope" / "offices.yaml"


@dataclass(frozen=True, slots=True)
class Office:
    name: str  # crime | traffic | tax | labour | government | legal_aid
    pointer: str  # the number to call: "110", "122", ...
    cues: tuple[str, ...]  # normalised, without spaces
    pairs: tuple[tuple[str, str], ...] = ()  # two words that together count like a strong word
    strong: tuple[str, ...] = ()  # count whatever the matcher found


@dataclass(frozen=True, slots=True)
class ScopeHit:
    office: Office
    cues: tuple[str, ...]  # the words that matched

    @property
    def pointer(self) -> str:
        return self.office.pointer


def _key(text: object) -> str:
    return normalize_text(str(text)).replace(" ", "")


def parse_offices(rows: object) -> tuple[list[Office], list[str]]:
    offices: list[Office] = []
    problems: list[str] = []
    if not isinstance(rows, list):
        return [], ["scope: expected a list of offices"]
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not row.get("office") or not row.get("pointer"):
            problems.append(f"scope #{i}: needs office and pointer")
            continue
        cues = tuple(k for c in row.get("cues") or () if (k := _key(c)))
        strong = tuple(k for c in row.get("strong") or () if (k := _key(c)))
        pairs = tuple(
            (_key(p[0]), _key(p[1])) for p in row.get("pairs") or ()
            if isinstance(p, list) and len(p) == 2 and _key(p[0]) and _key(p[1])
        )
        if not cues and not pairs and not strong:
            problems.append(f"scope #{i} ({row['office']}): no cues")
            continue
        offices.append(Office(str(row["office"]), str(row["pointer"]), cues, pairs, strong))
    return offices, problems


@lru_cache(maxsize=4)
def load_offices(path: Path = SCOPE_FILE) -> tuple[Office, ...]:
    try:
        rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return ()
    return tuple(parse_offices(rows)[0])


class ScopeDetector:
    """``detect(text, covered, confident)`` -> the office for a question outside the Civil Code, or None.

    A strong word always counts. A cue counts only when the matcher is not ``confident`` (no outright answer)
    and ``covered`` - the texts of the Civil Code entry it found (phrasings, topic) - does not use the word:
    then it is the corpus' own word."""

    def __init__(self, offices: Iterable[Office] | None = None) -> None:
        self.offices = tuple(offices) if offices is not None else load_offices()

    def cues_in(self, text: str) -> list[tuple[Office, tuple[str, ...], tuple[str, ...]]]:
        """(office, strong words found, cues found) for every office with any."""
        key = _key(text)
        found = []
        for office in self.offices:
            strong = tuple(c for c in office.strong if c in key)
            strong += tuple(f"{a}+{b}" for a, b in office.pairs if a in key and b in key)
            hits = tuple(c for c in office.cues if c in key)
            if strong or hits:
                found.append((office, strong, hits))
        return found

    def detect(self, text: str, covered: Iterable[str] = (), *, confident: bool = False) -> ScopeHit | None:
        found = self.cues_in(text)
        if not found:
            return None
        for office, strong, _ in found:
            if strong:
                return ScopeHit(office, strong)
        if confident:
            return None
        covered_key = "|".join(_key(t) for t in covered)
        for office, _, hits in found:
            own = tuple(h for h in hits if h not in covered_key)
            if own:
                return ScopeHit(office, own)
        return None
