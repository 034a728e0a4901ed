"""Civil Code FAQ corpus, law matcher and free-text intent router.

Pure Python: this package imports neither telegram nor sqlalchemy nor anything from ``bot`` or ``handlers``.

Typical use::

    from knowledge.matcher import build_matcher
    from knowledge.router import IntentRouter

    corpus, matcher = build_matcher()  # loads knowledge/data, reuses the cached index when unchanged
    result = matcher.match("楼上天天半夜蹦迪咋办")  # MatchResult(decision="answer", candidates=(...))
    entry = matcher.entry(result.top.faq_id)  # FaqEntry with answer_zh / answer_en / articles
    summary = corpus.summaries.get(entry.articles[0])  # ArticleSummary
    router = IntentRouter(matcher)
    router.route("我家水管漏了").intent  # "repair"

The functions behind ``redbutler law ask|check|eval``, ``redbutler route`` and ``redbutler bench law`` are in
``knowledge.evaluation``.
"""

from __future__ import annotations
