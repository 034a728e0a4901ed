"""redbutler law ask|check|eval|import-text, redbutler bench law (`route` is in routing.py).

Stable interface for corpus maintainers (scripts rely on it; see docs/law.md):
- `law ask [QUESTION] [--json]`: one question, or one per line from stdin; --json prints one object per line
  with keys question, decision, faq_id, articles, score, alternatives.
- `law check`: validates the corpus; exits 1 on any problem.
- `law eval FILE`: FILE has lines `question<TAB>article,article`; prints top-1 and top-3 accuracy.
- `law train [--precision P] [--dry-run] [--leave-one-set-out]`: fits the learned ranker
  (knowledge/data/ranker.json); --leave-one-set-out only reports each tuning set's figures fitted without it.
- `law import-text FILE`: JSON lines with article and text (1..1260) into the database; idempotent.
- `bench law`: accuracy and latency against two baselines, build and start-up times, a 10,000-entry corpus.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli import existing_file, now, text_inputs
from bot.cli_commands.bench import bench_subparsers
from bot.config import Settings


def register(subparsers: Any) -> None:
    law = subparsers.add_parser("law", help="Civil Code answers: ask, check, evaluate, import text")
    law_sub = law.add_subparsers(dest="law_command", required=True)

    ask = law_sub.add_parser("ask", help="answer a question (or one per line from stdin)")
    ask.add_argument("question", nargs="*", help="the question; omit to read one per line from stdin")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.set_defaults(handler=cmd_ask)

    check = law_sub.add_parser("check", help="validate the corpus; exit 1 on any problem")
    check.add_argument("--data-dir", type=Path, help="corpus folder (default: knowledge/data)")
    check.add_argument(
        "--civil-code",
        type=Path,
        help="reference text, JSON lines (default: ../shared/civil-code/civil_code.jsonl)",
    )
    check.set_defaults(handler=cmd_check)

    ev = law_sub.add_parser("eval", help="top-1/top-3 accuracy on a file of question<TAB>articles lines")
    ev.add_argument("file", type=existing_file)
    ev.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ev.add_argument("--misses", action="store_true", help="also list the questions answered wrongly")
    ev.set_defaults(handler=cmd_eval)

    train = law_sub.add_parser("train", help="fit the learned ranker on held-out phrasings and the dev set")
    train.add_argument(
        "--precision",
        type=float,
        default=0.93,
        help="how often outright answers must be right on questions the ranker never saw",
    )
    train.add_argument("--dry-run", action="store_true", help="report only; keep knowledge/data/ranker.json")
    train.add_argument(
        "--leave-one-set-out",
        action="store_true",
        help="report only: top-1/top-3 on each tuning set with the ranker fitted without it, and with it",
    )
    train.set_defaults(handler=cmd_train)

    imp = law_sub.add_parser("import-text", help="load official article texts (JSON lines: article, text)")
    imp.add_argument("file", type=existing_file)
    imp.set_defaults(handler=cmd_import_text)

    bench = bench_subparsers(subparsers).add_parser("law", help="law matcher accuracy and speed vs baselines")
    bench.add_argument("--synthetic", type=int, default=10_000, help="size of the synthetic corpus (0: skip)")
    bench.add_argument("--no-startup", action="store_true", help="skip the fresh-process start-up timing")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.set_defaults(handler=cmd_bench_law)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.routing import law_matcher
    from knowledge.evaluation import ask_json

    matcher = law_matcher()
    for question in text_inputs(args.question):
        result = ask_json(matcher, question)
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
            continue
        print(f"? {question}")
        articles = ",".join(str(a) for a in result["articles"]) or "-"
        faq_id = result["faq_id"]
        print(f"  {result['decision']}  {faq_id or '-'}  score {result['score']}  articles {articles}")
        if result["pointer"]:
            print(f"  outside the Civil Code: call {result['pointer']}")
        elif result["matched_question"]:
            print(f"  matched question: {result['matched_question']}")
        entry = matcher.entry(faq_id) if faq_id and result["decision"] == "answer" else None
        if entry is not None:
            for line in entry.answer_zh.strip().splitlines():
                print(f"  | {line}")
        for alt in result["alternatives"]:
            alt_articles = ",".join(str(a) for a in alt["articles"])
            print(f"  also: {alt['faq_id']}  score {alt['score']}  articles {alt_articles}")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.corpus import load_corpus
    from knowledge.evaluation import check_corpus, find_civil_code, read_civil_code_books

    corpus = load_corpus(args.data_dir)
    code_path = find_civil_code(args.civil_code)
    books = None
    if code_path is None:
        print(
            "note: the reference Civil Code text was not found; articles not checked against it "
            "(give --civil-code PATH)",
            file=sys.stderr,
        )
    else:
        try:
            books = read_civil_code_books(code_path)
        except (OSError, ValueError, KeyError) as exc:
            print(f"{code_path}: cannot read the Civil Code text: {exc}", file=sys.stderr)
            return 1
    problems = check_corpus(corpus.entries, corpus.summaries, load_problems=corpus.problems, books=books)
    for problem in problems:
        print(problem)
    phrasings = sum(len(e.questions) for e in corpus.entries)
    asked = sum(1 for e in corpus.entries if e.asked_zh and e.asked_en)
    caveats = sum(1 for e in corpus.entries if e.caveat_zh)
    keyworded = sum(1 for s in corpus.summaries.values() if s.keywords)
    summary = (
        f"{len(corpus.entries)} entries, {phrasings} phrasings, {asked} with asked_zh+asked_en, "
        f"{caveats} with a caveat, {len(corpus.summaries)} summaries ({keyworded} with keywords)"
    )
    if problems:
        print(f"corpus has {len(problems)} problem(s) ({summary})", file=sys.stderr)
        return 1
    print(f"corpus OK: {summary}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.routing import law_matcher
    from knowledge.evaluation import evaluate

    result = evaluate(law_matcher(), args.file.read_text(encoding="utf-8").splitlines())
    figures = result.as_dict()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print(f"questions: {result.total}")
        print(f"top-1: {result.top1_accuracy:.1%} ({result.top1}/{result.total})")
        print(f"top-3: {result.top3_accuracy:.1%} ({result.top3}/{result.total})")
        decisions = ", ".join(f"{k} {v}" for k, v in sorted(result.decisions.items()))
        print(f"decisions: {decisions or '-'}")
        if figures["answer_precision"] is not None:
            print(f"answer precision: {figures['answer_precision']:.1%}")
        if args.misses:
            for miss in result.misses:
                print(
                    f"miss: {miss['question']}  expected {miss['expected']}  got {miss['got']} "
                    f"{miss['got_articles']} ({miss['decision']}, {miss['score']})"
                )
    for line in result.bad_lines:
        print(f"skipped malformed line: {line!r}", file=sys.stderr)
    return 0 if result.total else 1


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.corpus import load_corpus
    from knowledge.evaluation import ranker_training_items, train_ranker
    from knowledge.matcher import RANKER_FILE

    if args.leave_one_set_out:  # how the fit generalises to a set it never saw; writes nothing
        from knowledge.evaluation import leave_one_set_out

        print(json.dumps(leave_one_set_out(load_corpus()), ensure_ascii=False, indent=1))
        return 0
    dev = ranker_training_items()  # the tuning sets, never the frozen one
    write = None if args.dry_run else RANKER_FILE
    report = train_ranker(load_corpus(), dev, precision=args.precision, write=write)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


def cmd_import_text(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import upgrade
    from bot.services.law import import_texts, parse_text_lines

    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        print(f"{args.file}: not UTF-8 text", file=sys.stderr)
        return 1
    rows, problems = parse_text_lines(lines)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"nothing imported: {len(problems)} problem(s) in {args.file}", file=sys.stderr)
        return 1
    if not rows:
        print(f"nothing imported: {args.file} has no articles", file=sys.stderr)
        return 1
    upgrade(settings.database_url)
    report = asyncio.run(_with_uow(settings, lambda uow: import_texts(uow, rows, now())))
    print(f"articles: {report.added} added, {report.updated} updated, {report.unchanged} unchanged")
    return 0


async def _with_uow(settings: Settings, work: Any) -> Any:
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.uow import UnitOfWork

    engine = make_engine(settings.database_url)
    try:
        return await work(UnitOfWork(make_sessionmaker(engine)))
    finally:
        await engine.dispose()


def cmd_bench_law(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.evaluation import bench_law, bench_route

    report = bench_law(synthetic_size=args.synthetic, startup=not args.no_startup)
    from bot.services.routing import intent_router

    report["routing"] = bench_route(intent_router())
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    for line in format_bench(report):
        print(line)
    return 0


def _pct(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "-"


HANDLED = frozenset(
    {
        "corpus",
        "dev",
        "index_build_ms",
        "ours",
        "rapidfuzz_wratio",
        "bm25_jieba",
        "off_topic",
        "synthetic",
        "routing",
        "sets",
    }
)


def _set_lines(sets: dict[str, Any]) -> list[str]:
    """One block per dev set: our matcher, today's hand-weighted one and the two baselines."""
    lines: list[str] = []
    head = (
        f"  {'matcher':<22}{'top-1':>8}{'top-3':>8}{'answered':>10}{'right':>8}{'pointer':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    for name, rows in sets.items():
        ours = rows.get("ours") or {}
        sizes = f"{ours.get('questions')} Civil Code questions, {ours.get('outside')} outside it"
        lines += ["", f"{name}: {sizes}", head]
        for label, key in (
            ("ours (learned ranker)", "ours"),
            ("today (weighted sum)", "today"),
            ("rapidfuzz extractOne", "rapidfuzz_extractone"),
            ("BM25 (jieba)", "bm25"),
        ):
            row = rows.get(key) or {}
            lines.append(
                f"  {label:<22}{_pct(row.get('top1')):>8}{_pct(row.get('top3')):>8}"
                f"{_pct(row.get('answered')):>10}{_pct(row.get('answer_precision')):>8}"
                f"{_pct(row.get('pointer_accuracy')):>9}"
                f"{row.get('p50_ms', '-'):>9}{row.get('p99_ms', '-'):>9}"
            )
        if ours.get("outside"):
            lines.append(
                f"  outside the Civil Code answered outright: {ours.get('outside_answered')}; "
                f"Civil Code questions sent elsewhere: {ours.get('wrongly_pointed')}"
            )
    return lines


def _flat(value: Any) -> str:
    """A section the engine added or reshaped, printed as compact "key value" pairs."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_flat(v)}" for k, v in value.items())
    return str(value)


def format_bench(report: dict[str, Any]) -> list[str]:
    """Readable lines; sections this CLI does not know (the engine's report grows) are printed generically."""
    corpus, dev = report.get("corpus", {}), report.get("dev", {})
    lines = [
        f"corpus: {corpus.get('entries')} entries, {corpus.get('phrasings')} phrasings, "
        f"{corpus.get('summaries')} article summaries; dev set: {dev.get('questions')} questions",
        f"index build: {report.get('index_build_ms')} ms",
        "",
        f"{'matcher':<22}{'top-1':>8}{'top-3':>8}{'p50 ms':>10}{'p99 ms':>10}",
    ]
    contenders = (("ours", "ours"), ("rapidfuzz WRatio", "rapidfuzz_wratio"), ("BM25 (jieba)", "bm25_jieba"))
    for name, key in contenders:
        row = report.get(key) or {}
        lines.append(
            f"{name:<22}{_pct(row.get('top1')):>8}{_pct(row.get('top3')):>8}"
            f"{row.get('p50_ms', '-'):>10}{row.get('p99_ms', '-'):>10}"
        )
    ours = report.get("ours") or {}
    if ours.get("decisions"):
        decisions = ", ".join(f"{k} {v}" for k, v in sorted(ours["decisions"].items()))
        lines.append(f"our decisions: {decisions}; answer precision {_pct(ours.get('answer_precision'))}")
    off = report.get("off_topic")
    if isinstance(off, dict) and {"none", "probes"} <= set(off):
        lines.append(f"off-topic probes: {off['none']}/{off['probes']} none; {_flat(off)}")
    lines += _set_lines(report.get("sets") or {})
    lines.append("")
    syn = report.get("synthetic")
    if isinstance(syn, dict):
        lines.append(f"synthetic corpus: {_flat(syn)}")
    routing = report.get("routing")
    if isinstance(routing, dict):
        lines.append(
            f"intent routing: {_pct(routing.get('accuracy'))} of {routing.get('total')} messages, "
            f"p99 {routing.get('p99_ms')} ms"
        )
    for key, value in report.items():
        if key not in HANDLED:
            lines.append(f"{key}: {_flat(value)}")
    return lines
