"""The knowledge engine, loaded once per process: the Civil Code matcher and the free-text intent router."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING

from knowledge.corpus import Corpus, load_corpus

# Handlers reach knowledge/ only through this module (handlers → services → knowledge).
from knowledge.emergency import EMERGENCY_KINDS as EMERGENCY_KINDS
from knowledge.emergency import detect_emergency as detect_emergency
from knowledge.emergency import is_distress_call as is_distress_call
from knowledge.emergency import is_rights_question as is_rights_question
from knowledge.router import INTENTS as INTENTS
from knowledge.router import IntentRouter, KeywordRouter, RouteResult
from knowledge.small_talk import SmallTalk as SmallTalk
from knowledge.small_talk import small_talk as small_talk

if TYPE_CHECKING:
    # The matcher (numpy, the index code) is imported when the engine is built, not with the bot (0.2 s).
    from knowledge.matcher import LawMatcher, MatchResult

# Longer texts are cut before matching: nobody's question needs more, and it bounds the work per message.
ROUTE_TEXT_LIMIT = 500
# Inside a flow, leaving for another capability is offered only for a confident, unambiguous request: a
# word typed at a button step ("所有人") must not read as a new repair report.
CLEAR_REQUEST_SCORE = 95.0


# The engine is built in a thread at start (warm_up) while the bot already answers; a message that needs it
# sooner waits for that build instead of starting a second one.
_BUILDING = threading.RLock()


def corpus() -> Corpus:
    with _BUILDING:
        return _corpus()


@lru_cache(maxsize=1)
def _corpus() -> Corpus:
    return load_corpus()


def _remembering_matcher(corpus: Corpus) -> LawMatcher:
    from knowledge.matcher import LawMatcher, default_cache_dir

    class _RememberingMatcher(LawMatcher):
        """The router weighs the matcher's confidence, then the law flow answers from the same match: the
        last few results are kept, so a question is matched once per message, not twice (the index never
        changes while the process runs)."""

        remembered = 64

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self._recent: OrderedDict[tuple[str | None, int], MatchResult] = OrderedDict()

        def match(self, question: str | None, *, limit: int = 3) -> MatchResult:
            key = (question, limit)
            result = self._recent.get(key)
            if result is None:
                result = super().match(question, limit=limit)
                self._recent[key] = result
                # warm_up matches in a thread while the loop may match too: each step alone is safe under the
                # GIL, and a key the other thread dropped in between is no loss.
                with contextlib.suppress(KeyError):
                    if len(self._recent) > self.remembered:
                        self._recent.popitem(last=False)
            else:
                with contextlib.suppress(KeyError):
                    self._recent.move_to_end(key)
            return result

    # The index is cached on disk (rebuilt when the corpus changes).
    return _RememberingMatcher(corpus, cache_dir=default_cache_dir())


def law_matcher() -> LawMatcher:
    with _BUILDING:
        return _law_matcher()


@lru_cache(maxsize=1)
def _law_matcher() -> LawMatcher:
    return _remembering_matcher(corpus())


def intent_router() -> IntentRouter:
    with _BUILDING:
        return _intent_router()


@lru_cache(maxsize=1)
def _intent_router() -> IntentRouter:
    from knowledge.matcher import default_cache_dir

    # The trained model is cached next to the law index; trained (a few seconds) when missing or stale.
    return IntentRouter(law_matcher(), cache_dir=default_cache_dir())


@lru_cache(maxsize=1)
def keyword_router() -> KeywordRouter:
    """The earlier hand-weighted router, for the bench's side-by-side figures."""
    return KeywordRouter(law_matcher())


def train_router() -> IntentRouter:
    """Retrain from the data files and replace the cached model (``redbutler route train``)."""
    from knowledge.intent_model import load_or_train
    from knowledge.matcher import default_cache_dir

    _intent_router.cache_clear()
    load_or_train(law_matcher(), default_cache_dir(), force=True)
    return intent_router()


def route_text(text: str | None) -> RouteResult:
    return intent_router().route((text or "")[:ROUTE_TEXT_LIMIT])


def is_clear_request(result: RouteResult) -> bool:
    return result.alternative is None and result.score >= CLEAR_REQUEST_SCORE


def warm_up() -> None:
    """Build everything at start so the first resident does not wait for jieba's dictionary or OpenCC's
    tables (loaded by the first traditional-character message)."""
    from knowledge.route_eval import WARM_UP

    router = intent_router()
    for text in WARM_UP:
        router.route(text)


def warm_up_in_background() -> threading.Thread:
    """warm_up in a daemon thread. Not the loop's executor: asyncio.run joins its threads on the way out, so
    a bot stopped while it trains the intent model on a cold cache (20 s and more on a busy machine) would
    ignore SIGTERM until the training ends, and a supervisor would kill it mid-shutdown. The model and the
    index reach the cache by an atomic rename, so a build cut short leaves nothing half-written."""
    thread = threading.Thread(target=warm_up, name="law-warm-up", daemon=True)
    thread.start()
    return thread
