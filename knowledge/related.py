"""The second level: article summaries and keywords as an index, so a question with no FAQ entry still gets
"相关法条" (a pointer to the articles, never an answer).

BM25 over the summary's character bigrams plus its keywords (a keyword found in the question counts double),
restricted to the books people ask about.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from knowledge.corpus import ArticleSummary
from knowledge.normalize import normalize_text
from knowledge.tokenize import STOP_CHARS, char_bigrams

K1 = 1.2
B = 0.75
KEYWORD_BOOST = 2.0
# A pointer needs at least this much evidence (about two keywords, or one and a few rare bigrams); on the
# tuning set about half the questions above it have an expected article among the three shown. Articles
# scoring under RELATIVE_CUT of the best are left out.
MIN_RELATED_SCORE = 10.0
RELATIVE_CUT = 0.5


@dataclass(frozen=True, slots=True)
class RelatedArticle:
    article: int
    score: float


def _bigrams(text: str) -> list[str]:
    return [b for b in char_bigrams(normalize_text(text).replace(" ", "")) if not set(b) <= STOP_CHARS]


class RelatedArticles:
    def __init__(self, summaries: Mapping[int, ArticleSummary]) -> None:
        self.articles: list[int] = []
        self.keywords: list[tuple[str, ...]] = []
        docs: list[list[str]] = []
        for number, s in sorted(summaries.items()):
            kws = tuple(k for kw in s.keywords if len(k := normalize_text(kw).replace(" ", "")) >= 2)
            terms = _bigrams(s.summary_zh)
            for kw in kws:
                terms.extend(_bigrams(kw))
            self.articles.append(number)
            self.keywords.append(kws)
            docs.append(terms)
        n = len(docs) or 1
        avgdl = (sum(len(d) for d in docs) / n) or 1.0
        df: Counter[str] = Counter(t for d in docs for t in set(d))
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, d in enumerate(docs):
            norm = K1 * (1 - B + B * len(d) / avgdl)
            for t, c in Counter(d).items():
                self.postings[t].append((i, c * (K1 + 1) / (c + norm)))
        self.postings = dict(self.postings)
        self.keyword_index: dict[str, list[int]] = defaultdict(list)
        for i, kws in enumerate(self.keywords):
            for kw in kws:
                self.keyword_index[kw].append(i)
        self.keyword_index = dict(self.keyword_index)
        self.longest_keyword = max((len(k) for k in self.keyword_index), default=0)

    def find(self, question: str, *, limit: int = 3) -> list[RelatedArticle]:
        key = normalize_text(question).replace(" ", "")
        if not key:
            return []
        acc: dict[int, float] = defaultdict(float)
        for t in set(_bigrams(key)):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i, w in self.postings[t]:
                acc[i] += idf * w
        # the keywords in the question: look its substrings up (a question is short, the keyword list long)
        found = {
            key[i : i + n]
            for i in range(len(key))
            for n in range(2, self.longest_keyword + 1)
            if key[i : i + n] in self.keyword_index
        }
        for kw in found:
            for i in self.keyword_index[kw]:
                acc[i] += KEYWORD_BOOST * len(kw)
        ranked = sorted(acc.items(), key=lambda kv: (-kv[1], self.articles[kv[0]]))
        if not ranked or ranked[0][1] < MIN_RELATED_SCORE:
            return []
        floor = ranked[0][1] * RELATIVE_CUT
        return [RelatedArticle(self.articles[i], round(s, 2)) for i, s in ranked[:limit] if s >= floor]
