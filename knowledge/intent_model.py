"""The trained intent model behind ``IntentRouter``: training, the on-disk cache, and scoring one message.

Features: character n-grams (``char_wb`` 1..3, TF-IDF, sublinear tf) of the normalised text — so typos,
traditional characters, full-width letters, pinyin abbreviations and mixed Chinese-English all share n-grams
with the training messages — plus jieba's words of the same text (a second unit-length TF-IDF block at half
the length: "谁 赔", "能 告" weigh as words, not only as characters) and three numbers from the law matcher
(its answer score, its suggest score, and whether the message is an article look-up). A linear SVM is
fitted on them and its scores are calibrated into probabilities (sigmoid, cross-validated), so "two intents
are close" is a statement about probabilities.

The fitted model is cached as plain arrays (a pickle) in the law matcher's private cache folder, keyed by
the training data, this code, scikit-learn's version and the law matcher's answers to a few probe messages;
a missing or stale cache is rebuilt by training (a few seconds, no network).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from knowledge.articles import article_lookup
from knowledge.cache_dir import private_dir
from knowledge.normalize import normalize_text

if TYPE_CHECKING:
    from knowledge.compact import TermIds

log = logging.getLogger(__name__)

INTENTS: tuple[str, ...] = ("repair", "law", "points", "patrol", "event", "tickets", "help")
DATA_DIR = Path(__file__).resolve().parent / "data" / "intents"
# train.tsv is generated (tools/intent_corpus.py); train_handwritten.tsv is written by hand, not generated:
# residents' own phrasings at the intents' boundaries, which the templates alone left too narrow.
HANDWRITTEN_FILE = DATA_DIR / "train_handwritten.tsv"
TRAIN_FILES: tuple[Path, ...] = (DATA_DIR / "train.tsv", HANDWRITTEN_FILE)
TUNE_FILE = DATA_DIR / "tune.tsv"
# A second tuning set written by another person, independently of everything above (held out from training).
TUNE2_FILE = DATA_DIR / "tune2.tsv"
MODEL_VERSION = "3"
KEEP_MODELS = 3  # cached models kept side by side (see save_cached)
# The longest text the model reads: what a resident asks fits; a pasted essay costs no more than this.
MAX_MODEL_CHARS = 200
# Messages whose law-matcher answers fingerprint the matcher in the cache key (a changed matcher means the
# law features mean something else, so the model is retrained).
MATCHER_PROBES: tuple[str, ...] = (
    "楼上漏水不修能起诉吗", "我家水管漏了", "物业费不交会怎样", "狗咬人谁负责", "我还有多少积分",
    "房东不退押金", "电梯坏了", "高空抛物砸车找谁", "你好", "巡逻排班", "业委会怎么换物业", "离婚房子怎么分",
)


class LawMatch(Protocol):
    @property
    def decision(self) -> str: ...

    @property
    def score(self) -> float: ...


class LawSignal(Protocol):
    """What the router needs from the law matcher: ``match(text)`` with ``.decision`` and ``.score``."""

    def match(self, text: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Params:
    """The hyper-parameters, chosen on the tune file (see ``redbutler route train --tune``)."""

    ngram_max: int = 3
    c: float = 1.5
    law_weight: float = 1.5  # how loud the law matcher's three numbers are next to the unit-length n-grams
    class_weight: str | None = "balanced"
    word_ngram_max: int = 1  # jieba words (1) and word pairs (2) next to the characters; 0: characters only
    word_weight: float = 0.5  # the length of the (unit-length) word vector next to the character vector
    folds: int = 3  # calibration folds (5 gave the same tune accuracy, and trains slower)


DEFAULT_PARAMS = Params()


def prepare(text: str | None) -> str:
    """The text the model reads: normalised (NFKC, simplified, lower case, no punctuation), no leading "/"."""
    norm = normalize_text(text if isinstance(text, str) else ("" if text is None else str(text)))
    return norm.lstrip("/").strip()[:MAX_MODEL_CHARS]


def has_content(prepared: str) -> bool:
    return any(ch.isalnum() for ch in prepared)


def law_features(matcher: LawSignal | None, text: str) -> tuple[float, float, float]:
    """(answer score, suggest score, article look-up), each 0..1."""
    lookup = 1.0 if article_lookup(text) is not None else 0.0
    if matcher is None:
        return 0.0, 0.0, lookup
    result = matcher.match(text)
    score = max(0.0, min(100.0, float(result.score))) / 100.0
    if result.decision == "answer":
        return score, 0.0, lookup
    if result.decision == "suggest":
        return 0.0, score, lookup
    return 0.0, 0.0, lookup


def read_labelled(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """``text<TAB>intent`` lines; ``#`` comments and blank lines are skipped, unknown intents refused."""
    rows: list[tuple[str, str]] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            text, _, intent = line.rpartition("\t")
            intent = intent.strip()
            if not text or intent not in INTENTS:
                raise ValueError(f"{path.name}:{number}: expected text<TAB>intent, got {line!r}")
            rows.append((text, intent))
    return rows


def char_wb_ngrams(text: str, max_n: int) -> list[str]:
    """Character 1..max_n-grams inside word boundaries, words padded with a space: exactly what
    scikit-learn's ``analyzer="char_wb"`` produces for lower-case input (a unit test holds them equal)."""
    grams: list[str] = []
    append = grams.append
    for word in text.split():
        w = f" {word} "
        length = len(w)
        for n in range(1, max_n + 1):
            offset = 0
            append(w[offset:offset + n])
            while offset + n < length:
                offset += 1
                append(w[offset:offset + n])
            if offset == 0:  # a word shorter than n is counted once
                break
    return grams


def word_ngrams(text: str, max_n: int) -> list[str]:
    """jieba's words of the prepared text (function words kept: "谁", "吗", "能告" say "a question"), then
    adjacent word pairs up to ``max_n``; the same list at training and at routing time."""
    if max_n <= 0:
        return []
    from knowledge.tokenize import cut

    words = cut(text)
    grams = list(words)
    for n in range(2, max_n + 1):
        grams.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return grams


def _term_ids(mapping: dict[str, int]) -> TermIds:
    from knowledge.compact import TermIds  # numpy: imported with the model, not with the bot

    return TermIds(mapping)


def _tfidf_row(grams: Sequence[str], vocabulary: TermIds, idf: Any) -> tuple[Any, Any] | None:
    """Indices and unit-length sublinear TF-IDF values of one text's known grams, as the vectorizer does."""
    import numpy as np

    counts: dict[int, int] = {}
    for index in vocabulary.index(grams).tolist():
        if index >= 0:
            counts[index] = counts.get(index, 0) + 1
    if not counts:
        return None
    indices = np.fromiter(counts, dtype=np.intp, count=len(counts))
    tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    values = (1.0 + np.log(tf)) * idf[indices]
    values /= np.sqrt(values @ values)
    return indices, values


@dataclass
class IntentModel:
    """A fitted model as plain arrays: the TF-IDF vocabulary and idf weights, the linear SVM's
    coefficients and the sigmoid calibration per intent. Scoring one message is one vocabulary look-up
    and a small matrix product (well under a millisecond), and loading it needs numpy only: importing
    scikit-learn alone costs about a second, so only training imports it. ``reference`` keeps the fitted
    scikit-learn objects when the model was trained in this process (never cached), to check against."""

    params: Params
    classes: tuple[str, ...]
    vocabulary: TermIds  # n-gram -> column, as sorted arrays (a dict of them costs ten times the memory)
    idf: Any
    coef: Any  # intents x (character n-grams + word n-grams + 3 law features)
    intercept: Any
    calibration_a: Any
    calibration_b: Any
    trained_on: int
    train_seconds: float
    key: str = ""
    reference: Any = field(default=None, repr=False)
    word_vocabulary: TermIds = field(default_factory=lambda: _term_ids({}))
    word_idf: Any = None

    def probabilities(self, prepared: str, law: Sequence[float]) -> dict[str, float]:
        import numpy as np

        decision = self.intercept.copy()
        chars = _tfidf_row(char_wb_ngrams(prepared, self.params.ngram_max), self.vocabulary, self.idf)
        if chars is not None:
            decision += self.coef[:, chars[0]] @ chars[1]
        if self.word_vocabulary:
            words = _tfidf_row(word_ngrams(prepared, self.params.word_ngram_max), self.word_vocabulary,
                               self.word_idf)
            if words is not None:
                word_columns = len(self.vocabulary) + words[0]
                decision += self.coef[:, word_columns] @ (words[1] * self.params.word_weight)
        n_grams = self.coef.shape[1] - len(law)
        decision += self.coef[:, n_grams:] @ (np.asarray(law, dtype=np.float64) * self.params.law_weight)
        probs = 1.0 / (1.0 + np.exp(self.calibration_a * decision + self.calibration_b))
        total = probs.sum()
        probs = probs / total if total > 0 else np.full_like(probs, 1.0 / len(probs))
        return {c: float(p) for c, p in zip(self.classes, probs, strict=True)}

    def sklearn_probabilities(self, prepared: str, law: Sequence[float]) -> dict[str, float]:
        """The same through scikit-learn (only for a model trained in this process)."""
        from scipy.sparse import csr_matrix, hstack

        vectorizer, words, classifier = self.reference
        blocks = [vectorizer.transform([prepared])]
        if words is not None:
            blocks.append(words.transform([prepared]) * self.params.word_weight)
        row = hstack([*blocks, csr_matrix([[v * self.params.law_weight for v in law]])], format="csr")
        probs = classifier.predict_proba(row)[0]
        return {c: float(p) for c, p in zip(self.classes, probs, strict=True)}

    def compact(self) -> IntentModel:
        """The per-term weights as float32 (the sums stay float64): 1.4 MB less for the bot, and every route
        of the evaluation sets and training data was unchanged, scores included (they are rounded to 0.1)."""
        import numpy as np

        self.idf = np.asarray(self.idf, dtype=np.float32)
        self.coef = np.asarray(self.coef, dtype=np.float32)
        if self.word_idf is not None:
            self.word_idf = np.asarray(self.word_idf, dtype=np.float32)
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["reference"] = None  # the cache holds plain arrays only
        return state


def train(
    rows: Sequence[tuple[str, str]], matcher: LawSignal | None, params: Params = DEFAULT_PARAMS
) -> IntentModel:
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    started = time.perf_counter()
    texts = [prepare(t) for t, _ in rows]
    labels = [i for _, i in rows]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, params.ngram_max), sublinear_tf=True)
    blocks = [vectorizer.fit_transform(texts)]
    words = None
    if params.word_ngram_max > 0:
        words = TfidfVectorizer(analyzer=partial(word_ngrams, max_n=params.word_ngram_max), sublinear_tf=True)
        blocks.append(words.fit_transform(texts) * params.word_weight)
    law = csr_matrix([[v * params.law_weight for v in law_features(matcher, t)] for t, _ in rows])
    features = hstack([*blocks, law], format="csr")
    svm = LinearSVC(C=params.c, class_weight=params.class_weight, random_state=0)  # reproducible training
    classifier = CalibratedClassifierCV(svm, method="sigmoid", cv=params.folds, ensemble=False)
    classifier.fit(features, labels)
    calibrated = classifier.calibrated_classifiers_[0]
    fitted = calibrated.estimator
    return IntentModel(
        params=params,
        classes=tuple(str(c) for c in classifier.classes_),
        vocabulary=_term_ids({str(k): int(v) for k, v in vectorizer.vocabulary_.items()}),
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        coef=np.asarray(fitted.coef_, dtype=np.float64),
        intercept=np.asarray(fitted.intercept_, dtype=np.float64),
        calibration_a=np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64),
        calibration_b=np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64),
        trained_on=len(rows),
        train_seconds=time.perf_counter() - started,
        reference=(vectorizer, words, classifier),
        word_vocabulary=_term_ids(
            {} if words is None else {str(k): int(v) for k, v in words.vocabulary_.items()}
        ),
        word_idf=None if words is None else np.asarray(words.idf_, dtype=np.float64),
    )


# --------------------------------------------------------------------------------------------- the cache


def cache_key(matcher: LawSignal | None, params: Params = DEFAULT_PARAMS,
              train_files: Sequence[Path] = TRAIN_FILES) -> str:
    from importlib.metadata import version

    h = hashlib.sha256(f"{MODEL_VERSION}|{version('scikit-learn')}|{params!r}".encode())
    here = Path(__file__).resolve().parent
    for name in ("intent_model.py", "compact.py", "normalize.py", "articles.py", "tokenize.py",
                 "dictionary.txt"):
        h.update((here / name).read_bytes())
    for path in train_files:
        h.update(path.read_bytes())
    if matcher is not None:
        for probe in MATCHER_PROBES:
            law = law_features(matcher, probe)
            h.update(repr(tuple(round(v, 3) for v in law)).encode())
    else:
        h.update(b"no-matcher")
    return h.hexdigest()[:24]


def _model_path(folder: Path, key: str) -> Path:
    return folder / f"intent-{key}.pickle"


def load_cached(cache_dir: str | Path, key: str) -> IntentModel | None:

    folder = private_dir(cache_dir)
    path = _model_path(folder, key) if folder else None
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            model = pickle.load(fh)
    except Exception:  # a damaged or foreign file is simply retrained
        log.warning("intent model cache %s unreadable; retraining", path.name)
        return None
    return model if isinstance(model, IntentModel) and model.key == key else None


def save_cached(cache_dir: str | Path, model: IntentModel) -> Path | None:

    folder = private_dir(cache_dir)
    if folder is None:
        return None
    target = _model_path(folder, model.key)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)  # atomic: a process loading at the same moment sees the old file or the new
        # Older models are dropped, but not the last few: two checkouts of the code (a test run next to the
        # bot) would otherwise delete each other's model and retrain on every start.
        models = sorted(folder.glob("intent-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in models[KEEP_MODELS:]:
            old.unlink(missing_ok=True)
    except OSError:
        return None
    return target


def load_or_train(matcher: LawSignal | None, cache_dir: str | Path | None, *, force: bool = False,
                  params: Params = DEFAULT_PARAMS) -> IntentModel:
    """The cached model when it matches the data, code and matcher; else a newly trained (and cached) one."""
    key = cache_key(matcher, params)
    if cache_dir is not None and not force:
        cached = load_cached(cache_dir, key)
        if cached is not None:
            return cached.compact()  # a no-op for what save_cached wrote
    model = train(read_labelled(TRAIN_FILES), matcher, params).compact()
    model.key = key
    if cache_dir is not None:
        save_cached(cache_dir, model)
    log.info("intent model trained on %d messages in %.1f s", model.trained_on, model.train_seconds)
    return model
