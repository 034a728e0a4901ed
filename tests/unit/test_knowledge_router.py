"""IntentRouter: private-chat free text goes to the right flow."""

from __future__ import annotations

from collections import Counter

import pytest

from knowledge.corpus import load_corpus
from knowledge.evaluation import INTENT_DEV_FILE, evaluate_routes, route_json
from knowledge.matcher import LawMatcher
from knowledge.router import INTENTS, IntentRouter


@pytest.fixture(scope="module")
def router() -> IntentRouter:
    corpus = load_corpus()
    return IntentRouter(LawMatcher(corpus) if corpus.entries else None)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我家水管漏了", "repair"),
        ("电梯坏了", "repair"),
        ("楼道有人飞线充电", "repair"),
        ("路灯不亮", "repair"),
        ("楼上漏水不修能起诉吗", "law"),
        ("物业不修电梯我能不交物业费吗", "law"),
        ("狗把我家孩子咬了谁负责", "law"),
        ("民法典第一千二百五十四条", "law"),
        ("我还有多少积分", "points"),
        ("这周巡逻排哪天", "patrol"),
        ("周六义诊怎么报名", "events"),
        ("我报的修怎么样了", "tickets"),
        ("你好", "help"),
        ("你能干什么", "help"),
        ("今天天气不错", "none"),
    ],
)
def test_issue_examples(router: IntentRouter, text: str, intent: str) -> None:
    assert router.route(text).intent == intent


def test_legal_question_without_keywords_is_recognised_through_the_matcher(router: IntentRouter) -> None:
    if router.matcher is None:
        pytest.skip("no corpus")
    assert router.route("楼上天天半夜蹦迪咋办").intent == "law"


def test_traditional_and_full_width_text(router: IntentRouter) -> None:
    assert router.route("我家水管漏了！").intent == "repair"
    assert router.route("我還有多少積分？").intent == "points"
    assert router.route("這週巡邏排哪天").intent == "patrol"


@pytest.mark.parametrize("text", ["", "   ", None, "😀😀", "？？？！！！", "哈哈", "ok", "🐶"])
def test_bad_or_empty_input_is_none(router: IntentRouter, text: str | None) -> None:
    result = router.route(text)
    assert result.intent == "none"
    assert 0 <= result.score <= 100


def test_very_long_text_does_not_crash(router: IntentRouter) -> None:
    result = router.route("电梯坏了，" + "真的很着急" * 900)
    assert result.intent == "repair"


def test_works_without_a_matcher() -> None:
    plain = IntentRouter()
    assert plain.route("我家水管漏了").intent == "repair"
    assert plain.route("我还有多少积分").intent == "points"
    assert plain.route("房东不退押金 违法吗").intent == "law"


def test_route_json_shape(router: IntentRouter) -> None:
    data = route_json(router, "电梯坏了")
    assert data == {"text": "电梯坏了", "intent": "repair", "score": data["score"]}
    assert isinstance(data["score"], float)


def test_dev_set_covers_every_intent_and_is_routed_accurately(router: IntentRouter) -> None:
    lines = INTENT_DEV_FILE.read_text(encoding="utf-8").splitlines()
    labels = Counter(line.rsplit("\t", 1)[1] for line in lines if "\t" in line)
    assert len(lines) >= 120
    assert set(labels) == set(INTENTS)
    report = evaluate_routes(router, lines)
    assert report["accuracy"] >= 0.95, report["misses"]
