"""The `redbutler law ...` command line: the stable interface corpus scripts rely on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models.law import LawArticleText
from tests.cli_helpers import run

ASK_KEYS = {"question", "decision", "faq_id", "articles", "score", "alternatives", "matched_question",
            "pointer", "related"}


def test_ask_json_one_object_per_line_with_the_documented_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        capsys,
        "law",
        "ask",
        "--json",
        stdin="狗把我家孩子咬了谁负责\n\n第1300条\n😀\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["question"] for o in objects] == ["狗把我家孩子咬了谁负责", "第1300条", "😀"]
    for o in objects:
        assert set(o) == ASK_KEYS
        assert o["decision"] in ("answer", "suggest", "none")
        assert all(isinstance(a, int) for a in o["articles"])
        assert isinstance(o["score"], int | float)
        for alt in o["alternatives"]:
            assert set(alt) == {"faq_id", "articles", "score"}
    dog, out_of_range, emoji = objects
    assert dog["decision"] == "answer" and 1245 in dog["articles"] and dog["faq_id"]
    assert out_of_range["decision"] == "none" and out_of_range["faq_id"] is None
    assert emoji["decision"] == "none" and emoji["articles"] == []
    assert dog["matched_question"] and dog["pointer"] is None and emoji["matched_question"] is None
    code, out, _ = run(capsys, "law", "ask", "--json", "被车撞了交警不管")
    outside = json.loads(out)
    assert outside["decision"] == "none" and outside["pointer"] == "122"


def test_ask_one_question_from_the_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "law", "ask", "--json", "楼上天天半夜蹦迪咋办")
    assert code == 0
    (line,) = out.splitlines()
    assert json.loads(line)["question"] == "楼上天天半夜蹦迪咋办"
    code, out, _ = run(capsys, "law", "ask", "楼上天天半夜蹦迪咋办")
    assert code == 0 and "楼上天天半夜蹦迪咋办" in out and "score" in out


def test_check_passes_on_our_corpus_and_fails_on_a_broken_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "law", "check")
    assert code == 0, out
    assert "corpus OK" in out

    (tmp_path / "faq").mkdir()
    (tmp_path / "articles").mkdir()
    entry = {
        "id": "test-noise",
        "topic": "噪音",
        "questions": ["楼上吵", "楼上很吵怎么办", "楼上天天吵"],
        "answer_zh": "先沟通。",
        "answer_en": "Talk first.",
        "articles": [1300],
    }
    text = yaml.safe_dump([entry, entry], allow_unicode=True)
    (tmp_path / "faq" / "a.yaml").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "law", "check", "--data-dir", str(tmp_path))
    assert code == 1
    assert "duplicate id" in out and "1300" in out and "problem" in err


def test_eval_prints_top1_and_top3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dev = tmp_path / "dev.tsv"
    question = "狗把我家孩子咬了谁负责"
    lines = ["# question<TAB>articles", f"{question}\t1245", f"{question}\t1", "broken line"]
    dev.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "law", "eval", str(dev))
    assert code == 0
    assert "top-1: 50.0% (1/2)" in out
    assert "top-3:" in out
    assert "broken line" in err
    code, out, _ = run(capsys, "law", "eval", "--json", str(dev))
    figures = json.loads(out)
    assert figures["total"] == 2 and figures["top1"] == 0.5


def _texts(url: str) -> dict[int, str]:
    async def read() -> dict[int, str]:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                return {r.article: r.text for r in await session.scalars(select(LawArticleText))}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_import_text_validates_and_is_idempotent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    monkeypatch.setenv("REDBUTLER_DATABASE_URL", database_url)
    # Test rows in our own words (the project never holds the law's text).
    good = tmp_path / "texts.jsonl"
    rows = [
        {"article": 1254, "text": "测试用的条文甲"},
        {"article": 288, "text": "测试用的条文乙", "title_path": "物权编"},
    ]
    good.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    code, out, _ = run(capsys, "law", "import-text", str(good))
    assert code == 0 and "2 added" in out
    code, out, _ = run(capsys, "law", "import-text", str(good))
    assert code == 0 and "0 added, 0 updated, 2 unchanged" in out
    assert _texts(database_url) == {1254: "测试用的条文甲", 288: "测试用的条文乙"}

    bad = tmp_path / "bad.jsonl"
    bad_lines = ['{"article": 1261, "text": "x"}', '{"article": 5}', "not json", '{"article": 5}']
    bad.write_text("\n".join(bad_lines) + "\n", encoding="utf-8")
    code, _, err = run(capsys, "law", "import-text", str(bad))
    assert code == 1
    assert "1261" in err and "line 2" in err and "line 3" in err and "nothing imported" in err
    assert _texts(database_url) == {1254: "测试用的条文甲", 288: "测试用的条文乙"}

    changed = tmp_path / "changed.jsonl"
    revised = {"article": 1254, "text": "测试用的条文甲（修订）"}
    changed.write_text(json.dumps(revised, ensure_ascii=False) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "law", "import-text", str(changed))
    assert code == 0 and "1 updated" in out
    assert _texts(database_url)[1254] == "测试用的条文甲（修订）"


def test_bench_law_prints_the_engine_figures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real benchmark takes a minute; here we check the command passes its options on and prints every
    # figure the engine reports, including sections it does not know.
    seen: dict[str, object] = {}

    def fake_bench_law(**kwargs: object) -> dict[str, object]:
        seen.update(kwargs)
        return {
            "corpus": {"entries": 431, "phrasings": 1645, "summaries": 289},
            "dev": {"questions": 457},
            "index_build_ms": 120.5,
            "ours": {"top1": 0.912, "top3": 0.97, "p50_ms": 1.2, "p99_ms": 3.4, "decisions": {"answer": 400}},
            "rapidfuzz_wratio": {"top1": 0.626, "top3": 0.845, "p50_ms": 8.2, "p99_ms": 37.4},
            "bm25_jieba": {"top1": 0.757, "top3": 0.893, "p50_ms": 0.9, "p99_ms": 11.8},
            "startup": {"cold": {"min_s": 0.81, "max_s": 0.9}},
        }

    monkeypatch.setattr("knowledge.evaluation.bench_law", fake_bench_law)
    code, out, _ = run(capsys, "bench", "law", "--synthetic", "0", "--no-startup")
    assert code == 0
    assert seen == {"synthetic_size": 0, "startup": False}
    assert "91.2%" in out and "62.6%" in out and "75.7%" in out
    assert "startup: cold min_s 0.81" in out
    assert "intent routing:" in out
