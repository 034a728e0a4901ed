"""The FAQ corpus: entries (knowledge/data/faq/*.yaml) and article summaries (knowledge/data/articles/*.yaml).

Loading is lenient: a malformed row is skipped and described in ``Corpus.problems`` so one bad entry never
takes the bot down; ``redbutler law check`` reports those problems and fails.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.cache_dir import default_cache_dir, load_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: str
    topic: str
    questions: tuple[str, ...]
    answer_zh: str
    answer_en: str
    articles: tuple[int, ...]
    source: str = ""  # "file.yaml#3" for messages about the entry
    # Optional: the question the entry answers in one short line (echoed as "您问的是：…"), and when the
    # answer changes ("if the lease was registered…"). Empty when the writer gave none.
    asked_zh: str = ""
    asked_en: str = ""
    caveat_zh: str = ""
    caveat_en: str = ""

    def asked(self, language: str) -> str:
        """The echoed question: asked_zh (falling back to the first phrasing); for English readers asked_en
        (falling back to the topic, the shortest thing we have when no English line was written)."""
        if language == "en":
            return self.asked_en or self.topic
        return self.asked_zh or (self.questions[0] if self.questions else self.topic)

    def caveat(self, language: str) -> str:
        if language == "en":
            return self.caveat_en or self.caveat_zh
        return self.caveat_zh


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    article: int
    summary_zh: str
    summary_en: str
    source: str = ""
    keywords: tuple[str, ...] = ()  # Chinese words people use for what the article is about (optional)


@dataclass(slots=True)
class Corpus:
    entries: list[FaqEntry] = field(default_factory=list)
    summaries: dict[int, ArticleSummary] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # rows that could not be loaded

    def entry(self, faq_id: str) -> FaqEntry | None:
        for e in self.entries:
            if e.id == faq_id:
                return e
        return None


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)


def _read(path: Path, problems: list[str], cache_dir: Path | None) -> list[Any]:
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            data = load_yaml(path, cache_dir)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{path.name}: cannot read: {str(exc).splitlines()[0] if str(exc) else exc!r}")
        return []
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(f"{path.name}: expected a list of rows at the top level")
        return []
    return data


def _str(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _int_list(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if not isinstance(value, list) or not value:
        return None
    out: list[int] = []
    for v in value:
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            out.append(v)
        elif isinstance(v, str) and v.strip().isdigit():
            out.append(int(v.strip()))
        else:
            return None
    return tuple(out)


def parse_faq_row(row: Any, source: str, problems: list[str]) -> FaqEntry | None:
    """One YAML row -> FaqEntry, or None (with a problem recorded) when a field is missing or wrong."""
    if not isinstance(row, Mapping):
        problems.append(f"{source}: not a mapping")
        return None
    faq_id = _str(row, "id")
    where = f"{source} ({faq_id})" if faq_id else source
    missing = [k for k in ("id", "topic", "answer_zh", "answer_en") if _str(row, k) is None]
    raw_q = row.get("questions")
    questions: tuple[str, ...] | None = None
    if isinstance(raw_q, list) and all(isinstance(q, str) and q.strip() for q in raw_q) and raw_q:
        questions = tuple(q.strip() for q in raw_q)
    else:
        missing.append("questions")
    articles = _int_list(row.get("articles"))
    if articles is None:
        missing.append("articles")
    if missing:
        problems.append(f"{where}: missing or malformed field(s): {', '.join(missing)}")
        return None
    assert faq_id is not None and questions is not None and articles is not None
    return FaqEntry(
        id=faq_id,
        topic=_str(row, "topic") or "",
        questions=questions,
        answer_zh=_str(row, "answer_zh") or "",
        answer_en=_str(row, "answer_en") or "",
        articles=articles,
        source=source,
        asked_zh=_one_line(row, "asked_zh"),
        asked_en=_one_line(row, "asked_en"),
        caveat_zh=_str(row, "caveat_zh") or "",
        caveat_en=_str(row, "caveat_en") or "",
    )


def _one_line(row: Mapping[str, Any], key: str) -> str:
    value = _str(row, key)
    return " ".join(value.split()) if value else ""


def _keywords(value: Any) -> tuple[str, ...]:
    """A list of words, or one string of words separated by spaces, commas or 、."""
    if isinstance(value, str):
        value = re.split(r"[\s,，、;；]+", value)
    if not isinstance(value, list):
        return ()
    out: list[str] = []
    for v in value:
        if isinstance(v, str | int) and not isinstance(v, bool) and str(v).strip():
            word = str(v).strip()
            if word not in out:
                out.append(word)
    return tuple(out)


def parse_summary_row(row: Any, source: str, problems: list[str]) -> ArticleSummary | None:
    if not isinstance(row, Mapping):
        problems.append(f"{source}: not a mapping")
        return None
    number = row.get("article")
    if isinstance(number, str) and number.strip().isdigit():
        number = int(number.strip())
    zh, en = _str(row, "summary_zh"), _str(row, "summary_en")
    if not isinstance(number, int) or isinstance(number, bool) or zh is None or en is None:
        problems.append(f"{source}: article summary needs article (int), summary_zh and summary_en")
        return None
    return ArticleSummary(
        article=number, summary_zh=zh, summary_en=en, source=source, keywords=_keywords(row.get("keywords"))
    )


def load_corpus(data_dir: str | Path | None = None) -> Corpus:
    """Load every FAQ file under ``<data_dir>/faq`` and every summary file under ``<data_dir>/articles``.

    ``data_dir`` defaults to ``knowledge/data``. On duplicate article summaries the first one (in file-name
    order) wins. Never raises on bad content; see ``Corpus.problems``.
    """
    root = Path(data_dir) if data_dir is not None else DATA_DIR
    corpus = Corpus()
    enabled = gc.isenabled()
    gc.disable()  # start-up time: parsing makes many small objects and no cycles worth collecting
    try:
        # Only the bot's own corpus is remembered as JSON: other folders (tests, `law check` of a draft) would
        # leave a cache file each.
        _load_into(corpus, root, default_cache_dir() if data_dir is None else None)
    finally:
        if enabled:
            gc.enable()
    return corpus


def _load_into(corpus: Corpus, root: Path, cache_dir: Path | None) -> None:
    for path in _files(root / "faq"):
        for i, row in enumerate(_read(path, corpus.problems, cache_dir), start=1):
            entry = parse_faq_row(row, f"{path.name}#{i}", corpus.problems)
            if entry is not None:
                corpus.entries.append(entry)
    for path in _files(root / "articles"):
        for i, row in enumerate(_read(path, corpus.problems, cache_dir), start=1):
            summary = parse_summary_row(row, f"{path.name}#{i}", corpus.problems)
            if summary is not None and summary.article not in corpus.summaries:
                corpus.summaries[summary.article] = summary


def corpus_from_rows(
    faq_rows: Iterable[Any], summary_rows: Iterable[Any] = (), *, source: str = "memory"
) -> Corpus:
    """Build a corpus from already-parsed rows (tests, synthetic benchmarks)."""
    corpus = Corpus()
    for i, row in enumerate(faq_rows, start=1):
        entry = parse_faq_row(row, f"{source}#{i}", corpus.problems)
        if entry is not None:
            corpus.entries.append(entry)
    for i, row in enumerate(summary_rows, start=1):
        summary = parse_summary_row(row, f"{source}#{i}", corpus.problems)
        if summary is not None and summary.article not in corpus.summaries:
            corpus.summaries[summary.article] = summary
    return corpus
