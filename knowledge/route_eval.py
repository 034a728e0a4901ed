"""Measuring the intent router: ``redbutler route`` output, and ``redbutler bench route`` on a labelled file.

Labelled files are ``text<TAB>intent`` or the frozen dev set's ``text<TAB>intent<TAB>emergency kind or -<TAB>
tag`` (tag ``emergency``, ``near`` for a near miss such as "煤气费怎么交", or ``-``); ``#`` lines: comments.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from knowledge.emergency import detect_emergency
from knowledge.intent_model import INTENTS, TUNE_FILE

REPO_ROOT = Path(__file__).resolve().parent.parent
FROZEN_DEV_FILE = REPO_ROOT / "tests" / "data" / "route_dev_frozen.tsv"


class Router(Protocol):
    def route(self, text: str | None) -> Any: ...


def route_json(router: Router, text: str) -> dict[str, Any]:
    """The ``redbutler route --json`` object (a stable interface: keys are only ever added)."""
    r = router.route(text)
    return {
        "text": text,
        "intent": r.intent,
        "score": float(r.score),
        "emergency": r.emergency_kind is not None,
        "emergency_kind": r.emergency_kind,
        "alternative": r.alternative,
    }


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    intent: str
    emergency_kind: str | None
    tag: str


def default_bench_file() -> Path:
    return FROZEN_DEV_FILE if FROZEN_DEV_FILE.is_file() else TUNE_FILE


def read_bench_file(lines: Iterable[str]) -> tuple[list[Labelled], list[str]]:
    rows: list[Labelled] = []
    bad: list[str] = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rstrip("\r\n").split("\t")
        intent = parts[1].strip() if len(parts) > 1 else ""
        if not parts[0].strip() or intent not in INTENTS:
            bad.append(line)
            continue
        kind = parts[2].strip() if len(parts) > 2 and parts[2].strip() not in ("", "-") else None
        tag = parts[3].strip() if len(parts) > 3 else ("emergency" if kind else "-")
        rows.append(Labelled(parts[0], intent, kind, tag or "-"))
    return rows, bad


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# Routed before timing: the first traditional-character message loads OpenCC's tables, the first message
# jieba's dictionary: one-time costs the bot pays at start (bot.services.routing.warm_up), not per message.
WARM_UP = ("電梯壞了", "我家水管漏了", "hello", "楼上漏水不修能起诉吗")


def evaluate_router(router: Router, rows: list[Labelled]) -> dict[str, Any]:
    """Accuracy overall and per intent, how often it asked (and was right to), latency per message."""
    for text in WARM_UP:
        router.route(text)
    per: dict[str, list[int]] = {i: [0, 0] for i in INTENTS}
    times: list[float] = []
    cpu_times: list[float] = []  # this thread's CPU time: the router's cost without waiting for a core
    correct = asked = asked_right = rescued = 0
    misses: list[dict[str, Any]] = []
    for row in rows:
        started, cpu_started = time.perf_counter(), time.thread_time()
        got = router.route(row.text)
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.thread_time() - cpu_started) * 1000)
        per[row.intent][1] += 1
        alternative = getattr(got, "alternative", None)
        if got.intent == row.intent:
            correct += 1
            per[row.intent][0] += 1
        else:
            misses.append({"text": row.text, "expected": row.intent, "got": got.intent, "score": got.score,
                           "alternative": alternative})
        if alternative is not None:
            asked += 1
            asked_right += row.intent in (got.intent, alternative)
            rescued += got.intent != row.intent and alternative == row.intent
    times.sort()
    cpu_times.sort()
    total = len(rows)
    return {
        "total": total,
        "accuracy": round(correct / total, 4) if total else None,
        "per_intent": {k: {"accuracy": round(v[0] / v[1], 4), "n": v[1]} for k, v in per.items() if v[1]},
        "asked": asked,
        "asked_right": asked_right,
        # Right first time, or wrong but the right intent was the other of the two buttons offered.
        "accuracy_with_buttons": round((correct + rescued) / total, 4) if total else None,
        "p50_ms": round(statistics.median(times), 3) if times else None,
        "p99_ms": round(_percentile(times, 0.99), 3),
        "cpu_p50_ms": round(statistics.median(cpu_times), 3) if cpu_times else None,
        "cpu_p99_ms": round(_percentile(cpu_times, 0.99), 3),
        "misses": misses,
    }


def evaluate_emergencies(rows: list[Labelled]) -> dict[str, Any]:
    """Recall on the emergencies, false alarms on everything else (and on the near misses alone)."""
    emergencies = [r for r in rows if r.emergency_kind is not None]
    others = [r for r in rows if r.emergency_kind is None]
    near = [r for r in others if r.tag == "near"]
    found = [(r, detect_emergency(r.text)) for r in emergencies]
    alarms = [r for r in others if detect_emergency(r.text).emergency]
    return {
        "emergencies": len(emergencies),
        "recall": round(sum(s.emergency for _, s in found) / len(emergencies), 4) if emergencies else None,
        "kind_right": sum(s.kind == r.emergency_kind for r, s in found),
        "false_alarms": len(alarms),
        "false_alarm_rate": round(len(alarms) / len(others), 4) if others else None,
        "near_misses": len(near),
        "near_false_alarms": sum(r in alarms for r in near),
        "missed": [r.text for r, s in found if not s.emergency],
        "alarmed": [r.text for r in alarms],
    }


STARTUP_SCRIPT = (
    "import time; t = time.perf_counter(); from bot.services import routing; {call}; "
    "print(round((time.perf_counter() - t) * 1000, 1))"
)


def startup_ms(call: str = "routing.intent_router()") -> float | None:
    """Milliseconds a fresh process takes to import and build ``call`` (the caches are warm by then)."""
    proc = subprocess.run(
        [sys.executable, "-c", STARTUP_SCRIPT.format(call=call)], capture_output=True, text=True,
        cwd=REPO_ROOT,
        timeout=120, check=False,
    )
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
