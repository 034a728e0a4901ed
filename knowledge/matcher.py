"""LawMatcher: finds the FAQ entry that answers a resident's question.

Pipeline for a question:

1. ``normalize_text`` (width, traditional -> simplified, punctuation, article numerals), then synonyms rewrite
   how people talk into the corpus' words (管理费 -> 物业费) and jieba cuts it into content words.
2. Retrieval: BM25 postings (jieba words and character bigrams over every phrasing) pick the best few dozen
   entries (very common terms are skipped when rarer ones are present, so the cost stays flat as it grows).
3. Scoring, per candidate entry, each feature in 0..1 (``WEIGHTS`` says how much each counts; features with
   weight 0 are not even computed):
   * ``fuzz`` / ``fuzz_content`` - rapidfuzz ratio between the question and the closest phrasing, on the whole
     canonical text / on its content words only (order-aware character similarity: the strongest signal);
   * ``pool_char`` / ``pool`` / ``pool_bigram`` - BM25 of the question's characters / words / bigrams over all
     phrasings and the topic of the entry taken together, divided by what a perfect match would get (so: how
     much of what the resident said the entry covers);
   * ``answer`` / ``answer_bigram`` - the same for the words / bigrams of the answer text;
   * ``word``, ``bigram``, ``char``, ``back``, ``fuzz_set``, ``fuzz_sort``, ``fuzz_partial`` - per-phrasing
     variants, kept for tuning (``evaluation.tune_weights``) but weighted 0 today.
   Framing words ("谁负责", "合法吗") count less than topic words. The weighted sum times 100 is the score;
   one or two content characters scale it down; an article number in the question and a word-for-word
   phrasing add a bonus.
4. Decision (hand-weighted, ``ranker=False``): ``answer`` at or above ``answer_threshold`` with a lead of
   ``answer_margin`` over the best entry citing other articles; ``suggest`` at or above ``suggest_threshold``,
   or from ``WEAK_SUGGEST_THRESHOLD`` when the text sounds legal; otherwise ``none``.

The default since issue 11 is the learned ranker (``Ranker``, ``knowledge/data/ranker.json``, fitted by
``evaluation.train_ranker`` / ``redbutler law train``): character n-gram TF-IDF adds candidates; a pairwise
logistic regression over the features above (plus TF-IDF cosines, retrieval rank and the hand-weighted score)
ranks them, Platt-scaled so the score is a probability x 100; a small second model (top, lead over the rival,
how much the question says) decides ``answer``. English questions are first turned into Chinese key terms
(``knowledge.glossary``); questions for another office get ``pointer`` (``knowledge.scope``); non-answers get
``related`` articles from the summaries and keywords (``knowledge.related``).
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import re
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from knowledge.articles import article_lookup, is_valid_article, parse_article_number, strip_article_refs
from knowledge.cache_dir import default_cache_dir, private_dir
from knowledge.compact import Columns, Texts, Vocab, dump_mapped, load_mapped
from knowledge.corpus import ArticleSummary, Corpus, FaqEntry, load_corpus
from knowledge.glossary import searchable
from knowledge.normalize import normalize_text
from knowledge.related import RelatedArticles
from knowledge.scope import ScopeClassifier, ScopeDetector
from knowledge.tokenize import Analysis, Analyzer, char_bigrams, default_analyzer

K1 = 1.2
B = 0.75

# Feature weights (sum to 1) and thresholds, calibrated on tests/data/law_dev and off-topic chit-chat with
# evaluation.tune_weights / evaluation.calibrate_thresholds.
WEIGHTS: dict[str, float] = {
    "word": 0.0,
    "bigram": 0.0,
    "back": 0.0,
    "pool": 0.032,
    "pool_bigram": 0.0,
    "answer": 0.167,
    "answer_bigram": 0.1,
    "char": 0.0,
    "pool_char": 0.192,
    "fuzz_set": 0.0,
    "fuzz_sort": 0.0,
    "fuzz": 0.34,
    "fuzz_content": 0.168,
    "fuzz_partial": 0.0,
}


def _words(text: str) -> list[str]:
    return text.split()


# Words that frame a legal question rather than say what it is about ("谁负责", "合法吗"): they count less.
WEAK_WORDS: frozenset[str] = frozenset(
    _words(
        """
        负责 赔 赔偿 找 找谁 合法 违法 算数 说法 要求 起诉 报警 处理 解决 管 不管 规定 法律
        民法典 责任 承担 权利 义务 有权 允许 行不行 算不算 咋整 能要 要回 钱 出钱
        """
    )
)
WEAK_FACTOR = 0.4
ANSWER_THRESHOLD = 33.0
SUGGEST_THRESHOLD = 33.0
# Between these two, suggest only when the text sounds like a legal question (a LEGAL_CUE phrase or a word
# of our domain dictionary / synonym map); otherwise none.
WEAK_SUGGEST_THRESHOLD = 22.0
ARTICLE_BONUS = 15.0
EXACT_BONUS = 10.0
# "answer" also needs the best entry to lead every entry citing other articles by this many points; closer
# calls are shown as "您是不是想问" buttons (on the dev set a lead of 4+ points is right ~96% of the time).
ANSWER_MARGIN = 4.0
LEGAL_CUE = re.compile(
    "赔|责任|负责|担责|合法|违法|犯法|法律|法院|权|起诉|告|归谁|谁的|算数|有效|能不能|可不可以|可以吗|能吗|"
    "行不行|行吗|凭什么|该不该|要不要|必须|应该|谁出|谁管|找谁|怎么办|咋办|咋整|怎么处理|合理|有没有"
)
INFO_FACTOR: dict[int, float] = {0: 0.5, 1: 0.5, 2: 0.8, 3: 0.92}
RETRIEVE = 10  # candidates from BM25 scored in full
COMMON_DF = 0.08  # in retrieval, terms in more than this share of entries are skipped if rarer terms exist

# A lone weak candidate is not a confident one: the rival counts as at least RIVAL_FLOOR, and an outright
# answer needs the top candidate itself at ANSWER_FLOOR or more.
RIVAL_FLOOR = 2.0
ANSWER_FLOOR = 30.0
ARTICLE_LOGIT = 2.0
EXACT_LOGIT = 3.0
TFIDF_RETRIEVE = 6  # phrasings nearest by character n-gram TF-IDF added to the candidates
# The out-of-scope classifier (knowledge.scope.ScopeClassifier): margin of the best office over the Civil Code
# class. At SCOPE_STRONG the question goes to that office whatever matched; at SCOPE_WEAK when there is no
# outright answer; at SCOPE_DOUBT an outright answer becomes "您是不是想问". Chosen on the tuning sets
# (tests/data/law_dev, law_scope_tuning.tsv, law_tuning_2*.tsv): no Civil Code question there sent
# elsewhere by the classifier but one (抢手机: a crime, tuned as civil), and SCOPE_DOUBT below every one
# answered outright on them but 2% (still offered first as a suggestion).
SCOPE_STRONG = -0.3
SCOPE_WEAK = -0.9
SCOPE_DOUBT = -1.4
# With one of that office's words in the question the classifier need lean less: no outright answer from
# here (fresh 8's "家里进小偷了" at -1.47; 4 Civil Code answers of 1,756 on the tuning sets between it and
# SCOPE_DOUBT, all still offered first as a suggestion).
SCOPE_CUE_DOUBT = -1.6
# The learned ranker (evaluation.train_ranker): a logistic regression over RANKER_FEATURES giving the chance
# that a candidate entry answers the question; its probability x 100 is the score.
RANKER_FILE = Path(__file__).resolve().parent / "data" / "ranker.json"
RANKER_FEATURES: tuple[str, ...] = (
    "word", "bigram", "back", "pool", "pool_bigram", "answer", "answer_bigram", "char", "pool_char",
    "fuzz_set", "fuzz", "fuzz_content", "tfidf", "tfidf_pool", "info", "article", "exact",
    "retrieval_rank", "weighted",
)


@dataclass(frozen=True, slots=True)
class Ranker:
    coef: tuple[float, ...]  # per candidate: score = 100 * sigmoid(coef . features + intercept)
    intercept: float
    answer_threshold: float  # the confidence (x 100) an outright answer needs
    answer_margin: float  # unused by the learned confidence; kept for the hand-weighted fallback's interface
    suggest_threshold: float
    weak_suggest_threshold: float
    # Confidence the top candidate is right: sigmoid(c0 * z_top + c1 * (z_top - z_rival) + c2 * info + c3),
    # z being the candidates' linear scores (calibrated on questions the ranker never saw).
    confidence: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)

    @classmethod
    def load(cls, path: Path = RANKER_FILE) -> Ranker | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if tuple(data["features"]) != RANKER_FEATURES:
                return None
            conf = tuple(float(c) for c in data["confidence"])
            return cls(tuple(float(c) for c in data["coef"]), float(data["intercept"]),
                       float(data["answer_threshold"]), float(data["answer_margin"]),
                       float(data["suggest_threshold"]), float(data["weak_suggest_threshold"]),
                       (conf[0], conf[1], conf[2], conf[3]))
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def answer_confidence(self, z_top: float, z_rival: float, info: float) -> float:
        c = self.confidence
        return 100.0 / (1.0 + math.exp(-(c[0] * z_top + c[1] * (z_top - z_rival) + c[2] * info + c[3])))


def is_rival(top: Sequence[int], other: Sequence[int]) -> bool:
    """Whether ``other`` answers a different question than ``top``: its main (first) article differs.
    Sharing any article is not enough to count as the same answer: nearly every fee entry cites 944, but
    "欠了五年物业费" is about the limitation period (188), not about the previous owner's arrears."""
    return bool(top) and bool(other) and top[0] != other[0]


def _logit(score: float) -> float:
    """The linear score back from a 0..100 probability (clipped: scores are rounded to 0.1)."""
    p = min(max(score / 100.0, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _feature_row(f: dict[str, float]) -> list[float]:
    return [f.get(k, 0.0) for k in RANKER_FEATURES]


Decision = str  # "answer" | "suggest" | "none"


@dataclass(frozen=True, slots=True)
class Candidate:
    faq_id: str
    articles: tuple[int, ...]
    score: float  # 0..100


@dataclass(frozen=True, slots=True)
class MatchResult:
    question: str
    decision: Decision
    candidates: tuple[Candidate, ...] = ()
    article_ref: int | None = None  # the message is an article look-up ("第1254条"); may be out of range
    # Outside the Civil Code: the number to call instead ("122", "12333", ...); the decision is then "none".
    pointer: str | None = None
    pointer_office: str | None = None  # crime | traffic | tax | labour | government | legal_aid
    # No confident entry: articles whose summary or keywords fit the question (a pointer, not an answer).
    related: tuple[int, ...] = ()
    searched: str = ""  # what was matched: the question, or the Chinese terms of an English question

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0

    @property
    def article_ref_valid(self) -> bool:
        return self.article_ref is not None and is_valid_article(self.article_ref)


# --- BM25 field -------------------------------------------------------------------------------------------

class _Field:
    """One BM25 field: per-document term weights (tf part, length-normalised) and idf, as arrays (a vocabulary
    of sorted terms, idf per term, the weights column by column: a query reads only its own terms' columns,
    and the columns are also the retrieval postings)."""

    __slots__ = ("idf", "matrix", "oov_idf", "vocab")

    def __init__(self, vocab: Vocab | None = None, idf: np.ndarray | None = None,
                 matrix: Columns | None = None, oov_idf: float = 0.0) -> None:
        self.vocab = vocab if vocab is not None else Vocab()
        self.idf = idf if idf is not None else np.zeros(0)
        self.matrix = matrix if matrix is not None else Columns(
            np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0), (0, 0)
        )
        self.oov_idf = oov_idf

    @classmethod
    def empty(cls, n: int) -> _Field:
        """A field not built (its features carry no weight) over ``n`` documents."""
        nothing = Columns(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0), (n, 0))
        return cls(matrix=nothing)

    def __getstate__(self) -> tuple[Vocab, np.ndarray, Columns, float]:
        return self.vocab, self.idf, self.matrix, self.oov_idf

    def __setstate__(self, state: tuple[Vocab, np.ndarray, Columns, float]) -> None:
        self.vocab, self.idf, self.matrix, self.oov_idf = state

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], mass: list[float] | None = None) -> _Field:
        """``mass``: filled with the sum of idf over each document's distinct terms."""
        n = len(docs)
        avgdl = (sum(len(d) for d in docs) / n) if n else 1.0
        avgdl = avgdl or 1.0
        df: dict[str, int] = defaultdict(int)
        weights: list[dict[str, int]] = []  # per document: term -> count
        norms: list[float] = []
        for doc in docs:
            counts: dict[str, int] = defaultdict(int)
            for t in doc:
                counts[t] += 1
            norms.append(K1 * (1 - B + B * len(doc) / avgdl))
            weights.append(counts)
            for t in counts:
                df[t] += 1
        vocab = Vocab(df)
        terms = list(df)
        cols = vocab.index(terms)
        idf = np.zeros(len(vocab))
        idf[cols] = [math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df.values()]
        column = dict(zip(terms, cols.tolist(), strict=True))
        rows = [d for d, w in enumerate(weights) for _ in w]
        # stored as counts: a weight is count * (K1 + 1) / (count + norm), computed when a query reads it
        matrix = Columns.from_bm25(
            rows, [column[t] for w in weights for t in w], [c for w in weights for c in w.values()], norms,
            K1 + 1, (n, len(vocab)),
        )
        if mass is not None:
            term_idf = dict(zip(terms, idf[cols].tolist(), strict=True))
            mass.extend(sum(term_idf[t] for t in w) for w in weights)
        oov_idf = math.log(1 + (n + 0.5) / 0.5) if n else 1.0
        return cls(vocab, idf, matrix, oov_idf)

    def __contains__(self, term: str) -> bool:
        return term in self.vocab

    def term_idf(self, term: str) -> float:
        col = self.vocab.get(term)
        return self.oov_idf if col is None else float(self.idf[col])

    def term_idfs(self, terms: Sequence[str], cols: np.ndarray | None = None) -> list[float]:
        """``term_idf`` of each term, looked up together (``cols``: their columns, already looked up)."""
        cols = self.vocab.index(terms) if cols is None else cols
        return np.where(cols >= 0, self.idf[np.maximum(cols, 0)] if self.idf.size else 0.0,
                        self.oov_idf).tolist()

    def scores(self, query: dict[str, float], *, presence: bool = False, cols: np.ndarray | None = None
               ) -> np.ndarray:
        """Per document: sum over the query's terms of its weight x the document's (1 with ``presence``);
        ``cols``: the columns of the query's terms in its order, already looked up."""
        terms = list(query)
        if cols is None or len(cols) != len(terms):
            cols = self.vocab.index(terms)
        found = cols >= 0
        vals = np.fromiter(query.values(), dtype=np.float64, count=len(terms))
        return self.matrix.column_sums(cols[found], vals[found], presence=presence)


class _Lookups:
    """The columns of a question's terms per field, looked up once per question."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}

    def columns(self, fld: _Field, terms: Sequence[str]) -> np.ndarray:
        key = (id(fld), tuple(terms))
        cols = self._seen.get(key)
        if cols is None:
            cols = self._seen[key] = fld.vocab.index(terms)
        return cols


@dataclass(frozen=True, slots=True)
class _Phrasing:
    entry: int
    analysis: Analysis
    joined: str  # content words joined by spaces, for token-set ratio


_INDEX_ATTRS = (
    "_phr_canonical", "_phr_content", "_phr_joined", "_entry_start", "_citing", "_word", "_bigram",
    "_char", "_pool", "_pool_bigram", "_pool_char", "_answer_text", "_answer_norm", "_answer_bigram",
    "_entry_df_limit", "_tfidf", "_tfidf_phrasings", "_tfidf_entries", "_phrasing_entry",
    "related_index", "_word_mass", "_scope_model",
)
_CACHE_VERSION = "11"


def _cache_key(
    entries: Sequence[FaqEntry], weights: dict[str, float], ranked: bool,
    summaries: dict[int, ArticleSummary] | None = None,
) -> str:
    h = hashlib.sha256(_CACHE_VERSION.encode())
    h.update(repr((ranked, sorted(k for k, v in weights.items() if v > 0))).encode())
    here = Path(__file__).resolve().parent
    for name in ("matcher.py", "compact.py", "tokenize.py", "normalize.py", "synonyms.txt", "dictionary.txt"):
        try:
            h.update((here / name).read_bytes())
        except OSError:
            h.update(name.encode())
    for e in entries:
        h.update(repr((e.id, e.topic, e.questions, e.asked_zh, e.answer_zh, e.articles)).encode())
    for n, sm in sorted((summaries or {}).items()):
        h.update(repr((n, sm.summary_zh, sm.keywords)).encode())
    for name in ("related.py", "scope.py", "data/scope/examples.tsv"):
        try:
            h.update((here / name).read_bytes())
        except OSError:
            h.update(name.encode())
    return h.hexdigest()[:32]


def _load_index(cache_dir: str | Path, key: str) -> dict[str, object] | None:
    folder = private_dir(cache_dir)
    path = folder / f"law-{key}.pickle" if folder else None
    if path is None or not path.is_file():
        return None
    enabled = gc.isenabled()
    gc.disable()  # thousands of small containers: the collector would run many times for nothing
    try:
        state = load_mapped(path)  # the arrays stay in the file, mapped: pages no query reads cost no memory
    except Exception:  # a damaged or foreign cache is simply rebuilt
        return None
    finally:
        if enabled:
            gc.enable()
    if not isinstance(state, dict) or set(state) != set(_INDEX_ATTRS):
        return None
    return state


KEEP_INDEXES = 3  # cached indexes kept side by side (newest first)


def _save_index(cache_dir: str | Path, key: str, state: dict[str, object]) -> None:
    folder = private_dir(cache_dir)
    if folder is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            dump_mapped(state, fh)
        os.replace(tmp, folder / f"law-{key}.pickle")
        # Two checkouts (a test run beside the bot) share this folder: keeping only our own index made each
        # delete the other's and rebuild for seconds at every start.
        indexes = sorted(folder.glob("law-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in indexes[KEEP_INDEXES:]:
            old.unlink(missing_ok=True)
    except OSError:
        return


class LawMatcher:
    """Built once from the corpus (a few hundred ms); ``match`` is thread-safe (it only reads the index)."""

    def __init__(
        self,
        corpus: Corpus | Sequence[FaqEntry],
        *,
        analyzer: Analyzer | None = None,
        answer_threshold: float = ANSWER_THRESHOLD,
        suggest_threshold: float = SUGGEST_THRESHOLD,
        answer_margin: float = ANSWER_MARGIN,
        weights: dict[str, float] | None = None,
        cache_dir: str | Path | None = None,
        summaries: dict[int, ArticleSummary] | None = None,
        scope: ScopeDetector | None = None,
        ranker: Ranker | bool | None = True,
    ) -> None:
        """``cache_dir``: keep the built index there (a private folder is created) and reuse it while the
        corpus, synonyms, dictionary and code are unchanged; ``default_cache_dir()`` is a good choice.
        ``ranker``: True loads the learned ranker (knowledge/data/ranker.json) unless ``weights`` are given;
        False (or no model file) scores with the hand-weighted sum of WEIGHTS."""
        entries = list(corpus.entries if isinstance(corpus, Corpus) else corpus)
        self.entries: list[FaqEntry] = entries
        self._by_id: dict[str, FaqEntry] = {}
        for e in entries:
            self._by_id.setdefault(e.id, e)
        self.analyzer = analyzer or default_analyzer()
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.answer_margin = answer_margin
        self.weights = dict(weights or WEIGHTS)
        if ranker is True:
            ranker = Ranker.load() if weights is None else None
        self.ranker: Ranker | None = ranker or None
        if self.ranker is not None:
            self.answer_threshold = self.ranker.answer_threshold
            self.suggest_threshold = self.ranker.suggest_threshold
            self.answer_margin = self.ranker.answer_margin
            # every feature the ranker reads (token_sort and partial ratios cost time and did not help)
            self.weights = {k: 1.0 for k in WEIGHTS if k not in ("fuzz_partial", "fuzz_sort")}
        self.weak_suggest_threshold = (
            self.ranker.weak_suggest_threshold if self.ranker else WEAK_SUGGEST_THRESHOLD
        )
        if summaries is None and isinstance(corpus, Corpus):
            summaries = corpus.summaries
        self._summaries = summaries or {}
        self._feature_log: list[tuple[int, list[float]]] | None = None  # training collects features here
        self.scope = scope or ScopeDetector()
        key = (
            _cache_key(entries, self.weights, self.ranker is not None, self._summaries)
            if cache_dir is not None else ""
        )
        state = _load_index(cache_dir, key) if cache_dir is not None else None
        if state is not None:
            self.__dict__.update(state)
        else:
            self._build_index(entries)
            if cache_dir is not None:
                _save_index(cache_dir, key, {k: self.__dict__[k] for k in _INDEX_ATTRS})

    def _build_index(self, entries: list[FaqEntry]) -> None:
        self.related_index = RelatedArticles(self._summaries)
        self._scope_model = ScopeClassifier.fit([q for e in entries for q in e.questions])
        phrasings: list[_Phrasing] = []
        pool_docs: list[list[str]] = []
        pool_bigram_docs: list[list[str]] = []
        pool_char_docs: list[list[str]] = []
        answer_texts: list[str] = []
        answer_bigram_docs: list[list[str]] = []
        entry_start = [0]
        self._citing: dict[int, list[int]] = defaultdict(list)
        analyze = self.analyzer.analyze
        for ei, e in enumerate(entries):
            topic = analyze(normalize_text(e.topic))
            pool: list[str] = list(topic.words)
            pool_b: list[str] = list(topic.bigrams)
            pool_c: list[str] = list(topic.chars)
            # The echoed question is one more phrasing: written to say what the entry is about, it often
            # carries the detail that tells it from its near neighbours.
            extra = [e.asked_zh] if e.asked_zh and e.asked_zh not in e.questions else []
            for q in (*e.questions, *extra):
                a = analyze(normalize_text(q))
                if not a.words and not a.bigrams:
                    continue
                phrasings.append(_Phrasing(ei, a, " ".join(sorted(set(a.words)))))
                pool.extend(a.words)
                pool_b.extend(a.bigrams)
                pool_c.extend(a.chars)
            entry_start.append(len(phrasings))  # an entry's phrasings are numbered one after another
            pool_docs.append(pool)
            pool_bigram_docs.append(pool_b)
            pool_char_docs.append(pool_c)
            # Answers are long: no jieba here (it would dominate start-up); words are found by substring
            # search at query time, and the bigrams come straight from the text.
            ans = self.analyzer.canonical(normalize_text(e.answer_zh, max_chars=1000))
            answer_texts.append(ans)
            answer_bigram_docs.append(char_bigrams(ans))
            for art in e.articles:
                self._citing[art].append(ei)
        # Entry ei's phrasings are _entry_start[ei] to _entry_start[ei + 1] (excluded).
        self._entry_start = array("q", entry_start)
        # What queries compare against, as plain strings (a list of dataclasses unpickles ten times slower),
        # each list kept as one string: a query cuts out its candidates' phrasings entry by entry.
        self._phr_canonical = Texts([p.analysis.canonical for p in phrasings])
        self._phr_content = Texts([p.analysis.content for p in phrasings])
        self._phr_joined = Texts([p.joined for p in phrasings])
        # Phrasing-level fields cost build time; they are only built when their features carry weight.
        need = {k for k, v in self.weights.items() if v > 0}
        n_phr = len(phrasings)
        word_mass: list[float] = []
        self._word = (
            _Field.build([p.analysis.words for p in phrasings], word_mass)
            if need & {"word", "back"} else _Field.empty(n_phr)
        )
        self._bigram = (
            _Field.build([p.analysis.bigrams for p in phrasings]) if "bigram" in need else _Field.empty(n_phr)
        )
        self._pool = _Field.build(pool_docs)
        self._pool_bigram = _Field.build(pool_bigram_docs)
        self._pool_char = _Field.build(pool_char_docs)
        self._char = (
            _Field.build([p.analysis.chars for p in phrasings]) if "char" in need else _Field.empty(n_phr)
        )
        self._word_mass = np.asarray(word_mass or [0.0] * n_phr, dtype=np.float64)
        self._answer_text = answer_texts
        avg = (sum(len(t) for t in answer_texts) / len(answer_texts)) if answer_texts else 1.0
        self._answer_norm = [K1 * (1 - B + B * len(t) / (avg or 1.0)) for t in answer_texts]
        # The entry-level fields' columns are also the retrieval postings (term -> entries and weights).
        self._answer_bigram = _Field.build(answer_bigram_docs)
        self._entry_df_limit = max(50, int(COMMON_DF * len(entries)))

        # Character 1-3-gram TF-IDF over the phrasings' content: robust to how jieba cut a colloquial line.
        # Fitted with scikit-learn; queries are vectorised by hand (_ngrams) as sklearn's per-call checks cost
        # more than the arithmetic. Column-major, so a query touches only the columns of its own n-grams.
        from scipy import sparse  # only to build: start-up from the cache needs numpy only
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._phrasing_entry = np.array([p.entry for p in phrasings], dtype=np.int32)
        texts = [p.analysis.content.replace(" ", "") or p.analysis.canonical for p in phrasings]
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)
        if texts:
            phr = sparse.csr_matrix(vectorizer.fit_transform(texts))
            rows = sparse.csr_matrix(
                (np.ones(len(phrasings), dtype=np.float32),
                 (self._phrasing_entry, np.arange(len(phrasings)))),
                shape=(len(entries), len(phrasings)),
            )
            pooled = sparse.csr_matrix(rows @ phr)
            norms = np.sqrt(np.asarray(pooled.multiply(pooled).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            old_vocab = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
            vocab = Vocab(old_vocab)
            moved = vocab.remap(old_vocab)
            idf = np.zeros(len(vocab), dtype=np.float32)
            idf[moved] = np.asarray(vectorizer.idf_, dtype=np.float32)
            self._tfidf = (vocab, idf)
            self._tfidf_phrasings = Columns.from_scipy(phr, moved)
            self._tfidf_entries = Columns.from_scipy(sparse.diags(1.0 / norms) @ pooled, moved)
        else:
            self._tfidf = (Vocab(), np.zeros(0, dtype=np.float32))
            self._tfidf_phrasings = _Field.empty(0).matrix
            self._tfidf_entries = _Field.empty(len(entries)).matrix

    # -- public API -----------------------------------------------------------------------------------------

    def entry(self, faq_id: str) -> FaqEntry | None:
        return self._by_id.get(faq_id)

    def entries_citing(self, article: int) -> list[FaqEntry]:
        return [self.entries[i] for i in self._citing.get(article, [])]

    def match(self, question: str | None, *, limit: int = 3) -> MatchResult:
        text = question if isinstance(question, str) else ("" if question is None else str(question))
        ref = article_lookup(text)
        if ref is not None:
            if not ref.valid:
                return MatchResult(text, "none", (), ref.number, searched=text)
            citing = self._citing.get(ref.number, [])[:limit]
            cands = tuple(Candidate(self.entries[i].id, self.entries[i].articles, 100.0) for i in citing)
            return MatchResult(text, "suggest" if cands else "none", cands, ref.number, searched=text)
        searched = searchable(text)
        decision, cands = self._decide(searched, limit)
        top_entry = self._by_id.get(cands[0].faq_id) if cands else None
        covered = (*top_entry.questions, top_entry.topic, top_entry.asked_zh) if top_entry else ()
        hit = self.scope.detect(searched, covered, confident=decision == "answer")
        if hit is None and searched is not text:  # English: its own words ("my boss", "stolen") count too
            hit = self.scope.detect(text, (), confident=decision == "answer")
        if hit is None and self._scope_model is not None:
            office, margin = self._scope_model.best_office(searched)
            if office in self.scope.undone(searched):  # "被偷 + 二手市场": the owner's claim (312), not 110
                margin = -99.0
            if margin >= SCOPE_STRONG or (decision != "answer" and margin >= SCOPE_WEAK):
                hit = self.scope.hit_for(office, "classifier")
            elif decision == "answer" and margin >= SCOPE_DOUBT:
                decision = "suggest"  # it may well be a question for another office: no outright answer
                hit = self.scope.detect(searched, covered)  # and then its cue words count
        # A weaker office signal only takes away the outright answer ("not sure", the entry offered first):
        # an office's word with the classifier leaning to it, or a question asking where to turn ("找谁投诉").
        if hit is None and decision == "answer" and (
            self.scope.asks_for_office(text) or self.scope.asks_for_office(searched)
            or self._office_signal(searched, text)
        ):
            decision = "suggest"
        if hit is not None:
            return MatchResult(text, "none", cands, pointer=hit.pointer, pointer_office=hit.office.name,
                               searched=searched)
        related: tuple[int, ...] = ()
        if decision != "answer":
            related = tuple(r.article for r in self.related_index.find(searched))
        return MatchResult(text, decision, cands, related=related, searched=searched)

    def _office_signal(self, searched: str, text: str) -> bool:
        """An office's own word in the question (even one the entry found uses: "家里进小偷了" and the
        property company's duty after a theft) with the classifier leaning to that office: not an outright
        answer. Either alone is common in Civil Code questions ("被人骂是小偷"); together they are not."""
        if self._scope_model is None:
            return False
        offices = self.scope.signalled(searched) | self.scope.signalled(text)
        if not offices:
            return False
        margins = self._scope_model.margins(searched)
        return any(margins.get(o, -99.0) >= SCOPE_CUE_DOUBT for o in offices)

    def _decide(self, text: str, limit: int) -> tuple[Decision, tuple[Candidate, ...]]:
        scored, info, analysis = self._score_entries(text, max(limit, 8))
        if not scored:
            return "none", ()
        top_ei, top = scored[0]
        top_articles = self.entries[top_ei].articles
        others = [(self.entries[ei].articles, sc) for ei, sc in scored[1:]]
        if self.ranker is not None:
            rival = next((sc for arts, sc in others if is_rival(top_articles, arts)), 0.0)
        else:  # the hand-weighted matcher as it was calibrated: a rival shares no article at all
            rival = next((sc for arts, sc in others if not set(top_articles) & set(arts)), 0.0)
        if self.ranker is not None:
            sure = self.ranker.answer_confidence(_logit(top), _logit(max(rival, RIVAL_FLOOR)), info)
            # A question that is word for word one of the entry's phrasings is what the entry answers.
            floor = max(ANSWER_FLOOR, self.suggest_threshold)  # never below what chit-chat can reach
            confident = (sure >= self.answer_threshold and top >= floor) or top_ei in self._exact_hits(
                text, scored
            )
        else:
            confident = top >= self.answer_threshold and top - rival >= self.answer_margin
        if confident:
            decision = "answer"
        elif top >= self.suggest_threshold or (
            top >= self.weak_suggest_threshold and self._sounds_legal(text, analysis)
        ):
            decision = "suggest"
        else:
            decision = "none"
        cands = tuple(
            Candidate(self.entries[ei].id, self.entries[ei].articles, sc) for ei, sc in scored[:limit]
        )
        if decision == "suggest":
            cands = tuple(c for c in cands if c.score >= self.weak_suggest_threshold * 0.8)
        return decision, cands

    def _exact_hits(self, text: str, scored: list[tuple[int, float]]) -> set[int]:
        """Candidates (at most one) having the question itself as a phrasing."""
        key = self.analyzer.canonical(normalize_text(text))
        start = self._entry_start
        hits = {
            ei for ei, _ in scored[:3] if key in self._phr_canonical.span(start[ei], start[ei + 1])
        }
        return hits if len(hits) == 1 else set()

    def _sounds_legal(self, text: str, analysis: Analysis | None = None) -> bool:
        """A legal-question phrase (LEGAL_CUE) or a word of our domain (物业, 邻居, 房东, 遗嘱, ...).
        ``analysis``: the text's, when scoring already made it (cutting a long question twice cost 0.3 ms)."""
        norm = normalize_text(text)
        if LEGAL_CUE.search(norm):
            return True
        if analysis is None:
            analysis = self.analyzer.analyze(norm)
        return self.analyzer.mentions_domain(analysis)

    def score_entries(self, question: str, *, limit: int = 3) -> list[tuple[int, float]]:
        """[(entry index, score 0..100)] best first; empty when nothing in the question is searchable."""
        return self._score_entries(question, limit)[0]

    def _score_entries(self, question: str, limit: int
                       ) -> tuple[list[tuple[int, float]], float, Analysis | None]:
        """The scored entries, how much the question says (INFO_FACTOR of its content characters) and the
        analysis of its normalised text (None when an article reference was taken out first)."""
        norm = normalize_text(question)
        if not norm:
            return [], 0.0, None
        mentioned = parse_article_number(question)
        if mentioned is not None:
            norm = strip_article_refs(norm)
        a = self.analyzer.analyze(norm)
        words = self._query_terms(a.words, self._pool)
        bigrams = self._query_terms(a.bigrams, self._pool_bigram)
        if not words and not bigrams:
            return [], 0.0, None
        # Retrieval and every feature look the same terms up in the same fields: once each per question (a
        # long question's look-ups were a quarter of its time).
        looked = _Lookups()
        pool_ids = self._retrieve(words, bigrams, looked)
        if not pool_ids:
            return [], 0.0, None
        # One or two content characters ("热", "押金") say too little for a confident answer.
        info = INFO_FACTOR.get(a.content_chars, 1.0)
        tf_phr, tf_entries, near = self._tfidf_query(a.content.replace(" ", "") or a.canonical)
        order = {ei: r for r, ei in enumerate(pool_ids)}
        for ei in near:
            if ei not in order:
                order[ei] = len(order)
        pool_ids = list(order)
        feats = self._features(
            pool_ids, words, bigrams, " ".join(sorted(words)), a.canonical, a.chars, a.content, looked
        )
        results: list[tuple[int, float]] = []
        if self.ranker is not None:
            rows = []
            start = self._entry_start
            for ei, f in feats.items():
                first, stop = start[ei], start[ei + 1]
                f["tfidf"] = float(tf_phr[first:stop].max()) if stop > first and tf_phr.size else 0.0
                f["tfidf_pool"] = float(tf_entries[ei]) if tf_entries.size else 0.0
                f["info"] = info
                f["article"] = float(mentioned is not None and mentioned in self.entries[ei].articles)
                f["exact"] = float(f["fuzz"] >= 1.0)
                f["retrieval_rank"] = min(order[ei], RETRIEVE) / RETRIEVE
                # today's hand-weighted score (WEIGHTS, calibrated on the tuning set) as one more feature
                f["weighted"] = info * sum(v * f.get(k, 0.0) for k, v in WEIGHTS.items() if v)
                rows.append(_feature_row(f))
            if self._feature_log is not None:
                self._feature_log.extend(zip(feats, rows, strict=True))
            z = np.asarray(rows, dtype=np.float64) @ np.asarray(self.ranker.coef) + self.ranker.intercept
            # Not learnable from held-out phrasings (they never cite an article nor repeat a phrasing): an
            # article number the question names, and a word-for-word phrasing, lift a candidate by hand.
            at_article, at_exact = RANKER_FEATURES.index("article"), RANKER_FEATURES.index("exact")
            z += np.asarray([ARTICLE_LOGIT * r[at_article] + EXACT_LOGIT * r[at_exact] for r in rows])
            probs = 100.0 / (1.0 + np.exp(-z))
            results = [(ei, float(p)) for ei, p in zip(feats, probs, strict=True)]
        else:
            w = self.weights
            for ei, f in feats.items():
                s = 100.0 * info * sum(v * f.get(k, 0.0) for k, v in w.items() if v)
                if mentioned is not None and mentioned in self.entries[ei].articles:
                    s += ARTICLE_BONUS
                if f["fuzz"] >= 1.0:  # the question is one of this entry's phrasings, word for word
                    s += EXACT_BONUS
                results.append((ei, min(100.0, max(0.0, s))))
        results.sort(key=lambda r: (-r[1], r[0]))
        return [(ei, round(sc, 1)) for ei, sc in results[:limit]], info, (a if mentioned is None else None)

    def _tfidf_query(self, text: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """(cosine to every phrasing, cosine to every entry's pooled phrasings, entries of the nearest
        phrasings)."""
        vocab, idf = self._tfidf
        grams = [text[i : i + n] for n in (1, 2, 3) for i in range(len(text) - n + 1)]
        counts: dict[int, int] = defaultdict(int)
        for col in vocab.index(grams).tolist():
            if col >= 0:
                counts[col] += 1
        if not counts:
            return np.zeros(0), np.zeros(0), []
        cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        weights = (1.0 + np.log(tf)) * idf[cols]
        weights /= np.linalg.norm(weights) or 1.0

        phr = self._tfidf_phrasings.column_sums(cols, weights)
        ent = self._tfidf_entries.column_sums(cols, weights)
        k = min(TFIDF_RETRIEVE, phr.size)
        top = np.argpartition(-phr, k - 1)[:k]
        near = list(dict.fromkeys(
            int(self._phrasing_entry[i]) for i in top[np.argsort(-phr[top])] if phr[i] > 0
        ))
        return phr, ent, near

    # -- internals -----------------------------------------------------------------------------------------

    def _query_terms(self, terms: Sequence[str], fld: _Field) -> list[str]:
        """Distinct query terms; ASCII words the corpus never uses are dropped (English filler), Chinese
        terms are kept even when unknown so that they lower the confidence."""
        distinct = list(dict.fromkeys(terms))
        latin = [t for t in distinct if t.isascii()]
        if not latin:
            return distinct
        known = {t for t, col in zip(latin, fld.vocab.index(latin).tolist(), strict=True) if col >= 0}
        return [t for t in distinct if not t.isascii() or t in known]

    def _retrieve(self, words: list[str], bigrams: list[str], looked: _Lookups | None = None) -> list[int]:
        """The best RETRIEVE entries by BM25 over the pooled words, bigrams and answer bigrams (the fields'
        columns are the postings); terms in more than ``_entry_df_limit`` entries are skipped when rarer terms
        are present. Ties keep the order in which the entries were first reached."""
        present = []  # (field, columns, idf x factor) in the order the terms are weighed
        for fld, terms, factor in (
            (self._pool, words, 1.0), (self._pool_bigram, bigrams, 0.5), (self._answer_bigram, bigrams, 0.3),
        ):
            cols = looked.columns(fld, terms) if looked is not None else fld.vocab.index(terms)
            found = cols >= 0
            if found.any():
                cols = cols[found]
                present.append((fld, cols, factor * fld.idf[cols], fld.matrix.nnz(cols)))
        if not present:
            return []
        rare = [(fld, cols[nnz <= self._entry_df_limit], idf[nnz <= self._entry_df_limit])
                for fld, cols, idf, nnz in present]
        use = rare if any(c.size for _, c, _ in rare) else [(f, c, i) for f, c, i, _ in present]
        gathered = [fld.matrix.gather(cols, idf) for fld, cols, idf in use if cols.size]
        reached = np.concatenate([r for r, _ in gathered])
        acc = np.bincount(reached, weights=np.concatenate([v for _, v in gathered]))
        ids, first = np.unique(reached, return_index=True)
        best = np.lexsort((first, -acc[ids]))[:RETRIEVE]
        return ids[best].tolist()

    def _features(
        self, entry_ids: list[int], words: list[str], bigrams: list[str], joined: str, canon: str,
        chars: Sequence[str] = (), content: str = "", looked: _Lookups | None = None,
    ) -> dict[int, dict[str, float]]:
        """Feature values (0..1) per candidate entry; features with weight 0 are not computed (left at 0)."""
        need = {k for k, v in self.weights.items() if v > 0} | {"fuzz"}
        chars = list(dict.fromkeys(chars))
        looked = looked if looked is not None else _Lookups()

        def weighted(fld: _Field, terms: list[str]) -> tuple[dict[str, float], float]:
            q = {
                t: i * (WEAK_FACTOR if t in WEAK_WORDS else 1.0)
                for t, i in zip(terms, fld.term_idfs(terms, looked.columns(fld, terms)), strict=True)
            }
            return q, (sum(q.values()) or 1.0)

        def scores(fld: _Field, q: dict[str, float]) -> np.ndarray:
            return fld.scores(q, cols=looked.columns(fld, list(q)))

        widf, wn = weighted(self._word, words)
        do_answer = "answer" in need
        aidf, an = weighted(self._pool, [w for w in words if not w.isascii()])

        bidf, bn = weighted(self._bigram, bigrams)
        cidf, cn = weighted(self._char, chars)
        # per field, every entry's sum of query weight x its term weight (read from the query's columns)
        entry_fields = [
            (name, scores(fld, q), norm)
            for name, fld, terms in (
                ("pool", self._pool, words),
                ("pool_bigram", self._pool_bigram, bigrams),
                ("pool_char", self._pool_char, chars),
                ("answer_bigram", self._answer_bigram, bigrams),
            )
            if name in need
            for q, norm in (weighted(fld, terms),)
        ]

        do_word, do_bigram, do_char = ("word" in need, "bigram" in need, "char" in need)
        do_back = "back" in need
        word_s = scores(self._word, widf) if do_word else None
        bigram_s = scores(self._bigram, bidf) if do_bigram else None
        char_s = scores(self._char, cidf) if do_char else None
        back_s = None
        if do_back:
            distinct = list(set(words))
            covered = self._word.scores(dict(zip(distinct, self._word.term_idfs(distinct), strict=True)),
                                        presence=True)
            mass = self._word_mass
            back_s = np.divide(covered, mass, out=np.zeros_like(covered), where=mass > 0)
        phr_canonical, phr_content, phr_joined = self._phr_canonical, self._phr_content, self._phr_joined
        do_set, do_sort, do_content = ("fuzz_set" in need, "fuzz_sort" in need, "fuzz_content" in need)
        do_partial = "fuzz_partial" in need
        partial_ratio = fuzz.partial_ratio
        token_set_ratio, token_sort_ratio, ratio = fuzz.token_set_ratio, fuzz.token_sort_ratio, fuzz.ratio
        start = self._entry_start
        out: dict[int, dict[str, float]] = {}
        for ei in entry_ids:
            best_w = best_b = best_c = best_back = best_set = best_sort = best_ratio = best_content = 0.0
            best_partial = 0.0
            first, stop = start[ei], start[ei + 1]
            if stop > first:
                if word_s is not None:
                    best_w = float(word_s[first:stop].max())
                if bigram_s is not None:
                    best_b = float(bigram_s[first:stop].max())
                if char_s is not None:
                    best_c = float(char_s[first:stop].max())
                if back_s is not None:
                    best_back = float(back_s[first:stop].max())
            canonicals = phr_canonical.span(first, stop)
            contents = phr_content.span(first, stop) if do_content or do_partial else canonicals
            joins = phr_joined.span(first, stop) if do_set or do_sort else canonicals
            for k in range(stop - first):
                if do_set:
                    best_set = max(best_set, token_set_ratio(joined, joins[k]))
                if do_sort:
                    best_sort = max(best_sort, token_sort_ratio(joined, joins[k]))
                if do_content:
                    best_content = max(best_content, ratio(content, contents[k]))
                if do_partial:
                    best_partial = max(best_partial, partial_ratio(content, contents[k]))
                best_ratio = max(best_ratio, ratio(canon, canonicals[k]))
            feats = {
                "word": min(1.0, best_w / wn),
                "bigram": min(1.0, best_b / bn),
                "char": min(1.0, best_c / cn),
                "back": best_back,
                "fuzz_set": best_set / 100.0,
                "fuzz_sort": best_sort / 100.0,
                "fuzz": best_ratio / 100.0,
                "fuzz_content": best_content / 100.0,
                "answer": 0.0,
                "fuzz_partial": best_partial / 100.0,
            }
            for name, sums, norm in entry_fields:
                feats[name] = min(1.0, float(sums[ei]) / norm)
            if do_answer:
                text, norm_len = self._answer_text[ei], self._answer_norm[ei]
                total = 0.0
                for t, i in aidf.items():
                    tf = text.count(t)
                    if tf:
                        total += i * tf * (K1 + 1) / (tf + norm_len)
                feats["answer"] = min(1.0, total / an)
            out[ei] = feats
        return out


def build_matcher(data_dir: str | Path | None = None, *, cache: bool = True) -> tuple[Corpus, LawMatcher]:
    """What the bot does at start-up: load the corpus and build the matcher, reusing the on-disk index cache
    (``default_cache_dir()``) when the corpus has not changed."""
    corpus = load_corpus(data_dir)
    return corpus, LawMatcher(corpus, cache_dir=default_cache_dir() if cache else None)
