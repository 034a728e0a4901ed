"""The pieces around the law matcher: the new corpus fields, the out-of-scope detector, the English glossary,
related articles and the learned ranker's file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from knowledge.corpus import corpus_from_rows, load_corpus
from knowledge.evaluation import check_against_code, find_civil_code, read_civil_code_books
from knowledge.glossary import is_english, translate_terms
from knowledge.matcher import RANKER_FEATURES, Ranker
from knowledge.related import RelatedArticles
from knowledge.scope import ScopeClassifier, ScopeDetector, parse_offices, read_examples

ROW = {
    "id": "dog-bites-child",
    "topic": "饲养动物",
    "questions": ["狗咬了孩子谁负责", "被狗咬了"],
    "answer_zh": "狗主人要赔。",
    "answer_en": "The owner pays.",
    "articles": [1245],
}


def test_new_fields_load_with_fallbacks() -> None:
    full = {
        **ROW,
        "asked_zh": "狗咬伤了孩子，\n谁负责",
        "asked_en": "A dog bit my child: who pays?",
        "caveat_zh": "孩子挑逗狗的，可以少赔。",
        "caveat_en": "Less if the child provoked the dog.",
    }
    corpus = corpus_from_rows(
        [full, {**ROW, "id": "bare"}],
        [
            {
                "article": 1245,
                "summary_zh": "动物伤人饲养人担责",
                "summary_en": "Keeper liable",
                "keywords": ["狗", "咬人", "狗"],
            }
        ],
    )
    rich, bare = corpus.entries
    assert rich.asked("zh") == "狗咬伤了孩子， 谁负责"  # one line
    assert rich.asked("en") == "A dog bit my child: who pays?" and rich.caveat("en").startswith("Less")
    assert bare.asked("zh") == "狗咬了孩子谁负责" and bare.asked("en") == "饲养动物"
    assert bare.caveat("zh") == ""
    assert corpus.summaries[1245].keywords == ("狗", "咬人")


def test_scope_strong_words_always_count_and_weak_ones_yield_to_the_corpus() -> None:
    offices, problems = parse_offices(
        [
            {"office": "traffic", "pointer": "122", "strong": ["交警"], "cues": ["车祸"]},
            {"office": "labour", "pointer": "12333", "cues": ["工资"], "pairs": [["拖欠", "工资"]]},
            {"office": "broken"},
        ]
    )
    assert [o.pointer for o in offices] == ["122", "12333"] and len(problems) == 1
    scope = ScopeDetector(offices)
    hit = scope.detect("被车撞了交警不管", confident=True)
    assert hit is not None and hit.pointer == "122"
    assert scope.detect("车祸赔偿款离婚分不分", covered=["出车祸拿的赔偿款离婚要分吗"]) is None
    assert scope.detect("出了车祸怎么办", confident=True) is None
    weak = scope.detect("出了车祸怎么办")
    assert weak is not None and weak.pointer == "122"
    pair = scope.detect("公司拖欠我三个月工资", covered=["工资"], confident=True)
    assert pair is not None and pair.pointer == "12333"
    assert scope.detect("今天天气不错") is None


def test_an_office_signal_is_found_even_in_words_the_civil_entry_uses() -> None:
    offices, _ = parse_offices([
        {"office": "crime", "pointer": "110", "cues": ["小偷"], "civil_pairs": [["物业", "赔"]]},
        {"office": "government", "pointer": "12345", "cues": ["路灯"], "doubt": ["停水"]},
    ])
    scope = ScopeDetector(offices, asking=["找谁投诉", "what number"])
    assert scope.signalled("家里来了小偷") == {"crime"}
    assert scope.signalled("小偷偷了车 物业赔不赔") == set()  # the civil pair undoes the office
    assert scope.signalled("停水两天了") == {"government"}  # a doubt word counts here...
    assert scope.detect("停水两天了") is None  # ...but never sends a question anywhere
    assert scope.asks_for_office("暖气不热 找谁投诉") and scope.asks_for_office("What number do I call?")
    assert not scope.asks_for_office("楼上漏水谁赔")


def test_scope_classifier_tells_other_offices_from_civil_questions() -> None:
    civil = [q for e in load_corpus().entries for q in e.questions]
    model = ScopeClassifier.fit(civil)
    assert model is not None
    office, margin = model.best_office("开车闯了红灯 会扣几分")
    assert office == "traffic" and margin > 0
    office, margin = model.best_office("刚被人骗走五千块")
    assert office == "crime" and margin > -0.5
    assert model.best_office("楼上漏水把我家天花板泡了 谁赔")[1] < 0
    assert model.best_office("离婚时房子怎么分")[1] < 0
    assert model.best_office("")[0] is None
    # too small a corpus says too little about what is civil: cue words only
    assert ScopeClassifier.fit(civil[:50]) is None
    assert {office for office, _ in read_examples()} == {
        "crime", "traffic", "tax", "labour", "government", "legal_aid"}


def test_english_key_terms_go_through_the_glossary() -> None:
    assert is_english("my dog bit the neighbour's kid") and not is_english("我的dog")
    assert translate_terms("My DOG bit the neighbour’s kid, who pays?") == "狗 咬 邻居 孩子 谁赔"
    assert translate_terms("hello, how are you today") == ""
    # a plural is written as often as the singular the glossary lists
    plural, singular = "the ad screens in our elevators", "the ad screen in our elevator"
    assert translate_terms(plural) == translate_terms(singular) == "广告 电梯"
    assert translate_terms("two dogs and three cats") == "狗 猫"
    # words a resident uses for light at night, a chemical in a rented flat or a written promise are kept
    assert translate_terms("the neighbour's LED sign shines into our bedroom") == "邻居 广告屏 照进 卧室"
    assert "甲醛" in translate_terms("the flat I rent has too much formaldehyde")
    assert translate_terms("their brochure promised a patrol") == "宣传 承诺 巡逻"
    # "security" alone is the guards, but a security deposit is still a deposit
    assert translate_terms("the security deposit") == "押金"


def test_a_read_blind_set_is_tuned_on_and_the_next_one_is_shown_only_once_written(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from knowledge import evaluation

    # read after the ninth and the tenth round: fitted on since
    assert {"fresh 9", "fresh 10"} <= set(evaluation.ranker_tuning_sets())
    assert [n for n in evaluation.dev_sets() if "fresh 9" in n] == [
        "fresh 9 (written after the ninth round; tuned on since)"]
    assert [n for n in evaluation.dev_sets() if "fresh 10" in n] == [
        "fresh 10 (written after the tenth round; tuned on since)"]
    blind = tmp_path / "law_fresh_11.tsv"
    monkeypatch.setattr(evaluation, "LAW_FRESH_11_FILE", blind)
    assert not any("fresh 11" in name for name in evaluation.dev_sets())  # not written yet
    blind.write_text("房东不退押金怎么办\t585\n", encoding="utf-8")
    shown = [name for name in evaluation.dev_sets() if "fresh 11" in name]
    assert shown == ["fresh 11 (written blind after the last change)"]
    assert "fresh 11" not in evaluation.ranker_tuning_sets()  # never in the fit


def test_the_real_blind_set_once_written_is_measured_but_never_fitted_on() -> None:
    from knowledge import evaluation

    items, bad = evaluation.dev_sets()["fresh 11 (written blind after the last change)"]
    assert items and not bad
    assert not any("11" in name for name in evaluation.ranker_tuning_sets())


def test_related_articles_come_from_summaries_and_keywords() -> None:
    summaries = corpus_from_rows(
        [],
        [
            {
                "article": 1098,
                "summary_zh": "收养人应当无子女、有抚养能力、年满三十周岁。",
                "summary_en": "x",
                "keywords": ["收养", "收养条件", "领养"],
            },
            {
                "article": 314,
                "summary_zh": "拾得遗失物应当返还权利人。",
                "summary_en": "y",
                "keywords": ["捡到", "遗失物"],
            },
        ],
    ).summaries
    related = RelatedArticles(summaries)
    found = related.find("想领养一个孩子 收养条件是什么")
    assert [r.article for r in found] == [1098]
    assert related.find("今天天气不错") == []


def test_the_shipped_ranker_loads_and_matches_the_feature_list() -> None:
    ranker = Ranker.load()
    assert ranker is not None and len(ranker.coef) == len(RANKER_FEATURES)
    assert 0 < ranker.answer_threshold < 100 and ranker.suggest_threshold > 0
    assert load_corpus().entries  # the corpus it was fitted on is there


def test_check_against_the_reference_code(tmp_path: Path) -> None:
    code = tmp_path / "civil_code.jsonl"
    code.write_text(
        "\n".join(
            json.dumps({"article": n, "title_path": book, "text": "…"}, ensure_ascii=False)
            for n, book in (
                (1, "第一编 总则 / 第一章"),
                (1245, "第七编 侵权责任 / 第九章"),
                (1246, "第七编 侵权责任 / 第九章"),
            )
        ),
        encoding="utf-8",
    )
    books = read_civil_code_books(code)
    corpus = corpus_from_rows(
        [{**ROW, "articles": [1245, 1300]}], [{"article": 1245, "summary_zh": "动物伤人", "summary_en": "x"}]
    )
    problems = "\n".join(check_against_code(corpus.entries, corpus.summaries, books))
    assert "article 1300 is not in the Civil Code text" in problems
    assert "第七编 侵权责任: 1 article(s) without a summary: 1246" in problems
    assert "总则" not in problems  # only the six books people ask about need summaries
    assert find_civil_code(code) == code
