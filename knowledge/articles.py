"""Civil Code article references: "第1254条", "民法典第一千二百五十四条", "第一二五四条", "1254条" -> 1254."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.normalize import normalize_text

MIN_ARTICLE = 1
MAX_ARTICLE = 1260

# Applied to normalised text (numerals already Arabic inside "第...条", punctuation already spaces).
_REF_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"第 ?(\d{1,12}) ?条"),
    re.compile(r"(?<![\d.])(\d{1,6}) ?条(?=$| |规定|说|讲|写|内容|原文|是|的规定|的内容|怎么)"),
    re.compile(r"民法典 ?第? ?(\d{1,12})(?!\d)"),
    re.compile(r"\b(?:article|art|civil code) ?(?:no )?(\d{1,6})\b"),
)

# Words around a bare reference that still make the whole message a look-up ("查一下民法典第1254条原文").
_LOOKUP_FILLER = re.compile(
    r"中华人民共和国|民法典|民法|法条|条文|原文|全文|内容|规定|第|条|款|查看|查询|查一下|查查|查|看看|看一下|看|"
    r"请问|请|帮我|给我|一下|是什么|是啥|说的是什么|说的啥|说了什么|讲的什么|讲什么|讲了啥|怎么说|什么|啥|的|呢|吗|"
    r"article|art|civil code|the|of|show|me|text|what|does|say|is|no|please",
)


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """A reference found in a message. ``number`` may be out of range; check ``valid``."""

    number: int

    @property
    def valid(self) -> bool:
        return is_valid_article(self.number)


def is_valid_article(number: int) -> bool:
    return MIN_ARTICLE <= number <= MAX_ARTICLE


def parse_article_number(text: str | None) -> int | None:
    """The first article number mentioned in ``text`` (may be out of range), or None.

    >>> parse_article_number("民法典第一千二百五十四条")
    1254
    """
    norm = normalize_text(text)
    if not norm:
        return None
    for pattern in _REF_PATTERNS:
        m = pattern.search(norm)
        if m:
            return int(m.group(1))
    return None


def parse_article(text: str | None) -> int | None:
    """Like ``parse_article_number`` but only returns numbers in 1..1260."""
    number = parse_article_number(text)
    return number if number is not None and is_valid_article(number) else None


def article_lookup(text: str | None, *, allow_bare_number: bool = False) -> ArticleRef | None:
    """An ``ArticleRef`` when the whole message is an article look-up ("第1254条", "查一下民法典第288条"),
    None when it is something else (including a question that merely mentions an article).

    A message that is only a number ("1254") counts when ``allow_bare_number`` is set (e.g. after "/law")."""
    norm = normalize_text(text)
    if not norm:
        return None
    number = None
    for pattern in _REF_PATTERNS:
        m = pattern.search(norm)
        if m:
            number = int(m.group(1))
            rest = norm[: m.start()] + " " + norm[m.end():]
            break
    else:
        # A bare number ("1254") is a look-up too.
        bare = norm.replace(" ", "")
        if allow_bare_number and bare.isdigit() and len(bare) <= 6:
            return ArticleRef(int(bare))
        return None
    leftover = _LOOKUP_FILLER.sub(" ", rest).strip()
    if leftover:
        return None
    return ArticleRef(number)


def strip_article_refs(normalized: str) -> str:
    """Normalised text without its article references ("车位 第276条" -> "车位"), for word matching."""
    for pattern in _REF_PATTERNS:
        normalized = pattern.sub(" ", normalized)
    return normalized.replace("民法典", " ").strip()


def format_article(number: int) -> str:
    """"第1254条" for display."""
    return f"第{number}条"
