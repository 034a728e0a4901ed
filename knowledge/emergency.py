"""Does a resident's message signal immediate danger? Plain text in, a decision and a kind out.

This is the shared interface (used by the router's CLI and bench, and by the handlers' emergency path).
The detection itself is data-driven from ``knowledge/data/emergency/`` (see that folder's README): trigger
patterns per kind, ordinary words that must not trigger (火锅, 漏交, 困难 ...), and whole-message context that
turns a trigger off (the past, a what-if, a denial, a question about money or the law).

Recall matters more than precision: a false alarm costs one press of a confirm button, a missed one can cost
a life. So a trigger is only turned off by context when nothing in the message says it is happening now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.normalize import normalize_text

# The kinds, each with the public number that helps first (shown to the resident with what to do now).
# violence last: where a cut also fits ("拿刀切菜切到手了 血止不住"), the medical advice comes first.
EMERGENCY_KINDS: tuple[str, ...] = ("lift", "gas", "fire", "electric", "water", "medical", "violence")

DATA_DIR = Path(__file__).parent / "data" / "emergency"
THRESHOLD = 0.5
# Context does not veto a trigger this sure ("煤气泄漏") unless the message is about the past or a what-if.
STRONG = 0.95
# How far before a trigger a denial counts ("没有闻到煤气味", "并没有着火").
NEGATION_WINDOW = 4
# The longest message looked at; danger is said at the start, and it bounds the work per message.
MAX_CHARS = 600


@dataclass(frozen=True, slots=True)
class EmergencySignal:
    emergency: bool
    kind: str | None  # one of EMERGENCY_KINDS when emergency is True, else None
    score: float  # 0..1, how sure the detector is


NO_EMERGENCY = EmergencySignal(False, None, 0.0)


@dataclass(frozen=True, slots=True)
class _Trigger:
    kind: str
    weight: float
    pattern: re.Pattern[str]
    ascii: bool  # matched against the spaced text (English, with word boundaries), else the compact text


@dataclass(frozen=True, slots=True)
class _Pair:
    """Something in danger and a dangerous state, anywhere in the message ("水...往我家灌")."""

    kind: str
    weight: float
    objects: re.Pattern[str]
    states: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class _Rules:
    triggers: tuple[_Trigger, ...]
    pairs: tuple[_Pair, ...]
    guards: tuple[re.Pattern[str], ...]
    vetoes: dict[str, re.Pattern[str]]
    distress: tuple[re.Pattern[str], ...]


def _lines(name: str) -> list[str]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.rstrip("\n") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@lru_cache(maxsize=1)
def rules() -> _Rules:
    words = dict(line.split("\t", 1) for line in _lines("words.tsv"))

    def expand(pattern: str) -> str:
        for name, word in words.items():
            pattern = pattern.replace("{" + name + "}", f"(?:{word})")
        return pattern.replace("'?", "(?:'| )?")  # normalising turns "can't" into "can t"

    triggers = []
    for line in _lines("triggers.tsv"):
        kind, weight, pattern = line.split("\t", 2)
        if kind not in EMERGENCY_KINDS:
            raise ValueError(f"unknown emergency kind {kind!r} in triggers.tsv")
        triggers.append(_Trigger(kind, float(weight), _compile(expand(pattern)), pattern.isascii()))
    pairs = []
    for line in _lines("pairs.tsv"):
        kind, weight, objects, states = line.split("\t", 3)
        if kind not in EMERGENCY_KINDS:
            raise ValueError(f"unknown emergency kind {kind!r} in pairs.tsv")
        pairs.append(_Pair(kind, float(weight), _compile(expand(objects)), _compile(expand(states))))
    vetoes: dict[str, list[str]] = {}
    for line in _lines("vetoes.tsv"):
        category, pattern = line.split("\t", 1)
        vetoes.setdefault(category, []).append(pattern)
    return _Rules(
        triggers=tuple(triggers),
        pairs=tuple(pairs),
        guards=tuple(_compile(p) for p in _lines("guards.txt")),
        vetoes={c: _compile("|".join(f"(?:{p})" for p in ps)) for c, ps in vetoes.items()},
        distress=tuple(_compile(p) for p in _lines("distress.txt")),
    )


def _blank(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: "_" * len(m.group()), text)


@dataclass(frozen=True, slots=True)
class _Forms:
    """The normalised message: spaced (for the English rules) and compact (for the Chinese rules, where a
    space typed between characters is noise), with guarded words blanked out, and as typed (``plain_*``)
    for the context vetoes: a guarded word can be the context itself ("消防演练" blanked, yet a drill)."""

    spaced: str
    compact: str
    plain_spaced: str
    plain_compact: str


def _forms(text: str | None) -> tuple[str, str]:
    forms = _all_forms(text)
    return forms.spaced, forms.compact


# Mixed input ("电梯stuck了", "socket在冒spark"): a Chinese character next to a Latin letter is a word break.
_SCRIPT_CHANGE = re.compile(r"(?<=[\u3400-\u9fff])(?=[a-z])|(?<=[a-z])(?=[\u3400-\u9fff])")


def _all_forms(text: str | None) -> _Forms:
    plain = _SCRIPT_CHANGE.sub(" ", normalize_text((text or "")[:MAX_CHARS], max_chars=MAX_CHARS))
    spaced = plain
    guards = rules().guards
    for guard in guards:
        if guard.pattern.isascii():
            spaced = _blank(guard, spaced)
    compact = spaced.replace(" ", "")
    for guard in guards:
        if not guard.pattern.isascii():
            compact = _blank(guard, compact)
    # The same blanks in the spaced text: it holds the compact text's characters, plus spaces.
    letters = iter(compact)
    spaced = "".join(ch if ch == " " else next(letters) for ch in spaced)
    return _Forms(spaced, compact, plain, plain.replace(" ", ""))


def _vetoed(rules_: _Rules, category: str, text: str) -> bool:
    pattern = rules_.vetoes.get(category)
    return pattern is not None and pattern.search(text) is not None


def _in_context(rules_: _Rules, category: str, spaced: str, compact: str) -> bool:
    return _vetoed(rules_, category, spaced) or _vetoed(rules_, category, compact)


@dataclass(frozen=True, slots=True)
class _Found:
    """The strongest signal in a message, and where it starts (in the spaced and in the compact text)."""

    weight: float
    order: int
    kind: str
    start_spaced: int
    start_compact: int


def _found(weight: float, order: int, kind: str, spaced: str, start: int, *, in_spaced: bool) -> _Found:
    if in_spaced:
        return _Found(weight, order, kind, start, start - spaced.count(" ", 0, start))
    letters = -1
    for index, char in enumerate(spaced):
        if char != " ":
            letters += 1
            if letters == start:
                return _Found(weight, order, kind, index, start)
    return _Found(weight, order, kind, len(spaced), start)


def detect_emergency(text: str | None) -> EmergencySignal:
    forms = _all_forms(text)
    spaced, compact = forms.spaced, forms.compact
    if not compact.strip("_"):
        return NO_EMERGENCY
    the_rules = rules()
    best: tuple[float, int, _Trigger, int] | None = None
    for order, trigger in enumerate(the_rules.triggers):
        haystack = spaced if trigger.ascii else compact
        for match in trigger.pattern.finditer(haystack):
            # A Chinese denial can sit inside the span ("电梯停了没人在里面"); an English rule may itself
            # contain one ("not breathing"), so there only the words before it count.
            if trigger.ascii:
                window = haystack[max(0, match.start() - 2 * NEGATION_WINDOW) : match.start()]
            else:
                window = haystack[max(0, match.start() - NEGATION_WINDOW) : match.end()]
            if _vetoed(the_rules, "negated", window):
                continue
            if best is None or (trigger.weight, -order) > (best[0], -best[1]):
                best = (trigger.weight, order, trigger, match.start())
            break
    found = (
        _found(best[0], best[1], best[2].kind, spaced, best[3], in_spaced=best[2].ascii)
        if best is not None
        else _best_pair(the_rules, spaced, compact)
    )
    if found is None:
        return NO_EMERGENCY
    as_typed = forms.plain_spaced, forms.plain_compact
    # A condition comes before what it is about: "如果着火了怎么办" is a what-if,
    # "着火了 如果你们不来…" is not.
    before = forms.plain_spaced[: found.start_spaced], forms.plain_compact[: found.start_compact]
    happening_now = _in_context(the_rules, "now", *as_typed)
    if not happening_now:
        if any(_in_context(the_rules, c, *as_typed) for c in ("past", "hypothetical", "money")):
            return NO_EMERGENCY
        if _in_context(the_rules, "condition", *before):
            return NO_EMERGENCY
        # A question about responsibility vetoes a weak trigger; a strong one too once the message tells a
        # story around it ("邻居出差家里水管爆了我叫人撬门关阀花了八百"): a short "电梯困人了 找谁" is a call.
        is_story = len(forms.plain_compact) > STORY_CHARS
        if (found.weight < STRONG or is_story) and _in_context(the_rules, "law", *as_typed):
            return NO_EMERGENCY
    score = min(1.0, found.weight + (0.05 if happening_now else 0.0))
    if score < THRESHOLD:
        return NO_EMERGENCY
    return EmergencySignal(True, found.kind, round(score, 2))


STORY_CHARS = 16


def _best_pair(rules_: _Rules, spaced: str, compact: str) -> _Found | None:
    """No trigger: something in danger and a dangerous state anywhere in the message, not denied."""
    for order, pair in enumerate(rules_.pairs):
        for text in (compact, spaced):
            state = pair.states.search(text)
            if state is None or pair.objects.search(text) is None:
                continue
            window = text[max(0, state.start() - NEGATION_WINDOW) : state.end()]
            if not _vetoed(rules_, "negated", window):
                return _found(pair.weight, order, pair.kind, spaced, state.start(), in_spaced=text is spaced)
    return None


def is_distress_call(text: str | None) -> bool:
    """A cry for help that does not say what is wrong ("救命！", "help"): not an alarm, but not small talk."""
    spaced, compact = _forms(text)
    return any(p.search(spaced if p.pattern.isascii() else compact) for p in rules().distress)


def is_rights_question(text: str | None) -> bool:
    """A question about rights, responsibility or money ("高空抛物砸坏了我的车找谁", "谁来赔"): the detector's
    `law` and `money` context. A flow that gets one in the middle of a step answers it as a legal question."""
    spaced, compact = _forms(text)
    if not compact.strip("_") or _ASKS_FOR_REPAIR.search(compact):
        return False
    the_rules = rules()
    return _in_context(the_rules, "law", spaced, compact) or _in_context(the_rules, "money", spaced, compact)


# "找谁修" asks for a repair, not for a right.
_ASKS_FOR_REPAIR = re.compile(r"找谁(来)?(修|维修|处理|弄|换)")
