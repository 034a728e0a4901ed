"""IntentRouter: which flow a private-chat message belongs to.

Intents: ``repair`` (reporting a problem or hazard), ``law`` (a legal question), ``points`` (volunteer
points), ``patrol`` (patrol shifts), ``events`` (event sign-up), ``tickets`` (status of my reports), ``help``
(greetings, "what can you do") and ``none`` (chit-chat).

Hand-written keyword features (weighted regular expressions in ``intent_keywords.txt``, applied to normalised
text, so traditional and full-width input work too) plus the law matcher's confidence; no training step.
Each intent gets a 0..100 score; the best wins, ``none`` when nothing reaches ``MIN_SCORE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.articles import article_lookup
from knowledge.matcher import LawMatcher
from knowledge.normalize import normalize_text

INTENTS: tuple[str, ...] = ("repair", "law", "points", "patrol", "events", "tickets", "help", "none")
MIN_SCORE = 30.0


@dataclass(frozen=True, slots=True)
class RouteResult:
    intent: str
    score: float  # 0..100
    scores: dict[str, float] | None = None  # every intent's score (for debugging / tests)


KEYWORDS_FILE = Path(__file__).resolve().parent / "intent_keywords.txt"


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts))


@dataclass(frozen=True, slots=True)
class _Keywords:
    features: dict[str, list[tuple[re.Pattern[str], float]]]  # intent -> [(pattern, points)]
    legal_question: re.Pattern[str]  # a legal question overrides a problem report ("漏水不修能起诉吗")
    already_reported: re.Pattern[str]  # a report being chased is a ticket question, not a new report


@lru_cache(maxsize=1)
def _keywords(path: Path = KEYWORDS_FILE) -> _Keywords:
    sections: list[tuple[str, list[str]]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1].strip(), []))
        elif sections:
            sections[-1][1].extend(line.split())
    features: dict[str, list[tuple[re.Pattern[str], float]]] = {i: [] for i in INTENTS if i != "none"}
    markers: dict[str, list[str]] = {"legal-question": [], "already-reported": []}
    for header, patterns in sections:
        name, _, points = header.partition(" ")
        if name in markers:
            markers[name].extend(patterns)
        elif name in features and patterns:
            features[name].append((_rx(*patterns), float(points or 0)))
        else:
            raise ValueError(f"{path.name}: unknown section [{header}]")
    return _Keywords(features, _rx(*markers["legal-question"]), _rx(*markers["already-reported"]))


class IntentRouter:
    """``route(text)`` -> ``RouteResult``. Give it the law matcher to recognise legal questions without
    keywords
    ("楼上天天半夜蹦迪咋办")."""

    def __init__(self, matcher: LawMatcher | None = None, *, min_score: float = MIN_SCORE) -> None:
        self.matcher = matcher
        self.min_score = min_score

    def route(self, text: str | None) -> RouteResult:
        norm = normalize_text(text if isinstance(text, str) else ("" if text is None else str(text)))
        if norm.startswith("/"):
            norm = norm[1:]
        if not norm or not any(ch.isalnum() for ch in norm):
            return RouteResult("none", 0.0, {})
        compact = norm.replace(" ", "")
        bare = norm.strip()
        scores: dict[str, float] = {}
        kw = _keywords()
        for intent, feats in kw.features.items():
            target = bare if intent == "help" else compact
            total = sum(points for rx, points in feats if rx.search(target))
            scores[intent] = float(min(100.0, total))

        if article_lookup(text) is not None:
            scores["law"] = 100.0
        legal_marker = bool(kw.legal_question.search(compact))
        law_score = 0.0
        if self.matcher is not None:
            result = self.matcher.match(text)
            if result.decision == "answer":
                law_score = result.score
            elif result.decision == "suggest":
                law_score = result.score * 0.7
        scores["law"] = min(100.0, max(scores["law"], 0.6 * scores["law"] + 0.6 * law_score))

        if legal_marker:
            scores["law"] = min(100.0, scores["law"] + 25)
            scores["repair"] *= 0.5
            scores["tickets"] *= 0.7
        else:
            # A problem report without a legal question stays a repair even when the law matcher recognises
            # the topic ("楼上漏水到我家了").
            if scores["repair"] >= 45:
                scores["law"] *= 0.6
        if kw.already_reported.search(compact):
            scores["tickets"] = min(100.0, scores["tickets"] + 30)
            scores["repair"] *= 0.5
        if scores["points"] >= 70:
            # "巡逻的积分" / "活动积分" are points questions.
            scores["patrol"] *= 0.5
            scores["events"] *= 0.5
        if scores["patrol"] >= 70:
            scores["events"] *= 0.6  # "报名参加巡逻队" is patrol

        best = max(scores, key=lambda k: (scores[k], -INTENTS.index(k)))
        if scores[best] < self.min_score:
            return RouteResult("none", float(round(100.0 - scores[best], 1)), scores)
        return RouteResult(best, float(round(scores[best], 1)), scores)
