"""Text normalisation shared by the law matcher and the intent router.

``normalize_text`` turns whatever a resident typed into one canonical form:

* full-width letters, digits and punctuation become half-width (NFKC);
* traditional characters become simplified (OpenCC ``t2s``, only run when a traditional character is present);
* upper case becomes lower case;
* punctuation, symbols and emoji become single spaces;
* Chinese numerals inside article references become Arabic digits ("第一千二百五十四条" -> "第1254条").

The module is pure Python and cheap to import; OpenCC is loaded lazily on first traditional input.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

# Longest text we look at. Residents' questions are short; a pasted 4,000-character message is cut here so
# that matching stays fast and predictable.
MAX_CHARS = 400

_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0,
    "一": 1, "幺": 1, "壹": 1,
    "二": 2, "两": 2, "兩": 2, "贰": 2, "貳": 2,
    "三": 3, "叁": 3, "參": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}
for _d in "0123456789":
    _DIGITS[_d] = int(_d)
_UNITS: dict[str, int] = {
    "十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10000, "萬": 10000,
}

NUMERAL_CHARS = "".join(_DIGITS) + "".join(_UNITS)

# "第...条" with any mix of Chinese and Arabic numerals; "条" may be traditional (條) before conversion.
_ARTICLE_NUMERAL_RE = re.compile(rf"第\s*([{NUMERAL_CHARS}]+)\s*(条|條)")


def chinese_to_int(numeral: str) -> int | None:
    """Parse a Chinese (or mixed) numeral: "一千二百五十四", "一二五四", "两百八十八", "十五", "1千2百".

    Returns None when the string is not a numeral.
    """
    numeral = numeral.strip()
    if not numeral:
        return None
    if numeral.isascii() and numeral.isdigit():
        return int(numeral)
    if any(ch not in _DIGITS and ch not in _UNITS for ch in numeral):
        return None
    if not any(ch in _UNITS for ch in numeral):
        # Digit by digit: "一二五四" -> 1254.
        return int("".join(str(_DIGITS[ch]) for ch in numeral))
    total = 0  # completed ten-thousands
    section = 0  # value below 10,000
    digit: int | None = None
    digits_run = ""  # consecutive Arabic digits: "12千" is unusual but harmless
    for ch in numeral:
        if ch in _DIGITS:
            if ch.isdigit():
                digits_run += ch
                digit = int(digits_run)
            else:
                digits_run = ""
                digit = _DIGITS[ch]
            continue
        digits_run = ""
        unit = _UNITS[ch]
        if unit == 10000:
            section += digit or 0
            total += (section or 1) * unit
            section = 0
        else:
            # "十五" starts with the unit: an implicit one.
            section += (1 if digit is None else digit) * unit
        digit = None
    section += digit or 0
    return total + section


def _article_numeral_sub(match: re.Match[str]) -> str:
    value = chinese_to_int(match.group(1))
    if value is None:
        return match.group(0)
    return f"第{value}条"


def convert_article_numerals(text: str) -> str:
    """Rewrite "第一二五四条" / "第一千二百五十四条" as "第1254条"; other text is untouched."""
    if "第" not in text:
        return text
    return _ARTICLE_NUMERAL_RE.sub(_article_numeral_sub, text)


# --- traditional -> simplified ---------------------------------------------------------------------------

_cc_lock = threading.Lock()
_cc: object | None = None


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Characters that OpenCC would change when converting to simplified Chinese."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - dependency is declared; keep working without it
        return frozenset()
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars: set[str] = set()
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                key, _, values = line.rstrip("\n").partition("\t")
                first = values.split(" ", 1)[0] if values else key
                if len(key) == 1 and first != key:
                    chars.add(key)
    except OSError:  # pragma: no cover
        return frozenset()
    return frozenset(chars)


def _converter() -> object | None:
    global _cc
    if _cc is None:
        with _cc_lock:
            if _cc is None:
                try:
                    from opencc import OpenCC
                except ImportError:  # pragma: no cover
                    return None
                _cc = OpenCC("t2s")
    return _cc


def to_simplified(text: str) -> str:
    """Traditional -> simplified. A no-op (and no OpenCC cost) for text that is already simplified."""
    trad = _traditional_chars()
    if not trad or not any(ch in trad for ch in text):
        return text
    cc = _converter()
    if cc is None:  # pragma: no cover
        return text
    return str(cc.convert(text))  # type: ignore[attr-defined]


# --- punctuation, symbols, emoji -------------------------------------------------------------------------

_SPACE_RE = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def _is_separator(ch: str) -> bool:
    cat = unicodedata.category(ch)
    # P* punctuation, S* symbols (emoji are So), Z* separators, C* control / format (zero-width joiner, ...)
    return cat[0] in "PSZC"


def strip_punctuation(text: str) -> str:
    """Replace punctuation, symbols and emoji by spaces and collapse runs of white space."""
    out = [" " if (not ch.isalnum() and _is_separator(ch)) else ch for ch in text]
    return _SPACE_RE.sub(" ", "".join(out)).strip()


def normalize_text(text: str | None, *, max_chars: int = MAX_CHARS) -> str:
    """Canonical form of a resident's message (see module docstring). Never raises on odd input."""
    if not text:
        return ""
    if not isinstance(text, str):
        text = str(text)
    # NFKC can only grow a little; cut early to keep the cost bounded (and what the cache below holds)
    return _normalize(text[: max_chars * 2], max_chars)


# One question is normalised a dozen times on its way through the matcher (article look-up, scoring, the
# scope checks, related articles): a long one cost 20 µs each time, the tail of the latency.
@lru_cache(maxsize=256)
def _normalize(text: str, max_chars: int) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text)
    text = text.lower()
    text = convert_article_numerals(text)
    text = strip_punctuation(text)
    return text[:max_chars].strip()


def is_cjk(ch: str) -> bool:
    """True for a Chinese character (CJK unified ideographs and extension A)."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def has_meaningful_text(text: str) -> bool:
    """True when normalised text contains at least one Chinese character, letter or digit."""
    return any(ch.isalnum() for ch in text)
