"""Questions outside the Civil Code (a traffic accident, unpaid wages, tax, a crime): where to send them.

Data-driven: ``knowledge/data/scope/offices.yaml`` lists each office's number and the words that put a
question on its desk. A cue only counts when the Civil Code entry the matcher found does not itself use that
word ("工伤赔的钱算夫妻共同财产吗" mentions 工伤 but is a marriage question our corpus answers).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.cache_dir import default_cache_dir, load_yaml
from knowledge.compact import Vocab
from knowledge.normalize import normalize_text

SCOPE_FILE = Path(__file__).resolve().parent / "data" / "scope" / "offices.yaml"
# How people ask which office, number or department to turn to ("找谁投诉", "what number do I call").
ASKING_FILE = Path(__file__).resolve().parent / "data" / "scope" / "asking.yaml"


@dataclass(frozen=True, slots=True)
class Office:
    name: str  # crime | traffic | tax | labour | government | legal_aid
    pointer: str  # the number to call: "110", "122", ...
    cues: tuple[str, ...]  # normalised, without spaces
    pairs: tuple[tuple[str, str], ...] = ()  # two words that together count like a strong word
    strong: tuple[str, ...] = ()  # count whatever the matcher found
    # two words that together make it a Civil Code question after all: "电动车被偷了 物业赔不赔" asks about
    # the property company's duty, not for the police
    civil_pairs: tuple[tuple[str, str], ...] = ()
    # words that never send a question anywhere but, with the classifier leaning to this office, keep an
    # answer from being given outright (a water cut has a Civil Code answer and is also the city's to fix)
    doubt: tuple[str, ...] = ()


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
        doubt = tuple(k for c in row.get("doubt") or () if (k := _key(c)))
        pairs, civil_pairs = (tuple(
            (_key(p[0]), _key(p[1])) for p in row.get(name) or ()
            if isinstance(p, list) and len(p) == 2 and _key(p[0]) and _key(p[1])
        ) for name in ("pairs", "civil_pairs"))
        if not cues and not pairs and not strong:
            problems.append(f"scope #{i} ({row['office']}): no cues")
            continue
        offices.append(
            Office(str(row["office"]), str(row["pointer"]), cues, pairs, strong, civil_pairs, doubt))
    return offices, problems


@lru_cache(maxsize=4)
def load_offices(path: Path = SCOPE_FILE) -> tuple[Office, ...]:
    try:
        rows = load_yaml(path, default_cache_dir() if path == SCOPE_FILE else None)
    except (OSError, UnicodeDecodeError, ValueError):
        return ()
    return tuple(parse_offices(rows)[0])


@lru_cache(maxsize=4)
def load_asking(path: Path = ASKING_FILE) -> tuple[str, ...]:
    try:
        rows = load_yaml(path, default_cache_dir() if path == ASKING_FILE else None)
    except (OSError, UnicodeDecodeError, ValueError):
        return ()
    return tuple(k for r in rows or () if (k := _key(r))) if isinstance(rows, list) else ()


class ScopeDetector:
    """``detect(text, covered, confident)`` -> the office for a question outside the Civil Code, or None.

    A strong word always counts. A cue counts only when the matcher is not ``confident`` (no outright answer)
    and ``covered`` - the texts of the Civil Code entry it found (phrasings, topic) - does not use the word:
    then it is the corpus' own word."""

    def __init__(self, offices: Iterable[Office] | None = None, asking: Iterable[str] | None = None) -> None:
        self.offices = tuple(offices) if offices is not None else load_offices()
        self.asking = tuple(_key(a) for a in asking) if asking is not None else load_asking()

    def asks_for_office(self, text: str) -> bool:
        """The question asks where to turn ("找谁投诉", "打什么电话"): our reading of the law is not what it
        wants."""
        key = _key(text)
        return any(a in key for a in self.asking)

    def signalled(self, text: str) -> set[str]:
        """Offices any of whose words (strong, cue, pair or doubt word) the question uses, even words the
        entry found uses too; civil pairs still undo an office."""
        key = _key(text)
        return {o.name for o in self.offices
                if not any(a in key and b in key for a, b in o.civil_pairs)
                and (any(w in key for w in (*o.strong, *o.cues, *o.doubt))
                     or any(a in key and b in key for a, b in o.pairs))}

    def cues_in(self, text: str) -> list[tuple[Office, tuple[str, ...], tuple[str, ...]]]:
        """(office, strong words found, cues found) for every office with any."""
        key = _key(text)
        found = []
        for office in self.offices:
            if any(a in key and b in key for a, b in office.civil_pairs):
                continue
            strong = tuple(c for c in office.strong if c in key)
            strong += tuple(f"{a}+{b}" for a, b in office.pairs if a in key and b in key)
            hits = tuple(c for c in office.cues if c in key)
            if strong or hits:
                found.append((office, strong, hits))
        return found

    def undone(self, text: str) -> set[str]:
        """Offices a civil pair rules out for this question: the classifier cannot send it there either."""
        key = _key(text)
        return {o.name for o in self.offices if any(a in key and b in key for a, b in o.civil_pairs)}

    def hit_for(self, office_name: str | None, cue: str) -> ScopeHit | None:
        office = next((o for o in self.offices if o.name == office_name), None)
        return ScopeHit(office, (cue,)) if office else None

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


# --- learned out-of-scope classifier ----------------------------------------------------------------------

EXAMPLES_FILE = Path(__file__).resolve().parent / "data" / "scope" / "examples.tsv"
CIVIL = "civil"
# Below this many Civil Code phrasings the corpus says too little about what is civil: cue words only.
MIN_CIVIL_TEXTS = 300


def read_examples(path: Path = EXAMPLES_FILE) -> list[tuple[str, str]]:
    """(office name, question) pairs; blank and '#' lines skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        if not line.strip() or line.startswith("#") or "\t" not in line:
            continue
        office, _, question = line.partition("\t")
        if office.strip() and question.strip():
            out.append((office.strip(), question.strip()))
    return out


def _classifier_text(text: str) -> str:
    return normalize_text(text).replace(" ", "_")


class ScopeClassifier:
    """Character 1-2-gram TF-IDF and a linear SVM, one class per office (``examples.tsv``) and one for the
    Civil Code (the corpus' own phrasings). ``margin(text)`` is how far the best office's score is above the
    civil one (> 0: the classifier would call it that office). Fitted with scikit-learn when the index is
    built; queried by hand (a dict look-up per n-gram and a small matrix product), so a question costs
    microseconds and loading it from the index cache needs no scikit-learn. English questions are classified
    on their glossary translation (the corpus has no English phrasings)."""

    def __init__(self, vocab: dict[str, int] | Vocab, idf: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray, classes: tuple[str, ...]) -> None:
        if isinstance(vocab, dict):  # as fitted (n-gram -> row): kept as a sorted array, a tenth the memory
            sorted_vocab = Vocab(vocab)
            moved = sorted_vocab.remap(vocab)
            new_idf, new_coef = np.empty_like(idf), np.empty_like(coef)
            new_idf[moved], new_coef[moved] = idf, coef
            vocab, idf, coef = sorted_vocab, new_idf, new_coef
        self.vocab, self.idf, self.coef, self.intercept, self.classes = vocab, idf, coef, intercept, classes
        self._civil = classes.index(CIVIL)

    @classmethod
    def fit(cls, civil_texts: Sequence[str], examples: Sequence[tuple[str, str]] | None = None,
            *, c: float = 1.0) -> ScopeClassifier | None:
        examples = read_examples() if examples is None else examples
        examples = [(o, q) for o, q in examples if not q.isascii()]
        if len(civil_texts) < MIN_CIVIL_TEXTS or not examples:
            return None
        from sklearn.feature_extraction.text import TfidfVectorizer  # only to build
        from sklearn.svm import LinearSVC

        texts = [_classifier_text(t) for t in civil_texts] + [_classifier_text(q) for _, q in examples]
        labels = [CIVIL] * len(civil_texts) + [o for o, _ in examples]
        # the offices' examples are few: together they weigh as much as all the phrasings
        weight = len(civil_texts) / len(examples)
        sample_weight = np.asarray([1.0] * len(civil_texts) + [weight] * len(examples))
        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
        x = vec.fit_transform(texts)
        model = LinearSVC(C=c)
        model.fit(x, labels, sample_weight=sample_weight)
        vocab = {str(k): int(v) for k, v in vec.vocabulary_.items()}
        return cls(vocab, np.asarray(vec.idf_, dtype=np.float32),
                   np.ascontiguousarray(model.coef_.T, dtype=np.float32),
                   np.asarray(model.intercept_, dtype=np.float32), tuple(str(k) for k in model.classes_))

    def scores(self, text: str) -> np.ndarray:
        s = _classifier_text(text)
        counts: dict[int, int] = {}
        for col in self.vocab.index([s[i : i + n] for n in (1, 2) for i in range(len(s) - n + 1)]).tolist():
            if col >= 0:
                counts[col] = counts.get(col, 0) + 1
        z = self.intercept.astype(np.float64)
        if counts:
            cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            w = (1.0 + np.log(tf)) * self.idf[cols]
            w /= np.linalg.norm(w) or 1.0
            z = z + w @ self.coef[cols]
        return z

    def margins(self, text: str) -> dict[str, float]:
        """Each office's score over the Civil Code class's (> 0: that office rather than civil)."""
        if not _classifier_text(text).strip("_"):
            return {}
        z = self.scores(text)
        civil = float(z[self._civil])
        return {c: float(z[i]) - civil for i, c in enumerate(self.classes) if i != self._civil}

    def best_office(self, text: str) -> tuple[str | None, float]:
        """The most likely office and its margin over the Civil Code class (None for an empty text)."""
        if not _classifier_text(text).strip("_"):
            return None, -99.0
        z = self.scores(text)
        civil = float(z[self._civil])
        z[self._civil] = -np.inf
        best = int(np.argmax(z))
        return self.classes[best], float(z[best]) - civil
