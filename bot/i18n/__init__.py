"""Message catalogues: gettext .po files per capability and language, read with Babel (or, when the files have
not changed since, from a cache of what Babel read last time).

Message ids are stable keys ("start.welcome"), so zh_CN and en are both complete catalogues and logic never
holds user-facing text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from knowledge.cache_dir import default_cache_dir, private_dir

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED_LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Whole words only: a code typed at a code step ("A2MY9K") holds letters between digits that are no words.
_ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")
# Common English words in a cry for help; pinyin ("wyf", "bj") rarely contains them, so a Chinese resident
# typing pinyin is not switched to English.
_ENGLISH_MARKERS = frozenset(
    {
        # Not "an" or "me" (pinyin: "zen me ban", "an quan"), nor "hi"/"hello": a greeting says no language.
        *("the", "is", "are", "am", "in", "on", "my", "we", "our", "there", "help", "please"),
        *("fire", "gas", "smoke", "someone", "somebody", "trapped", "stuck", "lift", "elevator", "water"),
        *("leak", "leaking", "burst", "flooding", "flood", "sparks", "sparking", "wire", "wires", "smell"),
        *("hurt", "fell", "fallen", "collapsed", "bleeding", "quick", "urgent", "emergency", "call"),
        *("police", "ambulance", "cannot", "not", "no"),
        # Everyday questions ("who pays if my dog bites"); none of these is a pinyin syllable ("can", "you",
        # "he" are, so they are left out).
        *("who", "what", "how", "why", "when", "where", "which", "if", "of", "for", "to"),
        *("do", "does", "did", "it", "and", "with", "pay", "pays", "paid", "should", "must"),
        *("will", "would", "could", "have", "has"),
        *("this", "that", "they", "their", "his", "her", "was", "were", "from", "about"),
        *("landlord", "neighbour", "neighbor", "rent", "deposit", "broken"),
    }
)


def written_in_chinese(text: str) -> bool:
    return _HAN.search(text) is not None


def written_in_english(text: str) -> bool:
    """True for a message written in English: no Chinese characters and at least one common English word."""
    if _HAN.search(text):
        return False
    return any(word.lower() in _ENGLISH_MARKERS for word in _ENGLISH_WORD.findall(text))


def normalise_language(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map a Telegram language_code or stored value onto one of our catalogues."""
    if not code:
        return default
    code = code.replace("-", "_")
    if code in SUPPORTED_LANGUAGES:
        return code
    if code.lower().startswith("en"):
        return "en"
    if code.lower().startswith("zh"):
        return "zh_CN"
    return default


@dataclass
class Catalogue:
    language: str
    messages: dict[str, str] = field(default_factory=dict)


def _load_language(language: str, directory: Path) -> Catalogue:
    """The language's messages, from the cache when its .po files are the ones cached (keyed by their names,
    sizes and times): parsing them with Babel costs about a tenth of a second on each start otherwise."""
    paths = sorted((directory / language).glob("*.po"))
    listing = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    key = hashlib.sha256(json.dumps([language, listing]).encode()).hexdigest()[:20]
    folder = private_dir(default_cache_dir())
    if folder is None:  # no folder only we can write: what others could plant must not speak to residents
        return _parse_language(language, paths)
    cache = folder / f"messages-{key}.json"
    try:
        messages = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(messages, dict):
            return Catalogue(language, messages)
    except (OSError, ValueError):
        pass
    catalogue = _parse_language(language, paths)
    with contextlib.suppress(OSError):
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(catalogue.messages, ensure_ascii=False), encoding="utf-8")
        partial.replace(cache)  # whole or not at all: another process may be reading it
    return catalogue


def _parse_language(language: str, paths: list[Path]) -> Catalogue:
    from babel.messages.pofile import read_po  # only when the files changed: importing Babel costs too

    catalogue = Catalogue(language)
    for po_path in paths:
        with po_path.open("rb") as handle:
            # No locale: it would only set the plural rules (plural entries are skipped below) and makes Babel
            # load its CLDR global data, 2 MB of dicts kept for the life of the process.
            po = read_po(handle)
        for message in po:
            if message.id and message.string:
                if not isinstance(message.id, str) or not isinstance(message.string, str):
                    continue
                if message.id in catalogue.messages:
                    raise ValueError(f"duplicate message id {message.id!r} in {po_path}")
                catalogue.messages[message.id] = message.string
    return catalogue


class Translator:
    def __init__(self, directory: Path = LOCALES_DIR, default_language: str = DEFAULT_LANGUAGE) -> None:
        self.default_language = default_language
        self.catalogues = {lang: _load_language(lang, directory) for lang in SUPPORTED_LANGUAGES}

    def has(self, key: str) -> bool:
        return key in self.catalogues[self.default_language].messages

    def __call__(self, language: str | None, key: str, /, **values: object) -> str:
        lang = normalise_language(language, self.default_language)
        template = self.catalogues[lang].messages.get(key)
        if template is None:
            template = self.catalogues[self.default_language].messages.get(key, key)
        if not values:
            return template
        return template.format_map(_SafeValues(values))

    def keys(self, language: str) -> Mapping[str, str]:
        return self.catalogues[language].messages


class _SafeValues(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@lru_cache(maxsize=1)
def default_translator() -> Translator:
    return Translator()
