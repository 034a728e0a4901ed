"""Tokenising residents' Chinese: synonyms, a fast-loading jieba with our domain words, character bigrams.

jieba's full dictionary (349k words) takes ~0.8 s to load even from its cache. We build a compact dictionary
once per machine (jieba's 40,000 most frequent words plus ``dictionary.txt``) in a temporary folder; jieba's
prefix cache for it sits beside it, so later start-ups load it in a few tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import marshal
import math
import os
import re
import sys
import tempfile
import threading
import types
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge.cache_dir import private_dir
from knowledge.normalize import is_cjk

HERE = Path(__file__).resolve().parent
DICTIONARY_FILE = HERE / "dictionary.txt"
SYNONYMS_FILE = HERE / "synonyms.txt"
GENERAL_WORDS = 40_000


def _words(text: str) -> list[str]:
    return text.split()


# Function words and question frames that say nothing about the topic.
STOPWORDS: frozenset[str] = frozenset(
    _words(
        """
        的 了 吗 呢 啊 吧 呀 哦 嘛 么 啦 哈 嗯 呗 哎 唉 诶 喔 噢 哇 咯 喽 滴 之 其
        着 过 地 得 我 你 您 他 她 它 我们 你们 他们 她们 咱 咱们 俺 俺们 自己 人家 大家
        本人 这 那 这个 那个 这些 那些 这样 那样 这种 那种 这么 那么 此 是 有 在 和 与 跟
        及 或 或者 就 都 也 还 又 再 才 只 很 太 挺 非常 特别 真 真的 都是 被 把 给 让
        叫 对 向 从 到 于 为 为了 因为 所以 但是 但 可是 而且 如果 要是 然后 就是 要 会
        能 可以 可 得 该 应该 应当 需要 必须 想 想要 可能 能够 是否 是不是 有没有 能不能
        可不可以 会不会 怎么 怎么办 咋 咋办 咋整 咋弄 怎么弄 怎么整 怎么样 怎样 如何 什么 啥
        为什么 为啥 干啥 干嘛 哪 哪里 哪儿 多少 几 谁 吗 请问 问 问问 问下 问一下 一下 下
        请 麻烦 谢谢 您好 你好 老师 一个 个 些 点 一点 现在 已经 一直 总是 老是 经常 天天
        每天 时候 之后 以后 以前 后来 今天 昨天 最近 没 没有 不 别 不能 不让 不是 不要 行
        行不行 对不对 好 好的 嗯嗯 呢 了吗 的话 事 事情 情况 问题 办 弄 搞
        """
    )
)

# Characters too common to help as unigrams.
STOP_CHARS: frozenset[str] = frozenset(
    "的了吗呢啊吧呀我你他她它们这那是有在和就都也还又被把给让要会能可不没人个一上下来去说"
)

_RUN_RE = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SPLIT_RE = re.compile(r"\s+")

log = logging.getLogger(__name__)


# --- synonyms ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Synonyms:
    """Alias -> canonical rewriting and related-term expansion, read from ``synonyms.txt``."""

    canonical: dict[str, str] = field(default_factory=dict)  # alias (and canonical itself) -> canonical
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # canonical words of "~" lines: rewritten like the others, but saying them does not make a message
    # sound legal ("我儿子考上大学了" is chit-chat however the dialect wrote 儿子)
    plain: set[str] = field(default_factory=set)
    # "! word word ...": goods a brand is named before ("LG冰箱"); a Latin alias right before one of them is
    # the brand, not a pinyin abbreviation (lg = 老公), and stays as typed
    goods: list[str] = field(default_factory=list)
    _cjk_re: re.Pattern[str] | None = None
    _latin_re: re.Pattern[str] | None = None

    @classmethod
    def load(cls, path: Path = SYNONYMS_FILE) -> Synonyms:
        syn = cls()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:  # pragma: no cover - the file ships with the package
            lines = []
        for raw in lines:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("!"):
                syn.goods.extend(_split_aliases(line[1:]))
                continue
            if "=" in line or "~" in line:
                canon, _, aliases = line.partition("=" if "=" in line else "~")
                canon = canon.strip()
                if "=" not in line:
                    syn.plain.add(canon)
                syn.canonical.setdefault(canon, canon)
                for alias in _split_aliases(aliases):
                    syn.canonical.setdefault(alias, canon)
            elif ">" in line:
                word, _, rel = line.partition(">")
                syn.related[word.strip()] = tuple(rel.split())
        syn._compile()
        return syn

    def _compile(self) -> None:
        cjk = sorted((k for k in self.canonical if not k.isascii()), key=len, reverse=True)
        latin = sorted((k for k in self.canonical if k.isascii()), key=len, reverse=True)
        self._cjk_re = re.compile("|".join(map(re.escape, cjk))) if cjk else None
        goods = "|".join(re.escape(g) for g in sorted(self.goods, key=len, reverse=True))
        brand = rf"(?!\s*(?:牌的|牌|家的|家|的)?\s*(?:{goods}))" if goods else ""
        self._latin_re = (
            # not \b: pinyin abbreviations run straight into Chinese ("wyf欠了四年")
            re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(k) for k in latin) + r")(?![a-z0-9])" + brand)
            if latin else None
        )

    def rewrite(self, text: str) -> str:
        """Replace aliases by their canonical word in normalised text (longest match first)."""
        if self._latin_re is not None and any("a" <= ch <= "z" for ch in text):
            text = self._latin_re.sub(lambda m: " " + self.canonical[m.group(0)] + " ", text)
        if self._cjk_re is not None:
            text = self._cjk_re.sub(lambda m: self.canonical[m.group(0)], text)
        return text

    def expand(self, tokens: list[str]) -> list[str]:
        extra = [r for t in tokens for r in self.related.get(t, ())]
        return tokens + extra if extra else tokens


def _split_aliases(text: str) -> list[str]:
    """Aliases are separated by spaces; "_" inside an alias stands for a space ("property_fee")."""
    return [a.replace("_", " ") for a in text.split()]


# --- jieba ------------------------------------------------------------------------------------------------

_jieba_lock = threading.Lock()
_lazy_lock = threading.RLock()
_tokenizer: object | None = None


class _LazyModule(types.ModuleType):
    """A package module that runs its code on first use of one of its names (see ``import_jieba``)."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        with _lazy_lock:
            if "_lazy_loaded" not in self.__dict__:
                spec = importlib.util.spec_from_file_location(self.__name__, self.__file__,
                                                              submodule_search_locations=list(self.__path__))
                assert spec is not None and spec.loader is not None
                real = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(real)  # its relative imports resolve through this module's __path__
                self.__dict__.update({k: v for k, v in real.__dict__.items() if not k.startswith("__")})
                self.__dict__["_lazy_loaded"] = True
        return super().__getattribute__(name)


def import_jieba() -> types.ModuleType:
    """``import jieba`` without what cutting with HMM=False never uses: setuptools' ``pkg_resources`` (jieba
    reads its bundled files through it when it is installed: 10 MB and 0.1 s; else with ``open``, as here)
    and the HMM's probability tables in ``jieba.finalseg`` (7 MB of dicts; loaded on first use, by whatever
    asks for them)."""
    if "jieba" in sys.modules:
        return sys.modules["jieba"]
    spec = importlib.util.find_spec("jieba")
    origin = spec.origin if spec is not None else None
    if origin is None:
        import jieba  # not found as a plain package: whatever the import system does

        return jieba
    folder = Path(origin).parent / "finalseg"
    finalseg = _LazyModule("jieba.finalseg")
    finalseg.__file__ = str(folder / "__init__.py")
    finalseg.__path__ = [str(folder)]
    finalseg.__package__ = "jieba.finalseg"
    blocked = "pkg_resources" not in sys.modules
    sys.modules.setdefault("jieba.finalseg", finalseg)
    if blocked:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # "import pkg_resources" fails
    try:
        import jieba
    finally:
        if blocked:
            sys.modules.pop("pkg_resources", None)
    return jieba


def _domain_words() -> list[tuple[str, int]]:
    words: list[tuple[str, int]] = []
    try:
        lines = DICTIONARY_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:  # pragma: no cover
        return words
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 30000
        words.append((parts[0], freq))
    return words


def _compact_dictionary(extra: list[tuple[str, int]]) -> Path:
    """Path of the compact jieba dictionary, built on first use (atomic write, safe across processes)."""
    jieba: Any = import_jieba()

    big = Path(jieba.__file__).resolve().parent / "dict.txt"
    digest = hashlib.sha1()
    digest.update(str(GENERAL_WORDS).encode())
    digest.update(str(big.stat().st_size if big.exists() else 0).encode())
    for w, f in extra:
        digest.update(f"{w} {f}\n".encode())
    folder = private_dir(
        Path(tempfile.gettempdir()) / f"redbutler-jieba-{os.getuid() if hasattr(os, 'getuid') else 0}"
    )
    if folder is None:
        # A dictionary or count cache others could plant would change how every question is cut.
        raise OSError("the jieba cache folder is not private")
    target = folder / f"dict-{digest.hexdigest()[:16]}.txt"
    if target.exists():
        return target
    rows: list[tuple[int, str]] = []
    with big.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                rows.append((int(parts[1]), parts[0]))
    rows.sort(reverse=True)
    seen: set[str] = set()
    lines: list[str] = []
    for w, f in extra:
        if w not in seen:
            seen.add(w)
            lines.append(f"{w} {f}")
    for f, w in rows[:GENERAL_WORDS]:
        if w not in seen:
            seen.add(w)
            lines.append(f"{w} {f}")
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    os.replace(tmp, target)
    return target


# The prefix dictionary's words as UTF-8 bytes: jieba keeps ~47,000 words and word prefixes as str keys of a
# dict (6.3 MB); as bytes (a third of a CJK str's size each) and with the repeated counts shared, 3.6 MB. The
# ~7,000 entries with a count of 0 (prefixes that are not words) are a set of their own: the ~40,000 words
# then fit a dict half the size (2.6 → 1.3 MB; issue 17).
# Bumped when what the cache file holds changes.
_FREQ_CACHE_VERSION = "2"


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # one to one for every str, lone surrogates included


@lru_cache(maxsize=1)
def _compact_tokenizer_class() -> type:
    jieba: Any = import_jieba()

    class CompactTokenizer(jieba.Tokenizer):  # type: ignore[misc,name-defined]
        """jieba's Tokenizer with its prefix dictionary (``FREQ``) keyed by the words' UTF-8 bytes; the two
        methods that read it when cutting without HMM look the same fragments up, encoded, so the words, the
        DAG and the route (the same sums of the same logarithms) are jieba's own."""

        prefixes: frozenset[bytes] = frozenset()  # the dictionary's entries with a count of 0

        def initialize(self, dictionary: str | None = None) -> None:
            if self.__dict__.get("initialized"):
                return
            with self.lock:
                if self.__dict__.get("initialized"):
                    return
                path = Path(self.dictionary)
                cache = path.with_name(f"{path.name}.v{_FREQ_CACHE_VERSION}.freq")
                loaded: object = None
                counts: dict[int, int] = {}
                if cache.is_file() and cache.stat().st_mtime >= path.stat().st_mtime:
                    with contextlib.suppress(Exception), cache.open("rb") as fh:  # damaged: built again
                        loaded = marshal.load(fh)
                if not (
                    isinstance(loaded, tuple)
                    and len(loaded) == 3
                    and isinstance(loaded[0], dict)
                    and isinstance(loaded[1], frozenset)
                ):
                    with path.open("rb") as fh:
                        pfdict, total = self.gen_pfdict(fh)
                    loaded = (
                        {_utf8(w): counts.setdefault(f, f) for w, f in pfdict.items() if f},
                        frozenset(_utf8(w) for w, f in pfdict.items() if not f),
                        total,
                    )
                    fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
                    with os.fdopen(fd, "wb") as out:
                        marshal.dump(loaded, out)
                    os.replace(tmp, cache)
                freq, self.prefixes, self.total = loaded
                counts.clear()
                for word, count in freq.items():  # marshal gives each count its own object
                    freq[word] = counts.setdefault(count, count)
                self.FREQ = freq
                self.initialized = True

        def get_DAG(self, sentence: str) -> dict[int, list[int]]:
            self.check_initialized()
            freq, prefixes = self.FREQ, self.prefixes
            dag: dict[int, list[int]] = {}
            n = len(sentence)
            for k in range(n):
                ends: list[int] = []
                i = k
                frag = sentence[k]
                # jieba's walk: on while the fragment is in its prefix dictionary (a word, or a prefix with a
                # count of 0), a word ending wherever the count is not 0.
                while i < n:
                    key = _utf8(frag)
                    if freq.get(key):
                        ends.append(i)
                    elif key not in prefixes:
                        break
                    i += 1
                    frag = sentence[k : i + 1]
                if not ends:
                    ends.append(k)
                dag[k] = ends
            return dag

        def calc(self, sentence: str, DAG: dict[int, list[int]], route: dict[int, Any]) -> None:
            freq = self.FREQ
            n = len(sentence)
            route[n] = (0, 0)
            logtotal = math.log(self.total)
            for idx in range(n - 1, -1, -1):
                route[idx] = max(
                    (math.log(freq.get(_utf8(sentence[idx : x + 1])) or 1) - logtotal + route[x + 1][0], x)
                    for x in DAG[idx]
                )

    return CompactTokenizer


def get_tokenizer() -> object:
    """Our own jieba ``Tokenizer`` (never the global one, so other users of jieba are not affected)."""
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _jieba_lock:
        if _tokenizer is None:
            jieba: Any = import_jieba()
            jieba.setLogLevel(logging.WARNING)
            extra = _domain_words()
            try:
                path = _compact_dictionary(extra)
                tk = _compact_tokenizer_class()(dictionary=str(path))
                tk.initialize()
            except OSError:  # no writable temp folder: jieba's full dictionary (slower start) plus ours
                log.warning("jieba: compact dictionary unavailable, loading the full one")
                tk = jieba.Tokenizer()
                tk.initialize()
                for word, freq in extra:
                    tk.add_word(word, freq)
            _tokenizer = tk
    return _tokenizer


def cut(text: str) -> list[str]:
    """jieba precise mode without HMM (deterministic; unknown words fall back to single characters)."""
    tk = get_tokenizer()
    return [t for t in tk.lcut(text, HMM=False) if t.strip()]  # type: ignore[attr-defined]


# --- analyser ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Analysis:
    canonical: str  # normalised text after synonym rewriting
    words: tuple[str, ...]  # content words (stopwords removed, related terms added)
    bigrams: tuple[str, ...]  # character bigrams of runs of content words (single characters for 1-char runs)
    content_chars: int = 0  # distinct characters in the content words: how much the text actually says
    chars: tuple[str, ...] = ()  # the content words' Chinese characters (segmentation-proof unigrams)
    content: str = ""  # the canonical text with stopwords removed


class Analyzer:
    def __init__(self, synonyms: Synonyms | None = None) -> None:
        self.synonyms = synonyms or Synonyms.load()
        get_tokenizer()
        # Words that show a message is about home, neighbours, family or the law: the domain dictionary and
        # every canonical word of the synonym map.
        self.domain_words: frozenset[str] = frozenset(
            {w for w, _ in _domain_words()}
            | {c for c in self.synonyms.canonical.values()
               if not c.isascii() and c not in self.synonyms.plain}
            | {r for rel in self.synonyms.related.values() for r in rel}
        )

    def mentions_domain(self, analysis: Analysis) -> bool:
        return any(w in self.domain_words for w in analysis.words)

    def canonical(self, normalized: str) -> str:
        return self.synonyms.rewrite(normalized)

    def analyze(self, normalized: str) -> Analysis:
        canon = self.canonical(normalized)
        words: list[str] = []
        runs: list[str] = []  # content words with stopwords replaced by breaks, for the bigrams
        for t in cut(canon):
            if t in STOPWORDS or t.isspace():
                runs.append(" ")
            else:
                words.append(t)
                runs.append(t if is_cjk(t[0]) else f" {t} ")
        chars = tuple(ch for w in words for ch in w if is_cjk(ch) and ch not in STOP_CHARS)
        content = len(set("".join(words)))
        words = self.synonyms.expand(words)
        joined_runs = "".join(runs)
        content_text = " ".join(joined_runs.split())
        return Analysis(canon, tuple(words), tuple(char_bigrams(joined_runs)), content, chars, content_text)


def char_bigrams(text: str) -> list[str]:
    out: list[str] = []
    for run in _RUN_RE.findall(text):
        if not is_cjk(run[0]):
            if len(run) > 1 and not run.isdigit():
                out.append(run)
            continue
        if len(run) == 1:
            if run not in STOPWORDS:
                out.append(run)
            continue
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    return Analyzer()
