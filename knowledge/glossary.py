"""English questions into the Chinese index: the key terms are translated through a glossary
(``knowledge/data/glossary/en_zh.tsv``), the rest is dropped, and the result is matched like Chinese.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

GLOSSARY_FILE = Path(__file__).resolve().parent / "data" / "glossary" / "en_zh.tsv"
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def parse_glossary(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        if not line.strip() or line.startswith("#") or "\t" not in line:
            continue
        en, _, zh = line.partition("\t")
        en, zh = " ".join(en.lower().split()), zh.strip()
        if en and zh:
            out.setdefault(en, zh)
    return out


@lru_cache(maxsize=2)
def _compiled(path: Path = GLOSSARY_FILE) -> tuple[re.Pattern[str], dict[str, str]]:
    try:
        terms = parse_glossary(path.read_text(encoding="utf-8").splitlines())
    except OSError:
        terms = {}
    alternatives = sorted(terms, key=len, reverse=True)
    body = "|".join(re.escape(t) for t in alternatives)
    # A plural finds its singular's entry ("elevators", "screens"): people write either, the glossary one.
    pattern = rf"(?<![a-z])(?P<term>{body})(?:e?s)?(?![a-z])" if terms else r"$^"
    return re.compile(pattern), terms


def is_english(text: str) -> bool:
    """Latin letters and no Chinese at all."""
    return bool(_LATIN.search(text)) and not _CJK.search(text)


def searchable(text: str) -> str:
    """What the matcher searches for ``text``: an English question's Chinese terms; a mixed one ("借条 didn't
    write any interest") keeps its Chinese and gains the terms of its English words, which the Chinese
    tokenizer would otherwise drop; a Chinese one as it is."""
    if is_english(text):
        return translate_terms(text)
    if _CJK.search(text) and re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", text):
        extra = translate_terms(text)
        return f"{text} {extra}" if extra else text
    return text


def translate_terms(text: str) -> str:
    """The Chinese words for the glossary terms found in ``text``, in order ("" when none is known).

    >>> translate_terms("my dog bit the neighbour's kid, who pays?")
    '狗 咬 邻居 孩子 谁赔'
    """
    pattern, terms = _compiled()
    lowered = re.sub(r"[’`]", "'", text.lower())
    lowered = re.sub(r"'s\b", "", lowered)
    lowered = " ".join(re.sub(r"[^a-z0-9'\- ]+", " ", lowered).split())
    return " ".join(terms[m.group("term")] for m in pattern.finditer(lowered))
