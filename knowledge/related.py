"""The second level: article summaries and keywords as an index, so a question with no FAQ entry still gets
"相关法条" (a pointer to the articles, never an answer).

BM25 over the summary's character bigrams plus its keywords (a keyword found in the question counts double),
restricted to the books people ask about.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from knowledge.compact import Columns, Vocab
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
    """Built from the summaries; kept as arrays (vocabularies and columns, see ``knowledge.compact``)."""

    def __init__(self, summaries: Mapping[int, ArticleSummary]) -> None:
        self.articles: list[int] = []
        keywords: list[tuple[str, ...]] = []
        docs: list[list[str]] = []
        for number, s in sorted(summaries.items()):
            kws = tuple(k for kw in s.keywords if len(k := normalize_text(kw).replace(" ", "")) >= 2)
            terms = _bigrams(s.summary_zh)
            for kw in kws:
                terms.extend(_bigrams(kw))
            self.articles.append(number)
            keywords.append(kws)
            docs.append(terms)
        n = len(docs) or 1
        avgdl = (sum(len(d) for d in docs) / n) or 1.0
        df: Counter[str] = Counter(t for d in docs for t in set(d))
        self.vocab = Vocab(df)
        self.idf = np.zeros(len(self.vocab))
        self.idf[self.vocab.index(list(df))] = [math.log(1 + (n - c + 0.5) / (c + 0.5)) for c in df.values()]
        rows: list[int] = []
        cols: list[str] = []
        counts: list[int] = []
        norms: list[float] = []
        for i, d in enumerate(docs):
            norms.append(K1 * (1 - B + B * len(d) / avgdl))
            for t, c in Counter(d).items():
                rows.append(i)
                cols.append(t)
                counts.append(c)
        # postings: term -> (article, BM25 weight count * (K1 + 1) / (count + norm)), as the columns of an
        # articles x terms matrix
        self.postings = Columns.from_bm25(
            rows, self.vocab.index(cols), counts, norms, K1 + 1, (len(docs), len(self.vocab))
        )
        # keyword -> articles (an article listing a keyword twice counts it twice)
        self.keyword_vocab = Vocab(kw for kws in keywords for kw in kws)
        pairs = [(i, kw) for i, kws in enumerate(keywords) for kw in kws]
        self.keyword_index = Columns.from_triplets(
            [i for i, _ in pairs], self.keyword_vocab.index([kw for _, kw in pairs]), None,
            (len(docs), len(self.keyword_vocab)),
        )
        self.longest_keyword = max((len(k) for kws in keywords for k in kws), default=0)
        # the keywords' first two characters: only where the question has them can a keyword start
        self.keyword_starts = Vocab(kw[:2] for kws in keywords for kw in kws)

    def find(self, question: str, *, limit: int = 3) -> list[RelatedArticle]:
        key = normalize_text(question).replace(" ", "")
        if not key:
            return []
        cols = self.vocab.index(list(set(_bigrams(key))))
        cols = cols[cols >= 0]
        reached, weights = self.postings.gather(cols, self.idf[cols])
        # the keywords in the question: look its substrings up (a question is short, the keyword list long),
        # those starting where a keyword can (a long question has a thousand substrings, a few dozen there)
        starts = [key[i : i + 2] for i in range(len(key) - 1)]
        can_start = (self.keyword_starts.index(starts) >= 0).tolist() if starts else []
        subs = list(dict.fromkeys(
            key[i : i + n] for i, ok in enumerate(can_start) if ok
            for n in range(2, self.longest_keyword + 1) if i + n <= len(key)
        ))
        kcols = self.keyword_vocab.index(subs)
        found = kcols >= 0
        kw_reached, kw_weights = self.keyword_index.gather(
            kcols[found], KEYWORD_BOOST * np.fromiter((len(t) for t in subs), dtype=np.float64,
                                                      count=len(subs))[found],
        )
        rows = np.concatenate([reached, kw_reached])
        if not rows.size:
            return []
        acc = np.bincount(rows, weights=np.concatenate([weights, kw_weights]))
        ids = np.unique(rows)
        scores = acc[ids].tolist()
        ranked = sorted(zip(ids.tolist(), scores, strict=True), key=lambda kv: (-kv[1], self.articles[kv[0]]))
        if ranked[0][1] < MIN_RELATED_SCORE:
            return []
        floor = ranked[0][1] * RELATIVE_CUT
        return [RelatedArticle(self.articles[i], round(s, 2)) for i, s in ranked[:limit] if s >= floor]
