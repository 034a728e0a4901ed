"""Does a resident's message signal immediate danger? Plain text in, a decision and a kind out.

This is the shared interface (used by the router's CLI and bench, and by the handlers' emergency path).
The detection itself is data-driven from ``knowledge/data/emergency/``; see that folder's README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.normalize import normalize_text

# The kinds, each with the public number that helps first (shown to the resident with what to do now).
EMERGENCY_KINDS: tuple[str, ...] = ("lift", "gas", "fire", "electric", "water", "medical")


@dataclass(frozen=True, slots=True)
class EmergencySignal:
    emergency: bool
    kind: str | None  # one of EMERGENCY_KINDS when emergency is True, else None
    score: float  # 0..1, how sure the detector is


NO_EMERGENCY = EmergencySignal(False, None, 0.0)

# Placeholder patterns until the data-driven detector lands (issue 10); same interface.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("lift", re.compile(r"电梯.{0,6}(困|关)(人|住|了)|困在电梯|被困")),
    ("gas", re.compile(r"(煤气|燃气|天然气).{0,4}(味|泄漏|漏)")),
    ("fire", re.compile(r"着火|起火|失火|冒烟")),
    ("electric", re.compile(r"(冒|打)火花|电线.{0,4}(冒火|着了|裸露)")),
    ("water", re.compile(r"水管爆|爆管|家里.{0,3}(全是水|成河)|灌水")),
    ("medical", re.compile(r"晕倒|昏倒|倒地不起|不省人事")),
)


def detect_emergency(text: str | None) -> EmergencySignal:
    norm = normalize_text(text).replace(" ", "")
    if not norm:
        return NO_EMERGENCY
    for kind, pattern in _PATTERNS:
        if pattern.search(norm):
            return EmergencySignal(True, kind, 0.9)
    return NO_EMERGENCY
