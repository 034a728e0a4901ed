"""redbutler route [TEXT] [--json], redbutler route train, redbutler bench route [--file F].

Stable interface (scripts rely on it):
- `route [TEXT] --json`: one object per line with keys text, intent, score, emergency, emergency_kind
  (lift|gas|fire|electric|water|medical|violence|null) and alternative (a close runner-up intent or null);
  intents are repair law points patrol event tickets help. An emergency's intent is repair.
- `route train`: retrain the intent model from knowledge/data/intents/ and replace the cached model; prints
  the training time and the accuracy on the two tune files. (To route the single word "train", use stdin.)
- `bench route [--file F]`: accuracy per intent, emergency recall and false alarms, p50/p99 latency of the
  trained router and of the old keyword router side by side, start-up time with a warm cache.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli import existing_file, text_inputs
from bot.cli_commands.bench import bench_subparsers
from bot.config import Settings


def register(subparsers: Any) -> None:
    route = subparsers.add_parser("route", help="which flow a message belongs to; `route train` retrains")
    route.add_argument("text", nargs="*", help="the message; omit to read one per line from stdin; `train`")
    route.add_argument("--json", action="store_true", help="one JSON object per line")
    route.set_defaults(handler=cmd_route)

    bench = bench_subparsers(subparsers).add_parser("route", help="intent routing accuracy and speed")
    bench.add_argument("--file", type=existing_file, help="labelled messages (default: the frozen dev set)")
    bench.add_argument("--no-startup", action="store_true", help="skip the fresh-process start-up timing")
    bench.add_argument("--misses", action="store_true", help="also list the messages routed wrongly")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.set_defaults(handler=cmd_bench_route)


def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    if args.text == ["train"]:
        return cmd_train(args)
    from bot.services.routing import intent_router
    from knowledge.route_eval import route_json

    router = intent_router()
    for text in text_inputs(args.text):
        result = route_json(router, text)
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            extra = f"\t(or {result['alternative']}?)" if result["alternative"] else ""
            if result["emergency"]:
                extra = f"\tEMERGENCY {result['emergency_kind']}"
            print(f"{result['intent']}\t{result['score']}\t{text}{extra}", flush=True)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from bot.services.routing import train_router
    from knowledge.intent_model import TUNE2_FILE, TUNE_FILE
    from knowledge.route_eval import evaluate_router, read_bench_file

    router = train_router()
    model = router.model
    report: dict[str, Any] = {
        "trained_on": model.trained_on,
        "train_seconds": round(model.train_seconds, 2),
        "key": model.key,
    }
    for name, path in (("tune", TUNE_FILE), ("tune2", TUNE2_FILE)):
        if not path.is_file():
            continue
        rows, _ = read_bench_file(path.read_text(encoding="utf-8").splitlines())
        tuned = evaluate_router(router, rows)
        report[f"{name}_accuracy"], report[f"{name}_messages"] = tuned["accuracy"], tuned["total"]
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(f"trained on {model.trained_on} messages in {model.train_seconds:.1f} s (model {model.key})")
        for name in ("tune", "tune2"):
            if f"{name}_accuracy" in report:
                accuracy, messages = report[f"{name}_accuracy"], report[f"{name}_messages"]
                print(f"{name} set: {accuracy:.1%} of {messages} messages")
    return 0


def cmd_bench_route(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.routing import intent_router, keyword_router, law_matcher
    from knowledge.route_eval import (
        default_bench_file,
        evaluate_emergencies,
        evaluate_router,
        read_bench_file,
        startup_ms,
    )

    path: Path = args.file or default_bench_file()
    rows, bad = read_bench_file(path.read_text(encoding="utf-8").splitlines())
    for line in bad:
        print(f"skipped malformed line: {line!r}", file=sys.stderr)
    if not rows:
        print(f"{path}: no labelled messages", file=sys.stderr)
        return 1
    law_matcher()  # built before timing, like the bot does at start
    report: dict[str, Any] = {
        "file": str(path),
        "messages": len(rows),
        "trained": evaluate_router(intent_router(), rows),
        "keywords": evaluate_router(keyword_router(), rows),
        "emergency": evaluate_emergencies(rows),
    }
    if not args.no_startup:
        report["startup_ms"] = {
            "law_matcher": startup_ms("routing.law_matcher()"),
            "matcher_and_router": startup_ms("routing.intent_router()"),
        }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    for line in format_route_bench(report, misses=args.misses):
        print(line)
    return 0


def _pct(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "-"


def format_route_bench(report: dict[str, Any], *, misses: bool = False) -> list[str]:
    trained, keywords, emergency = report["trained"], report["keywords"], report["emergency"]
    lines = [
        f"file: {report['file']} ({report['messages']} messages)",
        "",
        f"{'intent':<10}{'n':>6}{'trained':>10}{'keywords':>10}",
    ]
    for intent, row in trained["per_intent"].items():
        old = keywords["per_intent"].get(intent, {}).get("accuracy")
        lines.append(f"{intent:<10}{row['n']:>6}{_pct(row['accuracy']):>10}{_pct(old):>10}")
    lines += [
        f"{'overall':<10}{trained['total']:>6}{_pct(trained['accuracy']):>10}{_pct(keywords['accuracy']):>10}",
        f"{'p50 ms':<16}{trained['p50_ms']:>10}{keywords['p50_ms']:>10}",
        f"{'p99 ms':<16}{trained['p99_ms']:>10}{keywords['p99_ms']:>10}",
        f"{'CPU p50 ms':<16}{trained['cpu_p50_ms']:>10}{keywords['cpu_p50_ms']:>10}",
        f"{'CPU p99 ms':<16}{trained['cpu_p99_ms']:>10}{keywords['cpu_p99_ms']:>10}",
        f"trained router asked instead of guessing: {trained['asked']} times "
        f"({trained['asked_right']} with the right intent among the two buttons); right first time or "
        f"among the buttons: {_pct(trained['accuracy_with_buttons'])}",
        "",
        f"emergencies: {emergency['emergencies']}, recall {_pct(emergency['recall'])} "
        f"(kind right {emergency['kind_right']}); false alarms {emergency['false_alarms']} "
        f"= {_pct(emergency['false_alarm_rate'])} of the others; near misses {emergency['near_misses']}, "
        f"{emergency['near_false_alarms']} false alarms among them",
    ]
    startup = report.get("startup_ms")
    if startup:
        lines.append(
            f"start-up, warm cache: law matcher {startup['law_matcher']} ms, "
            f"law matcher + intent router {startup['matcher_and_router']} ms"
        )
    if misses:
        lines.append("")
        lines += [
            f"miss: {m['text']}  expected {m['expected']}  got {m['got']} ({m['score']})"
            + (f" or {m['alternative']}?" if m["alternative"] else "")
            for m in trained["misses"]
        ]
        lines += [f"emergency missed: {t}" for t in emergency["missed"]]
        lines += [f"false alarm: {t}" for t in emergency["alarmed"]]
    return lines
