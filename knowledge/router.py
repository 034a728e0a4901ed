"""Which flow a private-chat message belongs to.

Intents (``INTENTS``): ``repair`` (reporting a problem or hazard), ``law`` (a legal question), ``points``
(volunteer points), ``patrol`` (patrol shifts), ``event`` (events and sign-up), ``tickets`` (my reports'
status) and ``help`` (greetings, "what can you do", small talk and anything without content).

``IntentRouter`` is the trained classifier (``knowledge/intent_model.py``: character n-gram TF-IDF plus the
law matcher's confidence, a linear SVM with calibrated probabilities). When the two most likely intents are
close it names the runner-up in ``RouteResult.alternative`` so the bot can ask instead of guessing. A message
that signals immediate danger (``knowledge.emergency``) is a ``repair`` whatever else it says.

``KeywordRouter`` is the earlier hand-weighted regular expressions (``intent_keywords.txt``), kept as the
baseline the bench compares against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.articles import article_lookup
from knowledge.emergency import EmergencySignal, detect_emergency
from knowledge.intent_model import (
    INTENTS,
    IntentModel,
    LawSignal,
    has_content,
    law_features,
    load_or_train,
    prepare,
)
from knowledge.normalize import normalize_text
from knowledge.small_talk import small_talk

if TYPE_CHECKING:
    from knowledge.matcher import LawMatcher

__all__ = ["INTENTS", "IntentRouter", "KeywordRouter", "RouteResult"]

MIN_SCORE = 30.0
# Ask rather than guess when the runner-up is within this much probability of the winner (chosen on the tune
# file: see README, "Routing").
CLOSE_MARGIN = 0.2
# Never ask about small talk: "help" is what the bot does anyway when unsure, so it is no useful choice.
NOT_A_CHOICE = frozenset({"help"})


@dataclass(frozen=True, slots=True)
class RouteResult:
    intent: str
    score: float  # 0..100: the calibrated probability of ``intent`` (keyword router: its own score)
    scores: dict[str, float] | None = None  # every intent's score (for debugging / tests)
    alternative: str | None = None  # a close runner-up: ask "intent or alternative?" instead of guessing
    emergency_kind: str | None = None  # set when the message signals immediate danger (then intent is repair)

    @property
    def emergency(self) -> bool:
        return self.emergency_kind is not None


def _emergency_route(signal: EmergencySignal) -> RouteResult:
    return RouteResult("repair", round(100.0 * signal.score, 1), None, None, signal.kind)


class IntentRouter:
    """``route(text)`` -> ``RouteResult`` from the trained model. ``matcher`` is the law matcher (its
    confidence is a feature); the fitted model is kept in ``cache_dir`` (default: the law index's folder)
    between runs and trained when missing or stale; ``model`` skips both (tests, the bench)."""

    def __init__(self, matcher: LawSignal | None = None, *, cache: bool = True,
                 cache_dir: str | Path | None = None, model: IntentModel | None = None,
                 margin: float = CLOSE_MARGIN) -> None:
        self.matcher = matcher
        if model is None:
            from knowledge.matcher import default_cache_dir  # numpy and the index code: with the model only

            model = load_or_train(matcher, (cache_dir or default_cache_dir()) if cache else None)
        self.model = model
        self.margin = margin

    def route(self, text: str | None) -> RouteResult:
        raw = text if isinstance(text, str) else ("" if text is None else str(text))
        signal = detect_emergency(raw)
        if signal.emergency:
            return _emergency_route(signal)
        # After the danger check, never before it. A whole-message hello, thanks or OK is the menu whatever
        # the model would say (it says "help" for all 115 such messages in tests/data and the intent data),
        # and skipping the model and the law matcher saves a third of the routing of the commonest message.
        if small_talk(raw) is not None:
            return RouteResult("help", 100.0, {})
        prepared = prepare(raw)
        if not has_content(prepared):  # empty, emoji, punctuation: nothing to route
            return RouteResult("help", 100.0, {})
        law = law_features(self.matcher, raw[:500])
        if law[2]:  # a whole-message article look-up ("第1300条", even out of range) is for the law flow
            return RouteResult("law", 100.0, {})
        probs = self.model.probabilities(prepared, law)
        ranked = sorted(probs, key=lambda k: (-probs[k], INTENTS.index(k)))
        best, second = ranked[0], ranked[1]
        close = probs[best] - probs[second] < self.margin
        alternative = second if close and not ({best, second} & NOT_A_CHOICE) else None
        scores = {k: round(100.0 * v, 1) for k, v in probs.items()}
        return RouteResult(best, scores[best], scores, alternative)


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
    features: dict[str, list[tuple[re.Pattern[str], float]]] = {i: [] for i in INTENTS}
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


class KeywordRouter:
    """The hand-weighted keyword router the trained model replaced; kept as the bench's baseline.
    ``route(text)`` -> ``RouteResult``; the law matcher (optional) spots legal questions without keywords."""

    def __init__(self, matcher: LawMatcher | None = None, *, min_score: float = MIN_SCORE) -> None:
        self.matcher = matcher
        self.min_score = min_score

    def route(self, text: str | None) -> RouteResult:
        signal = detect_emergency(text)
        if signal.emergency:
            return _emergency_route(signal)
        norm = normalize_text(text if isinstance(text, str) else ("" if text is None else str(text)))
        if norm.startswith("/"):
            norm = norm[1:]
        if not norm or not any(ch.isalnum() for ch in norm):
            return RouteResult("help", 100.0, {})
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
            scores["event"] *= 0.5
        if scores["patrol"] >= 70:
            scores["event"] *= 0.6  # "报名参加巡逻队" is patrol

        best = max(scores, key=lambda k: (scores[k], -INTENTS.index(k)))
        if scores[best] < self.min_score:
            return RouteResult("help", float(round(100.0 - scores[best], 1)), scores)
        return RouteResult(best, float(round(scores[best], 1)), scores)
